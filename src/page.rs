//! The standalone page (a replacement for MicroPython's webrepl.html): board address and
//! password, Connect/Disconnect with a visible status, the terminal, Stop and Soft reset,
//! sending files (picker or drag-and-drop, editable destination names, progress) and getting a
//! file by name (`Connection::download`: progress in percent on a direct link, in bytes through
//! the proxy; then a browser download). A USB board connects over Web Serial instead
//! ([`page_serial`]: "Connect USB board").

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, File, HtmlElement, HtmlInputElement};
use webrepl_core::transfer::validate_name;
use webrepl_core::{
    Backoff, ControlKey, Event, FsId, FsOp, Password, RunState, SessionConfig, TransferId,
    TransferKind, TransferOutcome,
};

use crate::connection::Connection;
use crate::dom::{by_id, download, listen, read_bytes, set_progress, set_row};
use crate::edrys::api::{self, Edrys};
use crate::edrys::room::{Deferred, Station, Viewer};
use crate::panel::Panel;
use crate::term::Term;
use webrepl_core::room::message::{Key, RelayId, Status, XferState};
use webrepl_core::room::{parse_station_config, Board, StationConfig, ViewerEvent};

#[path = "page_serial.rs"]
mod page_serial;
use webrepl_core::station::Role;
use webrepl_core::CloseReason;

const DEFAULT_URL: &str = "ws://192.168.4.1:8266/";
const KEY_URL: &str = "webrepl.url";

/// The page's elements, found once by id.
struct Els {
    url: HtmlInputElement,
    password: HtmlInputElement,
    remember: HtmlInputElement,
    connect: HtmlElement,
    status: HtmlElement,
    version: HtmlElement,
    message: HtmlElement,
    uploads: HtmlElement,
    send: HtmlElement,
    get_name: HtmlInputElement,
    downloads: HtmlElement,
    serial: HtmlElement,
    baud: HtmlInputElement,
}

/// One file picked for sending.
struct Upload {
    file: File,
    row: Element,
    id: Option<TransferId>,
}

struct Page {
    doc: Document,
    els: Els,
    term: RefCell<Term>,
    conn: RefCell<Option<Connection>>,
    /// True while the user wants a connection (reconnect after resets and drops).
    wanted: Cell<bool>,
    backoff: RefCell<Backoff>,
    reconnect_timer: Cell<Option<i32>>,
    uploads: RefCell<Vec<Upload>>,
    /// Rows of transfers in flight, by id.
    rows: RefCell<HashMap<TransferId, Element>>,
    /// Progress waiting for the next animation frame (the DOM is updated once per frame).
    progress_due: RefCell<HashMap<TransferId, (u64, Option<u64>)>>,
    progress_frame: Cell<bool>,
    /// The hint about non-ASCII typing was shown.
    hinted_ascii: Cell<bool>,
    /// A teacher's transfers relayed by the station: rows by this viewer's id.
    relay_rows: RefCell<HashMap<RelayId, Element>>,
    version_id: Cell<Option<TransferId>>,
    /// In Edrys: this browser is the station (holds the board connection) …
    station: RefCell<Option<Rc<Station>>>,
    /// … or a viewer of the station's terminal.
    viewer: RefCell<Option<Rc<Viewer>>>,
    /// The board's files.
    panel: RefCell<Option<Rc<Panel>>>,
    /// For a viewer: the station said it is connected to the board.
    station_connected: Cell<bool>,
    /// Keys typed without a session were said to be not sent (once until the next login).
    said_not_sent: Cell<bool>,
    /// The connection status last shown (state, text): republished when the version arrives.
    shown_status: RefCell<(String, String)>,
    /// False while the page waits to learn whether it runs in Edrys (station or viewer) or
    /// alone: the connect form does nothing until then.
    role_known: Cell<bool>,
    /// The wanted connection is a USB board (Web Serial), not the WebREPL address.
    serial_mode: Cell<bool>,
}

/// Builds the page and wires it up. Errors at this point (a broken page) go to the console.
pub fn start() {
    if let Err(e) = try_start() {
        web_sys::console::error_1(&format!("webrepl: the page could not start: {e}").into());
    }
}

