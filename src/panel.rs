//! The file panel beside the terminal: the board's folders and files (name, size), navigable
//! and refreshed after every change; upload of files and folders (picker or drag-and-drop onto
//! the panel or a folder) through the session's safe upload; download of a file, or of a folder
//! as a zip; delete, rename, new folder; a viewer for small text files. Listing and changes run
//! in the raw REPL through `webrepl_core::Session::fs`, which keeps them out of the terminal.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, File, HtmlElement, HtmlInputElement, HtmlProgressElement};
use webrepl_core::files::{base_name, join, normalize, parent};
use webrepl_core::{
    Entry, EntryKind, FsError, FsId, FsOp, FsReply, FsState, TransferId, TransferOutcome,
};

use crate::dom::{by_id, download, listen, read_bytes, set_progress, set_row};
use crate::js::js_error_text;
use crate::zip::ZipWriter;

#[wasm_bindgen(inline_js = r#"
// Files dropped on the panel, with their paths inside dropped folders: [[path, File], …].
export function dropped_files(dt) {
  const items = dt && dt.items ? Array.from(dt.items) : [];
  const entries = items.map((i) => (i.webkitGetAsEntry ? i.webkitGetAsEntry() : null));
  if (!entries.length || entries.some((e) => !e)) {
    return Promise.resolve(Array.from((dt && dt.files) || []).map((f) => [f.name, f]));
  }
  const out = [];
  const walk = (entry, prefix) => new Promise((resolve, reject) => {
    if (entry.isFile) {
      entry.file((f) => { out.push([prefix + entry.name, f]); resolve(); }, reject);
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const all = [];
      const next = () => reader.readEntries((batch) => {
        if (batch.length) { all.push(...batch); next(); return; }
        Promise.all(all.map((e) => walk(e, prefix + entry.name + '/'))).then(() => resolve(), reject);
      }, reject);
      next();
    } else resolve();
  });
  return Promise.all(entries.map((e) => walk(e, ''))).then(() => out);
}
// A picked file's path inside a picked folder (webkitdirectory), else its name.
export function relative_path(f) { return f.webkitRelativePath || f.name; }
"#)]
extern "C" {
    fn dropped_files(dt: &JsValue) -> js_sys::Promise;
    fn relative_path(f: &File) -> String;
}

/// Text files up to this size open in the viewer; bigger ones download.
const VIEW_MAX: u64 = 64 * 1024;

/// What a pending file operation is for.
enum Pending {
    List(String),
    /// A change (delete, rename, mkdir); the text says what, for messages.
    Change(String),
    Upload(UploadRow),
    /// A folder's tree, for a zip download.
    Tree(String),
}

struct UploadRow {
    transfer: TransferId,
    row: Element,
    size: u64,
}

/// What a get in flight is for.
enum Fetch {
    View(String),
    Download(String),
    Zip,
}

/// One batch of uploads (a drop, a picker choice): overall progress.
#[derive(Default)]
struct Batch {
    files: usize,
    finished: usize,
    failed: usize,
    total: u64,
    done: HashMap<TransferId, u64>,
}

struct ZipJob {
    /// The folder being zipped (paths in the archive are relative to its parent).
    base: String,
    /// The archive's file name.
    name: String,
    writer: ZipWriter,
    left: usize,
    failed: Vec<String>,
}

/// Where the panel's requests go: this page's own connection, or (for someone in an Edrys
/// room) the station, which checks who may do what. Errors are messages for the user.
pub trait Backend {
    /// True when requests can go out now.
    fn ready(&self) -> bool;
    fn fs(&self, op: FsOp) -> Result<FsId, String>;
    /// A safe upload: the id of its end (`on_fs`) and of its data transfer (`on_progress`).
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String>;
    fn get(&self, path: &str) -> Result<TransferId, String>;
    fn cancel(&self);
    /// Stops the board's running program (Ctrl-C).
    fn stop(&self);
    /// Runs a Python file of the board at the REPL (its output shows in the terminal).
    fn run_file(&self, path: &str) -> Result<(), String>;
}

