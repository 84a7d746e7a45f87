//! One WebREPL session: the link's life from connect to close, with login, the terminal stream,
//! queued file transfers and queued code runs multiplexed over one WebSocket.
//!
//! Inputs: `handle_open`, `handle_text`, `handle_binary`, `handle_close`, `handle_timeout` and
//! commands (`login`, `send_input`, `put`, `get`, `version`, `run_code`, `interrupt`,
//! `soft_reset`, `close`), each with the current time in milliseconds. Outputs: frames from
//! [`Session::poll_transmit`], events from [`Session::poll_event`], and the next wake-up from
//! [`Session::poll_timeout`]. Text and binary frames are two separate byte streams (docs/board-behaviour.md: Frames).
//!
//! The same session runs over a plain byte stream ([`Transport::Stream`], a USB serial port):
//! no login, everything the board sends comes in through `handle_text`, and both kinds of
//! [`Transmit`] frames are bytes to write. With no binary channel, put and get go through the
//! raw REPL ([`crate::filewrite`] in raw-paste scripts, [`crate::fileread`] escaped), and a soft
//! reset keeps the link.

use crate::control::ControlKey;
use crate::fileread::{self, FileRead, ReadEncoding, ReadError};
use crate::files::{self, FsError, FsId, FsOp, FsReply};
use crate::filewrite::{FileWrite, Part};
use crate::login::{find, Login, LoginError, LoginState, LoginStep, Password};
use crate::paste::{self, Action, Runner};
pub use crate::paste::{RunError, RunId, RunState};
use crate::prompt::{Probe, ProbeVerdict, PromptTracker};
use crate::rawrepl::{RawAction, RawRepl};
use crate::tail::Tail;
use crate::transfer::{
    self, Step, Transfer, TransferError, TransferId, TransferKind, TransferOutcome,
};
use crate::utf8::{prefix_at_boundary, Utf8Stream};
use std::collections::VecDeque;

/// Timing and pacing settings.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// From socket creation to open.
    pub connect_timeout_ms: u64,
    /// For `Password: ` after open, and for the verdict after the password.
    pub login_timeout_ms: u64,
    /// Longest silence of the board during a transfer.
    pub transfer_timeout_ms: u64,
    /// Longest wait in each phase of a code run (prompt after Ctrl-C, paste banner, echo).
    pub run_timeout_ms: u64,
    /// Most code bytes un-echoed in flight (boards keep ~256 bytes of input).
    pub paste_window: usize,
    /// Runs waiting behind the one being sent.
    pub max_queued_runs: usize,
    /// Data bytes per put message (≤ 65535).
    pub put_chunk: usize,
    /// Longest wait for a file command's answer in the raw REPL.
    pub fs_timeout_ms: u64,
    /// File operations waiting behind the one running.
    pub max_queued_fs: usize,
    /// How [`Session::read`] has the board encode a file.
    pub read_encoding: ReadEncoding,
    /// Over a byte stream: most file bytes per raw-paste script of a put.
    pub stream_chunk: usize,
}

/// What carries the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A WebSocket to the board's WebREPL: password, text and binary frames.
    WebRepl,
    /// A byte stream to the board's REPL (a USB serial port): no login, no binary channel.
    Stream,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            connect_timeout_ms: 10_000,
            login_timeout_ms: 5_000,
            transfer_timeout_ms: 15_000,
            run_timeout_ms: 3_000,
            paste_window: 128,
            max_queued_runs: 8,
            put_chunk: transfer::PUT_CHUNK,
            fs_timeout_ms: 10_000,
            max_queued_fs: 1024,
            read_encoding: ReadEncoding::default(),
            stream_chunk: 4096,
        }
    }
}

/// A frame for the adapter to send (text frames are strings: browsers require valid UTF-8).
/// Over [`Transport::Stream`] both kinds are just bytes to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transmit {
    Text(String),
    Binary(Vec<u8>),
    /// Close with an empty close frame: no status code (a code injects a byte into the board's
    /// file-transfer parser and keeps the session open: docs/board-behaviour.md: Frames).
    Close,
}

/// How the WebSocket ended, as the adapter saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseInfo {
    /// The close code the socket reported (browsers: 1006 when no close frame came).
    pub code: Option<u16>,
}

/// Why a session ended, each with a message a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseReason {
    #[error("disconnected")]
    ByUser,
    #[error("the browser refused to open the connection: {0}")]
    Refused(String),
    #[error("could not connect: nothing accepted the connection. Check that the board is on and on this network, that WebREPL is enabled (import webrepl_setup), and the address and port (default 8266)")]
    ConnectFailed,
    /// The browser's Local Network Access rule stopped it (the message says what to do).
    #[error("{0}")]
    LocalNetwork(crate::lna::LnaBlock),
    #[error("no answer within {0} s: the address may be wrong or unreachable, or the board is busy running code and not accepting connections (press its reset button)")]
    ConnectTimeout(u64),
    #[error("connected, but no password prompt arrived within {0} s: this is not a WebREPL server, or the board is busy running code")]
    NoPrompt(u64),
    #[error("the board closed the connection before asking for a password: another WebREPL client is probably connected (a board accepts one session at a time); close it and try again")]
    Rejected,
    #[error("access denied: wrong password. Enter the password set with webrepl_setup (at most 9 characters)")]
    AccessDenied,
    #[error("the board did not answer the password within {0} s")]
    LoginTimeout(u64),
    #[error("the board is soft-resetting (Ctrl-D ends the WebREPL session); reconnecting")]
    SoftReset,
    #[error("\"{0}\" was not found on the board or cannot be read; the board drops the connection when a get fails")]
    FileNotFound(String),
    #[error("the board sent text that is not valid UTF-8 (e.g. a character split across frames), and the browser dropped the connection; connecting through the `webrepl proxy` repairs such output")]
    InvalidText,
    #[error("the board stopped answering during a file transfer; the connection was reset to resynchronise")]
    TransferStalled,
    /// A proxy in between closed with a reason of its own (codes 4000–4999: target not
    /// allowed, board unreachable, another client connected …).
    #[error("{reason}")]
    Proxy { code: u16, reason: String },
    #[error("the connection was lost{}", code.map(|c| format!(" (close code {c})")).unwrap_or_default())]
    Lost { code: Option<u16> },
}

impl CloseReason {
    /// True when the board is expected back and a client keeping a session should reconnect.
    pub fn should_reconnect(&self) -> bool {
        matches!(
            self,
            CloseReason::SoftReset
                | CloseReason::FileNotFound(_)
                | CloseReason::TransferStalled
                | CloseReason::Lost { .. }
                | CloseReason::InvalidText
        )
    }

