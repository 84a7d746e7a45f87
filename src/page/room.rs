//! The page in an Edrys room: as the station (it holds the board connection and carries out the
//! room's requests on it, [`PageBoard`]) or as a viewer of the station's terminal, whose file
//! panel goes through the room. What the core's station and viewer decide is shown here.

use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use webrepl_core::owners::{FsRef, TransferRef};
use webrepl_core::room::message::XferState;
use webrepl_core::room::{parse_station_config, Board, StationConfig, ViewerEvent};
use webrepl_core::station::Role;
use webrepl_core::{ControlKey, FsId, FsOp, TransferId, TransferOutcome};

use super::files::RelayFiles;
use super::{password_key, storage, Page};
use crate::connection::Connection;
use crate::edrys::api::{self, Edrys};
use crate::edrys::room::{Deferred, Station, Viewer};
use crate::panel::FilesEvent;

impl Page {
    pub(super) fn enter_edrys(self: &Rc<Self>, edrys: Edrys) {
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
        self.sup.borrow_mut().set_station(true);
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
    pub(super) fn remember_station_password(&self) {
        if let Some(st) = self.station.borrow().as_ref() {
            st.edrys
                .set_item("webrepl.password", &self.els.password.value());
        }
    }
}

/// The station's session commands, on this page's connection.
pub(super) struct PageBoard<'a>(pub(super) &'a Page);

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
    pub(super) fn on_room_message(&self, m: api::Message) {
        let station = self.station.borrow().clone();
        if let Some(st) = station {
            st.on_message(&mut PageBoard(self), m);
            return;
        }
        if let Some(v) = self.viewer() {
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
                    state,
                    text,
                    done,
                    total,
                    ..
                } => {
                    let id = TransferRef::Relay(id);
                    let e = match state {
                        XferState::Queued => continue,
                        XferState::Active => FilesEvent::Progress(id, done, total),
                        XferState::Failed => FilesEvent::Failed(id, text),
                        // A get is done when its bytes arrive (`Download`): the panel waits.
                        XferState::Done => FilesEvent::Done(
                            id,
                            TransferOutcome::Put {
                                name: String::new(),
                                size: done,
                            },
                        ),
                    };
                    self.files_event(e);
                }
                ViewerEvent::Download { id, name, data } => self.files_event(FilesEvent::Done(
                    TransferRef::Relay(id),
                    TransferOutcome::Get { name, data },
                )),
                ViewerEvent::Fs { id, state } => {
                    self.files_event(FilesEvent::Fs(FsRef::Relay(id), state))
                }
            }
        }
    }

    fn files_event(&self, e: FilesEvent) {
        if let Some(panel) = self.panel() {
            panel.on_event(e);
        }
    }

    fn viewer_status(&self, state: &str, text: &str, version: &str) {
        let was = self.station_connected.get();
        let now = state == "connected";
        self.station_connected.set(now);
        let shown = if state.is_empty() {
            "connecting"
        } else {
            state
        };
        let _ = self.els.status.set_attribute("data-state", shown);
        self.els.status.set_text_content(Some(text));
        self.els.version.set_text_content(Some(version));
        if now && !was {
            self.hide_message();
            self.files_event(FilesEvent::Connected);
        } else if !now && was {
            self.files_event(FilesEvent::Disconnected);
        }
    }
}
