//! The page's USB board side: "Connect USB board" (a port the browser already granted opens
//! without asking, else the browser's port chooser), the baud rate, waiting for an unplugged
//! board to come back (`connect` events, and a look at the granted ports every second), and the
//! Edrys station whose config says `serial: true`.

use std::rc::Rc;
use webrepl_core::supervisor::Link;
use webrepl_core::SessionConfig;

use super::{storage, Page};
use crate::connection::Connection;
use crate::dom::listen;
use crate::serial::{self, Found, SerialError};

const KEY_BAUD: &str = "webrepl.serial.baud";
const DEFAULT_BAUD: u32 = 115_200;

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
                let closed = p.conn_closed();
                if p.sup.borrow_mut().port_appeared(closed) {
                    p.cancel_reconnect();
                    p.serial_connect(false);
                }
            });
        }
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
        let wanted = self.sup.borrow().wanted();
        if wanted == Some(Link::Serial) && !self.conn_closed() {
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
        if wanted == Some(Link::WebRepl) {
            self.disconnect();
        }
        self.cancel_reconnect();
        let was_wanted = wanted == Some(Link::Serial);
        self.sup.borrow_mut().want(Link::Serial);
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
                    p.sup.borrow_mut().stop();
                    p.els.connect.set_text_content(Some("Connect"));
                    p.set_status("disconnected", "Choose the USB board");
                    p.show_message(
                        "Press \"Connect USB board\" once and pick the board's port; after that this browser reconnects to it by itself.",
                        true,
                    );
                    return;
                }
                Found::Absent => {
                    let next = p.sup.borrow_mut().port_absent();
                    return p.after_close(&next);
                }
            };
            // The user may have pressed Disconnect meanwhile.
            if p.sup.borrow().wanted() != Some(Link::Serial) {
                return;
            }
            serial::remember(&port);
            p.open_serial(port, baud);
        });
    }

    /// The USB link was lost: the terminal says what happens next, which depends on whether the
    /// port is still there (a USB reset: reopened after the backoff delay) or gone (unplugged:
    /// the page waits for it to come back, however long).
    pub(super) fn serial_lost(self: &Rc<Self>) {
        let p = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let there = matches!(serial::granted_port(true).await, Ok(Found::Port(_)));
            let next = p.sup.borrow_mut().usb_lost(there);
            p.after_close(&next);
        });
    }

    fn serial_failed(&self, text: &str) {
        self.sup.borrow_mut().stop();
        self.els.connect.set_text_content(Some("Connect"));
        self.set_status_with("error", "Not connected", text);
        self.show_message(text, false);
    }

    fn open_serial(self: &Rc<Self>, port: serial::SerialPort, baud: u32) {
        let conn = Connection::open_serial(port, baud, SessionConfig::default(), self.listener());
        self.set_status(
            "connecting",
            &format!("Opening {} at {baud} baud…", conn.url()),
        );
        *self.conn.borrow_mut() = Some(conn);
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