/// A button's action on the panel.
type PanelAction = dyn Fn(&Rc<Panel>);
/// A row button's action on the row's path.
type PathAction = dyn Fn(&Rc<Panel>, &str);

pub struct Panel {
    doc: Document,
    root: HtmlElement,
    list: HtmlElement,
    crumbs: HtmlElement,
    busy: HtmlElement,
    jobs: HtmlElement,
    overall: HtmlProgressElement,
    overall_text: HtmlElement,
    cancel: HtmlElement,
    viewer: HtmlElement,
    backend: RefCell<Rc<dyn Backend>>,
    say: Box<dyn Fn(&str)>,
    dir: RefCell<String>,
    pending: RefCell<HashMap<FsId, Pending>>,
    uploads: RefCell<HashMap<TransferId, FsId>>,
    fetches: RefCell<HashMap<TransferId, Fetch>>,
    batch: RefCell<Batch>,
    zip: RefCell<Option<ZipJob>>,
    listing: Cell<bool>,
    /// A folder made (if missing) and shown first: a student's own folder.
    home: RefCell<Option<String>>,
}

/// `1234` → `1.2 KB`.
pub fn human_size(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1000..=999_999 => format!("{:.1} KB", n as f64 / 1000.0),
        _ => format!("{:.1} MB", n as f64 / 1_000_000.0),
    }
}

impl Panel {
    /// Finds the panel's elements and wires them; requests go to `backend`, messages to `say`.
    pub fn new(
        doc: &Document,
        backend: Rc<dyn Backend>,
        say: impl Fn(&str) + 'static,
    ) -> Result<Rc<Panel>, String> {
        let panel = Rc::new(Panel {
            doc: doc.clone(),
            root: by_id(doc, "files-section")?,
            list: by_id(doc, "fs-list")?,
            crumbs: by_id(doc, "fs-path")?,
            busy: by_id(doc, "fs-busy")?,
            jobs: by_id(doc, "fs-jobs")?,
            overall: by_id(doc, "fs-progress")?,
            overall_text: by_id(doc, "fs-progress-text")?,
            cancel: by_id(doc, "fs-cancel")?,
            viewer: by_id(doc, "fs-view")?,
            backend: RefCell::new(backend),
            say: Box::new(say),
            dir: RefCell::new("/".into()),
            pending: RefCell::new(HashMap::new()),
            uploads: RefCell::new(HashMap::new()),
            fetches: RefCell::new(HashMap::new()),
            batch: RefCell::new(Batch::default()),
            zip: RefCell::new(None),
            listing: Cell::new(false),
            home: RefCell::new(None),
        });
        panel.wire()?;
        panel.render_crumbs();
        panel.placeholder("Connect to a board to see its files.");
        Ok(panel)
    }