fn try_start() -> Result<(), String> {
    let window = web_sys::window().ok_or("no window")?;
    let doc = window.document().ok_or("no document")?;
    let els = Els {
        url: by_id(&doc, "url")?,
        password: by_id(&doc, "password")?,
        remember: by_id(&doc, "remember")?,
        connect: by_id(&doc, "connect")?,
        status: by_id(&doc, "status")?,
        version: by_id(&doc, "version")?,
        message: by_id(&doc, "message")?,
        uploads: by_id(&doc, "uploads")?,
        send: by_id(&doc, "send")?,
        get_name: by_id(&doc, "get-name")?,
        downloads: by_id(&doc, "downloads")?,
        serial: by_id(&doc, "serial-connect")?,
        baud: by_id(&doc, "baud")?,
    };
    let term_el: HtmlElement = by_id(&doc, "terminal")?;
    let term = Term::new(&term_el);
    let page = Rc::new(Page {
        doc: doc.clone(),
        els,
        term: RefCell::new(term),
        conn: RefCell::new(None),
        wanted: Cell::new(false),
        backoff: RefCell::new(Backoff::new(500, 8000)),
        reconnect_timer: Cell::new(None),
        uploads: RefCell::new(Vec::new()),
        rows: RefCell::new(HashMap::new()),
        progress_due: RefCell::new(HashMap::new()),
        progress_frame: Cell::new(false),
        hinted_ascii: Cell::new(false),
        relay_rows: RefCell::new(HashMap::new()),
        version_id: Cell::new(None),
        station: RefCell::new(None),
        viewer: RefCell::new(None),
        panel: RefCell::new(None),
        station_connected: Cell::new(false),
        said_not_sent: Cell::new(false),
        shown_status: RefCell::new((String::new(), String::new())),
        role_known: Cell::new(false),
        serial_mode: Cell::new(false),
    });
    let w = Rc::downgrade(&page);
    let panel = Panel::new(
        &doc,
        Rc::new(LocalFiles(Rc::downgrade(&page))),
        move |text| {
            if let Some(p) = w.upgrade() {
                p.show_message(text, false);
            }
        },
    )?;
    *page.panel.borrow_mut() = Some(panel);
    page.init_fields();
    page.wire(&term_el)?;
    page.wire_serial();
    // Inside Edrys the page becomes the module; elsewhere (or if Edrys never gets ready) it is
    // the standalone page.
    // No connection before the role is known: Enter in the password field would reach the last
    // address, not the station's board.
    let _ = page.els.connect.set_attribute("disabled", "");
    let p = page.clone();
    api::detect(4000, move |edrys| {
        p.role_known.set(true);
        let _ = p.els.connect.remove_attribute("disabled");
        match edrys {
            Some(e) => p.enter_edrys(e),
            None => p.term.borrow().notice(
                "MicroPython WebREPL — enter the board's address and password, then Connect; or, for a board on this computer's USB cable, Connect USB board.",
            ),
        }
    });
    Ok(())
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn password_key(url: &str) -> String {
    format!("webrepl.password@{url}")
}

impl Page {
    /// Board address from `?url=`, else the board that served the page (`webrepl_content.js`),
    /// else the `#` part (as webrepl.html), else the last one used.
    fn init_fields(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let loc = window.location();
        let search = loc.search().unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
        let from_query = params
            .as_ref()
            .and_then(|p| p.get("url"))
            .filter(|u| !u.is_empty());
        let from_hash = loc
            .hash()
            .ok()
            .map(|h| h.trim_start_matches('#').to_owned())
            .filter(|h| !h.is_empty());
        let remembered = storage().and_then(|s| s.get_item(KEY_URL).ok().flatten());
        // In the page a board serves (www/webrepl_content.js): that board.
        let from_board = js_sys::Reflect::get(&window, &"webreplBoardUrl".into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|u| !u.is_empty());
        let url = from_query
            .or(from_board)
            .or(from_hash)
            .or(remembered)
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        self.els.url.set_value(&url);
        // A demo password in the query (the virtual board's) is taken once and removed from the
        // address bar, so it does not stay in history or get shared with the link.
        if let Some(pw) = params.as_ref().and_then(|p| p.get("password")) {
            self.els.password.set_value(&pw);
            if let Some(p) = params.as_ref() {
                p.delete("password");
                let q = String::from(p.to_string());
                let path = loc.pathname().unwrap_or_default();
                let hash = loc.hash().unwrap_or_default();
                let clean = if q.is_empty() {
                    format!("{path}{hash}")
                } else {
                    format!("{path}?{q}{hash}")
                };
                if let Ok(h) = window.history() {
                    let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
                }
            }
        } else if let Some(pw) =
            storage().and_then(|s| s.get_item(&password_key(&url)).ok().flatten())
        {
            self.els.password.set_value(&pw);
            self.els.remember.set_checked(true);
        }
    }

    fn wire(self: &Rc<Self>, term_el: &HtmlElement) -> Result<(), String> {
        let doc: &web_sys::EventTarget = self.doc.as_ref();
        let form: web_sys::EventTarget = by_id::<HtmlElement>(&self.doc, "connect-form")?.into();
        let p = self.clone();
        listen(&form, "submit", move |e: web_sys::Event| {
            e.prevent_default();
            if !p.role_known.get() {
                return;
            }
            if p.wanted.get() {
                p.disconnect();
            } else {
                p.connect();
            }
        });
        let p = self.clone();
        self.term.borrow_mut().on_data(move |data| {
            if let Some(v) = p.viewer() {
                if let Err(e) = v.input(&data) {
                    p.show_message(&e, false);
                }
            } else if let Some(c) = p.live() {
                if !data.is_ascii() && !p.hinted_ascii.replace(true) {
                    p.term.borrow().notice(
                        "Note: the board's REPL line editor drops characters outside ASCII. Write them as \\u escapes ('\\u00e4'), or paste the code: pasted lines run through paste mode, which keeps them.",
                    );
                }
                c.send_input(&data);
            } else if !p.said_not_sent.replace(true) {
                // Not logged in (yet): keys are not held for a session that may never come.
                let text = if p.conn.borrow().is_some() {
                    "Not logged in yet: what you type now is not sent; type it again at the >>> prompt."
                } else {
                    "Not connected: what you type is not sent. Enter the board's address and password, then Connect."
                };
                p.term.borrow().notice(text);
            }
        });
        let p = self.clone();
        self.term
            .borrow_mut()
            .on_multiline_paste(term_el, move |text| {
                if let Some(v) = p.viewer() {
                    if let Err(e) = v.run(&text) {
                        p.show_message(&e, false);
                    }
                } else {
                    p.run(&text, "paste");
                }
            });
        for (id, key) in [("stop", Some(ControlKey::Interrupt)), ("reset", None)] {
            let p = self.clone();
            let el: web_sys::EventTarget = by_id::<HtmlElement>(&self.doc, id)?.into();
            listen(&el, "click", move |_: web_sys::Event| {
                if let Some(v) = p.viewer() {
                    let k = if key.is_some() { Key::Stop } else { Key::Reset };
                    if let Err(e) = v.key(k) {
                        p.show_message(&e, false);
                    }
                    return;
                }
                match (p.live(), key) {
                    (Some(c), Some(k)) => c.send_key(k),
                    (Some(c), None) => c.soft_reset(),
                    (None, _) => p.show_message("Not connected.", false),
                }
            });
        }
        // Files: picker and drag-and-drop anywhere on the page.
        let picker: HtmlInputElement = by_id(&self.doc, "file-input")?;
        let p = self.clone();
        let picker2 = picker.clone();
        listen(&picker, "change", move |_: web_sys::Event| {
            if let Some(files) = picker2.files() {
                p.add_files(&files);
            }
            picker2.set_value("");
        });
        let overlay: HtmlElement = by_id(&self.doc, "drop-overlay")?;
        let o = overlay.clone();
        listen(doc, "dragover", move |e: web_sys::DragEvent| {
            if e.data_transfer()
                .is_some_and(|d| d.types().includes(&"Files".into(), 0))
            {
                e.prevent_default();
                o.set_hidden(false);
            }
        });
        let o = overlay.clone();
        listen(doc, "dragleave", move |e: web_sys::DragEvent| {
            if e.related_target().is_none() {
                o.set_hidden(true);
            }
        });
        let p = self.clone();
        listen(doc, "drop", move |e: web_sys::DragEvent| {
            overlay.set_hidden(true);
            if let Some(files) = e.data_transfer().and_then(|d| d.files()) {
                if files.length() > 0 {
                    e.prevent_default();
                    p.add_files(&files);
                }
            }
        });
        let p = self.clone();
        listen(&self.els.send, "click", move |_: web_sys::Event| {
            p.send_files()
        });
        let get_form: web_sys::EventTarget = by_id::<HtmlElement>(&self.doc, "get-form")?.into();
        let p = self.clone();
        listen(&get_form, "submit", move |e: web_sys::Event| {
            e.prevent_default();
            p.get_file();
        });
        // Close with an empty close frame before the browser would send 1001 on unload.
        let p = self.clone();
        if let Some(w) = web_sys::window() {
            listen(&w, "pagehide", move |_: web_sys::Event| {
                p.wanted.set(false);
                if let Some(c) = p.conn.borrow().as_ref() {
                    c.close();
                }
            });
        }
        Ok(())
    }

    /// The URL of the current connection, if there is one.
    fn conn_url(&self) -> Option<String> {
        self.conn.borrow().as_ref().map(|c| c.url().to_owned())
    }

    /// The connection when logged in.
    fn live(&self) -> Option<Connection> {
        self.conn
            .borrow()
            .as_ref()
            .filter(|c| c.is_logged_in())
            .cloned()
    }

    fn connect(self: &Rc<Self>) {
        if self
            .station
            .borrow()
            .as_ref()
            .is_some_and(|st| st.config().serial)
        {
            // A USB station has no address: Connect means its USB board.
            return self.serial_connect(true);
        }
        self.cancel_reconnect();
        let url = self.els.url.value();
        let password = match Password::new(&self.els.password.value()) {
            Ok(p) => p,
            Err(e) => {
                self.show_message(&format!("Password: {e}"), false);
                let _ = self.els.password.focus();
                return;
            }
        };
        self.wanted.set(true);
        self.serial_mode.set(false);
        self.open(&url, password);
    }

    fn open(self: &Rc<Self>, url: &str, password: Password) {
        let weak = Rc::downgrade(self);
        let listener = Rc::new(move |e: Event| {
            if let Some(p) = weak.upgrade() {
                p.on_event(e);
            }
        });
        match Connection::open(
            url,
            Some(password.clone()),
            SessionConfig::default(),
            listener,
        ) {
            Ok(conn) => {
                if let Some(s) = storage() {
                    let _ = s.set_item(KEY_URL, conn.url());
                    if self.els.remember.checked() {
                        let _ = s.set_item(&password_key(conn.url()), password.as_str());
                    } else {
                        let _ = s.remove_item(&password_key(conn.url()));
                    }
                }
                self.set_status("connecting", &format!("Connecting to {}…", conn.url()));
                self.els.connect.set_text_content(Some("Disconnect"));
                *self.conn.borrow_mut() = Some(conn);
            }
            Err(e) => {
                self.wanted.set(false);
                self.set_status("error", "Not connected");
                self.show_message(&e.to_string(), false);
            }
        }
    }

    fn disconnect(&self) {
        self.wanted.set(false);
        self.serial_mode.set(false);
        self.cancel_reconnect();
        let conn = self.conn.borrow_mut().take();
        if let Some(c) = conn {
            c.close();
        }
        self.set_status("disconnected", "Disconnected");
        self.els.connect.set_text_content(Some("Connect"));
    }

    fn on_event(self: &Rc<Self>, e: Event) {
        // At a station, transfers are shared with the room; one run for someone else is theirs.
        let station = self.station.borrow().clone();
        let e = match station {
            Some(st) => match st.on_event(&mut PageBoard(self), e) {
                Some(e) => e,
                None => return, // someone else's in the room, or handed back later
            },
            None => e,
        };
        let panel = self.panel.borrow().clone();
        if let Some(panel) = panel.as_ref() {
            let mine = match &e {
                Event::Fs { id, state } => panel.on_fs(*id, state.clone()),
                Event::TransferDone { id, outcome } => panel.on_transfer_done(*id, outcome),
                Event::TransferFailed { id, error, .. } => {
                    panel.on_transfer_failed(*id, &error.to_string())
                }
                Event::LoggedIn => {
                    panel.connected();
                    false
                }
                Event::Closed(_) => {
                    panel.disconnected();
                    false
                }
                _ => false,
            };
            if mine {
                return;
            }
        }
        match e {
            Event::Fs { .. } => {}
            Event::Output(text) => {
                self.term.borrow().write(&text);
                if let Some(st) = self.station.borrow().as_ref() {
                    st.output(&text);
                }
            }
            Event::Opened => self.set_status("connecting", "Logging in…"),
            Event::PasswordRequired => self.show_message(
                "The board asks for a password: enter it and press Connect.",
                false,
            ),
            Event::LoggedIn => {
                self.said_not_sent.set(false);
                self.backoff.borrow_mut().reset();
                self.remember_station_password();
                let warnings = self
                    .station
                    .borrow()
                    .as_ref()
                    .map(|st| st.config().warnings.join("; "))
                    .unwrap_or_default();
                if warnings.is_empty() {
                    self.hide_message();
                } else {
                    self.show_message(&format!("Station config: {warnings}"), false);
                }
                let url = self.conn_url().unwrap_or_default();
                self.set_status("connected", &format!("Connected to {url}"));
                let conn = self.conn.borrow().clone();
                if let Some(c) = conn {
                    self.version_id.set(c.version().ok());
                }
                self.update_send_button();
                self.term.borrow().focus();
            }
            Event::TransferProgress { id, done, total } => self.queue_progress(id, done, total),
            Event::TransferDone { id, outcome } => self.transfer_done(id, outcome),
            Event::TransferFailed { id, kind, error } => {
                if Some(id) == self.version_id.get() {
                    return;
                }
                let what = match &kind {
                    TransferKind::Put { name, .. } => format!("Sending {name} failed: {error}"),
                    TransferKind::Get { name } => format!("Getting {name} failed: {error}"),
                    TransferKind::Version => return,
                };
                self.finish_row(id, "failed", &error.to_string());
                self.show_message(&what, false);
            }
            Event::Run { label, state, .. } => match state {
                RunState::Queued => self
                    .term
                    .borrow()
                    .notice(&format!("run from {label} is waiting for the current one")),
                RunState::Failed(err) => {
                    self.term
                        .borrow()
                        .notice(&format!("run from {label} failed: {err}"));
                    self.show_message(&format!("Run failed: {err}"), false);
                }
                _ => {}
            },
            Event::Closed(reason) => {
                self.version_id.set(None);
                self.els.version.set_text_content(None);
                self.update_send_button();
                if !self.wanted.get() {
                    return;
                }
                let station = self.station.borrow().is_some();
                let text = self.explain(&reason);
                if self.serial_mode.get() && matches!(reason, CloseReason::Lost { .. }) {
                    self.serial_lost(&text);
                } else if reason.should_reconnect() || (station && !reason.is_final()) {
                    let delay = self.backoff.borrow_mut().next_delay();
                    self.term.borrow().notice(&format!(
                        "{text} (reconnecting in {:.1} s)",
                        delay as f64 / 1000.0
                    ));
                    self.set_status_with(
                        "reconnecting",
                        &format!("Reconnecting in {:.1} s…", delay as f64 / 1000.0),
                        &text,
                    );
                    self.show_message(&text, true);
                    self.schedule_reconnect(delay);
                } else {
                    self.wanted.set(false);
                    self.els.connect.set_text_content(Some("Connect"));
                    self.set_status_with("error", "Not connected", &text);
                    self.show_message(&text, false);
                    self.term.borrow().notice(&text);
                }
            }
        }
    }

    fn schedule_reconnect(self: &Rc<Self>, delay: u64) {
        let Some(w) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            if let Some(p) = weak.upgrade() {
                p.reconnect_timer.set(None);
                if p.wanted.get() && p.serial_mode.get() {
                    p.serial_connect(false);
                } else if p.wanted.get() {
                    match Password::new(&p.els.password.value()) {
                        Ok(pw) => {
                            let url = p.els.url.value();
                            p.open(&url, pw);
                        }
                        Err(e) => p.show_message(&format!("Password: {e}"), false),
                    }
                }
            }
        });
        if let Ok(id) = w
            .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), delay as i32)
        {
            self.reconnect_timer.set(Some(id));
        }
    }

    fn cancel_reconnect(&self) {
        if let (Some(id), Some(w)) = (self.reconnect_timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(id);
        }
    }

    fn run(&self, code: &str, label: &str) {
        match self.live() {
            Some(c) => {
                if let Err(e) = c.run_code(code, label) {
                    self.show_message(&format!("Cannot run the pasted code: {e}"), false);
                }
            }
            None => self.show_message("Not connected: connect to a board first.", false),
        }
    }

    // ----- files -----

    fn add_files(self: &Rc<Self>, files: &web_sys::FileList) {
        for i in 0..files.length() {
            let Some(file) = files.get(i) else { continue };
            let Ok(row) = self.doc.create_element("li") else {
                continue;
            };
            row.set_attribute("data-state", "ready").ok();
            let name = file.name();
            let html = format!(
                "<input class=\"dest\" spellcheck=\"false\" aria-label=\"Name on the board\"><button class=\"remove\" title=\"Remove\">×</button><progress max=\"{}\" value=\"0\"></progress><span class=\"state\">{} bytes, ready</span>",
                file.size().max(1.0),
                file.size()
            );
            row.set_inner_html(&html);
            if let Some(dest) = row
                .query_selector(".dest")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
            {
                dest.set_value(&name);
            }
            if let Some(btn) = row.query_selector(".remove").ok().flatten() {
                let (p, r) = (self.clone(), row.clone());
                listen(&btn, "click", move |_: web_sys::Event| {
                    p.uploads
                        .borrow_mut()
                        .retain(|u| u.row != r || u.id.is_some());
                    if p.uploads.borrow().iter().all(|u| u.row != r) {
                        r.remove();
                    }
                    p.update_send_button();
                });
            }
            let _ = self.els.uploads.append_child(&row);
            self.uploads.borrow_mut().push(Upload {
                file,
                row,
                id: None,
            });
        }
        self.update_send_button();
    }

    fn update_send_button(&self) {
        let ready = self.uploads.borrow().iter().any(|u| u.id.is_none());
        let can = self.live().is_some() || self.viewer_role() == Some(Role::Teacher);
        let _ = self
            .els
            .send
            .toggle_attribute_with_force("disabled", !(ready && can));
    }

    fn send_files(self: &Rc<Self>) {
        if self.viewer().is_some() {
            return self.relay_files();
        }
        let Some(conn) = self.live() else {
            self.show_message("Not connected: connect to a board first.", false);
            return;
        };
        for (file, row, dest) in self.ready_uploads() {
            if file.size() > u32::MAX as f64 {
                set_row(&row, "failed", "larger than 4 GiB: WebREPL cannot send it");
                continue;
            }
            set_row(&row, "reading", "reading the file…");
            // Mark it taken now, so a second click does not send it twice.
            if let Some(u) = self.uploads.borrow_mut().iter_mut().find(|u| u.row == row) {
                u.id = Some(TransferId(u32::MAX));
            }
            let (p, conn, row2) = (self.clone(), conn.clone(), row.clone());
            read_file(&file, &row, move |data| match conn.put(&dest, data) {
                Ok(id) => {
                    if let Some(u) = p.uploads.borrow_mut().iter_mut().find(|u| u.row == row2) {
                        u.id = Some(id);
                    }
                    if let Some(input) = row2.query_selector(".dest").ok().flatten() {
                        let _ = input.set_attribute("readonly", "");
                    }
                    set_row(&row2, "queued", "waiting…");
                    p.track(id, row2);
                }
                Err(e) => set_row(&row2, "failed", &e.to_string()),
            });
        }
        self.update_send_button();
    }

    fn get_file(self: &Rc<Self>) {
        let name = self.els.get_name.value().trim().to_owned();
        if let Err(e) = validate_name(&name) {
            self.show_message(&format!("Get: {e}"), false);
            return;
        }
        if let Some(v) = self.viewer() {
            let row = self.download_row(&name);
            match v.get(&name) {
                Ok(id) => {
                    self.relay_rows.borrow_mut().insert(id, row);
                }
                Err(e) => set_row(&row, "failed", &e),
            }
            return;
        }
        let Some(conn) = self.live() else {
            self.show_message("Not connected: connect to a board first.", false);
            return;
        };
        match conn.download(&name) {
            Ok(id) => {
                let Ok(row) = self.doc.create_element("li") else {
                    return;
                };
                row.set_inner_html(
                    "<span class=\"name\"></span><span class=\"state\">waiting…</span>",
                );
                if let Some(n) = row.query_selector(".name").ok().flatten() {
                    n.set_text_content(Some(&name));
                }
                row.set_attribute("data-state", "queued").ok();
                let _ = self.els.downloads.prepend_with_node_1(&row);
                self.track(id, row);
            }
            Err(e) => self.show_message(&format!("Get: {e}"), false),
        }
    }

    fn queue_progress(self: &Rc<Self>, id: TransferId, done: u64, total: Option<u64>) {
        self.progress_due.borrow_mut().insert(id, (done, total));
        if self.progress_frame.replace(true) {
            return;
        }
        let weak = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            if let Some(p) = weak.upgrade() {
                p.progress_frame.set(false);
                let due: Vec<_> = p.progress_due.borrow_mut().drain().collect();
                for (id, (done, total)) in due {
                    p.progress(id, done, total);
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(cb.unchecked_ref());
        }
    }

    /// A row in the downloads list for `name`.
    fn download_row(&self, name: &str) -> Element {
        let row = self
            .doc
            .create_element("li")
            .unwrap_or_else(|_| self.els.downloads.clone().into());
        row.set_inner_html("<span class=\"name\"></span><span class=\"state\">waiting…</span>");
        if let Some(n) = row.query_selector(".name").ok().flatten() {
            n.set_text_content(Some(name));
        }
        let _ = row.set_attribute("data-state", "queued");
        let _ = self.els.downloads.prepend_with_node_1(&row);
        row
    }

    /// Picked files not sent yet, with their destination names; rows with a bad name are marked
    /// failed and left out.
    fn ready_uploads(&self) -> Vec<(File, Element, String)> {
        let pending: Vec<(File, Element)> = self
            .uploads
            .borrow()
            .iter()
            .filter(|u| u.id.is_none())
            .map(|u| (u.file.clone(), u.row.clone()))
            .collect();
        let mut ready = Vec::new();
        for (file, row) in pending {
            let dest = row
                .query_selector(".dest")
                .ok()
                .flatten()
                .and_then(|e| e.dyn_into::<HtmlInputElement>().ok())
                .map(|i| i.value().trim().to_owned())
                .unwrap_or_default();
            match validate_name(&dest) {
                Ok(()) => ready.push((file, row, dest)),
                Err(e) => set_row(&row, "failed", &e.to_string()),
            }
        }
        ready
    }

    /// A teacher's files go to the board through the station.
    fn relay_files(self: &Rc<Self>) {
        let Some(v) = self.viewer() else { return };
        for (file, row, dest) in self.ready_uploads() {
            if let Some(u) = self.uploads.borrow_mut().iter_mut().find(|u| u.row == row) {
                u.id = Some(TransferId(u32::MAX));
            }
            set_row(&row, "reading", "reading the file…");
            let (p, v, row2) = (self.clone(), v.clone(), row.clone());
            read_file(&file, &row, move |data| match v.put(&dest, &data) {
                Ok(id) => {
                    set_row(&row2, "queued", "sent to the station…");
                    p.relay_rows.borrow_mut().insert(id, row2);
                }
                Err(e) => set_row(&row2, "failed", &e),
            });
        }
    }

    fn progress(&self, id: TransferId, done: u64, total: Option<u64>) {
        if let Some(panel) = self.panel.borrow().as_ref() {
            if panel.on_progress(id, done, total) {
                return;
            }
        }
        let rows = self.rows.borrow();
        let Some(row) = rows.get(&id) else { return };
        let text = match total {
            Some(t) if t > 0 => format!(
                "{done} / {t} bytes ({:.0} %)",
                done as f64 * 100.0 / t as f64
            ),
            _ => format!("{done} bytes"),
        };
        set_row(row, "active", &text);
        set_progress(row, done as f64);
    }

    fn transfer_done(&self, id: TransferId, outcome: TransferOutcome) {
        match outcome {
            TransferOutcome::Version(v) => {
                self.els
                    .version
                    .set_text_content(Some(&format!("MicroPython {v}")));
                // Republish the status so the room sees the version too.
                let (state, text) = self.shown_status.borrow().clone();
                self.set_status(&state, &text);
            }
            TransferOutcome::Put { name, size } => {
                self.finish_row(id, "done", &format!("sent {size} bytes to {name}"));
                self.uploads.borrow_mut().retain(|u| u.id != Some(id));
            }
            TransferOutcome::Get { name, data } => {
                let size = data.len();
                match download(&self.doc, &name, &data) {
                    Ok(()) => self.finish_row(id, "done", &format!("{size} bytes, downloaded")),
                    Err(e) => self.finish_row(
                        id,
                        "failed",
                        &format!("got {size} bytes but the download failed: {e}"),
                    ),
                }
            }
        }
    }

    /// Follows a transfer's row; the row records when the transfer was queued.
    fn track(&self, id: TransferId, row: Element) {
        let _ = row.set_attribute("data-t0", &crate::clock::now_ms().to_string());
        self.rows.borrow_mut().insert(id, row);
    }

    fn finish_row(&self, id: TransferId, state: &str, text: &str) {
        self.progress_due.borrow_mut().remove(&id);
        if let Some(row) = self.rows.borrow_mut().remove(&id) {
            // How long the transfer itself took (benchmarks read it).
            if let Some(t0) = row
                .get_attribute("data-t0")
                .and_then(|t| t.parse::<u64>().ok())
            {
                let _ = row.set_attribute(
                    "data-ms",
                    &crate::clock::now_ms().saturating_sub(t0).to_string(),
                );
            }
            set_row(&row, state, text);
        }
    }

    // ----- status -----

    fn set_status(&self, state: &str, text: &str) {
        self.set_status_with(state, text, "");
    }

    /// The status, and at a station why the board connection failed (`problem`) for the room.
    fn set_status_with(&self, state: &str, text: &str, problem: &str) {
        *self.shown_status.borrow_mut() = (state.to_owned(), text.to_owned());
        let _ = self.els.status.set_attribute("data-state", state);
        self.els.status.set_text_content(Some(text));
        if let Some(st) = self.station.borrow().as_ref() {
            let url = self.conn_url().unwrap_or_default();
            st.status(Status {
                state: state.to_owned(),
                text: text.to_owned(),
                url,
                version: self.els.version.text_content().unwrap_or_default(),
                problem: problem.to_owned(),
            });
        }
    }

    fn show_message(&self, text: &str, info: bool) {
        let mut chars = text.chars();
        let text: String = chars
            .next()
            .map(|c| c.to_uppercase().chain(chars).collect())
            .unwrap_or_default();
        self.els.message.set_text_content(Some(&text));
        self.els
            .message
            .set_class_name(if info { "info" } else { "" });
        self.els.message.set_hidden(false);
    }

    fn hide_message(&self) {
        self.els.message.set_hidden(true);
    }
}

