//! The browser WebSocket driving one `webrepl_core::Session`.
//!
//! Opens the board's WebSocket ([`crate::socket`]: no subprotocol, `binaryType = "arraybuffer"`,
//! held in a worker), feeds every frame, open and close to the session, sends what the session
//! asks for (an empty close frame on close: `close()` with no code), runs the session's timer,
//! and holds put data back while the socket's send buffer is full. A socket that fails before
//! opening is first checked for a Local Network Access block ([`crate::lna`]). Events go to one listener, called with no borrow held, so
//! the listener may call back into the connection.
//!
//! A USB board ([`Connection::open_serial`]) is the same session over a byte stream
//! ([`crate::serial`]: Web Serial): no login, everything read goes to the session as text.
//!
//! Downloads ([`Connection::download`]) pick their path by the link: on a direct link a read
//! through the raw REPL (`Session::read`: one streamed script, no per-chunk round trip for the
//! board's Nagle stall to hit); through `webrepl proxy` the WebREPL get, which the proxy reads
//! ahead. `?get=wa` or `?get=raw` in the page's address forces one path, and `?read=hex` has the
//! board send hex instead of base64 (tests, benchmarks: the virtual board's b2a_base64 is slow).

use crate::serial::{SerialEvent, SerialLink, SerialPort};
use crate::socket::{Socket, SocketEvent};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use webrepl_core::{
    parse_board_url, AddressError, CloseInfo, ControlKey, Event, FsError, FsId, FsOp, InputFlow,
    Password, RunError, RunId, Session, SessionConfig, TransferError, TransferId, Transmit,
};

use crate::clock::now_ms;

/// Put data is held back while more than this is waiting in the socket's send buffer: enough for
/// a board's put to run back to back (re-arming a timer costs ≥ 4 ms once browsers clamp chained
/// timers), small enough that a keystroke waits at most ~0.1 s behind a transfer on a LAN.
const SEND_BUFFER_HIGH: u32 = 1024 * 1024;

/// Why a connection could not even start.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("{0}")]
    Address(#[from] AddressError),
    #[error("this page is served over HTTPS, so the browser does not allow it to open {0} (plain ws:// to another machine). Run `webrepl proxy` on this computer and use ws://localhost:8765/{0}")]
    MixedContent(String),
    #[error("the browser refused to open {url}: {detail}")]
    Browser { url: String, detail: String },
}

pub type Listener = Rc<dyn Fn(Event)>;

/// What carries the session: the board's WebSocket or a USB serial port.
enum Link {
    Socket(Socket),
    Serial(SerialLink),
}

impl Link {
    fn buffered_amount(&self) -> u32 {
        match self {
            Link::Socket(s) => s.buffered_amount(),
            Link::Serial(s) => s.buffered_amount(),
        }
    }
    fn send_text(&self, text: &str) {
        match self {
            Link::Socket(s) => s.send_text(text),
            Link::Serial(s) => s.send(text.as_bytes()),
        }
    }
    fn send_binary(&self, bytes: &[u8]) {
        match self {
            Link::Socket(s) => s.send_binary(bytes),
            Link::Serial(s) => s.send(bytes),
        }
    }
    fn flush(&self) {
        if let Link::Socket(s) = self {
            s.flush()
        }
    }
    fn detach(&self) {
        match self {
            Link::Socket(s) => s.detach(),
            Link::Serial(s) => s.detach(),
        }
    }
    fn close(&self) {
        match self {
            Link::Socket(s) => s.close(),
            Link::Serial(s) => s.close(),
        }
    }
}

struct Inner {
    session: Session,
    socket: Link,
    listener: Listener,
    /// The armed timer: (handle, due time).
    timer: Option<(i32, u64)>,
    /// Fires the session's timeout and pumps; one closure for the connection's lifetime.
    tick: Closure<dyn FnMut()>,
}

/// One WebREPL connection in the browser. Cloning gives another handle to the same connection.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<RefCell<Option<Inner>>>,
    url: Rc<str>,
    get_path: GetPath,
}