    /// True when trying again cannot help until the user changes something.
    pub fn is_final(&self) -> bool {
        matches!(self, CloseReason::AccessDenied | CloseReason::ByUser)
    }
}

/// What the user interface hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The socket is open; the login starts.
    Opened,
    /// The board asks for a password and none was given: call [`Session::login`].
    PasswordRequired,
    LoggedIn,
    /// Terminal text (consecutive output is merged into one event).
    Output(String),
    /// A transfer moved bytes (consecutive progress of one transfer is merged).
    TransferProgress {
        id: TransferId,
        done: u64,
        total: Option<u64>,
    },
    TransferDone {
        id: TransferId,
        outcome: TransferOutcome,
    },
    TransferFailed {
        id: TransferId,
        kind: TransferKind,
        error: TransferError,
    },
    Run {
        id: RunId,
        label: String,
        state: RunState,
    },
    /// A file operation (or a safe upload) moved on.
    Fs {
        id: FsId,
        state: FsState,
    },
    Closed(CloseReason),
}

/// Where a file operation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsState {
    /// A program runs on the board: the operation waits for the prompt (stop the program with
    /// [`Session::interrupt`], or cancel with [`Session::cancel_fs`]).
    WaitingForPrompt,
    Done(FsReply),
    Failed(FsError),
}

/// What waits in the file-operation queue: an operation answered as [`Event::Fs`], or a file
/// read ([`Session::read`]) answered as a transfer.
#[derive(Debug, Clone)]
enum Job {
    Op(FsOp),
    Read(FileRead),
    /// A put over a byte stream.
    Write(FileWrite),
}

/// A file operation being sent to the raw REPL, part by part.
#[derive(Debug, Clone)]
struct FsJob {
    id: FsId,
    job: Job,
    parts: Vec<String>,
    /// The next part to send.
    next: usize,
    retried: bool,
}

impl FsJob {
    fn new((id, job): (FsId, Job)) -> Self {
        let parts = match &job {
            Job::Op(op) => files::script_parts(op),
            Job::Read(r) => r.script_parts(),
            Job::Write(_) => Vec::new(),
        };
        FsJob {
            id,
            job,
            parts,
            next: 0,
            retried: false,
        }
    }
}

/// A safe upload: a put to a temporary name, then [`FsOp::Commit`].
#[derive(Debug, Clone)]
struct Upload {
    id: FsId,
    transfer: TransferId,
    temp: String,
    path: String,
    size: u64,
    cancelled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Connecting,
    /// Open, logging in.
    LoggingIn,
    Ready,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Nothing,
    SoftReset,
}

/// One WebREPL session over one WebSocket.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    link: Link,
    now: u64,
    /// Deadline of the current link phase (connect or login).
    link_deadline: u64,
    login: Login,
    password: Option<Password>,
    utf8: Utf8Stream,
    tail: Tail,
    transmit: VecDeque<Transmit>,
    events: VecDeque<Event>,
    transfers: VecDeque<Transfer>,
    transfer_deadline: u64,
    next_transfer: u32,
    run: Option<Runner>,
    runs: VecDeque<(RunId, String, Vec<u8>)>,
    next_run: u32,
    /// User input held back while a run owns the terminal.
    held_input: String,
    expect: Expect,
    /// When the user last sent Ctrl-D (a close soon after is a soft reset).
    user_ctrl_d_at: Option<u64>,
    prompt: PromptTracker,
    fs_queue: VecDeque<(FsId, Job)>,
    /// The operation in the raw REPL now.
    fs_current: Option<FsJob>,
    raw: Option<RawRepl>,
    /// Asking whether the board is at its prompt (after login, where the banner says `>>> `).
    probe: Option<Probe>,
    /// The last finished operation's event, held until the board is back at `>>> `: whoever
    /// hears of it may close the link at once.
    fs_deferred: Vec<Event>,
    fs_waiting_told: bool,
    next_fs: u32,
    uploads: Vec<Upload>,
    transport: Transport,
    /// Over a byte stream: whether the board has raw-paste mode (until it says otherwise).
    paste_ok: bool,
    /// Over a byte stream: `LoggedIn` is still to come (when the first probe has its answer).
    greeting: bool,
}

const HELD_INPUT_MAX: usize = 4096;

impl Session {
    /// A session whose socket is being opened at `now`.
    pub fn new(config: SessionConfig, password: Option<Password>, now: u64) -> Self {
        let link_deadline = now + config.connect_timeout_ms;
        Session {
            config,
            link: Link::Connecting,
            now,
            link_deadline,
            login: Login::new(),
            password,
            utf8: Utf8Stream::new(),
            tail: Tail::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            transfers: VecDeque::new(),
            transfer_deadline: 0,
            next_transfer: 1,
            run: None,
            runs: VecDeque::new(),
            next_run: 1,
            held_input: String::new(),
            expect: Expect::Nothing,
            user_ctrl_d_at: None,
            prompt: PromptTracker::new(),
            fs_queue: VecDeque::new(),
            fs_current: None,
            raw: None,
            probe: None,
            fs_deferred: Vec::new(),
            fs_waiting_told: false,
            next_fs: 1,
            uploads: Vec::new(),
            transport: Transport::WebRepl,
            paste_ok: true,
            greeting: false,
        }
    }

    /// A session over a byte stream (a serial port) being opened at `now`: call
    /// [`Self::handle_open`] once the port is open, then feed everything read to
    /// [`Self::handle_text`].
    pub fn new_stream(config: SessionConfig, now: u64) -> Self {
        let mut s = Session::new(config, None, now);
        s.transport = Transport::Stream;
        s
    }

    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// True when the session is ready and the board was seen at its `>>> ` prompt.
    pub fn at_prompt(&self) -> bool {
        self.link == Link::Ready && self.prompt.is_idle() && self.raw.is_none()
    }

    pub fn is_logged_in(&self) -> bool {
        self.link == Link::Ready
    }

    pub fn is_closed(&self) -> bool {
        self.link == Link::Closed
    }

    /// True while a transfer is queued or running.
    pub fn transfers_pending(&self) -> usize {
        self.transfers.len()
    }

    /// True while put data waits to be sent (the adapter may hold it back under backpressure).
    pub fn has_bulk(&self) -> bool {
        self.transfers.front().is_some_and(Transfer::has_data)
    }

    // ----- inputs from the socket -----

