//! The page's USB board side: "Connect USB board" (a port the browser already granted opens
//! without asking, else the browser's port chooser), the baud rate, waiting for an unplugged
//! board to come back (`connect` events, and a look at the granted ports every second), and the
//! Edrys station whose config says `serial: true`.

use super::*;
use crate::serial::{self, Found, SerialError};

const KEY_BAUD: &str = "webrepl.serial.baud";
const DEFAULT_BAUD: u32 = 115_200;

/// What a lost USB link is reported as.
pub(super) const LOST: &str = "the USB board went away (unplugged, or its USB port reset). Plug it back in: the page reconnects when its port is back (if it does not, press Connect USB board: browsers forget a board without a USB serial number when it is unplugged)";

impl Page {
    /// The button, the baud field (`?baud=` or the last one used), and `connect` events.
    pub(super) fn wire_serial(self: &Rc<Self>) {
        let baud = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
            .and_then(|p| p.get("baud"))
            .or_else(|| storage().and_then(|s| s.get_item(KEY_BAUD).ok().flatten()))
            .unwrap_or_else(|| DEFAULT_BAUD.to_string());
        self.els.baud.set_value(&baud);
        if !serial::supported() {
            let _ = self.els.serial.set_attribute("data-unsupported", "");
            self.els
                .serial
                .set_title("This browser has no Web Serial (Chrome and Edge on desktop have it)");
        }
        let p = self.clone();
        listen(&self.els.serial, "click", move |_: web_sys::Event| {
            if p.role_known.get() {
                p.serial_connect(true)
            }
        });
        if let Some(s) = serial::serial() {
            let p = self.clone();
            listen(&s, "connect", move |_: web_sys::Event| {
                // A board came back: if it is the one wanted, reconnect at once.
                if p.wanted.get() && p.serial_mode.get() && p.conn_closed() {
                    p.cancel_reconnect();
                    p.serial_connect(false);
                }
            });
        }
    }

    fn conn_closed(&self) -> bool {
        self.conn.borrow().as_ref().is_none_or(|c| c.is_closed())
    }

    fn baud(&self) -> Result<u32, String> {
        let text = self.els.baud.value();
        match text.trim().parse::<u32>() {
            Ok(b) if (300..=4_000_000).contains(&b) => Ok(b),
            _ => Err(format!(
                "Baud rate: \"{text}\" is not a line speed; MicroPython boards use 115200"
            )),
        }
    }

