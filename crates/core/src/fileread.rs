//! Reading a board file through the raw REPL in one streamed script (docs/board-behaviour.md: Files, Speed): the size
//! first, then the file as base64 lines, decoded as they arrive.
//!
//! A WebREPL get is one round trip per 256-byte chunk, and a board's Nagle stall (header and
//! payload written apart, the client's ACK delayed) costs ~40 ms on every one of them. Here the
//! board prints the whole file from one script run with nothing to wait for, so its TCP stack
//! merges the writes into full segments and only the tail may stall, once. A page cannot nudge
//! the board's ACKs (it never sees partial frames); this needs nothing from the client but
//! reading. Unlike the get, a missing file is a traceback, not a dropped session.
//!
//! The script prints `S SIZE` or `D` for a folder, then one line per chunk, base64
//! (`binascii.b2a_base64`, the default: 4/3 of the file on the wire) or hex (`hexlify`: twice
//! the file, but cheap where b2a_base64 is slow, as in the virtual board's WebAssembly
//! MicroPython); [`ReadEncoding`] picks. This module owns the script and the decoding; the session queues
//! the read beside the other file operations and the raw REPL ([`crate::rawrepl`]) carries it.

use crate::files::{self, py_str, FsError, MAX_SCRIPT};
use crate::transfer::TransferId;
use thiserror::Error;

/// File bytes per printed line (a multiple of 3: no base64 padding before the last line). The
/// board holds this, its base64 (2 KB) and little else: fine for an ESP8266's heap.
pub const READ_CHUNK: usize = 1536;

/// Reserved at most up front for the file, whatever size the board announces.
const MAX_RESERVE: u64 = 16 << 20;
/// Longest first line (`S 4294967295 B`).
const MAX_HEADER: usize = 40;

/// How the board encodes the file's bytes for the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadEncoding {
    /// `binascii.b2a_base64`: 4 characters per 3 bytes.
    #[default]
    Base64,
    /// `binascii.hexlify`: 2 characters per byte.
    Hex,
    /// The bytes as they are, with `10` escaping `10`, LF, CR and `04` (as `10` and `0`–`3`):
    /// ~1 % more than the file, for byte streams (a serial port), where output need not be text.
    Escaped,
}

/// Why a read failed; each names the path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadError {
    #[error("\"{0}\" is not a usable board path ({1})")]
    BadPath(String, &'static str),
    #[error("{0} is a folder: download it with the ⤓ of its row (as a zip)")]
    IsDir(String),
    /// From the board's traceback: no such file, permission denied, out of memory …
    #[error("{path}: {message}")]
    Board { path: String, message: String },
    #[error("{path}: the board sent {got} bytes but said the file has {want}; the download was discarded (was the file changed meanwhile?)")]
    SizeMismatch { path: String, got: u64, want: u64 },
    #[error("{path}: the board's reply to the read was not understood ({what}); the download was discarded")]
    Protocol { path: String, what: String },
    #[error("{0}: this board's MicroPython has no binascii module, which downloads through the raw REPL need; connect through `webrepl proxy` (it uses the WebREPL get), or add ?get=wa to the page's address")]
    NoBinascii(String),
    #[error("{0} file operations are already waiting; try again when they are done")]
    QueueFull(usize),
}

/// One read: its script, and the decoder for what the script prints.
#[derive(Debug, Clone)]
pub struct FileRead {
    pub transfer: TransferId,
    pub path: String,
    pub encoding: ReadEncoding,
    /// The first line, until it is complete.
    header: Vec<u8>,
    /// The announced size, once the first line is in.
    size: Option<u64>,
    is_dir: bool,
    /// Undecoded characters (< 4 base64, < 2 hex).
    carry: [u8; 4],
    carry_len: usize,
    /// Bytes decoded (may exceed `data.len()` when the board sends more than it announced).
    got: u64,
    data: Vec<u8>,
    error: Option<String>,
}

