//! Sans-I/O MicroPython WebREPL protocol.
//!
//! This crate owns everything a WebREPL client must know about the wire and the board, and
//! nothing about how bytes move: no sockets, no timers, no browser APIs. A [`Session`] takes
//! frames and commands in (`handle_text`, `handle_binary`, `put`, `run_code`, …) together with
//! the current time in milliseconds, and hands back frames to send ([`Session::poll_transmit`]),
//! events for the user interface ([`Session::poll_event`]) and the next time it wants to be
//! woken ([`Session::poll_timeout`]). The browser page, the Edrys station and the native
//! `webrepl` command are thin adapters around it.
//!
//! What a board does on the wire, in our words: `docs/board-behaviour.md`. The modules follow
//! its sections: [`login`] and [`utf8`] ("Terminal"), [`transfer`] ("Files"), [`control`] and
//! [`paste`] ("Control keys"), [`files`] over [`rawrepl`] (raw-REPL scripts: list, delete,
//! rename, mkdir, safe uploads), [`fileread`] (downloads streamed through the raw REPL, "Speed"),
//! [`reconnect`] ("Resets") with its [`supervisor`] (which link is wanted, when to retry, what
//! to say). [`room`] is the Edrys room (`docs/edrys.md`). [`panel`] is the file panel's model,
//! with [`owners`]: what each transfer and file operation in flight is for, by typed id.

pub mod address;
pub mod control;
pub mod fileread;
pub mod files;
pub mod filewrite;
pub mod getahead;
pub mod inputflow;
pub mod lna;
pub mod login;
pub mod owners;
pub mod pacer;
pub mod panel;
pub mod paste;
pub mod project;
pub mod prompt;
pub mod rawpaste;
pub mod rawrepl;
pub mod readahead;
pub mod reconnect;
pub mod room;
pub mod session;
pub mod station;
pub mod supervisor;
pub mod tail;
pub mod transfer;
pub mod utf8;
pub mod wsframe;

pub use address::{parse_board_url, AddressError, BoardUrl};
pub use control::ControlKey;
pub use fileread::{ReadEncoding, ReadError};
pub use files::{Entry, EntryKind, FsError, FsId, FsOp, FsReply};
pub use inputflow::InputFlow;
pub use lna::{diagnose, FailedConnect, LnaBlock};
pub use login::{LoginError, Password};
pub use reconnect::Backoff;
pub use session::{
    CloseInfo, CloseReason, Event, FsState, RunError, RunId, RunState, Session, SessionConfig,
    Transmit,
};
pub use transfer::{TransferError, TransferId, TransferKind, TransferOutcome, Version};
