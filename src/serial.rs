//! Web Serial for [`crate::connection`]: a USB board's port as the session's byte stream.
//!
//! Bound here by hand (a few calls of `navigator.serial`, `SerialPort` and the streams) rather
//! than through web-sys' unstable bindings, so the page builds without `web_sys_unstable_apis`.
//! [`SerialLink`] opens a port, reads it in a loop (`readable.getReader()`), writes through one
//! writer and closes cleanly (writer closed, reader cancelled, locks released, then the port).
//! The port functions below find the port to use: one the browser already granted (matched by
//! its USB ids, remembered in localStorage) or, on a click, the browser's port chooser.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

use crate::js::js_error_text;

const KEY_PORT: &str = "webrepl.serial.port";

/// The port's read and write buffers (`SerialOptions.bufferSize`). Chrome's default is 255
/// bytes: every read then gives at most 255 bytes, so a board sending at USB speed costs the page
/// a read (a promise and a trip into the session) per 255 bytes. 64 KiB lets a read take what
/// has arrived since the last one.
const BUFFER_SIZE: u32 = 64 * 1024;

#[wasm_bindgen]
extern "C" {
    /// `navigator.serial`.
    #[derive(Clone)]
    #[wasm_bindgen(extends = web_sys::EventTarget)]
    pub type Serial;
    #[wasm_bindgen(method, catch, js_name = requestPort)]
    fn request_port(this: &Serial, options: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = getPorts)]
    fn get_ports(this: &Serial) -> Result<js_sys::Promise, JsValue>;

    /// A `SerialPort`.
    #[derive(Clone)]
    #[wasm_bindgen(extends = web_sys::EventTarget)]
    pub type SerialPort;
    #[wasm_bindgen(method, catch)]
    fn open(this: &SerialPort, options: &JsValue) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn close(this: &SerialPort) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &SerialPort) -> Option<Stream>;
    #[wasm_bindgen(method, getter)]
    fn writable(this: &SerialPort) -> Option<Stream>;
    #[wasm_bindgen(method, catch, js_name = getInfo)]
    fn get_info(this: &SerialPort) -> Result<JsValue, JsValue>;

    /// A `ReadableStream` or `WritableStream` of the port.
    type Stream;
    #[wasm_bindgen(method, catch, js_name = getReader)]
    fn get_reader(this: &Stream) -> Result<Reader, JsValue>;
    #[wasm_bindgen(method, catch, js_name = getWriter)]
    fn get_writer(this: &Stream) -> Result<Writer, JsValue>;

    #[derive(Clone)]
    type Reader;
    #[wasm_bindgen(method, catch)]
    fn read(this: &Reader) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn cancel(this: &Reader) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = releaseLock)]
    fn release_reader(this: &Reader) -> Result<(), JsValue>;

    #[derive(Clone)]
    type Writer;
    #[wasm_bindgen(method, catch)]
    fn write(this: &Writer, chunk: &js_sys::Uint8Array) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = close)]
    fn close_writer(this: &Writer) -> Result<js_sys::Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = releaseLock)]
    fn release_writer(this: &Writer) -> Result<(), JsValue>;
}

/// Why no port could be used; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum SerialError {
    #[error("this browser has no Web Serial, so the page cannot reach a USB board. Web Serial is in Chrome and Edge on desktop computers (Windows, macOS, Linux, ChromeOS), on https:// or localhost pages only; elsewhere connect over WebREPL (Wi-Fi)")]
    Unsupported,
    #[error("no port was chosen. Press \"Connect USB board\" again and pick the board (Raspberry Pi Pico, ESP32 …) in the browser's list; if it is not listed, check the cable (some carry power only) and that no other program holds the port")]
    Cancelled,
    #[error("the browser refused to list serial ports: {0}")]
    Browser(String),
}

/// `navigator.serial`, where the browser has it.
pub fn serial() -> Option<Serial> {
    let window: JsValue = web_sys::window()?.into();
    let nav = js_sys::Reflect::get(&window, &"navigator".into()).ok()?;
    let s = js_sys::Reflect::get(&nav, &"serial".into()).ok()?;
    (!s.is_undefined() && !s.is_null()).then(|| s.unchecked_into())
}

/// True where the browser offers Web Serial.
pub fn supported() -> bool {
    serial().is_some()
}

/// The port's USB ids as `(vendor, product)` (ports not on USB have none).
pub fn usb_ids(port: &SerialPort) -> Option<(u16, u16)> {
    let info = port.get_info().ok()?;
    let get = |k: &str| {
        js_sys::Reflect::get(&info, &k.into())
            .ok()
            .and_then(|v| v.as_f64())
    };
    Some((get("usbVendorId")? as u16, get("usbProductId")? as u16))
}

