//! What a transfer can fail with, and the checks of a name and a size before anything is sent.

use super::MAX_NAME_LEN;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransferError {
    #[error("no file name given")]
    EmptyName,
    #[error(
        "the board name \"{name}\" is {len} bytes in UTF-8; WebREPL allows at most 63 — shorten it"
    )]
    NameTooLong { name: String, len: usize },
    #[error("the board name contains a NUL byte")]
    NameHasNul,
    #[error(
        "the file is {0} bytes; WebREPL can send at most 4 GiB (4294967295 bytes) in one transfer"
    )]
    TooLarge(u64),
    #[error("\"{0}\" was not found on the board, or cannot be read (the board closes the connection when a get fails)")]
    NotFound(String),
    #[error("the connection was lost during the transfer of \"{name}\" after {done} bytes")]
    ConnectionLost { name: String, done: u64 },
    #[error("the board answered the transfer with error status {0}")]
    BoardStatus(u16),
    #[error("the board sent an unexpected reply ({0}); the transfer was stopped")]
    Protocol(&'static str),
    #[error("the board did not answer for {secs} s during the transfer of \"{name}\"; a running program can hold transfers up — press Stop (Ctrl-C) and try again")]
    Timeout { name: String, secs: u64 },
    #[error("not connected to a board")]
    NotConnected,
    #[error("{0} needs WebREPL; over a serial port it is not available")]
    NeedsWebRepl(&'static str),
    /// A put through the raw REPL (over a serial port) failed on the board.
    #[error("{name}: the board could not write the file: {message}")]
    Write { name: String, message: String },
    #[error("cancelled")]
    Cancelled,
    /// A read through the raw REPL ([`crate::fileread`]) failed; the session stays up.
    #[error(transparent)]
    Read(#[from] crate::fileread::ReadError),
}

/// Checks a board path for the header's name field.
pub fn validate_name(name: &str) -> Result<(), TransferError> {
    if name.is_empty() {
        return Err(TransferError::EmptyName);
    }
    if name.as_bytes().contains(&0) {
        return Err(TransferError::NameHasNul);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(TransferError::NameTooLong {
            name: name.to_owned(),
            len: name.len(),
        });
    }
    Ok(())
}

/// Checks a file size for a put.
pub fn validate_size(size: u64) -> Result<u32, TransferError> {
    u32::try_from(size).map_err(|_| TransferError::TooLarge(size))
}
