//! Opening and closing the link (Connect, Disconnect), the session's events (terminal output,
//! status, the board's version; files go to the panel), and the reconnect timer the core's
//! [`Supervisor`](webrepl_core::supervisor::Supervisor) asks for.

use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use webrepl_core::owners::{FsRef, TransferRef};
use webrepl_core::supervisor::{explain, Link, Next};
use webrepl_core::{
    CloseReason, Event, Password, RunState, SessionConfig, TransferId, TransferOutcome,
};

use super::fields::KEY_URL;
use super::room::PageBoard;
use super::{password_key, storage, Page};
use crate::connection::Connection;
use crate::panel::FilesEvent;

impl Page {
    pub(super) fn connect(self: &Rc<Self>) {
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
        self.sup.borrow_mut().want(Link::WebRepl);
        self.open(&url, password);
    }

    /// A listener for a connection's events.
    pub(super) fn listener(self: &Rc<Self>) -> Rc<dyn Fn(Event)> {
        let weak = Rc::downgrade(self);
        Rc::new(move |e: Event| {
            if let Some(p) = weak.upgrade() {
                p.on_event(e);
            }
        })
    }

    fn open(self: &Rc<Self>, url: &str, password: Password) {
        match Connection::open(
            url,
            Some(password.clone()),
            SessionConfig::default(),
            self.listener(),
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
                self.sup.borrow_mut().stop();
                self.set_status("error", "Not connected");
                self.show_message(&e.to_string(), false);
            }
        }
    }

    pub(super) fn disconnect(&self) {
        self.sup.borrow_mut().stop();
        self.cancel_reconnect();
        let conn = self.conn.borrow_mut().take();
        if let Some(c) = conn {
            c.close();
        }
        self.set_status("disconnected", "Disconnected");
        self.els.connect.set_text_content(Some("Connect"));
    }

    fn files(&self, e: FilesEvent) {
        if let Some(panel) = self.panel() {
            panel.on_event(e);
        }
    }

    pub(super) fn on_event(self: &Rc<Self>, e: Event) {
        // At a station, transfers are shared with the room; one run for someone else is theirs.
        let station = self.station.borrow().clone();
        let e = match station {
            Some(st) => match st.on_event(&mut PageBoard(self), e) {
                Some(e) => e,
                None => return, // someone else's in the room, or handed back later
            },
            None => e,
        };
        let version = self.version_id.get();
        match e {
            Event::Fs { id, state } => self.files(FilesEvent::Fs(FsRef::Local(id), state)),
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
            Event::LoggedIn => self.logged_in(),
            Event::TransferProgress { id, .. } if Some(id) == version => {}
            Event::TransferProgress { id, done, total } => self.queue_progress(id, done, total),
            Event::TransferDone {
                outcome: TransferOutcome::Version(v),
                ..
            } => self.show_version(&v.to_string()),
            Event::TransferDone { id, outcome } => {
                self.progress_due.borrow_mut().remove(&id);
                self.files(FilesEvent::Done(TransferRef::Local(id), outcome));
            }
            Event::TransferFailed { id, .. } if Some(id) == version => {}
            Event::TransferFailed { id, error, .. } => {
                self.progress_due.borrow_mut().remove(&id);
                let failed = FilesEvent::Failed(TransferRef::Local(id), error.to_string());
                self.files(failed);
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
                self.files(FilesEvent::Disconnected);
                let Some(link) = self.sup.borrow().wanted() else {
                    return;
                };
                if link == Link::Serial && matches!(reason, CloseReason::Lost { .. }) {
                    // Whether it was unplugged or reset decides what happens next.
                    return self.serial_lost();
                }
                let url = self.conn_url().unwrap_or_else(|| self.els.url.value());
                let why = explain(&reason, link, &url);
                let next = self.sup.borrow_mut().closed(&reason, why);
                self.after_close(&next);
            }
        }
    }

    fn logged_in(&self) {
        self.said_not_sent.set(false);
        self.sup.borrow_mut().logged_in();
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
        self.files(FilesEvent::Connected);
        self.term.borrow().focus();
    }

    fn show_version(&self, v: &str) {
        self.els
            .version
            .set_text_content(Some(&format!("MicroPython {v}")));
        // Republish the status so the room sees the version too.
        let (state, text) = self.shown_status.borrow().clone();
        self.set_status(&state, &text);
    }

    /// Shows what the supervisor decided after a close (or a missing USB board) and arms its
    /// timer.
    pub(super) fn after_close(self: &Rc<Self>, next: &Next) {
        match next {
            Next::Nothing => {}
            Next::Retry { delay_ms, .. }
            | Next::ReopenPort { delay_ms, .. }
            | Next::WaitForPort { delay_ms, .. } => {
                // (A missing board is looked for every second: the supervisor says it once.)
                if let Some(n) = next.terminal_notice() {
                    self.term.borrow().notice(&n);
                }
                self.set_status_with("reconnecting", &next.status(), next.why());
                self.show_message(next.why(), true);
                self.schedule_reconnect(*delay_ms);
            }
            Next::GiveUp { why } => {
                self.els.connect.set_text_content(Some("Connect"));
                self.set_status_with("error", &next.status(), why);
                self.show_message(why, false);
                self.term.borrow().notice(why);
            }
        }
    }

    fn schedule_reconnect(self: &Rc<Self>, delay: u64) {
        self.cancel_reconnect();
        let Some(w) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            let Some(p) = weak.upgrade() else { return };
            p.reconnect_timer.set(None);
            let link = p.sup.borrow_mut().timer_fired();
            match link {
                Some(Link::Serial) if p.conn_closed() => p.serial_connect(false),
                Some(Link::WebRepl) => match Password::new(&p.els.password.value()) {
                    Ok(pw) => {
                        let url = p.els.url.value();
                        p.open(&url, pw);
                    }
                    Err(e) => p.show_message(&format!("Password: {e}"), false),
                },
                _ => {}
            }
        });
        let ms = i32::try_from(delay).unwrap_or(i32::MAX);
        if let Ok(id) =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), ms)
        {
            self.reconnect_timer.set(Some(id));
        }
    }

    pub(super) fn cancel_reconnect(&self) {
        if let (Some(id), Some(w)) = (self.reconnect_timer.take(), web_sys::window()) {
            w.clear_timeout_with_handle(id);
        }
    }

    pub(super) fn conn_closed(&self) -> bool {
        self.conn.borrow().as_ref().is_none_or(|c| c.is_closed())
    }

    pub(super) fn run(&self, code: &str, label: &str) {
        match self.live() {
            Some(c) => {
                if let Err(e) = c.run_code(code, label) {
                    self.show_message(&format!("Cannot run the pasted code: {e}"), false);
                }
            }
            None => self.show_message("Not connected: connect to a board first.", false),
        }
    }

    /// Progress is drawn once per animation frame.
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
                    p.files(FilesEvent::Progress(TransferRef::Local(id), done, total));
                }
            }
        });
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(cb.unchecked_ref());
        }
    }
}