/// A name for the port in the status line: "USB board 2e8a:0005".
pub fn describe(port: &SerialPort) -> String {
    match usb_ids(port) {
        Some((v, p)) => format!("USB board {v:04x}:{p:04x}"),
        None => "serial board".into(),
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Remembers `port` (by its USB ids) so it reconnects without asking next time.
pub fn remember(port: &SerialPort) {
    if let (Some(s), Some((v, p))) = (storage(), usb_ids(port)) {
        let _ = s.set_item(KEY_PORT, &format!("{v:04x}:{p:04x}"));
    }
}

fn remembered() -> Option<(u16, u16)> {
    let text = storage()?.get_item(KEY_PORT).ok()??;
    let (v, p) = text.split_once(':')?;
    Some((
        u16::from_str_radix(v, 16).ok()?,
        u16::from_str_radix(p, 16).ok()?,
    ))
}

/// What [`granted_port`] found.
pub enum Found {
    /// A port the browser already granted, present now.
    Port(SerialPort),
    /// None granted yet: the user has to pick one (a click).
    NotGranted,
    /// The board used before is not there (unplugged).
    Absent,
}

/// A port the browser already granted to this page and present now: the remembered one, else
/// the only one granted. `expect` says a board was in use (so a missing one is unplugged).
pub async fn granted_port(expect: bool) -> Result<Found, SerialError> {
    let s = serial().ok_or(SerialError::Unsupported)?;
    let promise = s
        .get_ports()
        .map_err(|e| SerialError::Browser(js_error_text(&e)))?;
    let list = JsFuture::from(promise)
        .await
        .map_err(|e| SerialError::Browser(js_error_text(&e)))?;
    let ports: Vec<SerialPort> = js_sys::Array::from(&list)
        .iter()
        .map(JsCast::unchecked_into)
        .collect();
    let wanted = remembered();
    let found = match wanted {
        Some(ids) => ports.iter().find(|p| usb_ids(p) == Some(ids)).cloned(),
        None if ports.len() == 1 => Some(ports[0].clone()),
        None => None,
    };
    Ok(match found {
        Some(p) => Found::Port(p),
        None if expect || wanted.is_some() => Found::Absent,
        None => Found::NotGranted,
    })
}

/// Asks the user to pick a port (call from a click: the browser requires a user gesture).
pub async fn request_port() -> Result<SerialPort, SerialError> {
    let s = serial().ok_or(SerialError::Unsupported)?;
    let promise = s
        .request_port(&js_sys::Object::new())
        .map_err(|e| SerialError::Browser(js_error_text(&e)))?;
    match JsFuture::from(promise).await {
        Ok(p) => Ok(p.unchecked_into()),
        Err(e) if error_name(&e) == "NotFoundError" => Err(SerialError::Cancelled),
        Err(e) => Err(SerialError::Browser(js_error_text(&e))),
    }
}

/// A DOMException's name ("NotFoundError", "NetworkError" …).
fn error_name(e: &JsValue) -> String {
    js_sys::Reflect::get(e, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default()
}

/// What the link reports.
pub enum SerialEvent {
    /// The port is open.
    Open,
    /// Bytes the board sent.
    Data(Vec<u8>),
    /// The port could not be opened (the text says why).
    Refused(String),
    /// The port went away (unplugged, or the board reset its USB).
    Lost(String),
}

struct Shared {
    port: SerialPort,
    writer: RefCell<Option<Writer>>,
    reader: RefCell<Option<Reader>>,
    /// Bytes handed to the writer, and bytes it has taken.
    queued: Cell<u64>,
    sent: Cell<u64>,
    /// Set once the link is being closed or dropped: no more events.
    detached: Cell<bool>,
    on_event: Box<dyn Fn(SerialEvent)>,
}

impl Shared {
    fn emit(&self, e: SerialEvent) {
        if !self.detached.get() {
            (self.on_event)(e)
        }
    }
}

/// One open (or opening) serial port.
pub struct SerialLink {
    shared: Rc<Shared>,
}

impl SerialLink {
    /// Opens `port` at `baud` (8N1); `on_event` hears everything until [`Self::close`].
    pub fn open(port: SerialPort, baud: u32, on_event: impl Fn(SerialEvent) + 'static) -> Self {
        let shared = Rc::new(Shared {
            port,
            writer: RefCell::new(None),
            reader: RefCell::new(None),
            queued: Cell::new(0),
            sent: Cell::new(0),
            detached: Cell::new(false),
            on_event: Box::new(on_event),
        });
        let s = shared.clone();
        spawn_local(async move {
            if let Err(text) = open_port(&s, baud).await {
                s.emit(SerialEvent::Refused(text));
                return;
            }
            s.emit(SerialEvent::Open);
            read_loop(s).await;
        });
        SerialLink { shared }
    }

    /// Queues bytes for the board (in order; the writer takes them as the line allows).
    pub fn send(&self, bytes: &[u8]) {
        let s = &self.shared;
        let Some(w) = s.writer.borrow().clone() else {
            return;
        };
        let n = bytes.len() as u64;
        s.queued.set(s.queued.get() + n);
        let chunk = js_sys::Uint8Array::from(bytes);
        // A failed write means the port is going away: the read loop reports that.
        if let Ok(p) = w.write(&chunk) {
            let weak = Rc::downgrade(s);
            spawn_local(async move {
                if JsFuture::from(p).await.is_ok() {
                    if let Some(s) = weak.upgrade() {
                        s.sent.set(s.sent.get() + n);
                    }
                }
            });
        }
    }

    /// Bytes queued but not yet taken by the port.
    pub fn buffered_amount(&self) -> u32 {
        let s = &self.shared;
        s.queued
            .get()
            .saturating_sub(s.sent.get())
            .min(u64::from(u32::MAX)) as u32
    }

    /// No more events.
    pub fn detach(&self) {
        self.shared.detached.set(true);
    }

    /// Closes cleanly: what was written goes out first, then the locks are released and the
    /// port closed (so it can be opened again, by this page or another program).
    pub fn close(&self) {
        self.detach();
        let s = self.shared.clone();
        spawn_local(async move { release(&s).await });
    }
}

async fn open_port(s: &Shared, baud: u32) -> Result<(), String> {
    let opts = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&opts, &"baudRate".into(), &f64::from(baud).into());
    let _ = js_sys::Reflect::set(&opts, &"bufferSize".into(), &f64::from(BUFFER_SIZE).into());
    let promise = s.port.open(&opts).map_err(|e| js_error_text(&e))?;
    if let Err(e) = JsFuture::from(promise).await {
        return Err(match error_name(&e).as_str() {
            "InvalidStateError" => "the serial port is already open in this page".into(),
            "NetworkError" => "could not open the serial port: another program or tab has it open (Thonny, mpremote, a serial monitor, another browser tab); close it and try again".into(),
            _ => format!("could not open the serial port: {}", js_error_text(&e)),
        });
    }
    let writer = s
        .port
        .writable()
        .ok_or("the serial port opened without a writable stream")?
        .get_writer()
        .map_err(|e| js_error_text(&e))?;
    *s.writer.borrow_mut() = Some(writer);
    Ok(())
}

/// Reads until the port is closed or lost. Errors the port recovers from (a framing error, a
/// break) leave a new readable stream: reading goes on there.
async fn read_loop(s: Rc<Shared>) {
    loop {
        let Some(readable) = s.port.readable() else {
            s.emit(SerialEvent::Lost("the port has no readable stream".into()));
            return;
        };
        let reader = match readable.get_reader() {
            Ok(r) => r,
            Err(e) => {
                s.emit(SerialEvent::Lost(js_error_text(&e)));
                return;
            }
        };
        *s.reader.borrow_mut() = Some(reader.clone());
        loop {
            let result = match reader.read() {
                Ok(p) => JsFuture::from(p).await,
                Err(e) => Err(e),
            };
            match result {
                Ok(r) => {
                    let done = js_sys::Reflect::get(&r, &"done".into())
                        .ok()
                        .is_some_and(|d| d.is_truthy());
                    if done {
                        let _ = reader.release_reader();
                        s.reader.borrow_mut().take();
                        if !s.detached.get() {
                            s.emit(SerialEvent::Lost("the port's stream ended".into()));
                        }
                        return;
                    }
                    if let Ok(v) = js_sys::Reflect::get(&r, &"value".into()) {
                        if let Some(bytes) = v.dyn_ref::<js_sys::Uint8Array>() {
                            s.emit(SerialEvent::Data(bytes.to_vec()));
                        }
                    }
                }
                Err(e) => {
                    let _ = reader.release_reader();
                    s.reader.borrow_mut().take();
                    if s.detached.get() {
                        return;
                    }
                    if s.port.readable().is_some() && error_name(&e) != "NetworkError" {
                        // A line error (framing, parity, break, overrun): go on reading.
                        break;
                    }
                    s.emit(SerialEvent::Lost(js_error_text(&e)));
                    release(&s).await;
                    return;
                }
            }
        }
    }
}

/// Lets pending writes go, releases both streams and closes the port; errors (a port already
/// gone) are of no interest at this point.
async fn release(s: &Shared) {
    let writer = s.writer.borrow_mut().take();
    if let Some(w) = writer {
        if let Ok(p) = w.close_writer() {
            let _ = JsFuture::from(p).await;
        }
        let _ = w.release_writer();
    }
    let reader = s.reader.borrow_mut().take();
    if let Some(r) = reader {
        if let Ok(p) = r.cancel() {
            let _ = JsFuture::from(p).await;
        }
        let _ = r.release_reader();
    }
    if let Ok(p) = s.port.close() {
        let _ = JsFuture::from(p).await;
    }
}