    /// Connects to the USB board: a port already granted (remembered by its USB ids) without
    /// asking; otherwise, when `ask` (a click), the browser's port chooser.
    pub(super) fn serial_connect(self: &Rc<Self>, ask: bool) {
        if !serial::supported() {
            self.set_status("error", "No Web Serial in this browser");
            self.show_message(&SerialError::Unsupported.to_string(), false);
            return;
        }
        if self.wanted.get() && self.serial_mode.get() && !self.conn_closed() {
            if ask {
                self.show_message(
                    "Already connected to the USB board (press Disconnect first to pick another).",
                    true,
                );
            }
            return;
        }
        let baud = match self.baud() {
            Ok(b) => b,
            Err(e) => {
                self.show_message(&e, false);
                return;
            }
        };
        if let Some(s) = storage() {
            let _ = s.set_item(KEY_BAUD, &baud.to_string());
        }
        if self.wanted.get() && !self.serial_mode.get() {
            self.disconnect();
        }
        self.cancel_reconnect();
        let was_wanted = self.wanted.get() && self.serial_mode.get();
        self.wanted.set(true);
        self.serial_mode.set(true);
        self.els.connect.set_text_content(Some("Disconnect"));
        if !was_wanted {
            self.set_status("connecting", "Looking for the USB board…");
        }
        let p = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let found = match serial::granted_port(was_wanted).await {
                Ok(f) => f,
                Err(e) => return p.serial_failed(&e.to_string()),
            };
            let port = match found {
                Found::Port(port) => port,
                Found::NotGranted | Found::Absent if ask => match serial::request_port().await {
                    Ok(port) => port,
                    Err(e) => return p.serial_failed(&e.to_string()),
                },
                Found::NotGranted => {
                    p.wanted.set(false);
                    p.serial_mode.set(false);
                    p.els.connect.set_text_content(Some("Connect"));
                    p.set_status("disconnected", "Choose the USB board");
                    p.show_message(
                        "Press \"Connect USB board\" once and pick the board's port; after that this browser reconnects to it by itself.",
                        true,
                    );
                    return;
                }
                Found::Absent => return p.wait_for_port(),
            };
            // The user may have pressed Disconnect meanwhile.
            if !(p.wanted.get() && p.serial_mode.get()) {
                return;
            }
            serial::remember(&port);
            p.open_serial(port, baud);
        });
    }

    fn serial_failed(&self, text: &str) {
        self.wanted.set(false);
        self.serial_mode.set(false);
        self.els.connect.set_text_content(Some("Connect"));
        self.set_status_with("error", "Not connected", text);
        self.show_message(text, false);
    }

    fn open_serial(self: &Rc<Self>, port: serial::SerialPort, baud: u32) {
        let weak = Rc::downgrade(self);
        let listener = Rc::new(move |e: Event| {
            if let Some(p) = weak.upgrade() {
                p.on_event(e);
            }
        });
        let conn = Connection::open_serial(port, baud, SessionConfig::default(), listener);
        self.set_status(
            "connecting",
            &format!("Opening {} at {baud} baud…", conn.url()),
        );
        *self.conn.borrow_mut() = Some(conn);
    }

    /// The USB link was lost: the terminal says what happens next, which depends on whether the
    /// port is still there (its USB reset: reopened after the backoff delay) or gone (unplugged:
    /// the page waits for it to come back, however long).
    pub(super) fn serial_lost(self: &Rc<Self>, text: &str) {
        let p = self.clone();
        let text = text.to_owned();
        wasm_bindgen_futures::spawn_local(async move {
            let found = serial::granted_port(true).await;
            // The user may have pressed Disconnect meanwhile.
            if !(p.wanted.get() && p.serial_mode.get()) {
                return;
            }
            match found {
                Ok(Found::Port(_)) => {
                    let delay = p.backoff.borrow_mut().next_delay();
                    let wait = format!("Reconnecting in {:.1} s…", delay as f64 / 1000.0);
                    p.term.borrow().notice(&format!(
                        "{text} (the port is still there: reopening it in {:.1} s)",
                        delay as f64 / 1000.0
                    ));
                    p.set_status_with("reconnecting", &wait, &text);
                    p.show_message(&text, true);
                    p.schedule_reconnect(delay);
                }
                _ => {
                    p.term
                        .borrow()
                        .notice(&format!("{text} (waiting for the board to come back)"));
                    p.wait_for_port();
                }
            }
        });
    }

    /// The board was unplugged: say so, and look again when a port appears or in a second.
    fn wait_for_port(self: &Rc<Self>) {
        self.set_status_with("reconnecting", "Waiting for the USB board…", LOST);
        self.show_message(LOST, true);
        let Some(w) = web_sys::window() else { return };
        let weak = Rc::downgrade(self);
        let cb = Closure::once_into_js(move || {
            if let Some(p) = weak.upgrade() {
                p.reconnect_timer.set(None);
                if p.wanted.get() && p.serial_mode.get() && p.conn_closed() {
                    p.serial_connect(false);
                }
            }
        });
        if let Ok(id) =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 1000)
        {
            self.reconnect_timer.set(Some(id));
        }
    }

    /// A station whose board is on its USB cable: no address or password; the port is picked
    /// once with the button (the browser needs a click), then reconnects by itself.
    pub(super) fn enter_serial_station(self: &Rc<Self>) {
        for id in ["url", "password"] {
            if let Some(el) = self.doc.get_element_by_id(id) {
                let _ = el.set_attribute("hidden", "");
            }
        }
        if let Some(el) = self.doc.query_selector(".check").ok().flatten() {
            let _ = el.set_attribute("hidden", "");
        }
        if !serial::supported() {
            self.set_status("error", "No Web Serial in this browser");
            self.show_message(
                &format!(
                    "Station config says serial: true, but {}",
                    SerialError::Unsupported
                ),
                false,
            );
            return;
        }
        self.term
            .borrow()
            .notice("Station: the board is on this computer's USB cable (serial: true).");
        self.serial_connect(false);
    }
}