    pub fn handle_open(&mut self, now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link != Link::Connecting {
            return;
        }
        self.link = Link::LoggingIn;
        self.link_deadline = now + self.config.login_timeout_ms;
        self.events.push_back(Event::Opened);
        if self.transport == Transport::Stream {
            // No login: ready at once; an Enter asks for the prompt (the board prints nothing
            // when a port opens).
            // `LoggedIn` follows when the probe has its answer.
            self.link = Link::Ready;
            self.greeting = true;
            self.prompt.distrust();
            self.probe = Some(Probe::new(now));
            self.send_text(Probe::FIRST);
        }
    }

    /// A text frame arrived (its bytes: the board may send invalid UTF-8).
    pub fn handle_text(&mut self, bytes: &[u8], now: u64) {
        self.set_now(now);
        let now = self.now;
        match self.link {
            Link::LoggingIn => match self.login.feed(bytes) {
                LoginStep::Pending => {}
                LoginStep::Prompt => {
                    self.link_deadline = now + self.config.login_timeout_ms;
                    if let Some(p) = self.password.clone() {
                        self.send_password(&p);
                    } else {
                        self.link_deadline = u64::MAX;
                        self.events.push_back(Event::PasswordRequired);
                    }
                }
                LoginStep::Connected { rest } => {
                    self.link = Link::Ready;
                    self.events.push_back(Event::LoggedIn);
                    self.show(b"\r\nWebREPL connected\r\n");
                    self.prompt.distrust();
                    self.terminal(&rest);
                    self.start_next_transfer();
                }
                LoginStep::Denied => {
                    // The board closes TCP itself; close our side too so nothing retries.
                    self.finish(CloseReason::AccessDenied);
                    self.transmit.push_back(Transmit::Close);
                }
            },
            Link::Ready => self.terminal(bytes),
            Link::Connecting | Link::Closed => {}
        }
    }

    /// A binary frame arrived: file-transfer replies.
    pub fn handle_binary(&mut self, mut bytes: &[u8], now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link != Link::Ready {
            return;
        }
        let mut steps = Vec::new();
        while !bytes.is_empty() {
            let Some(t) = self.transfers.front_mut().filter(|t| t.is_started()) else {
                // Nothing asked for these bytes: ignore them rather than guess.
                return;
            };
            let used = t.feed(bytes, &mut steps);
            bytes = &bytes[used..];
            self.transfer_deadline = now + self.config.transfer_timeout_ms;
            let (id, kind) = (t.id, t.kind.clone());
            let finished = t.is_finished();
            for step in steps.drain(..) {
                self.transfer_step(id, &kind, step);
            }
            if finished {
                self.transfers.pop_front();
                self.start_next_transfer();
            } else if used == 0 {
                break;
            }
        }
    }

    /// The socket closed with a close frame carrying `reason`. A proxy's own reason (codes
    /// 4000–4999) is reported as it is; anything else as [`Self::handle_close`].
    pub fn handle_close_with_reason(&mut self, info: CloseInfo, reason: &str, now: u64) {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        match info.code {
            Some(code @ 4000..=4999) if !reason.trim().is_empty() && self.link != Link::Closed => {
                self.set_now(now);
                self.finish(CloseReason::Proxy { code, reason });
            }
            _ => self.handle_close(info, now),
        }
    }

    /// The socket could not even be opened (the browser refused the address).
    pub fn handle_refused(&mut self, detail: &str, now: u64) {
        self.set_now(now);
        if self.link == Link::Connecting {
            self.finish(CloseReason::Refused(detail.chars().take(200).collect()));
        }
    }

    /// The socket failed before it opened, and the adapter found that the browser's Local
    /// Network Access rule blocked it ([`crate::lna::diagnose`]).
    pub fn handle_local_network_blocked(&mut self, block: crate::lna::LnaBlock, now: u64) {
        self.set_now(now);
        if self.link == Link::Connecting {
            self.finish(CloseReason::LocalNetwork(block));
        }
    }

    /// True until the socket opened (or the session ended).
    pub fn is_connecting(&self) -> bool {
        self.link == Link::Connecting
    }

    /// The socket closed (or failed to open).
    pub fn handle_close(&mut self, info: CloseInfo, now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link == Link::Closed {
            return;
        }
        let reason = match self.link {
            Link::Connecting => CloseReason::ConnectFailed,
            Link::LoggingIn => match self.login.state() {
                LoginState::AwaitPrompt => CloseReason::Rejected,
                LoginState::Denied | LoginState::AwaitVerdict => CloseReason::AccessDenied,
                _ => CloseReason::Lost { code: info.code },
            },
            _ if self.transport == Transport::Stream => CloseReason::Lost { code: None },
            _ => {
                let user_reset = self
                    .user_ctrl_d_at
                    .is_some_and(|t| now.saturating_sub(t) < 3000);
                if self.expect == Expect::SoftReset
                    || user_reset
                    || self.tail.contains(b"soft reboot")
                {
                    CloseReason::SoftReset
                } else if let Some(TransferKind::Get { name }) = self
                    .transfers
                    .front()
                    .filter(|t| {
                        t.is_started()
                            && t.connection_lost() == TransferError::NotFound(t.kind.name().into())
                    })
                    .map(|t| t.kind.clone())
                {
                    CloseReason::FileNotFound(name)
                } else if info.code == Some(1007) {
                    CloseReason::InvalidText
                } else {
                    CloseReason::Lost { code: info.code }
                }
            }
        };
        self.finish(reason);
    }

