//! The board's WebSocket for [`crate::connection`]: held in a Web Worker
//! (`www/socket-worker.js`) so that the tens of thousands of tiny frames a printing board sends
//! are dispatched off the page's main thread and reach the page as batches of text; or, where a
//! worker cannot start (or `?socket=direct` is in the page URL), opened on the page itself. Both
//! deliver the same events: open, text, binary, close.

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket, Worker};

use crate::js::js_error_text;

const WORKER_SOURCE: &str = include_str!("../www/socket-worker.js");

/// What the socket reports.
pub enum SocketEvent {
    Open,
    /// Text frames (from the worker: several consecutive frames joined).
    Text(String),
    Binary(Vec<u8>),
    Close {
        code: u16,
        reason: String,
    },
    /// The browser would not open the socket at all.
    Refused(String),
}

enum Kind {
    Direct(WebSocket),
    Worker(Worker),
}

/// One WebSocket, on the page or in a worker.
pub struct Socket {
    kind: Kind,
    /// Bytes handed to `send` so far (worker: counted here; the worker reports how many left).
    queued: Cell<u64>,
    /// Bytes the worker's socket has passed to the network.
    sent: Rc<Cell<u64>>,
    /// Set when events should no longer be delivered.
    detached: Rc<Cell<bool>>,
    /// Binary frames for the worker, handed over in one message by [`Socket::flush`] (each
    /// stays a frame of its own towards the board).
    outgoing: std::cell::RefCell<Vec<Vec<u8>>>,
    _handlers: Vec<Box<dyn std::any::Any>>,
}

fn worker_wanted() -> bool {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    !search.contains("socket=direct")
}

fn start_worker() -> Option<Worker> {
    let parts = js_sys::Array::of1(&JsValue::from_str(WORKER_SOURCE));
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts).ok()?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).ok()?;
    let worker = Worker::new(&url).ok();
    let _ = web_sys::Url::revoke_object_url(&url);
    worker
}

