//! The file panel beside the terminal, as the browser shows it: the core's
//! [`PanelModel`] decides (listing, owners of operations and transfers, rows, batches, zips);
//! this module holds its elements, hands it events and the bytes of picked files, and renders
//! what it says to show ([`render`]); [`wire`] binds the buttons, pickers and drops.

mod render;
mod wire;

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use web_sys::{Document, Element, File, HtmlElement, HtmlProgressElement};
use webrepl_core::owners::{FsRef, TransferRef};
use webrepl_core::panel::jobs::JobId;
use webrepl_core::panel::{FilesBackend, PanelModel};
use webrepl_core::{FsOp, FsState, TransferOutcome};

use crate::dom::{by_id, read_bytes};

/// Where the panel's requests go: this page's own connection, or (for someone in an Edrys
/// room) the station, which checks who may do what. Errors are messages for the user.
pub trait Backend {
    /// True when requests can go out now.
    fn ready(&self) -> bool;
    fn fs(&self, op: FsOp) -> Result<FsRef, String>;
    /// A safe upload: the id of its end (an fs event) and of its data transfer (progress).
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String>;
    fn get(&self, path: &str) -> Result<TransferRef, String>;
    fn cancel(&self);
    /// Stops the board's running program (Ctrl-C).
    fn stop(&self);
    /// Runs a Python file of the board at the REPL (its output shows in the terminal).
    fn run_file(&self, path: &str) -> Result<(), String>;
}

/// The browser's backend as the model's.
struct Requests(Rc<dyn Backend>);

impl FilesBackend for Requests {
    fn ready(&self) -> bool {
        self.0.ready()
    }
    fn fs(&mut self, op: FsOp) -> Result<FsRef, String> {
        self.0.fs(op)
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String> {
        self.0.upload(path, data)
    }
    fn get(&mut self, path: &str) -> Result<TransferRef, String> {
        self.0.get(path)
    }
}

/// What the session (or the room) said about the panel's work.
#[derive(Debug, Clone)]
pub enum FilesEvent {
    Connected,
    Disconnected,
    Fs(FsRef, FsState),
    Progress(TransferRef, u64, Option<u64>),
    Done(TransferRef, TransferOutcome),
    Failed(TransferRef, String),
}

pub struct Panel {
    doc: Document,
    els: Els,
    backend: RefCell<Rc<dyn Backend>>,
    say: Box<dyn Fn(&str)>,
    model: RefCell<PanelModel>,
    /// Events that came while the model was busy with a request (a request's own events
    /// arrive before it returns); handled right after.
    queued: RefCell<VecDeque<FilesEvent>>,
    rows: RefCell<HashMap<JobId, Element>>,
}

/// The panel's elements, found once by id.
struct Els {
    root: HtmlElement,
    list: HtmlElement,
    crumbs: HtmlElement,
    busy: HtmlElement,
    uploads: HtmlElement,
    downloads: HtmlElement,
    overall: HtmlProgressElement,
    overall_text: HtmlElement,
    cancel: HtmlElement,
    viewer: HtmlElement,
}

impl Panel {
    /// Finds the panel's elements and wires them; requests go to `backend`, messages to `say`.
    pub fn new(
        doc: &Document,
        backend: Rc<dyn Backend>,
        say: impl Fn(&str) + 'static,
    ) -> Result<Rc<Panel>, String> {
        let els = Els {
            root: by_id(doc, "files-section")?,
            list: by_id(doc, "fs-list")?,
            crumbs: by_id(doc, "fs-path")?,
            busy: by_id(doc, "fs-busy")?,
            uploads: by_id(doc, "fs-jobs")?,
            downloads: by_id(doc, "fs-gets")?,
            overall: by_id(doc, "fs-progress")?,
            overall_text: by_id(doc, "fs-progress-text")?,
            cancel: by_id(doc, "fs-cancel")?,
            viewer: by_id(doc, "fs-view")?,
        };
        let panel = Rc::new(Panel {
            doc: doc.clone(),
            els,
            backend: RefCell::new(backend),
            say: Box::new(say),
            model: RefCell::new(PanelModel::new()),
            queued: RefCell::new(VecDeque::new()),
            rows: RefCell::new(HashMap::new()),
        });
        panel.wire()?;
        panel.render_crumbs("/");
        panel.flush();
        Ok(panel)
    }

