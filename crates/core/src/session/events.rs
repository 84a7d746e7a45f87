//! What a session gives out: frames to send ([`Transmit`]), events for the user interface
//! ([`Event`], [`FsState`]), and why it ended ([`CloseReason`]).

use crate::files::{FsError, FsId, FsReply};
use crate::login::LoginError;
use crate::paste::{RunId, RunState};
use crate::transfer::{TransferError, TransferId, TransferKind, TransferOutcome};

/// A frame for the adapter to send (text frames are strings: browsers require valid UTF-8).
/// Over [`Transport::Stream`](super::Transport::Stream) both kinds are just bytes to write.
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
    /// The board asks for a password and none was given: call [`Session::login`](super::Session::login).
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
    /// [`Session::interrupt`](super::Session::interrupt), or cancel with [`Session::cancel_fs`](super::Session::cancel_fs)).
    WaitingForPrompt,
    Done(FsReply),
    Failed(FsError),
}

impl From<LoginError> for CloseReason {
    fn from(_: LoginError) -> Self {
        CloseReason::AccessDenied
    }
}