    fn wire(self: &Rc<Self>) -> Result<(), String> {
        let click = |id: &str, f: Box<PanelAction>| -> Result<(), String> {
            let el: HtmlElement = by_id(&self.doc, id)?;
            let p = self.clone();
            listen(&el, "click", move |_: web_sys::Event| f(&p));
            Ok(())
        };
        click("fs-refresh", Box::new(|p| p.refresh()))?;
        click("fs-mkdir", Box::new(|p| p.new_folder()))?;
        click("fs-stop", Box::new(|p| p.backend().stop()))?;
        click("fs-cancel", Box::new(|p| p.backend().cancel()))?;
        click(
            "fs-view-close",
            Box::new(|p| {
                p.viewer.set_hidden(true);
            }),
        )?;
        for (button, input) in [("fs-upload", "fs-files"), ("fs-upload-dir", "fs-dir")] {
            let picker: HtmlInputElement = by_id(&self.doc, input)?;
            let pk = picker.clone();
            let btn: HtmlElement = by_id(&self.doc, button)?;
            listen(&btn, "click", move |_: web_sys::Event| pk.click());
            let p = self.clone();
            let pk = picker.clone();
            listen(&picker, "change", move |_: web_sys::Event| {
                let Some(list) = pk.files() else { return };
                let files = (0..list.length())
                    .filter_map(|i| list.get(i))
                    .map(|f| (relative_path(&f), f))
                    .collect();
                let dir = p.dir.borrow().clone();
                p.upload_files(&dir, files);
                pk.set_value("");
            });
        }
        // Drops onto the panel (or onto a folder in it) upload there, folders included.
        let root: &web_sys::EventTarget = self.root.as_ref();
        let r = self.root.clone();
        listen(root, "dragover", move |e: web_sys::DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            let _ = r.class_list().add_1("drop");
        });
        let r = self.root.clone();
        listen(root, "dragleave", move |_: web_sys::DragEvent| {
            let _ = r.class_list().remove_1("drop");
        });
        let p = self.clone();
        listen(root, "drop", move |e: web_sys::DragEvent| {
            e.prevent_default();
            e.stop_propagation();
            let _ = p.root.class_list().remove_1("drop");
            let target = e
                .target()
                .and_then(|t| t.dyn_into::<Element>().ok())
                .and_then(|el| el.closest("li[data-kind=dir]").ok().flatten())
                .and_then(|li| li.get_attribute("data-path"));
            let dir = target.unwrap_or_else(|| p.dir.borrow().clone());
            let Some(dt) = e.data_transfer() else { return };
            let p2 = p.clone();
            let on_files = Closure::<dyn FnMut(JsValue)>::once(move |arr: JsValue| {
                let files = js_sys::Array::from(&arr)
                    .iter()
                    .filter_map(|pair| {
                        let pair = js_sys::Array::from(&pair);
                        let path = pair.get(0).as_string()?;
                        let file = pair.get(1).dyn_into::<File>().ok()?;
                        Some((path, file))
                    })
                    .collect();
                p2.upload_files(&dir, files);
            });
            let p3 = p.clone();
            let on_error = Closure::<dyn FnMut(JsValue)>::once(move |err: JsValue| {
                (p3.say)(&format!(
                    "Could not read the dropped files: {}",
                    js_error_text(&err)
                ));
            });
            let _ = dropped_files(&dt.into()).then2(&on_files, &on_error);
            // Each runs at most once; they live until the promise settles.
            on_files.forget();
            on_error.forget();
        });
        Ok(())
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
        *self.dir.borrow_mut() = dir.to_owned();
        *self.home.borrow_mut() = Some(dir.to_owned());
    }

    /// True when a transfer with this id is the panel's.
    pub fn owns_transfer(&self, id: TransferId) -> bool {
        self.uploads.borrow().contains_key(&id) || self.fetches.borrow().contains_key(&id)
    }

    // ----- connection life -----

    pub fn connected(self: &Rc<Self>) {
        let home = self.home.borrow().clone();
        match home {
            Some(h) => {
                *self.dir.borrow_mut() = h.clone();
                // The change refreshes the listing when done.
                self.change(
                    FsOp::Mkdir {
                        path: h.clone(),
                        parents: true,
                    },
                    format!("Making your folder {h}"),
                );
            }
            None => self.refresh(),
        }
    }

    pub fn disconnected(&self) {
        self.pending.borrow_mut().clear();
        self.uploads.borrow_mut().clear();
        self.fetches.borrow_mut().clear();
        *self.zip.borrow_mut() = None;
        self.busy.set_hidden(true);
        self.listing.set(false);
        self.cancel.set_hidden(true);
        self.placeholder("Not connected.");
    }

    // ----- operations -----

    pub fn refresh(self: &Rc<Self>) {
        let dir = self.dir.borrow().clone();
        self.list_dir(&dir);
    }

    fn list_dir(self: &Rc<Self>, dir: &str) {
        let backend = self.backend();
        if !backend.ready() {
            self.placeholder("Not connected.");
            return;
        }
        if self.listing.get() {
            return;
        }
        match backend.fs(FsOp::List { dir: dir.into() }) {
            Ok(id) => {
                self.listing.set(true);
                let _ = self.list.set_attribute("aria-busy", "true");
                self.pending
                    .borrow_mut()
                    .insert(id, Pending::List(dir.into()));
            }
            Err(e) => (self.say)(&format!("Listing {dir} failed: {e}")),
        }
    }

    fn change(self: &Rc<Self>, op: FsOp, what: String) {
        match self.backend().fs(op) {
            Ok(id) => {
                self.pending.borrow_mut().insert(id, Pending::Change(what));
            }
            Err(e) => (self.say)(&format!("{what} failed: {e}")),
        }
    }

    fn new_folder(self: &Rc<Self>) {
        let Some(name) = ask("Name of the new folder:", "") else {
            return;
        };
        let dir = self.dir.borrow().clone();
        let path = join(&dir, name.trim());
        self.change(
            FsOp::Mkdir {
                path: path.clone(),
                parents: false,
            },
            format!("Making {path}"),
        );
    }

    fn run_file(self: &Rc<Self>, path: &str) {
        if let Err(e) = self.backend().run_file(path) {
            (self.say)(&format!("Running {path} failed: {e}"));
        }
    }

    fn rename(self: &Rc<Self>, path: &str) {
        let Some(name) = ask(&format!("New name for {path}:"), base_name(path)) else {
            return;
        };
        let name = name.trim();
        if name.is_empty() || name == base_name(path) {
            return;
        }
        // A name with a slash is a path: relative to this folder, or absolute.
        let to = if name.starts_with('/') {
            name.to_owned()
        } else {
            join(parent(path), name)
        };
        self.change(
            FsOp::Rename {
                from: path.into(),
                to: to.clone(),
            },
            format!("Renaming {path} to {to}"),
        );
    }

    fn delete(self: &Rc<Self>, path: &str, kind: EntryKind) {
        let question = match kind {
            EntryKind::Dir => format!("Delete the folder {path} and everything in it?"),
            EntryKind::File => format!("Delete {path}?"),
        };
        let yes = web_sys::window()
            .and_then(|w| w.confirm_with_message(&question).ok())
            .unwrap_or(false);
        if yes {
            self.change(
                FsOp::Remove { path: path.into() },
                format!("Deleting {path}"),
            );
        }
    }

    fn fetch(&self, path: &str, why: Fetch) {
        match self.backend().get(path) {
            Ok(id) => {
                self.fetches.borrow_mut().insert(id, why);
            }
            Err(e) => (self.say)(&format!("Getting {path} failed: {e}")),
        }
    }

    fn download_folder(self: &Rc<Self>, dir: &str) {
        if self.zip.borrow().is_some() {
            (self.say)("A folder download is already running; wait for it to finish.");
            return;
        }
        match self.backend().fs(FsOp::Tree { dir: dir.into() }) {
            Ok(id) => {
                self.pending
                    .borrow_mut()
                    .insert(id, Pending::Tree(dir.into()));
                self.overall_text
                    .set_text_content(Some(&format!("Listing {dir} for the zip…")));
            }
            Err(e) => (self.say)(&format!("Downloading {dir} failed: {e}")),
        }
    }

    /// Uploads files (paths relative to `dir`, folders made as needed) safely, one batch.
    pub fn upload_files(self: &Rc<Self>, dir: &str, files: Vec<(String, File)>) {
        if files.is_empty() {
            return;
        }
        let backend = self.backend();
        if !backend.ready() {
            (self.say)("Not connected: connect to a board first.");
            return;
        }
        {
            let mut b = self.batch.borrow_mut();
            if b.finished >= b.files {
                *b = Batch::default();
                while let Some(c) = self.jobs.first_child() {
                    let _ = self.jobs.remove_child(&c);
                }
            }
            b.files += files.len();
            b.total += files.iter().map(|(_, f)| f.size() as u64).sum::<u64>();
        }
        self.cancel.set_hidden(false);
        self.show_overall();
        for (rel, file) in files {
            let target = match normalize(&join(dir, &rel)) {
                Ok(t) => t,
                Err(e) => {
                    let row = self.job_row(&rel, file.size() as u64);
                    self.early_fail(&row, &e.to_string());
                    continue;
                }
            };
            let row = self.job_row(&target, file.size() as u64);
            let (p, backend, row2) = (self.clone(), backend.clone(), row.clone());
            let size = file.size() as u64;
            read_bytes(
                &file,
                move |data| match backend.upload(&target, data) {
                    Ok((id, transfer)) => {
                        set_row(&row2, "queued", "waiting…");
                        p.uploads.borrow_mut().insert(transfer, id);
                        p.pending.borrow_mut().insert(
                            id,
                            Pending::Upload(UploadRow {
                                transfer,
                                row: row2,
                                size,
                            }),
                        );
                    }
                    Err(e) => p.early_fail(&row2, &e),
                },
                {
                    let (p, row) = (self.clone(), row.clone());
                    move |e| p.early_fail(&row, &format!("could not read the file: {e}"))
                },
            );
        }
    }

    // ----- events from the session -----

    /// A file operation moved on; false if it is not the panel's.
    pub fn on_fs(self: &Rc<Self>, id: FsId, state: FsState) -> bool {
        if state == FsState::WaitingForPrompt {
            // Reported while the request is being made (before its id is recorded here): any
            // file command waiting means the panel waits.
            self.busy.set_hidden(false);
            return true;
        }
        let Some(pending) = self.pending.borrow_mut().remove(&id) else {
            return false;
        };
        self.busy.set_hidden(true);
        match (pending, state) {
            (Pending::List(dir), FsState::Done(FsReply::Listing(entries))) => {
                self.listing.set(false);
                *self.dir.borrow_mut() = dir.clone();
                self.render(&dir, &entries);
            }
            (Pending::List(dir), FsState::Failed(e)) => {
                self.listing.set(false);
                let _ = self.list.remove_attribute("aria-busy");
                (self.say)(&format!("Listing {dir} failed: {e}"));
                if dir != "/" && matches!(e, FsError::Board { .. }) {
                    // The folder is gone: show its parent.
                    *self.dir.borrow_mut() = parent(&dir).to_owned();
                    self.refresh();
                }
            }
            (Pending::Change(_), FsState::Done(_)) => self.refresh(),
            (Pending::Change(what), FsState::Failed(e)) => {
                (self.say)(&format!("{what} failed: {e}"));
                self.refresh();
            }
            (Pending::Upload(up), FsState::Done(_)) => {
                self.uploads.borrow_mut().remove(&up.transfer);
                set_row(
                    &up.row,
                    "done",
                    &format!("{} uploaded", human_size(up.size)),
                );
                set_progress(&up.row, up.size as f64);
                self.batch_step(Some(up.transfer), up.size, false);
            }
            (Pending::Upload(up), FsState::Failed(e)) => {
                self.uploads.borrow_mut().remove(&up.transfer);
                self.job_failed(&up.row, &e.to_string());
                self.batch_step(Some(up.transfer), 0, true);
            }
            (Pending::Tree(dir), FsState::Done(FsReply::Listing(entries))) => {
                self.zip_tree(&dir, entries)
            }
            (Pending::Tree(dir), FsState::Failed(e)) => {
                self.overall_text.set_text_content(None);
                (self.say)(&format!("Downloading {dir} failed: {e}"));
            }
            _ => {}
        }
        true
    }

    /// Progress of a transfer (`total` when known: in percent); false if it is not the panel's.
    pub fn on_progress(&self, id: TransferId, done: u64, total: Option<u64>) -> bool {
        let Some(fs) = self.uploads.borrow().get(&id).copied() else {
            let fetches = self.fetches.borrow();
            let Some(why) = fetches.get(&id) else {
                return false;
            };
            if self.zip.borrow().is_none() {
                let path = match why {
                    Fetch::View(p) | Fetch::Download(p) => p.as_str(),
                    Fetch::Zip => "",
                };
                let text = match total {
                    Some(t) if t > 0 => format!(
                        "Downloading {path}: {:.0} %",
                        done as f64 * 100.0 / t as f64
                    ),
                    _ => format!("Downloading {path}: {}", human_size(done)),
                };
                self.overall_text.set_text_content(Some(&text));
            }
            return true;
        };
        if let Some(Pending::Upload(up)) = self.pending.borrow().get(&fs) {
            set_row(
                &up.row,
                "active",
                &format!("{} / {}", human_size(done), human_size(up.size)),
            );
            set_progress(&up.row, done as f64);
        }
        self.batch.borrow_mut().done.insert(id, done);
        self.show_overall();
        true
    }

    /// A transfer finished; false if it is not the panel's.
    pub fn on_transfer_done(self: &Rc<Self>, id: TransferId, outcome: &TransferOutcome) -> bool {
        if let Some(fs) = self.uploads.borrow().get(&id).copied() {
            if let Some(Pending::Upload(up)) = self.pending.borrow().get(&fs) {
                set_row(&up.row, "active", "checking and renaming on the board…");
            }
            return true;
        }
        let Some(why) = self.fetches.borrow_mut().remove(&id) else {
            return false;
        };
        self.busy.set_hidden(true);
        let TransferOutcome::Get { name, data } = outcome else {
            return true;
        };
        match why {
            Fetch::View(path) => {
                self.overall_text.set_text_content(None);
                self.view(&path, data)
            }
            Fetch::Download(path) => {
                self.overall_text.set_text_content(Some(&format!(
                    "{path} downloaded ({})",
                    human_size(data.len() as u64)
                )));
                if let Err(e) = download(&self.doc, &path, data) {
                    (self.say)(&format!("Download of {name} failed: {e}"));
                }
            }
            Fetch::Zip => self.zip_add(name, data),
        }
        true
    }

    /// A transfer failed; false if it is not the panel's.
    pub fn on_transfer_failed(&self, id: TransferId, error: &str) -> bool {
        if self.uploads.borrow().contains_key(&id) {
            // The upload's own event (Fs Failed) follows and says it.
            return true;
        }
        let Some(why) = self.fetches.borrow_mut().remove(&id) else {
            return false;
        };
        self.busy.set_hidden(true);
        match why {
            Fetch::View(p) | Fetch::Download(p) => {
                self.overall_text.set_text_content(None);
                (self.say)(&format!("Getting {p} failed: {error}"))
            }
            Fetch::Zip => {
                let mut zip = self.zip.borrow_mut();
                if let Some(z) = zip.as_mut() {
                    z.left = z.left.saturating_sub(1);
                    z.failed.push(error.to_string());
                }
                drop(zip);
                self.zip_maybe_finish();
            }
        }
        true
    }

    // ----- zip -----

    fn zip_tree(&self, dir: &str, entries: Vec<Entry>) {
        let base = parent(dir).to_owned();
        let mut writer = ZipWriter::new();
        writer.add(&format!("{}/", in_archive(&base, dir)), b"");
        let mut files = Vec::new();
        for e in entries {
            match e.kind {
                EntryKind::Dir => writer.add(&format!("{}/", in_archive(&base, &e.name)), b""),
                EntryKind::File => files.push(e.name),
            }
        }
        let name = match base_name(dir) {
            "" => "board.zip".to_owned(),
            n => format!("{n}.zip"),
        };
        *self.zip.borrow_mut() = Some(ZipJob {
            base,
            name,
            writer,
            left: files.len(),
            failed: Vec::new(),
        });
        for f in &files {
            self.fetch(f, Fetch::Zip);
        }
        self.overall_text
            .set_text_content(Some(&format!("Zipping {dir}: {} files…", files.len())));
        self.zip_maybe_finish();
    }

    fn zip_add(&self, path: &str, data: &[u8]) {
        if let Some(z) = self.zip.borrow_mut().as_mut() {
            z.writer.add(in_archive(&z.base, path), data);
            z.left = z.left.saturating_sub(1);
            self.overall_text
                .set_text_content(Some(&format!("Zipping: {} files left…", z.left)));
        }
        self.zip_maybe_finish();
    }

    fn zip_maybe_finish(&self) {
        if self.zip.borrow().as_ref().is_none_or(|z| z.left > 0) {
            return;
        }
        let Some(z) = self.zip.borrow_mut().take() else {
            return;
        };
        let name = z.name.clone();
        let bytes = z.writer.finish();
        match download(&self.doc, &name, &bytes) {
            Ok(()) => self
                .overall_text
                .set_text_content(Some(&if z.failed.is_empty() {
                    format!("{name} downloaded")
                } else {
                    format!(
                        "{name} downloaded without {} files: {}",
                        z.failed.len(),
                        z.failed.join("; ")
                    )
                })),
            Err(e) => (self.say)(&format!("Download of {name} failed: {e}")),
        }
    }

    // ----- rendering -----

    fn placeholder(&self, text: &str) {
        self.list.set_inner_html("");
        if let Ok(li) = self.doc.create_element("li") {
            li.set_class_name("empty");
            li.set_text_content(Some(text));
            let _ = self.list.append_child(&li);
        }
    }

    fn render_crumbs(self: &Rc<Self>) {
        let dir = self.dir.borrow().clone();
        self.crumbs.set_inner_html("");
        let mut path = String::new();
        let segs: Vec<&str> = std::iter::once("")
            .chain(dir.split('/').filter(|s| !s.is_empty()))
            .collect();
        for (i, seg) in segs.iter().enumerate() {
            if i > 0 {
                path.push('/');
                path.push_str(seg);
            }
            let target = if path.is_empty() {
                "/".into()
            } else {
                path.clone()
            };
            let Ok(b) = self.doc.create_element("button") else {
                continue;
            };
            b.set_text_content(Some(if i == 0 { "/" } else { seg }));
            let _ = b.set_attribute("data-path", &target);
            let p = self.clone();
            listen(&b, "click", move |_: web_sys::Event| p.list_dir(&target));
            let _ = self.crumbs.append_child(&b);
        }
    }

    fn render(self: &Rc<Self>, dir: &str, entries: &[Entry]) {
        let _ = self.list.remove_attribute("aria-busy");
        let _ = self.list.set_attribute("data-dir", dir);
        self.render_crumbs();
        self.list.set_inner_html("");
        if entries.is_empty() {
            self.placeholder("This folder is empty. Drop files here to upload them.");
        }
        for e in entries {
            let path = join(dir, &e.name);
            let Ok(li) = self.doc.create_element("li") else {
                continue;
            };
            let kind = if e.kind == EntryKind::Dir {
                "dir"
            } else {
                "file"
            };
            let _ = li.set_attribute("data-kind", kind);
            let _ = li.set_attribute("data-path", &path);
            let _ = li.set_attribute("data-name", &e.name);
            // ▶ only for Python files.
            let run = if e.kind == EntryKind::File && e.name.ends_with(".py") {
                "<button class=\"run\" title=\"Run on the board (output in the terminal)\">▶</button>"
            } else {
                ""
            };
            li.set_inner_html(&format!(
                "<button class=\"open\"></button><span class=\"size\"></span><span class=\"acts\">{run}<button class=\"dl\" title=\"Download\">⤓</button><button class=\"ren\" title=\"Rename\">✎</button><button class=\"del\" title=\"Delete\">✕</button></span>",
            ));
            if let Some(open) = li.query_selector(".open").ok().flatten() {
                open.set_text_content(Some(&if e.kind == EntryKind::Dir {
                    format!("{}/", e.name)
                } else {
                    e.name.clone()
                }));
                let (p, path, kind, size) = (self.clone(), path.clone(), e.kind, e.size);
                listen(&open, "click", move |_: web_sys::Event| match kind {
                    EntryKind::Dir => p.list_dir(&path),
                    EntryKind::File if size <= VIEW_MAX => {
                        p.fetch(&path, Fetch::View(path.clone()))
                    }
                    EntryKind::File => p.fetch(&path, Fetch::Download(path.clone())),
                });
            }
            if let Some(size) = li.query_selector(".size").ok().flatten() {
                if e.kind == EntryKind::File {
                    size.set_text_content(Some(&human_size(e.size)));
                    let _ = size.set_attribute("data-bytes", &e.size.to_string());
                }
            }
            // Screen readers name the symbol buttons by what they do to which entry.
            for (sel, verb) in [
                (".run", "Run"),
                (".dl", "Download"),
                (".ren", "Rename"),
                (".del", "Delete"),
            ] {
                if let Some(b) = li.query_selector(sel).ok().flatten() {
                    let _ = b.set_attribute("aria-label", &format!("{verb} {}", e.name));
                }
            }
            let acts: [(&str, Box<PathAction>); 4] = [
                (".run", Box::new(|p, path| p.run_file(path))),
                (
                    ".dl",
                    match e.kind {
                        EntryKind::Dir => Box::new(|p, path| p.download_folder(path)),
                        EntryKind::File => {
                            Box::new(|p, path| p.fetch(path, Fetch::Download(path.into())))
                        }
                    },
                ),
                (".ren", Box::new(|p, path| p.rename(path))),
                (
                    ".del",
                    match e.kind {
                        EntryKind::Dir => Box::new(|p, path| p.delete(path, EntryKind::Dir)),
                        EntryKind::File => Box::new(|p, path| p.delete(path, EntryKind::File)),
                    },
                ),
            ];
            for (sel, f) in acts {
                if let Some(b) = li.query_selector(sel).ok().flatten() {
                    let (p, path) = (self.clone(), path.clone());
                    listen(&b, "click", move |_: web_sys::Event| f(&p, &path));
                }
            }
            let _ = self.list.append_child(&li);
        }
    }

    fn view(&self, path: &str, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        if let Some(t) = self.viewer.query_selector(".title").ok().flatten() {
            t.set_text_content(Some(path));
        }
        if let Some(pre) = self.viewer.query_selector("pre").ok().flatten() {
            pre.set_text_content(Some(&text));
        }
        self.viewer.set_hidden(false);
    }

    // ----- upload rows -----

    fn job_row(&self, name: &str, size: u64) -> Element {
        let row = self
            .doc
            .create_element("li")
            .unwrap_or_else(|_| self.jobs.clone().into());
        row.set_inner_html(&format!(
            "<span class=\"name\"></span><progress max=\"{}\" value=\"0\"></progress><span class=\"state\">reading…</span>",
            size.max(1)
        ));
        if let Some(n) = row.query_selector(".name").ok().flatten() {
            n.set_text_content(Some(name));
        }
        let _ = row.set_attribute("data-state", "reading");
        let _ = self.jobs.append_child(&row);
        row
    }

    fn job_failed(&self, row: &Element, why: &str) {
        set_row(row, "failed", why);
    }

    /// A file of the batch failed before its upload started.
    fn early_fail(self: &Rc<Self>, row: &Element, why: &str) {
        self.job_failed(row, why);
        self.batch_step(None, 0, true);
    }

    fn batch_step(self: &Rc<Self>, transfer: Option<TransferId>, size: u64, failed: bool) {
        let all_done = {
            let mut b = self.batch.borrow_mut();
            b.finished += 1;
            if failed {
                b.failed += 1;
                if let Some(t) = transfer {
                    b.done.remove(&t);
                }
            } else if let Some(t) = transfer {
                b.done.insert(t, size);
            }
            b.finished >= b.files
        };
        self.show_overall();
        if all_done {
            self.cancel.set_hidden(true);
            self.refresh();
        }
    }

    fn show_overall(&self) {
        let b = self.batch.borrow();
        let done: u64 = b.done.values().sum();
        self.overall.set_max(b.total.max(1) as f64);
        self.overall.set_value(done as f64);
        self.overall.set_hidden(b.files == 0);
        let ok = b.finished - b.failed;
        let text = if b.finished >= b.files {
            if b.failed == 0 {
                format!("{ok} of {} files uploaded", b.files)
            } else {
                format!("{ok} of {} files uploaded, {} failed", b.files, b.failed)
            }
        } else {
            format!(
                "Uploading: {} of {} files, {} / {}",
                b.finished,
                b.files,
                human_size(done),
                human_size(b.total)
            )
        };
        self.overall_text.set_text_content(Some(&text));
    }
}

/// A board path's name inside a folder's zip: relative to the folder's parent `base` (the
/// writer drops the leading `/`).
fn in_archive<'a>(base: &str, path: &'a str) -> &'a str {
    path.strip_prefix(base).unwrap_or(path)
}

fn ask(question: &str, default: &str) -> Option<String> {
    web_sys::window()
        .and_then(|w| w.prompt_with_message_and_default(question, default).ok())
        .flatten()
        .filter(|s| !s.trim().is_empty())
}