    /// Call when the time from [`Self::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: u64) {
        self.set_now(now);
        let now = self.now;
        match self.link {
            Link::Connecting if now >= self.link_deadline => {
                self.transmit.push_back(Transmit::Close);
                self.finish(CloseReason::ConnectTimeout(
                    self.config.connect_timeout_ms.div_ceil(1000),
                ));
                return;
            }
            Link::LoggingIn if now >= self.link_deadline => {
                let secs = self.config.login_timeout_ms.div_ceil(1000);
                let reason = if self.login.state() == LoginState::AwaitPrompt {
                    CloseReason::NoPrompt(secs)
                } else {
                    CloseReason::LoginTimeout(secs)
                };
                self.transmit.push_back(Transmit::Close);
                self.finish(reason);
                return;
            }
            _ => {}
        }
        if self.link != Link::Ready {
            return;
        }
        if let Some(t) = self.transfers.front() {
            if t.is_started() && now >= self.transfer_deadline {
                let (id, kind) = (t.id, t.kind.clone());
                let secs = self.config.transfer_timeout_ms.div_ceil(1000);
                self.transfers.pop_front();
                let error = TransferError::Timeout {
                    name: kind.name().to_owned(),
                    secs,
                };
                self.events
                    .push_back(Event::TransferFailed { id, kind, error });
                // The board's transfer parser is mid-message: only a new session resynchronises it.
                self.transmit.push_back(Transmit::Close);
                self.finish(CloseReason::TransferStalled);
                return;
            }
        }
        let mut acts = Vec::new();
        if let Some(r) = self.run.as_mut() {
            r.on_timeout(now, &mut acts);
        }
        self.run_actions(acts);
        let mut acts = Vec::new();
        if let Some(r) = self.raw.as_mut() {
            r.on_timeout(now, &mut acts);
        }
        self.raw_actions(acts);
        if let Some(verdict) = self.probe.as_mut().map(|p| p.on_timeout(now)) {
            self.probe_verdict(verdict);
        }
    }

    /// The next time [`Self::handle_timeout`] wants to be called, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut consider = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        match self.link {
            Link::Connecting | Link::LoggingIn if self.link_deadline != u64::MAX => {
                consider(self.link_deadline)
            }
            Link::Ready => {
                if self.transfers.front().is_some_and(Transfer::is_started) {
                    consider(self.transfer_deadline);
                }
                if let Some(d) = self.run.as_ref().and_then(Runner::deadline) {
                    consider(d);
                }
                if let Some(d) = self.raw.as_ref().and_then(RawRepl::deadline) {
                    consider(d);
                }
                if let Some(p) = &self.probe {
                    consider(p.deadline());
                }
            }
            _ => {}
        }
        next
    }

    // ----- outputs -----

    /// The next frame to send. Put data is included only when `bulk_ok` (the adapter's send
    /// buffer has room); keystrokes and acks are never held behind it.
    pub fn poll_transmit_with(&mut self, bulk_ok: bool) -> Option<Transmit> {
        if let Some(t) = self.transmit.pop_front() {
            return Some(t);
        }
        if self.link != Link::Ready {
            return None;
        }
        let t = self.transfers.front_mut()?;
        if let Some(m) = t.next_message() {
            if !t.is_started() || m.len() == transfer::HEADER_LEN {
                self.transfer_deadline = self.now + self.config.transfer_timeout_ms;
            }
            return Some(Transmit::Binary(m));
        }
        if bulk_ok {
            let chunk = self.config.put_chunk;
            if let Some((data, step)) = t.next_data(chunk) {
                let (id, kind) = (t.id, t.kind.clone());
                self.transfer_deadline = self.now + self.config.transfer_timeout_ms;
                self.transfer_step(id, &kind, step);
                return Some(Transmit::Binary(data));
            }
        }
        None
    }

    /// The next frame to send, put data included.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.poll_transmit_with(true)
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- commands -----

    /// Tells the session the current time. Call it before a command when time may have passed
    /// since the last input: commands start deadlines (a run's phases, a transfer's silence
    /// limit) from the session's idea of now. The one place time is set: every `handle_*` goes
    /// through here, so the session's time never goes backwards, whatever callers pass.
    pub fn set_now(&mut self, now: u64) {
        self.now = self.now.max(now);
    }

    /// Gives the password (when [`Event::PasswordRequired`] came, or ahead of the prompt).
    pub fn login(&mut self, password: Password) {
        if self.login.state() == LoginState::NeedPassword && self.link == Link::LoggingIn {
            self.link_deadline = self.now + self.config.login_timeout_ms;
            self.send_password(&password);
        }
        self.password = Some(password);
    }

    /// Keystrokes or pasted text for the REPL. Newlines are sent as `\r` (what Enter sends).
    pub fn send_input(&mut self, text: &str) {
        if self.link != Link::Ready || text.is_empty() {
            return;
        }
        let text = text.replace("\r\n", "\r").replace('\n', "\r");
        if self.raw.is_some() {
            // File commands own the REPL for a moment: hold typing; Ctrl-C stops them.
            if text.contains('\x03') {
                self.held_input.clear();
                self.fail_fs(FsError::Cancelled);
                let mut acts = Vec::new();
                if let Some(raw) = self.raw.as_mut() {
                    raw.interrupt(self.now, &mut acts);
                }
                self.raw_actions(acts);
            } else if self.held_input.len() + text.len() <= HELD_INPUT_MAX {
                self.held_input.push_str(&text);
            }
            return;
        }
        if let Some(run) = self.run.as_mut().filter(|r| !r.is_delivered()) {
            if text.contains('\x03') {
                // Ctrl-C drops what was typed meanwhile, as it would at the prompt.
                self.held_input.clear();
                let mut acts = Vec::new();
                run.cancel(RunError::Cancelled, &mut acts);
                self.run_actions(acts);
            } else if self.held_input.len() + text.len() <= HELD_INPUT_MAX {
                self.held_input.push_str(&text);
            }
            return;
        }
        if text.contains('\x04') {
            self.user_ctrl_d_at = Some(self.now);
        }
        self.send_text(&text);
    }

    pub fn send_key(&mut self, key: ControlKey) {
        self.send_input(key.as_str());
    }

    /// Ctrl-C: stops a running program (and a run being sent).
    pub fn interrupt(&mut self) {
        self.send_key(ControlKey::Interrupt);
    }

    /// Soft reset: Ctrl-C (Ctrl-D acts only on an empty line), then Ctrl-D. The board ends the
    /// session; [`CloseReason::SoftReset`] follows and the board is back shortly after.
    pub fn soft_reset(&mut self) {
        if self.link != Link::Ready {
            return;
        }
        self.cancel_runs(RunError::Cancelled);
        self.fail_fs(FsError::Cancelled);
        self.raw = None;
        if self.transport == Transport::Stream {
            // The link stays; the board prints its banner and `>>> ` again.
            self.prompt.distrust();
        } else {
            self.expect = Expect::SoftReset;
        }
        self.send_text("\x03\x04");
    }

    /// Queues a put of `data` to `name` on the board (over a byte stream: through the raw
    /// REPL, queued with the file operations).
    pub fn put(&mut self, name: &str, data: Vec<u8>) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            let fs = self.fs_id();
            return self.queue_write(fs, name, data);
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::put(id, name, data)?)
    }

    fn queue_write(
        &mut self,
        fs: FsId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<TransferId, TransferError> {
        if self.link != Link::Ready {
            return Err(TransferError::NotConnected);
        }
        transfer::validate_name(name)?;
        transfer::validate_size(data.len() as u64)?;
        let path = fileread::read_path(name)?;
        let id = self.transfer_id();
        let chunk = self.config.stream_chunk;
        self.fs_queue
            .push_back((fs, Job::Write(FileWrite::new(id, path, data, chunk))));
        self.pump_fs();
        Ok(id)
    }

    /// Queues a get of `name` (over a byte stream: a [`Self::read`]).
    pub fn get(&mut self, name: &str) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            return self.read(name);
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::get(id, name)?)
    }

    /// Queues a request for the board's MicroPython version (WebREPL only).
    pub fn version(&mut self) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            return Err(TransferError::NeedsWebRepl("the version request"));
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::version(id))
    }

    /// Runs a block of code: interrupts what runs, sends the code through paste mode paced by
    /// its echo, then starts it. `label` says who asked (shown in the terminal).
    pub fn run_code(&mut self, code: &str, label: &str) -> Result<RunId, RunError> {
        if self.link != Link::Ready {
            return Err(RunError::NotConnected);
        }
        let prepared = paste::prepare(code)?;
        let sending = self.run.as_ref().is_some_and(|r| !r.is_delivered()) || self.raw.is_some();
        if sending && self.runs.len() >= self.config.max_queued_runs {
            return Err(RunError::QueueFull(self.runs.len()));
        }
        let id = RunId(self.next_run);
        self.next_run += 1;
        let label = paste::sanitize_label(label);
        self.runs.push_back((id, label.clone(), prepared));
        if sending {
            self.events.push_back(Event::Run {
                id,
                label,
                state: RunState::Queued,
            });
        } else {
            self.start_next_run();
        }
        Ok(id)
    }

    /// Queues a file operation (list, delete, rename, mkdir …), run in the raw REPL as soon as
    /// the board is at its prompt. Paths are normalized first.
    pub fn fs(&mut self, op: FsOp) -> Result<FsId, FsError> {
        if self.link != Link::Ready {
            return Err(FsError::NotConnected);
        }
        if self.fs_queue.len() >= self.config.max_queued_fs {
            return Err(FsError::QueueFull(self.fs_queue.len()));
        }
        let op = op.normalized()?;
        let id = self.fs_id();
        self.fs_queue.push_back((id, Job::Op(op)));
        self.pump_fs();
        Ok(id)
    }

    /// Reads a file through the raw REPL ([`crate::fileread`]): one script streams it, so a
    /// board's Nagle stall costs once instead of once per 256-byte chunk as a [`Self::get`]
    /// does — for a client that cannot see partial frames (a browser page on a direct link).
    /// Queued with the file operations (hidden from the terminal, typing held, waits while a
    /// program runs), reported as a transfer: `TransferProgress` with the file's size as total,
    /// then `TransferDone` with [`TransferOutcome::Get`] or `TransferFailed`. A missing file is
    /// an error, not a dropped session. Relative paths are relative to the board's current
    /// folder, as a get's name is.
    pub fn read(&mut self, path: &str) -> Result<TransferId, TransferError> {
        if self.link != Link::Ready {
            return Err(TransferError::NotConnected);
        }
        if self.fs_queue.len() >= self.config.max_queued_fs {
            return Err(ReadError::QueueFull(self.fs_queue.len()).into());
        }
        let path = fileread::read_path(path)?;
        let transfer = self.transfer_id();
        let id = self.fs_id();
        let encoding = match self.transport {
            Transport::Stream => ReadEncoding::Escaped,
            Transport::WebRepl => self.config.read_encoding,
        };
        self.fs_queue
            .push_back((id, Job::Read(FileRead::new(transfer, path, encoding))));
        self.pump_fs();
        Ok(transfer)
    }

    /// Uploads `data` to `path` safely: a put to a temporary name, a size check on the board,
    /// then a rename over `path` (folders above it are made). An upload that is cut off never
    /// leaves a truncated `path`. Progress comes as `TransferProgress` of the returned transfer;
    /// the end as `Fs` of the returned id.
    pub fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), FsError> {
        if self.link != Link::Ready {
            return Err(FsError::NotConnected);
        }
        let path = files::normalize_transferable(path)?;
        let id = self.fs_id();
        let temp = format!("/.webrepl-{}.part", id.0);
        let size = data.len() as u64;
        let sent = match self.transport {
            Transport::Stream => self.queue_write(id, &temp, data),
            Transport::WebRepl => self.put(&temp, data),
        };
        let transfer = sent.map_err(|e| FsError::Upload {
            path: path.clone(),
            message: e.to_string(),
        })?;
        self.uploads.push(Upload {
            id,
            transfer,
            temp,
            path,
            size,
            cancelled: false,
        });
        Ok((id, transfer))
    }

    /// Cancels waiting file operations and uploads. An upload whose data is being sent
    /// finishes its transfer (WebREPL cannot abort a put) and its temporary file is removed;
    /// the target is never touched.
    pub fn cancel_fs(&mut self) {
        self.cancel_fs_matching(|_| true);
    }

    /// Cancels only these operations and uploads (someone's, at an Edrys station).
    pub fn cancel_fs_ids(&mut self, ids: &[FsId]) {
        self.cancel_fs_matching(|id| ids.contains(&id));
    }

    fn cancel_fs_matching(&mut self, hit: impl Fn(FsId) -> bool) {
        for (id, job) in std::mem::take(&mut self.fs_queue) {
            if !hit(id) {
                self.fs_queue.push_back((id, job));
                continue;
            }
            // Already on the board under its temporary name: remove that instead.
            if let Job::Op(FsOp::Commit { temp, .. } | FsOp::Discard { path: temp }) = &job {
                let discard = self.fs_id();
                let path = temp.clone();
                self.fs_queue
                    .push_back((discard, Job::Op(FsOp::Discard { path })));
            }
            self.job_failed(id, job, FsError::Cancelled);
        }
        let mut i = 0;
        while i < self.uploads.len() {
            let up = self.uploads[i].clone();
            if !hit(up.id) {
                i += 1;
                continue;
            }
            let queued = self
                .transfers
                .iter()
                .position(|t| t.id == up.transfer && !t.is_started());
            let writing = matches!(&self.fs_current, Some(FsJob { job: Job::Write(w), .. }) if w.transfer == up.transfer);
            if self.transport == Transport::Stream && !writing {
                // Its write was still queued (and is reported cancelled above).
                self.uploads.remove(i);
                self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            } else if let Some(pos) = queued {
                if let Some(t) = self.transfers.remove(pos) {
                    self.events.push_back(Event::TransferFailed {
                        id: t.id,
                        kind: t.kind.clone(),
                        error: TransferError::Cancelled,
                    });
                }
                self.uploads.remove(i);
                self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            } else {
                self.uploads[i].cancelled = true;
                i += 1;
            }
        }
    }

    /// True while file operations or uploads are queued or running.
    pub fn fs_pending(&self) -> bool {
        !self.fs_queue.is_empty() || self.fs_current.is_some() || !self.uploads.is_empty()
    }

    /// Closes the session with an empty close frame.
    pub fn close(&mut self) {
        if self.link == Link::Closed {
            return;
        }
        // Leave the board's REPL as a user expects to find it: the raw REPL of a file operation
        // (Ctrl-B, read even behind a running script) or paste mode of a run being sent (Ctrl-C)
        // would otherwise greet the next client, whose banner still says `>>> `.
        if self.link == Link::Ready {
            if self.raw.is_some() {
                self.send_text("\x02");
            } else if self.run.as_ref().is_some_and(Runner::hides_output) {
                self.send_text("\x03");
            }
        }
        self.transmit.push_back(Transmit::Close);
        self.finish(CloseReason::ByUser);
    }

    // ----- internals -----

    fn send_password(&mut self, p: &Password) {
        self.transmit.push_back(Transmit::Text(p.line()));
        self.login.password_sent();
    }

    fn send_text(&mut self, text: &str) {
        // Stay far below the 65535-byte message limit, on character boundaries.
        let mut rest = text;
        while !rest.is_empty() {
            let part = prefix_at_boundary(rest, 16 * 1024);
            self.transmit.push_back(Transmit::Text(part.to_owned()));
            rest = &rest[part.len()..];
        }
    }

    /// Board terminal output after login.
    fn terminal(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.tail.push(bytes);
        if let Some(raw) = self.raw.as_mut() {
            let mut acts = Vec::new();
            raw.on_output(bytes, self.now, &mut acts);
            self.raw_actions(acts);
            return;
        }
        match self.probe.as_mut().map(|p| p.on_output(bytes)) {
            None => self.board_output(bytes),
            Some(verdict) => self.probe_verdict(verdict),
        }
    }

    /// Board output for the terminal (or the run that owns it), past any probe.
    fn board_output(&mut self, bytes: &[u8]) {
        self.prompt.push(bytes);
        if let Some(run) = self.run.as_mut() {
            let mut acts = Vec::new();
            run.on_output(bytes, self.now, &mut acts);
            self.run_actions(acts);
        } else {
            self.show(bytes);
        }
        if !self.fs_queue.is_empty() {
            self.pump_fs();
        }
    }

    /// Acts on what the probe says (its `Busy` output from the board goes to the terminal).
    fn probe_verdict(&mut self, verdict: ProbeVerdict) {
        if self.greeting && !matches!(verdict, ProbeVerdict::Wait | ProbeVerdict::Send(_)) {
            self.greeting = false;
            self.events.push_back(Event::LoggedIn);
        }
        match verdict {
            ProbeVerdict::Wait => {}
            ProbeVerdict::Send(s) => self.send_text(s),
            ProbeVerdict::Idle => {
                // The board answered at an idle prompt: nothing to show (over a serial port,
                // the prompt the user would see after pressing Enter).
                if self.transport == Transport::Stream && self.fs_queue.is_empty() {
                    self.show(b"\r\n>>> ");
                }
                self.probe = None;
                self.prompt.set_idle();
                self.pump_fs();
            }
            ProbeVerdict::Busy(held) => {
                // A program's output answered, or nothing did: a program runs (and got a
                // keystroke on its input). What the probe held back is the board's output.
                self.probe = None;
                self.prompt.set_busy();
                self.board_output(&held);
            }
        }
    }

    fn fs_id(&mut self) -> FsId {
        let id = FsId(self.next_fs);
        self.next_fs += 1;
        id
    }

    fn fs_event(&mut self, id: FsId, state: FsState) {
        self.events.push_back(Event::Fs { id, state });
    }

    /// Starts the raw REPL, sends the next script, or leaves, as the state allows.
    fn pump_fs(&mut self) {
        if self.link != Link::Ready {
            return;
        }
        let mut acts = Vec::new();
        if let Some(raw) = self.raw.as_mut() {
            if !raw.is_ready() {
                return;
            }
            if self.fs_current.is_none() && self.runs.is_empty() {
                self.fs_current = self.fs_queue.pop_front().map(FsJob::new);
            }
            match self.fs_current.as_mut() {
                Some(FsJob {
                    job: Job::Write(w), ..
                }) => match w.next_part(self.paste_ok) {
                    Some(Part::Plain(script)) => raw.exec(&script, self.now, &mut acts),
                    Some(Part::Paste(script)) => raw.exec_paste(script, self.now, &mut acts),
                    None => {}
                },
                Some(job) => {
                    let part = job.parts.get(job.next).cloned().unwrap_or_default();
                    job.next += 1;
                    if matches!(job.job, Job::Read(_)) && job.next == job.parts.len() {
                        raw.exec_streaming(&part, self.now, &mut acts)
                    } else {
                        raw.exec(&part, self.now, &mut acts)
                    }
                }
                None => raw.leave(self.now, &mut acts),
            }
        } else {
            // A run being sent goes first; a program running (a run's or the user's) must end.
            let sending = self.run.as_ref().is_some_and(|r| !r.is_delivered());
            if self.fs_queue.is_empty() || sending || !self.runs.is_empty() {
                return;
            }
            if self.prompt.is_unknown() && self.run.is_none() {
                // The prompt may be the login banner's: an Enter tells (`\r\n>>> ` if idle).
                if self.probe.is_none() {
                    self.probe = Some(Probe::new(self.now));
                    self.send_text(Probe::FIRST);
                }
                return;
            }
            if !self.prompt.is_idle() || self.run.is_some() {
                if !self.fs_waiting_told {
                    self.fs_waiting_told = true;
                    let ids: Vec<FsId> = self.fs_queue.iter().map(|(id, _)| *id).collect();
                    for id in ids {
                        self.fs_event(id, FsState::WaitingForPrompt);
                    }
                }
                return;
            }
            self.fs_waiting_told = false;
            self.raw = Some(RawRepl::enter(
                self.now,
                self.config.fs_timeout_ms,
                &mut acts,
            ));
        }
        self.raw_actions(acts);
    }

    fn raw_actions(&mut self, acts: Vec<RawAction>) {
        for a in acts {
            match a {
                RawAction::Send(s) => self.send_text(&s),
                RawAction::SendBytes(b) => self.transmit.push_back(Transmit::Binary(b)),
                RawAction::NoPaste => {
                    // The same part goes again, cut for the plain raw REPL.
                    self.paste_ok = false;
                    self.pump_fs();
                }
                RawAction::Ready => self.pump_fs(),
                RawAction::Stdout(bytes) => {
                    if let Some(Job::Read(r)) = self.fs_current.as_mut().map(|j| &mut j.job) {
                        r.feed(&bytes);
                        let (id, kind, (done, total)) = (r.transfer, read_kind(r), r.progress());
                        self.transfer_step(id, &kind, Step::Progress(done, total));
                    }
                }
                RawAction::Reply { stdout, stderr } => {
                    if let Some(job) = self.fs_current.take_if(|j| matches!(j.job, Job::Write(_))) {
                        self.write_reply(job, &stderr);
                    } else if let Some(mut job) = self.fs_current.take() {
                        if !job.retried && find(&stderr, b"KeyboardInterrupt").is_some() {
                            // A Ctrl-C that reached the board late interrupts the first
                            // script: run it once more.
                            job.retried = true;
                            job.next = 0;
                            if let Job::Read(r) = &mut job.job {
                                r.restart();
                            }
                            self.fs_current = Some(job);
                        } else if stderr.is_empty() && job.next < job.parts.len() {
                            self.fs_current = Some(job);
                        } else {
                            let event = match job.job {
                                Job::Op(op) => Event::Fs {
                                    id: job.id,
                                    state: match files::parse_reply(&op, &stdout, &stderr) {
                                        Ok(r) => FsState::Done(r),
                                        Err(e) => FsState::Failed(e),
                                    },
                                },
                                Job::Read(r) => read_event(r, &stderr),
                                // Taken by `write_reply` above.
                                Job::Write(_) => continue,
                            };
                            if self.fs_queue.is_empty() {
                                self.fs_deferred.push(event);
                            } else {
                                self.events.push_back(event);
                            }
                        }
                    }
                    self.pump_fs();
                }
                RawAction::TimedOut => {
                    let secs = self.config.fs_timeout_ms.div_ceil(1000);
                    if let Some(job) = self.fs_current.take() {
                        self.job_failed(job.id, job.job, FsError::Timeout(secs));
                    } else {
                        // The raw REPL never answered: the board is busy after all.
                        for (id, job) in std::mem::take(&mut self.fs_queue) {
                            self.job_failed(id, job, FsError::Timeout(secs));
                        }
                    }
                }
                RawAction::Left => {
                    self.raw = None;
                    self.prompt.set_idle();
                    self.flush_deferred();
                    if !self.held_input.is_empty() {
                        let held = std::mem::take(&mut self.held_input);
                        self.send_text(&held);
                    }
                    self.start_next_run();
                    self.pump_fs();
                }
            }
        }
    }

    /// A put's script (over a byte stream) was answered: the next part, or the end.
    fn write_reply(&mut self, mut job: FsJob, stderr: &[u8]) {
        let Job::Write(w) = &mut job.job else {
            return;
        };
        if !stderr.is_empty() {
            if !job.retried && find(stderr, b"KeyboardInterrupt").is_some() {
                job.retried = true; // a late Ctrl-C: the same part once more
                self.fs_current = Some(job);
            } else {
                let message = files::traceback_message(stderr);
                let (id, w) = (job.id, job.job);
                let path = match &w {
                    Job::Write(w) => w.path.clone(),
                    _ => String::new(),
                };
                self.job_failed(id, w, FsError::Board { path, message });
            }
            return;
        }
        w.answered();
        let (id, kind, (done, total)) = (w.transfer, write_kind(w), w.progress());
        self.transfer_step(id, &kind, Step::Progress(done, Some(total)));
        if !w.is_done() {
            self.fs_current = Some(job);
            return;
        }
        if self.uploads.iter().any(|u| u.transfer == id) {
            self.upload_sent(id);
            return;
        }
        let event = Event::TransferDone {
            id,
            outcome: TransferOutcome::Put {
                name: kind.name().to_owned(),
                size: total,
            },
        };
        if self.fs_queue.is_empty() {
            self.fs_deferred.push(event);
        } else {
            self.events.push_back(event);
        }
    }

    fn flush_deferred(&mut self) {
        self.events.extend(std::mem::take(&mut self.fs_deferred));
    }

    /// Fails the running and waiting file operations (not uploads still sending data).
    fn fail_fs(&mut self, err: FsError) {
        self.flush_deferred();
        if let Some(job) = self.fs_current.take() {
            self.job_failed(job.id, job.job, err.clone());
        }
        for (id, job) in std::mem::take(&mut self.fs_queue) {
            self.job_failed(id, job, err.clone());
        }
    }

    /// Reports a job that failed or was dropped: an operation as [`Event::Fs`], a read as the
    /// transfer it is.
    fn job_failed(&mut self, id: FsId, job: Job, err: FsError) {
        let r = match job {
            Job::Op(_) => return self.fs_event(id, FsState::Failed(err)),
            Job::Read(r) => r,
            Job::Write(w) => return self.write_failed(w, err),
        };
        let name = r.path.clone();
        let error = match err {
            FsError::Cancelled => TransferError::Cancelled,
            FsError::ConnectionLost => TransferError::ConnectionLost {
                name,
                done: r.progress().0,
            },
            FsError::Timeout(secs) => TransferError::Timeout { name, secs },
            other => TransferError::Read(ReadError::Board {
                path: name,
                message: other.to_string(),
            }),
        };
        self.events.push_back(Event::TransferFailed {
            id: r.transfer,
            kind: read_kind(&r),
            error,
        });
    }

    fn write_failed(&mut self, w: FileWrite, err: FsError) {
        let name = w.path.clone();
        let error = match &err {
            FsError::Cancelled => TransferError::Cancelled,
            FsError::ConnectionLost => TransferError::ConnectionLost {
                name,
                done: w.progress().0,
            },
            FsError::Timeout(secs) => TransferError::Timeout { name, secs: *secs },
            FsError::Board { message, .. } => TransferError::Write {
                name,
                message: message.clone(),
            },
            other => TransferError::Write {
                name,
                message: other.to_string(),
            },
        };
        self.events.push_back(Event::TransferFailed {
            id: w.transfer,
            kind: write_kind(&w),
            error,
        });
        if let Some(pos) = self.uploads.iter().position(|u| u.transfer == w.transfer) {
            let up = self.uploads.remove(pos);
            self.fs_event(up.id, FsState::Failed(err));
        }
    }

    fn show(&mut self, bytes: &[u8]) {
        let mut text = String::new();
        self.utf8.decode(bytes, &mut text);
        self.push_output(text);
    }

    fn push_output(&mut self, text: String) {
        if text.is_empty() {
            return;
        }
        if let Some(Event::Output(last)) = self.events.back_mut() {
            last.push_str(&text);
        } else {
            self.events.push_back(Event::Output(text));
        }
    }

    fn run_actions(&mut self, acts: Vec<Action>) {
        let Some((id, label)) = self.run.as_ref().map(|r| (r.id, r.label.clone())) else {
            return;
        };
        let mut start_next = false;
        for a in acts {
            match a {
                Action::Send(s) => self.send_text(&s),
                Action::Show(b) => self.show(&b),
                Action::State(state) => {
                    if matches!(state, RunState::Running | RunState::Failed(_)) {
                        start_next = true;
                    }
                    self.events.push_back(Event::Run {
                        id,
                        label: label.clone(),
                        state,
                    });
                }
            }
        }
        if start_next {
            if !self.held_input.is_empty() {
                let held = std::mem::take(&mut self.held_input);
                self.send_text(&held);
            }
            if self.run.as_ref().is_some_and(Runner::is_done) {
                self.run = None;
            }
            self.start_next_run();
        } else if self.run.as_ref().is_some_and(Runner::is_done) {
            self.run = None;
        }
    }

    fn start_next_run(&mut self) {
        if self.run.as_ref().is_some_and(|r| !r.is_delivered()) || self.raw.is_some() {
            return;
        }
        let Some((id, label, code)) = self.runs.pop_front() else {
            return;
        };
        // A program from an earlier run may still be going: the new run interrupts it.
        let mut runner = Runner::new(
            id,
            &label,
            code,
            self.config.paste_window,
            self.config.run_timeout_ms,
        );
        let in_raw =
            self.tail.ends_with(b"\r\n>") || self.tail.ends_with(b"raw REPL; CTRL-B to exit\r\n>");
        let mut acts = Vec::new();
        runner.start(self.now, in_raw, &mut acts);
        self.run = Some(runner);
        self.run_actions(acts);
    }

    fn cancel_runs(&mut self, err: RunError) {
        if let Some(r) = self.run.as_mut() {
            let mut acts = Vec::new();
            r.cancel(err.clone(), &mut acts);
            // On a closed link nothing can be sent.
            if self.link != Link::Ready {
                acts.retain(|a| !matches!(a, Action::Send(_)));
            }
            let queued = std::mem::take(&mut self.runs);
            self.run_actions(acts);
            self.runs = queued;
        }
        self.run = None;
        for (id, label, _) in std::mem::take(&mut self.runs) {
            self.events.push_back(Event::Run {
                id,
                label,
                state: RunState::Failed(err.clone()),
            });
        }
        self.held_input.clear();
    }

    fn transfer_id(&mut self) -> TransferId {
        let id = TransferId(self.next_transfer);
        self.next_transfer += 1;
        id
    }

    fn queue_transfer(&mut self, t: Transfer) -> Result<TransferId, TransferError> {
        if self.link == Link::Closed {
            return Err(TransferError::NotConnected);
        }
        let id = t.id;
        self.transfers.push_back(t);
        self.start_next_transfer();
        Ok(id)
    }

    fn start_next_transfer(&mut self) {
        if self.link == Link::Ready && self.transfers.front().is_some_and(|t| !t.is_started()) {
            self.transfer_deadline = self.now + self.config.transfer_timeout_ms;
        }
    }

    fn transfer_step(&mut self, id: TransferId, kind: &TransferKind, step: Step) {
        match step {
            Step::Idle => {}
            Step::Progress(done, total) => {
                if let Some(Event::TransferProgress {
                    id: last,
                    done: d,
                    total: t,
                }) = self.events.back_mut()
                {
                    if *last == id {
                        *d = done;
                        *t = total;
                        return;
                    }
                }
                self.events
                    .push_back(Event::TransferProgress { id, done, total });
            }
            Step::Done(outcome) => {
                self.events.push_back(Event::TransferDone { id, outcome });
                self.upload_sent(id);
            }
            Step::Failed(error) => {
                self.events.push_back(Event::TransferFailed {
                    id,
                    kind: kind.clone(),
                    error: error.clone(),
                });
                self.upload_failed(id, &error);
            }
        }
    }

    /// An upload's data is on the board under its temporary name: commit it (or discard it).
    fn upload_sent(&mut self, transfer: TransferId) {
        let Some(pos) = self.uploads.iter().position(|u| u.transfer == transfer) else {
            return;
        };
        let up = self.uploads.remove(pos);
        if up.cancelled {
            self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            let id = self.fs_id();
            self.fs_queue
                .push_back((id, Job::Op(FsOp::Discard { path: up.temp })));
        } else {
            self.fs_queue.push_back((
                up.id,
                Job::Op(FsOp::Commit {
                    temp: up.temp,
                    path: up.path,
                    size: up.size,
                }),
            ));
        }
        self.pump_fs();
    }

    fn upload_failed(&mut self, transfer: TransferId, error: &TransferError) {
        if let Some(pos) = self.uploads.iter().position(|u| u.transfer == transfer) {
            let up = self.uploads.remove(pos);
            let err = FsError::Upload {
                path: up.path,
                message: error.to_string(),
            };
            self.fs_event(up.id, FsState::Failed(err));
        }
    }

    /// Ends the session: every open transfer and run fails with a reason, then `Closed`.
    fn finish(&mut self, reason: CloseReason) {
        let was_ready = self.link == Link::Ready;
        self.link = Link::Closed;
        let mut text = String::new();
        self.utf8.finish(&mut text);
        self.push_output(text);
        for (i, t) in std::mem::take(&mut self.transfers).into_iter().enumerate() {
            let error = if i == 0 && t.is_started() {
                match (&reason, t.connection_lost()) {
                    (CloseReason::ByUser, _) => TransferError::Cancelled,
                    (_, e) => e,
                }
            } else {
                TransferError::NotConnected
            };
            self.events.push_back(Event::TransferFailed {
                id: t.id,
                kind: t.kind.clone(),
                error: error.clone(),
            });
            self.upload_failed(t.id, &error);
        }
        self.fail_fs(FsError::ConnectionLost);
        self.raw = None;
        if was_ready || self.run.is_some() {
            self.cancel_runs(RunError::ConnectionLost);
        }
        self.events.push_back(Event::Closed(reason));
    }
}

impl From<LoginError> for CloseReason {
    fn from(_: LoginError) -> Self {
        CloseReason::AccessDenied
    }
}

/// A read, as the transfer it is reported as.
fn read_kind(r: &FileRead) -> TransferKind {
    TransferKind::Get {
        name: r.path.clone(),
    }
}

/// A put over a byte stream, as the transfer it is reported as.
fn write_kind(w: &FileWrite) -> TransferKind {
    TransferKind::Put {
        name: w.path.clone(),
        size: w.size(),
    }
}

/// A finished read's event: the file, or why not.
fn read_event(r: FileRead, stderr: &[u8]) -> Event {
    let (id, kind) = (r.transfer, read_kind(&r));
    match r.finish(stderr) {
        Ok(data) => Event::TransferDone {
            id,
            outcome: TransferOutcome::Get {
                name: kind.name().to_owned(),
                data,
            },
        },
        Err(e) => Event::TransferFailed {
            id,
            kind,
            error: e.into(),
        },
    }
}