/// A path for the read's script: absolute paths normalized; relative ones (to the board's
/// current folder, as a get's name is) kept relative. Refuses what [`files::normalize`] does and
/// paths too long for the call to fit in one script piece.
pub fn read_path(path: &str) -> Result<String, ReadError> {
    let p = files::normalize(path).map_err(|e| match e {
        FsError::BadPath(p, why) => ReadError::BadPath(p, why),
        _ => ReadError::BadPath(path.to_owned(), "not a board path"),
    })?;
    if p == "/" {
        return Err(ReadError::BadPath(path.to_owned(), "it names no file"));
    }
    let p = if path.starts_with('/') {
        p
    } else {
        p[1..].to_owned()
    };
    if call(&p, ReadEncoding::Base64).len() > MAX_SCRIPT {
        return Err(ReadError::BadPath(
            p,
            "it is too long for the board's input buffer",
        ));
    }
    Ok(p)
}

// `_w(path, chunk, encoder, line end)`: `D` for a folder; else `S SIZE`, then one line per
// chunk (and an empty one at the end). sys.stdout.write takes the encoder's bytes as they are.
// The encoder is named in the call (`__import__` leaves no name behind); a board without
// binascii fails there, with a message saying what to do.
const READ: &str = "def _w(p,n,e,t):
 import os,sys
 s=os.stat(p)
 if s[0]&16384:return print('D')
 f=open(p,'rb');m=memoryview(bytearray(n));k=1;w=sys.stdout.write
 print('S',s[6])
 while k:k=f.readinto(m);w(e(m[:k])+t)
 f.close()
";

// The escaping encoder for [`ReadEncoding::Escaped`]: C-level replaces, cheap on any board.
const ESCAPE: &str = "def _e(b):
 b=bytes(b)
 for c,r in((b'\\x10',b'\\x100'),(b'\\n',b'\\x101'),(b'\\r',b'\\x102'),(b'\\x04',b'\\x103')):b=b.replace(c,r)
 return b
";

/// Escaped data is read in larger pieces: one line each, no decoding cost on the board.
const ESCAPED_CHUNK: usize = 4096;

fn call(path: &str, encoding: ReadEncoding) -> String {
    let (encoder, end) = match encoding {
        ReadEncoding::Base64 => ("__import__('binascii').b2a_base64", ""),
        ReadEncoding::Hex => ("__import__('binascii').hexlify", "\\n"),
        ReadEncoding::Escaped => {
            return format!(
                "try:_w({},{ESCAPED_CHUNK},_e,b'\\n')\nfinally:del _w,_e\n",
                py_str(path)
            )
        }
    };
    format!(
        "try:_w({},{READ_CHUNK},{encoder},b'{end}')\nfinally:del _w\n",
        py_str(path)
    )
}

impl FileRead {
    /// A read of `path` (already checked by [`read_path`]), reported as transfer `transfer`.
    pub fn new(transfer: TransferId, path: String, encoding: ReadEncoding) -> Self {
        FileRead {
            transfer,
            path,
            encoding,
            header: Vec::new(),
            size: None,
            is_dir: false,
            carry: [0; 4],
            carry_len: 0,
            got: 0,
            data: Vec::new(),
            error: None,
        }
    }

    /// The raw-REPL commands: the definition, then the call (each ≤ [`MAX_SCRIPT`] bytes).
    pub fn script_parts(&self) -> Vec<String> {
        match self.encoding {
            ReadEncoding::Escaped => vec![
                READ.to_owned(),
                ESCAPE.to_owned(),
                call(&self.path, self.encoding),
            ],
            _ => vec![READ.to_owned(), call(&self.path, self.encoding)],
        }
    }

    /// Forgets what arrived (the script is run again from the start).
    pub fn restart(&mut self) {
        *self = FileRead::new(self.transfer, std::mem::take(&mut self.path), self.encoding);
    }

    /// Bytes decoded so far and the announced size, once known.
    pub fn progress(&self) -> (u64, Option<u64>) {
        (self.got, self.size)
    }