    fn backend(&self) -> Rc<dyn Backend> {
        self.backend.borrow().clone()
    }

    /// Sends requests elsewhere from now on (a page that joins an Edrys room as a viewer).
    pub fn set_backend(&self, backend: Rc<dyn Backend>) {
        *self.backend.borrow_mut() = backend;
    }

    /// A folder made (if missing) and shown on every connect: a student's own folder.
    pub fn set_home(&self, dir: &str) {
        self.model.borrow_mut().set_home(dir);
    }

    /// The folder shown (files dropped on the page go there).
    pub fn dir(&self) -> String {
        self.model
            .try_borrow()
            .map_or_else(|_| "/".to_owned(), |m| m.dir().to_owned())
    }

    /// True when the transfer is the panel's.
    pub fn owns_transfer(&self, id: TransferRef) -> bool {
        self.model.try_borrow().is_ok_and(|m| m.owns_transfer(id))
    }

    /// Runs `f` on the model with the backend, then handles what came meanwhile and renders.
    fn with(self: &Rc<Self>, f: impl FnOnce(&mut PanelModel, &mut Requests)) {
        let mut req = Requests(self.backend());
        match self.model.try_borrow_mut() {
            Ok(mut m) => f(&mut m, &mut req),
            // Called from inside a request (an event's handler): not possible by design; say it.
            Err(_) => return (self.say)("The file panel is busy; try again."),
        }
        self.drain(&mut req);
    }

    /// An event from the session or the room (any order, any time).
    pub fn on_event(self: &Rc<Self>, e: FilesEvent) {
        self.queued.borrow_mut().push_back(e);
        if self.model.try_borrow_mut().is_ok() {
            self.drain(&mut Requests(self.backend()));
        }
    }

    fn drain(self: &Rc<Self>, req: &mut Requests) {
        loop {
            let next = self.queued.borrow_mut().pop_front();
            let Some(e) = next else { break };
            let Ok(mut m) = self.model.try_borrow_mut() else {
                self.queued.borrow_mut().push_front(e);
                return;
            };
            match e {
                FilesEvent::Connected => m.connected(req),
                FilesEvent::Disconnected => m.disconnected(),
                FilesEvent::Fs(id, state) => {
                    m.on_fs(req, id, state);
                }
                FilesEvent::Progress(id, done, total) => {
                    m.on_progress(id, done, total);
                }
                FilesEvent::Done(id, outcome) => {
                    m.on_transfer_done(id, &outcome);
                }
                FilesEvent::Failed(id, error) => {
                    m.on_transfer_failed(id, &error);
                }
            }
        }
        self.flush();
    }

    /// Renders what the model says to show.
    fn flush(self: &Rc<Self>) {
        loop {
            let next = match self.model.try_borrow_mut() {
                Ok(mut m) => m.poll_show(),
                Err(_) => return,
            };
            let Some(show) = next else { return };
            self.render(show);
        }
    }

    /// Cancel: the waiting uploads stop, in the backend and those not yet sent to it.
    pub fn cancel(self: &Rc<Self>) {
        self.backend().cancel();
        self.with(|m, b| m.cancel_unsent(b));
    }

    pub fn refresh(self: &Rc<Self>) {
        self.with(|m, b| m.refresh(b));
    }

    /// Uploads files (paths relative to `dir`, folders made as needed) safely, one batch.
    pub fn upload_files(self: &Rc<Self>, dir: &str, files: Vec<(String, File)>) {
        let sizes: Vec<(String, u64)> = files
            .iter()
            .map(|(rel, f)| (rel.clone(), f.size() as u64))
            .collect();
        let mut jobs = Vec::new();
        self.with(|m, b| jobs = m.add_uploads(b, dir, &sizes));
        for ((_, file), job) in files.into_iter().zip(jobs) {
            let Some(job) = job else { continue };
            let (p, q) = (self.clone(), self.clone());
            read_bytes(
                &file,
                move |data| p.with(|m, b| m.upload_read(b, job, data)),
                move |e| q.with(|m, b| m.upload_unreadable(b, job, &e)),
            );
        }
    }
}
