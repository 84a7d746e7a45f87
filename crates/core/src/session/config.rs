//! Session settings: timeouts, pacing and queue sizes ([`SessionConfig`]), and what carries the
//! session ([`Transport`]).

use crate::fileread::ReadEncoding;
use crate::inputflow::InputFlow;
use crate::transfer;

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
    /// How [`Session::read`](super::Session::read) has the board encode a file.
    pub read_encoding: ReadEncoding,
    /// Over a byte stream: most file bytes per raw-paste script of a put.
    pub stream_chunk: usize,
    /// The same for a board whose USB holds input back ([`InputFlow::HeldByUsb`]): such a
    /// script goes whole, so a larger one saves round trips (these boards have ≥ 100 KB of heap;
    /// a script's bytes literal needs about twice its size while it compiles).
    pub held_stream_chunk: usize,
    /// Over a byte stream: whether input the board has no room for is lost (raw-paste windows)
    /// or held back by its USB stack (scripts go whole).
    pub input_flow: InputFlow,
    /// Acks a WebREPL get keeps in flight (1..=3, [`crate::getahead`]): 3 straight to a board;
    /// 1 through `webrepl proxy`, which reads ahead itself and expects one ack per chunk.
    pub get_depth: usize,
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
            held_stream_chunk: 16 * 1024,
            input_flow: InputFlow::Windowed,
            get_depth: 1,
        }
    }
}