/// A parameter of the page's own address (`?name=value`).
fn page_param(name: &str) -> Option<String> {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get(name))
}

/// How [`Connection::download`] fetches a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetPath {
    /// Through the raw REPL, streamed by one script (direct links).
    RawRepl,
    /// The WebREPL get, one round trip per 256 bytes (through the proxy, which reads ahead).
    WebRepl,
}

impl GetPath {
    /// The path for `board`: the raw REPL unless a proxy is in between, or the page's address
    /// says `get=wa` / `get=raw`.
    fn choose(board: &webrepl_core::BoardUrl) -> GetPath {
        match page_param("get").as_deref() {
            Some("wa") => GetPath::WebRepl,
            Some("raw") => GetPath::RawRepl,
            _ if board.target.is_some() => GetPath::WebRepl,
            _ => GetPath::RawRepl,
        }
    }
}

impl Connection {
    /// Opens a connection to `url` (anything [`parse_board_url`] accepts).
    pub fn open(
        url: &str,
        password: Option<Password>,
        mut config: SessionConfig,
        listener: Listener,
    ) -> Result<Connection, ConnectError> {
        let board = parse_board_url(url)?;
        if page_param("read").as_deref() == Some("hex") {
            config.read_encoding = webrepl_core::ReadEncoding::Hex;
        }
        let page_https = web_sys::window()
            .and_then(|w| w.location().protocol().ok())
            .is_some_and(|p| p == "https:");
        if page_https && board.blocked_on_https_page() {
            return Err(ConnectError::MixedContent(board.url));
        }
        let conn = Connection {
            inner: Rc::new(RefCell::new(None)),
            url: board.url.as_str().into(),
            get_path: GetPath::choose(&board),
        };
        let session = Session::new(config, password, now_ms());
        let weak = Rc::downgrade(&conn.inner);
        let started = now_ms();
        let (host, url) = (board.host.clone(), board.url.clone());
        let socket = Socket::open(&board.url, move |e| {
            // A socket that fails before it opens may have been stopped by the browser's Local
            // Network Access rule: find out (the permission states are read after the failure)
            // before the session reports it.
            let failed_early = matches!(e, SocketEvent::Close { .. } | SocketEvent::Refused(_))
                && weak.upgrade().is_some_and(|rc| {
                    rc.borrow()
                        .as_ref()
                        .is_some_and(|i| i.session.is_connecting())
                });
            if failed_early {
                let weak = weak.clone();
                let elapsed = now_ms().saturating_sub(started);
                crate::lna::failed_connect(&host, &url, elapsed, move |facts| {
                    match webrepl_core::diagnose(&facts) {
                        Some(block) => {
                            with(&weak, |s| s.handle_local_network_blocked(block, now_ms()))
                        }
                        None => with(&weak, |s| feed(s, e)),
                    }
                });
                return;
            }
            with(&weak, |s| feed(s, e))
        })
        .map_err(|detail| ConnectError::Browser {
            url: board.url.clone(),
            detail,
        })?;
        conn.start(session, Link::Socket(socket), listener);
        Ok(conn)
    }

    /// Opens a USB board's serial `port` at `baud` (the session over a byte stream).
    pub fn open_serial(
        port: SerialPort,
        baud: u32,
        mut config: SessionConfig,
        listener: Listener,
    ) -> Connection {
        // A board with native USB holds back what it cannot take yet: scripts go whole.
        config.input_flow =
            InputFlow::for_usb_vendor(crate::serial::usb_ids(&port).map(|(vendor, _)| vendor));
        let conn = Connection {
            inner: Rc::new(RefCell::new(None)),
            url: crate::serial::describe(&port).into(),
            get_path: GetPath::RawRepl,
        };
        let session = Session::new_stream(config, now_ms());
        let weak = Rc::downgrade(&conn.inner);
        let link = SerialLink::open(port, baud, move |e| {
            with(&weak, |s| match e {
                SerialEvent::Open => s.handle_open(now_ms()),
                SerialEvent::Data(bytes) => s.handle_text(&bytes, now_ms()),
                SerialEvent::Refused(detail) => s.handle_refused(&detail, now_ms()),
                SerialEvent::Lost(_) => s.handle_close(CloseInfo { code: None }, now_ms()),
            })
        });
        conn.start(session, Link::Serial(link), listener);
        conn
    }