/// Reads a picked file, then hands its bytes to `then`; a read error is shown on `row`.
fn read_file(file: &File, row: &Element, then: impl FnOnce(Vec<u8>) + 'static) {
    let row = row.clone();
    read_bytes(file, then, move |e| {
        set_row(&row, "failed", &format!("could not read the file: {e}"))
    });
}

/// The file panel's requests, for someone in an Edrys room: relayed through the station. The
/// panel keys its rows by `FsId`/`TransferId`; here they hold this viewer's [`RelayId`]s (the
/// panel of a viewer never sees the station's session ids), converted in this one place.
struct RelayFiles(std::rc::Weak<Page>);

impl RelayFiles {
    fn viewer(&self) -> Result<(Rc<Page>, Rc<Viewer>), String> {
        let p = self.0.upgrade().ok_or("the page is gone")?;
        let v = p.viewer().ok_or("not in an Edrys room")?;
        Ok((p, v))
    }
}

fn relay_fs(id: RelayId) -> FsId {
    FsId(id.0)
}

fn relay_transfer(id: RelayId) -> TransferId {
    TransferId(id.0)
}

impl crate::panel::Backend for RelayFiles {
    fn ready(&self) -> bool {
        self.0.upgrade().is_some_and(|p| p.station_connected.get())
    }
    fn fs(&self, op: FsOp) -> Result<FsId, String> {
        let (_, v) = self.viewer()?;
        v.fs(&op).map(relay_fs)
    }
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String> {
        let (_, v) = self.viewer()?;
        let path = webrepl_core::files::normalize_transferable(path).map_err(|e| e.to_string())?;
        let id = v.upload(&path, &data)?;
        Ok((relay_fs(id), relay_transfer(id)))
    }
    fn get(&self, path: &str) -> Result<TransferId, String> {
        let (_, v) = self.viewer()?;
        validate_name(path).map_err(|e| e.to_string())?;
        v.get(path).map(relay_transfer)
    }
    fn cancel(&self) {
        if let Ok((p, v)) = self.viewer() {
            if let Err(e) = v.cancel_fs() {
                p.show_message(&e, false);
            }
        }
    }
    fn stop(&self) {
        if let Ok((p, v)) = self.viewer() {
            if let Err(e) = v.key(Key::Stop) {
                p.show_message(&e, false);
            }
        }
    }
    fn run_file(&self, path: &str) -> Result<(), String> {
        let (_, v) = self.viewer()?;
        let code = webrepl_core::files::run_file_code(path).map_err(|e| e.to_string())?;
        // As a paste: the station runs it if the room's input policy lets this user type.
        v.run(&code)
    }
}