    /// Feeds the script's output (between the raw REPL's `OK` and its first `04`), cut anywhere.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        if self.size.is_none() && !self.is_dir && self.error.is_none() {
            let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
                self.header.extend_from_slice(bytes);
                if self.header.len() > MAX_HEADER {
                    self.fail("no size line");
                }
                return;
            };
            self.header.extend_from_slice(&bytes[..nl]);
            bytes = &bytes[nl + 1..];
            self.parse_header();
        }
        if self.error.is_some() || self.is_dir {
            return;
        }
        for &c in bytes {
            if self.encoding == ReadEncoding::Escaped && self.carry_len == 1 {
                self.carry_len = 0;
                match c {
                    b'0' => self.push(&[0x10]),
                    b'1' => self.push(b"\n"),
                    b'2' => self.push(b"\r"),
                    b'3' => self.push(&[0x04]),
                    _ => {
                        self.fail("an unknown escape");
                        return;
                    }
                }
                continue;
            }
            if c == b'\r' || c == b'\n' {
                continue;
            }
            if self.encoding == ReadEncoding::Escaped {
                if c == 0x10 {
                    self.carry_len = 1;
                } else {
                    self.push(&[c]);
                }
                continue;
            }
            self.carry[self.carry_len] = c;
            self.carry_len += 1;
            let r = match self.encoding {
                ReadEncoding::Base64 if self.carry_len == 4 => self.decode_quad(),
                ReadEncoding::Hex if self.carry_len == 2 => self.decode_pair(),
                _ => Ok(()),
            };
            if let Err(what) = r {
                self.fail(what);
                return;
            }
        }
    }

    fn parse_header(&mut self) {
        let line = String::from_utf8_lossy(&self.header).trim().to_owned();
        let mut parts = line.split(' ');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some("D"), None, ..) => self.is_dir = true,
            (Some("S"), Some(size), None, _) => match size.parse::<u64>() {
                Ok(size) => {
                    self.size = Some(size);
                    self.data.reserve_exact(size.min(MAX_RESERVE) as usize);
                }
                Err(_) => self.fail("a size that is not a number"),
            },
            _ => self.fail("no size line"),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.got += bytes.len() as u64;
        // More than announced is an error at the end; it is not kept.
        let want = self.size.unwrap_or(0);
        let room = want.saturating_sub(self.data.len() as u64) as usize;
        self.data.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn decode_quad(&mut self) -> Result<(), &'static str> {
        let q = self.carry;
        self.carry_len = 0;
        let mut v = [0u8; 4];
        let mut pad = 0;
        for (i, &c) in q.iter().enumerate() {
            if c == b'=' && i >= 2 {
                pad += 1;
                continue;
            }
            if pad > 0 {
                return Err("base64 padding inside a group");
            }
            v[i] = sextet(c).ok_or("a character that is not base64")?;
        }
        let n = (v[0] as u32) << 18 | (v[1] as u32) << 12 | (v[2] as u32) << 6 | v[3] as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        self.push(&bytes[..3 - pad]);
        Ok(())
    }

    fn decode_pair(&mut self) -> Result<(), &'static str> {
        self.carry_len = 0;
        let hi = nibble(self.carry[0]).ok_or("a character that is not hex")?;
        let lo = nibble(self.carry[1]).ok_or("a character that is not hex")?;
        self.push(&[hi << 4 | lo]);
        Ok(())
    }

    fn fail(&mut self, what: &str) {
        if self.error.is_none() {
            self.error = Some(what.to_owned());
        }
    }

    /// The script ended with exception text `stderr` (empty when none): the file, or why not.
    pub fn finish(self, stderr: &[u8]) -> Result<Vec<u8>, ReadError> {
        let path = self.path;
        if !stderr.is_empty() {
            if crate::login::find(stderr, b"binascii").is_some() {
                return Err(ReadError::NoBinascii(path));
            }
            return Err(ReadError::Board {
                path,
                message: files::traceback_message(stderr),
            });
        }
        if self.is_dir {
            return Err(ReadError::IsDir(path));
        }
        let protocol = |what: String| ReadError::Protocol {
            path: path.clone(),
            what,
        };
        if let Some(what) = self.error {
            return Err(protocol(what));
        }
        let Some(want) = self.size else {
            return Err(protocol("no size line".into()));
        };
        if self.carry_len != 0 {
            return Err(protocol("the last line was cut short".into()));
        }
        if self.got != want {
            return Err(ReadError::SizeMismatch {
                path,
                got: self.got,
                want,
            });
        }
        Ok(self.data)
    }
}

fn nibble(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

fn sextet(c: u8) -> Option<u8> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