    fn start(&self, session: Session, link: Link, listener: Listener) {
        let tick = {
            let weak = Rc::downgrade(&self.inner);
            Closure::<dyn FnMut()>::new(move || {
                if let Some(rc) = weak.upgrade() {
                    if let Some(i) = rc.borrow_mut().as_mut() {
                        i.timer = None;
                        i.session.handle_timeout(now_ms());
                    }
                    pump(&rc);
                }
            })
        };
        *self.inner.borrow_mut() = Some(Inner {
            session,
            socket: link,
            listener,
            timer: None,
            tick,
        });
        self.pump();
    }

    /// True for a USB board (a serial port).
    pub fn is_serial(&self) -> bool {
        self.inner
            .borrow()
            .as_ref()
            .is_some_and(|i| matches!(i.socket, Link::Serial(_)))
    }

    /// The normalised URL this connection uses.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> Option<R> {
        let r = self.inner.borrow_mut().as_mut().map(|i| {
            i.session.set_now(now_ms());
            f(&mut i.session)
        });
        self.pump();
        r
    }

    pub fn login(&self, password: Password) {
        self.with_session(|s| s.login(password));
    }

    pub fn send_input(&self, text: &str) {
        self.with_session(|s| s.send_input(text));
    }

    pub fn send_key(&self, key: ControlKey) {
        self.with_session(|s| s.send_key(key));
    }

    pub fn soft_reset(&self) {
        self.with_session(Session::soft_reset);
    }

    pub fn put(&self, name: &str, data: Vec<u8>) -> Result<TransferId, TransferError> {
        self.with_session(|s| s.put(name, data))
            .unwrap_or(Err(TransferError::NotConnected))
    }

    /// A WebREPL get (see [`Self::download`] for the path that suits the link).
    pub fn get(&self, name: &str) -> Result<TransferId, TransferError> {
        self.with_session(|s| s.get(name))
            .unwrap_or(Err(TransferError::NotConnected))
    }

    /// Fetches a file by the path that suits this link ([`GetPath`]); either way it is reported
    /// as a transfer (progress, then `TransferDone` with the bytes, or `TransferFailed`).
    pub fn download(&self, name: &str) -> Result<TransferId, TransferError> {
        match self.get_path {
            GetPath::RawRepl => self
                .with_session(|s| s.read(name))
                .unwrap_or(Err(TransferError::NotConnected)),
            GetPath::WebRepl => self.get(name),
        }
    }

    /// How [`Self::download`] fetches files on this link.
    pub fn get_path(&self) -> GetPath {
        self.get_path
    }

    pub fn version(&self) -> Result<TransferId, TransferError> {
        self.with_session(Session::version)
            .unwrap_or(Err(TransferError::NotConnected))
    }

    pub fn run_code(&self, code: &str, label: &str) -> Result<RunId, RunError> {
        self.with_session(|s| s.run_code(code, label))
            .unwrap_or(Err(RunError::NotConnected))
    }

    /// Queues a file operation (run in the raw REPL when the board is at its prompt).
    pub fn fs(&self, op: FsOp) -> Result<FsId, FsError> {
        self.with_session(|s| s.fs(op))
            .unwrap_or(Err(FsError::NotConnected))
    }

    /// A safe upload: temporary name, size check, rename over `path`.
    pub fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), FsError> {
        self.with_session(|s| s.upload(path, data))
            .unwrap_or(Err(FsError::NotConnected))
    }

    /// Cancels waiting file operations and uploads.
    pub fn cancel_fs(&self) {
        self.with_session(Session::cancel_fs);
    }

    /// Cancels these file operations and uploads (someone's, at an Edrys station).
    pub fn cancel_fs_ids(&self, ids: &[FsId]) {
        self.with_session(|s| s.cancel_fs_ids(ids));
    }

    pub fn is_logged_in(&self) -> bool {
        self.inner
            .borrow()
            .as_ref()
            .is_some_and(|i| i.session.is_logged_in())
    }

    pub fn is_closed(&self) -> bool {
        self.inner
            .borrow()
            .as_ref()
            .is_none_or(|i| i.session.is_closed())
    }

    /// Closes with an empty close frame.
    pub fn close(&self) {
        self.with_session(Session::close);
    }

    /// Sends what the session wants sent, re-arms timers, then hands events to the listener.
    fn pump(&self) {
        pump(&self.inner);
    }
}