/// The file panel's requests over this page's own connection.
struct LocalFiles(std::rc::Weak<Page>);

impl LocalFiles {
    fn conn(&self) -> Result<Connection, String> {
        self.0
            .upgrade()
            .and_then(|p| p.live())
            .ok_or_else(|| "not connected: connect to a board first".to_owned())
    }
}

impl crate::panel::Backend for LocalFiles {
    fn ready(&self) -> bool {
        self.conn().is_ok()
    }
    fn fs(&self, op: FsOp) -> Result<FsId, String> {
        self.conn()?.fs(op).map_err(|e| e.to_string())
    }
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String> {
        self.conn()?.upload(path, data).map_err(|e| e.to_string())
    }
    fn get(&self, path: &str) -> Result<TransferId, String> {
        self.conn()?.download(path).map_err(|e| e.to_string())
    }
    fn cancel(&self) {
        if let Ok(c) = self.conn() {
            c.cancel_fs();
        }
    }
    fn stop(&self) {
        if let Ok(c) = self.conn() {
            c.send_key(ControlKey::Interrupt);
        }
    }
    fn run_file(&self, path: &str) -> Result<(), String> {
        let code = webrepl_core::files::run_file_code(path).map_err(|e| e.to_string())?;
        self.conn()?
            .run_code(&code, webrepl_core::files::base_name(path))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

// ----- Edrys -----

impl Page {
    fn viewer(&self) -> Option<Rc<Viewer>> {
        self.viewer.borrow().clone()
    }

    fn viewer_role(&self) -> Option<Role> {
        self.viewer().map(|v| v.role())
    }

    /// A close reason in words for this page: at a station, connection failures name the proxy
    /// and the browser's local-network rules (docs/local-network-access.md).
    fn explain(&self, reason: &CloseReason) -> String {
        let url = self.conn_url().unwrap_or_else(|| self.els.url.value());
        let proxied = webrepl_core::parse_board_url(&url)
            .ok()
            .filter(|u| u.target.is_some() && u.is_loopback());
        match (reason, proxied) {
            (CloseReason::Lost { .. }, _) if self.serial_mode.get() => {
                page_serial::LOST.into()
            }
            (CloseReason::ConnectFailed | CloseReason::ConnectTimeout(_), Some(u)) => format!(
                "nothing answered at {}:{}: is the webrepl proxy running on this computer (`webrepl proxy`)? If it is, the browser may be blocking local network access for this site: allow it in the site settings (Chrome: Local network access), or ask the lab's admin to set the Chrome policy LocalNetworkAccessAllowedForUrls for the lab's Edrys address",
                u.host, u.port
            ),
            _ => reason.to_string(),
        }
    }

    fn enter_edrys(self: &Rc<Self>, edrys: Edrys) {
        let config = parse_station_config(&edrys.station_config());
        let role = edrys.role();
        let _ = self
            .doc
            .document_element()
            .map(|e| e.set_attribute("data-edrys-role", role.map_or("unknown", Role::as_str)));
        // One listener for the room; it dispatches to the station or the viewer.
        let weak = Rc::downgrade(self);
        let listen_result = edrys.on_message(move |m| {
            if let Some(p) = weak.upgrade() {
                p.on_room_message(m);
            }
        });
        if let Err(e) = listen_result {
            self.show_message(&format!("Edrys: {e}"), false);
        }
        match role {
            Some(Role::Station) => self.enter_station(edrys, config),
            Some(r) => {
                self.els.connect.set_hidden(true);
                for id in ["url", "password"] {
                    if let Some(el) = self.doc.get_element_by_id(id) {
                        let _ = el.set_attribute("hidden", "");
                    }
                }
                if let Some(el) = self.doc.query_selector(".check").ok().flatten() {
                    let _ = el.set_attribute("hidden", "");
                }
                if r != Role::Teacher {
                    // Files go through the station for teachers only.
                    for id in ["send-section", "get-section"] {
                        if let Some(el) = self.doc.get_element_by_id(id) {
                            let _ = el.set_attribute("hidden", "");
                        }
                    }
                }
                if let Some(panel) = self.panel.borrow().as_ref() {
                    panel.set_backend(Rc::new(RelayFiles(Rc::downgrade(self))));
                    if r == Role::Student {
                        if let Some(home) = config.files.student_folder(&edrys.username()) {
                            panel.set_home(&home);
                        }
                    }
                }
                let v = Viewer::new(edrys, r, config.input);
                *self.viewer.borrow_mut() = Some(v.clone());
                self.set_status("connecting", "Waiting for the station…");
                if let Err(reason) = config.input.check(Some(r)) {
                    self.term.borrow().notice(reason);
                }
                self.show_viewer_events(v.join());
                self.retry_join(1);
            }
            None => {
                self.show_message(
                    "Edrys did not say which role this browser has; running as a standalone page.",
                    true,
                );
            }
        }
    }

    /// Keeps asking the station for the backlog until it answers (see `Viewer::retry`).
    fn retry_join(self: &Rc<Self>, attempt: u32) {
        let Some(w) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            let Some(p) = weak.upgrade() else { return };
            let Some(v) = p.viewer() else { return };
            let (again, events) = v.retry(attempt);
            p.show_viewer_events(events);
            if again {
                p.retry_join(attempt + 1);
            }
        });
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 1000);
    }

    fn enter_station(self: &Rc<Self>, edrys: Edrys, config: StationConfig) {
        if !config.warnings.is_empty() {
            self.show_message(
                &format!("Station config: {}", config.warnings.join("; ")),
                false,
            );
        }
        self.els.remember.set_checked(true);
        let serial = config.serial;
        let url = config.websocket.as_ref().map(|u| u.url.clone());
        if let Some(u) = &url {
            self.els.url.set_value(u);
            let _ = self.els.url.set_attribute("readonly", "");
        }
        let saved = edrys.get_item("webrepl.password").or_else(|| {
            storage().and_then(|s| {
                url.as_ref()
                    .and_then(|u| s.get_item(&password_key(u)).ok().flatten())
            })
        });
        let (w1, w2) = (Rc::downgrade(self), Rc::downgrade(self));
        let notice = move |text: &str| {
            if let Some(p) = w1.upgrade() {
                p.term.borrow().notice(text);
            }
        };
        let redeliver = move |d: Deferred| {
            let Some(p) = w2.upgrade() else { return };
            match d {
                Deferred::Event(e) => p.on_event(e),
                Deferred::Message(m) => p.on_room_message(m),
                Deferred::Status(s) => {
                    if let Some(st) = p.station.borrow().clone() {
                        st.status(s);
                    }
                }
            }
        };
        let station = Station::new(edrys, config, notice, redeliver);
        *self.station.borrow_mut() = Some(station.clone());
        if serial {
            self.enter_serial_station();
            return;
        }
        match (url, saved) {
            (Some(_), Some(pw)) => {
                self.els.password.set_value(&pw);
                self.term
                    .borrow()
                    .notice("Station: connecting to the board from the station config.");
                self.connect();
            }
            (Some(_), None) => {
                self.term.borrow().notice("Station: enter the board's WebREPL password once and press Connect; it stays in this browser only.");
                let _ = self.els.password.focus();
            }
            (None, _) => self.set_status("error", "No board address in the station config"),
        }
    }

    /// Keeps the station's password in this browser only (Edrys' per-class storage).
    fn remember_station_password(&self) {
        if let Some(st) = self.station.borrow().as_ref() {
            st.edrys
                .set_item("webrepl.password", &self.els.password.value());
        }
    }
}

