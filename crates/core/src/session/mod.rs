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

mod config;
mod events;
mod jobs;
mod link;
mod raw;
mod runs;
mod terminal;
mod timeouts;
mod transfers;
mod uploads;

pub use crate::paste::{RunError, RunId, RunState};
pub use config::{SessionConfig, Transport};
pub use events::{CloseInfo, CloseReason, Event, FsState, Transmit};

use crate::files::FsId;
use crate::login::{Login, Password};
use crate::paste::Runner;
use crate::prompt::{Probe, PromptTracker};
use crate::rawrepl::RawRepl;
use crate::tail::Tail;
use crate::transfer::{self, Transfer};
use crate::utf8::{prefix_at_boundary, Utf8Stream};
use jobs::{FsJob, Job};
use std::collections::VecDeque;
use uploads::Upload;

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

    /// Tells the session the current time. Call it before a command when time may have passed
    /// since the last input: commands start deadlines (a run's phases, a transfer's silence
    /// limit) from the session's idea of now. The one place time is set: every `handle_*` goes
    /// through here, so the session's time never goes backwards, whatever callers pass.
    pub fn set_now(&mut self, now: u64) {
        self.now = self.now.max(now);
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
}