/// Hands one socket event to the session.
fn feed(s: &mut Session, e: SocketEvent) {
    match e {
        SocketEvent::Open => s.handle_open(now_ms()),
        SocketEvent::Text(t) => s.handle_text(t.as_bytes(), now_ms()),
        SocketEvent::Binary(b) => s.handle_binary(&b, now_ms()),
        SocketEvent::Close { code, reason } => {
            s.handle_close_with_reason(CloseInfo { code: Some(code) }, &reason, now_ms())
        }
        SocketEvent::Refused(detail) => s.handle_refused(&detail, now_ms()),
    }
}

fn with(weak: &Weak<RefCell<Option<Inner>>>, f: impl FnOnce(&mut Session)) {
    if let Some(rc) = weak.upgrade() {
        if let Some(i) = rc.borrow_mut().as_mut() {
            f(&mut i.session);
        }
        pump(&rc);
    }
}

fn pump(rc: &Rc<RefCell<Option<Inner>>>) {
    let (events, listener) = {
        let mut guard = rc.borrow_mut();
        let Some(i) = guard.as_mut() else { return };
        loop {
            let bulk_ok = i.socket.buffered_amount() < SEND_BUFFER_HIGH;
            let Some(t) = i.session.poll_transmit_with(bulk_ok) else {
                break;
            };
            // A send on a closing socket throws; the close event that follows tells the session.
            match t {
                Transmit::Text(s) => i.socket.send_text(&s),
                Transmit::Binary(b) => i.socket.send_binary(&b),
                Transmit::Close => {
                    i.socket.detach();
                    i.socket.close()
                }
            }
        }
        i.socket.flush();
        schedule(i);
        let events: Vec<Event> = std::iter::from_fn(|| i.session.poll_event()).collect();
        if i.session.is_closed() {
            i.socket.detach();
            clear_timers(i);
        }
        (events, i.listener.clone())
    };
    for e in events {
        listener(e);
    }
}

fn clear_timers(i: &mut Inner) {
    if let (Some(w), Some((id, _))) = (web_sys::window(), i.timer.take()) {
        w.clear_timeout_with_handle(id);
    }
}

/// Arms the timer for the session's next deadline or, while put data is held back by a full
/// send buffer, for a retry in 2 ms. A timer that fires early is harmless (the session ignores
/// deadlines not yet due), so a later deadline never re-arms.
fn schedule(i: &mut Inner) {
    let Some(w) = web_sys::window() else { return };
    let now = now_ms();
    let bulk = i.session.has_bulk().then_some(now + 2);
    let due = match (i.session.poll_timeout(), bulk) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let Some(due) = due else { return };
    if i.timer.is_some_and(|(_, at)| at <= due) {
        return;
    }
    clear_timers(i);
    let delay = due.saturating_sub(now).min(i32::MAX as u64) as i32;
    if let Ok(id) = w.set_timeout_with_callback_and_timeout_and_arguments_0(
        i.tick.as_ref().unchecked_ref(),
        delay,
    ) {
        i.timer = Some((id, due));
    }
}
