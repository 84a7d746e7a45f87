//! The standalone page (a replacement for MicroPython's webrepl.html): board address and
//! password, Connect/Disconnect with a visible status, the terminal, Stop and Soft reset, and
//! the file panel ([`crate::panel`]: upload, download, progress). A USB board connects over Web
//! Serial instead ([`serial`]: "Connect USB board"). Decisions are the core's: when to
//! reconnect ([`webrepl_core::supervisor`]), what a transfer belongs to and what the panel
//! shows ([`webrepl_core::panel`]); this module renders and binds events.
//!
//! - [`fields`]: the address and password fields, filled from the query, the board, storage;
//! - [`connect`]: opening and closing the link, the session's events, the reconnect timer;
//! - [`room`]: the page in an Edrys room, as the station or a viewer;
//! - [`files`]: the file panel's requests, over this page's connection or through the room.

mod connect;
mod fields;
mod files;
mod room;
mod serial;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use web_sys::{Document, HtmlElement, HtmlInputElement};
use webrepl_core::room::message::{Key, Status};
use webrepl_core::supervisor::Supervisor;
use webrepl_core::{ControlKey, TransferId};

use crate::connection::Connection;
use crate::dom::{by_id, listen};
use crate::edrys::api;
use crate::edrys::room::{Station, Viewer};
use crate::panel::Panel;
use crate::term::Term;

/// The page's elements, found once by id.
struct Els {
    url: HtmlInputElement,
    password: HtmlInputElement,
    remember: HtmlInputElement,
    connect: HtmlElement,
    status: HtmlElement,
    version: HtmlElement,
    message: HtmlElement,
    serial: HtmlElement,
    baud: HtmlInputElement,
}

struct Page {
    doc: Document,
    els: Els,
    term: RefCell<Term>,
    conn: RefCell<Option<Connection>>,
    /// Which link the user wants, and when to try it again.
    sup: RefCell<Supervisor>,
    reconnect_timer: Cell<Option<i32>>,
    /// Progress waiting for the next animation frame (the DOM is updated once per frame).
    progress_due: RefCell<HashMap<TransferId, (u64, Option<u64>)>>,
    progress_frame: Cell<bool>,
    /// The hint about non-ASCII typing was shown.
    hinted_ascii: Cell<bool>,
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
        sup: RefCell::new(Supervisor::default()),
        reconnect_timer: Cell::new(None),
        progress_due: RefCell::new(HashMap::new()),
        progress_frame: Cell::new(false),
        hinted_ascii: Cell::new(false),
        version_id: Cell::new(None),
        station: RefCell::new(None),
        viewer: RefCell::new(None),
        panel: RefCell::new(None),
        station_connected: Cell::new(false),
        said_not_sent: Cell::new(false),
        shown_status: RefCell::new((String::new(), String::new())),
        role_known: Cell::new(false),
    });
    let w = Rc::downgrade(&page);
    let panel = Panel::new(
        &doc,
        Rc::new(files::LocalFiles(Rc::downgrade(&page))),
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
    fn wire(self: &Rc<Self>, term_el: &HtmlElement) -> Result<(), String> {
        let form: web_sys::EventTarget = by_id::<HtmlElement>(&self.doc, "connect-form")?.into();
        let p = self.clone();
        listen(&form, "submit", move |e: web_sys::Event| {
            e.prevent_default();
            if !p.role_known.get() {
                return;
            }
            if p.sup.borrow().wanted().is_some() {
                p.disconnect();
            } else {
                p.connect();
            }
        });
        let p = self.clone();
        self.term.borrow_mut().on_data(move |data| p.typed(&data));
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
            listen(&el, "click", move |_: web_sys::Event| p.control(key));
        }
        self.wire_drop()?;
        // Close with an empty close frame before the browser would send 1001 on unload.
        let p = self.clone();
        if let Some(w) = web_sys::window() {
            listen(&w, "pagehide", move |_: web_sys::Event| {
                p.sup.borrow_mut().stop();
                if let Some(c) = p.conn.borrow().as_ref() {
                    c.close();
                }
            });
        }
        Ok(())
    }

    /// Files dropped anywhere on the page upload into the panel's folder.
    fn wire_drop(self: &Rc<Self>) -> Result<(), String> {
        let doc: &web_sys::EventTarget = self.doc.as_ref();
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
            let Some(dt) = e.data_transfer() else { return };
            if dt.files().is_some_and(|f| f.length() > 0) {
                e.prevent_default();
                if let Some(panel) = p.panel() {
                    let dir = panel.dir();
                    panel.upload_dropped(dt.into(), dir);
                }
            }
        });
        Ok(())
    }

    /// Keys typed in the terminal: to the station (a viewer) or the board.
    fn typed(&self, data: &str) {
        if let Some(v) = self.viewer() {
            if let Err(e) = v.input(data) {
                self.show_message(&e, false);
            }
        } else if let Some(c) = self.live() {
            if !data.is_ascii() && !self.hinted_ascii.replace(true) {
                self.term.borrow().notice(
                    "Note: the board's REPL line editor drops characters outside ASCII. Write them as \\u escapes ('\\u00e4'), or paste the code: pasted lines run through paste mode, which keeps them.",
                );
            }
            c.send_input(data);
        } else if !self.said_not_sent.replace(true) {
            // Not logged in (yet): keys are not held for a session that may never come.
            let text = if self.conn.borrow().is_some() {
                "Not logged in yet: what you type now is not sent; type it again at the >>> prompt."
            } else {
                "Not connected: what you type is not sent. Enter the board's address and password, then Connect."
            };
            self.term.borrow().notice(text);
        }
    }

    /// Stop (Ctrl-C, `Some`) or Soft reset (`None`).
    fn control(&self, key: Option<ControlKey>) {
        if let Some(v) = self.viewer() {
            let k = if key.is_some() { Key::Stop } else { Key::Reset };
            if let Err(e) = v.key(k) {
                self.show_message(&e, false);
            }
            return;
        }
        match (self.live(), key) {
            (Some(c), Some(k)) => c.send_key(k),
            (Some(c), None) => c.soft_reset(),
            (None, _) => self.show_message("Not connected.", false),
        }
    }

    fn panel(&self) -> Option<Rc<Panel>> {
        self.panel.borrow().clone()
    }

    fn viewer(&self) -> Option<Rc<Viewer>> {
        self.viewer.borrow().clone()
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
        // Our messages start with an ASCII word; ASCII capitalising spares the page Unicode's
        // case tables (~10 KB).
        let mut chars = text.chars();
        let text: String = chars
            .next()
            .map(|c| {
                std::iter::once(c.to_ascii_uppercase())
                    .chain(chars)
                    .collect()
            })
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