impl Socket {
    /// Opens `url`; `on_event` hears everything until [`Socket::detach`].
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<Socket, String> {
        let on_event: Rc<dyn Fn(SocketEvent)> = Rc::new(on_event);
        let detached = Rc::new(Cell::new(false));
        let sent = Rc::new(Cell::new(0u64));
        if worker_wanted() {
            if let Some(worker) = start_worker() {
                let (ev, det, sent2) = (on_event.clone(), detached.clone(), sent.clone());
                let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                    if det.get() {
                        return;
                    }
                    let m = e.data();
                    let get = |k: &str| js_sys::Reflect::get(&m, &k.into()).unwrap_or_default();
                    match get("t").as_string().as_deref() {
                        Some("open") => ev(SocketEvent::Open),
                        Some("text") => {
                            ev(SocketEvent::Text(get("d").as_string().unwrap_or_default()))
                        }
                        Some("bin") => {
                            let bytes = js_sys::Uint8Array::new(&get("d")).to_vec();
                            ev(SocketEvent::Binary(bytes))
                        }
                        Some("sent") => sent2.set(get("n").as_f64().unwrap_or(0.0) as u64),
                        Some("close") => ev(SocketEvent::Close {
                            code: get("code").as_f64().unwrap_or(1006.0) as u16,
                            reason: get("reason").as_string().unwrap_or_default(),
                        }),
                        Some("error") => ev(SocketEvent::Refused(
                            get("d").as_string().unwrap_or_default(),
                        )),
                        _ => {}
                    }
                });
                worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                let msg = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&msg, &"t".into(), &"open".into());
                let _ = js_sys::Reflect::set(&msg, &"url".into(), &url.into());
                worker.post_message(&msg).map_err(|e| js_error_text(&e))?;
                return Ok(Socket {
                    kind: Kind::Worker(worker),
                    queued: Cell::new(0),
                    sent,
                    detached,
                    outgoing: Default::default(),
                    _handlers: vec![Box::new(on_message)],
                });
            }
        }
        let ws = WebSocket::new(url).map_err(|e| js_error_text(&e))?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (ev, det) = (on_event.clone(), detached.clone());
        let on_open = Closure::<dyn FnMut()>::new(move || {
            if !det.get() {
                ev(SocketEvent::Open)
            }
        });
        let (ev, det) = (on_event.clone(), detached.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if det.get() {
                return;
            }
            let data = e.data();
            if let Some(text) = data.as_string() {
                ev(SocketEvent::Text(text));
            } else if let Ok(buf) = data.dyn_into::<js_sys::ArrayBuffer>() {
                ev(SocketEvent::Binary(js_sys::Uint8Array::new(&buf).to_vec()));
            }
        });
        let (ev, det) = (on_event, detached.clone());
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            if !det.get() {
                ev(SocketEvent::Close {
                    code: e.code(),
                    reason: e.reason(),
                })
            }
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            kind: Kind::Direct(ws),
            queued: Cell::new(0),
            sent,
            detached,
            outgoing: Default::default(),
            _handlers: vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)],
        })
    }

    fn post(&self, w: &Worker, t: &str, d: &JsValue, transfer: Option<&JsValue>) {
        let msg = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&msg, &"t".into(), &t.into());
        let _ = js_sys::Reflect::set(&msg, &"d".into(), d);
        if let Some(len) = d.as_string().map(|s| s.len()) {
            let _ = js_sys::Reflect::set(&msg, &"n".into(), &(len as f64).into());
        }
        let _ = match transfer {
            Some(buf) => w.post_message_with_transfer(&msg, &js_sys::Array::of1(buf)),
            None => w.post_message(&msg),
        };
    }

    pub fn send_text(&self, text: &str) {
        // Keep the order of text and binary sends.
        self.flush();
        match &self.kind {
            Kind::Direct(ws) => {
                let _ = ws.send_with_str(text);
            }
            Kind::Worker(w) => {
                self.queued.set(self.queued.get() + text.len() as u64);
                self.post(w, "text", &text.into(), None);
            }
        }
    }

    pub fn send_binary(&self, bytes: &[u8]) {
        match &self.kind {
            Kind::Direct(ws) => {
                let _ = ws.send_with_u8_array(bytes);
            }
            Kind::Worker(_) => {
                self.queued.set(self.queued.get() + bytes.len() as u64);
                self.outgoing.borrow_mut().push(bytes.to_vec());
            }
        }
    }

    /// Sends what [`Socket::send_binary`] collected (worker only; call after a round of sends).
    pub fn flush(&self) {
        if let Kind::Worker(w) = &self.kind {
            let frames = std::mem::take(&mut *self.outgoing.borrow_mut());
            if frames.is_empty() {
                return;
            }
            let list = js_sys::Array::new();
            for f in &frames {
                list.push(&js_sys::Uint8Array::from(f.as_slice()).buffer());
            }
            let msg = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&msg, &"t".into(), &"bin".into());
            let _ = js_sys::Reflect::set(&msg, &"d".into(), &list);
            let _ = w.post_message_with_transfer(&msg, &list);
        }
    }

    /// Bytes waiting to go out (what `bufferedAmount` says, or the worker's count of it).
    pub fn buffered_amount(&self) -> u32 {
        match &self.kind {
            Kind::Direct(ws) => ws.buffered_amount(),
            Kind::Worker(_) => self
                .queued
                .get()
                .saturating_sub(self.sent.get())
                .min(u64::from(u32::MAX)) as u32,
        }
    }

    /// Closes with an empty close frame (no code).
    pub fn close(&self) {
        self.flush();
        match &self.kind {
            Kind::Direct(ws) => {
                let _ = ws.close();
            }
            Kind::Worker(w) => self.post(w, "close", &JsValue::UNDEFINED, None),
        }
    }

    /// No more events; the worker ends once its socket has closed.
    pub fn detach(&self) {
        self.detached.set(true);
        match &self.kind {
            Kind::Direct(ws) => {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
            }
            // Reports still on their way must not reach a handler about to be dropped.
            Kind::Worker(w) => w.set_onmessage(None),
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.detach();
        if let Kind::Worker(w) = &self.kind {
            // Give the close frame time to leave before the worker goes.
            let w = w.clone();
            let cb = Closure::once_into_js(move || w.terminate());
            if let Some(win) = web_sys::window() {
                let _ = win.set_timeout_with_callback_and_timeout_and_arguments_0(
                    cb.unchecked_ref(),
                    2000,
                );
            }
        }
    }
}