/// The station's session commands, on this page's connection.
struct PageBoard<'a>(&'a Page);

impl PageBoard<'_> {
    fn conn(&self) -> Result<Connection, String> {
        self.0
            .live()
            .ok_or_else(|| "the station is not connected to the board".to_owned())
    }
}

impl Board for PageBoard<'_> {
    fn put(&mut self, name: &str, data: Vec<u8>) -> Result<TransferId, String> {
        self.conn()?.put(name, data).map_err(|e| e.to_string())
    }
    fn get(&mut self, name: &str) -> Result<TransferId, String> {
        self.conn()?.download(name).map_err(|e| e.to_string())
    }
    fn send_input(&mut self, text: &str) -> Result<(), String> {
        self.conn()?.send_input(text);
        Ok(())
    }
    fn interrupt(&mut self) -> Result<(), String> {
        self.conn()?.send_key(ControlKey::Interrupt);
        Ok(())
    }
    fn soft_reset(&mut self) -> Result<(), String> {
        self.conn()?.soft_reset();
        Ok(())
    }
    fn run(&mut self, code: &str, label: &str) -> Result<(), String> {
        self.conn()?
            .run_code(code, label)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
    fn fs(&mut self, op: FsOp) -> Result<FsId, String> {
        self.conn()?.fs(op).map_err(|e| e.to_string())
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String> {
        self.conn()?.upload(path, data).map_err(|e| e.to_string())
    }
    fn cancel_fs(&mut self, ids: &[FsId]) {
        if let Ok(c) = self.conn() {
            c.cancel_fs_ids(ids);
        }
    }
}

// ----- a viewer in the room: what the core's viewer says to show -----

impl Page {
    /// A message from the room, for the station or the viewer in this browser.
    fn on_room_message(&self, m: api::Message) {
        let station = self.station.borrow().clone();
        if let Some(st) = station {
            st.on_message(&mut PageBoard(self), m);
            return;
        }
        let viewer = self.viewer();
        if let Some(v) = viewer {
            let events = v.on_message(&m);
            self.show_viewer_events(events);
        }
    }

    fn show_viewer_events(&self, events: Vec<ViewerEvent>) {
        for e in events {
            match e {
                ViewerEvent::Write(text) => self.term.borrow().write(&text),
                ViewerEvent::Status {
                    state,
                    text,
                    version,
                } => self.viewer_status(&state, &text, &version),
                ViewerEvent::Message(text) => self.show_message(&text, false),
                ViewerEvent::Transfer {
                    id,
                    get,
                    state,
                    text,
                    done,
                    total,
                } => self.viewer_transfer(id, get, state, &text, done, total),
                ViewerEvent::Download { id, name, data } => self.viewer_download(id, &name, &data),
                ViewerEvent::Fs { id, state } => {
                    if let Some(panel) = self.panel.borrow().clone() {
                        panel.on_fs(relay_fs(id), state);
                    }
                }
            }
        }
    }

    fn viewer_transfer(
        &self,
        id: RelayId,
        get: bool,
        state: XferState,
        text: &str,
        done: u64,
        total: Option<u64>,
    ) {
        if let Some(panel) = self.panel.borrow().clone() {
            let tid = relay_transfer(id);
            let mine = match state {
                XferState::Active => panel.on_progress(tid, done, total),
                XferState::Failed => panel.on_transfer_failed(tid, text),
                XferState::Done => panel.on_transfer_done(
                    tid,
                    &TransferOutcome::Put {
                        name: String::new(),
                        size: done,
                    },
                ),
                XferState::Queued => panel.owns_transfer(tid),
            };
            if mine {
                return;
            }
        }
        let rows = self.relay_rows.borrow();
        let Some(row) = rows.get(&id) else { return };
        let text = match (state, total) {
            (XferState::Active, Some(t)) if t > 0 => format!(
                "{done} / {t} bytes ({:.0} %) via the station",
                done as f64 * 100.0 / t as f64
            ),
            (XferState::Active, _) => format!("{done} bytes via the station"),
            _ => text.to_owned(),
        };
        let state_name = match state {
            XferState::Queued => "queued",
            XferState::Active => "active",
            XferState::Done => "done",
            XferState::Failed => "failed",
        };
        // A get is done only when its bytes arrived (viewer_download).
        if state == XferState::Done && get {
            set_row(row, "active", &text);
            return;
        }
        set_row(row, state_name, &text);
        set_progress(row, done as f64);
        if matches!(state, XferState::Done | XferState::Failed) {
            if state == XferState::Done {
                self.uploads.borrow_mut().retain(|u| u.row != *row);
            }
            drop(rows);
            self.relay_rows.borrow_mut().remove(&id);
            self.update_send_button();
        }
    }

    fn viewer_download(&self, id: RelayId, name: &str, data: &[u8]) {
        if let Some(panel) = self.panel.borrow().clone() {
            let got = TransferOutcome::Get {
                name: name.to_owned(),
                data: data.to_vec(),
            };
            if panel.on_transfer_done(relay_transfer(id), &got) {
                return;
            }
        }
        let row = self.relay_rows.borrow_mut().remove(&id);
        let result = download(&self.doc, name, data);
        if let Some(row) = row {
            match result {
                Ok(()) => set_row(&row, "done", &format!("{} bytes, downloaded", data.len())),
                Err(e) => set_row(&row, "failed", &e),
            }
        }
    }

    fn viewer_status(&self, state: &str, text: &str, version: &str) {
        let was = self.station_connected.get();
        let now = state == "connected";
        self.station_connected.set(now);
        let _ = self.els.status.set_attribute(
            "data-state",
            if state.is_empty() {
                "connecting"
            } else {
                state
            },
        );
        self.els.status.set_text_content(Some(text));
        self.els.version.set_text_content(Some(version));
        if now && !was {
            self.hide_message();
        }
        if let Some(panel) = self.panel.borrow().clone() {
            if now && !was {
                panel.connected();
            } else if !now && was {
                panel.disconnected();
            }
        }
    }
}
