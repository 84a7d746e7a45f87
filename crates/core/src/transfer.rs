//! File transfer over binary frames (docs/board-behaviour.md: Files): put, get and version as incremental state
//! machines over the binary byte stream.
//!
//! Replies are parsed byte by byte, so a `WB` status, a get chunk or a version reply may be split
//! over several frames or merged with the next one. A get keeps up to its depth of acks in
//! flight ([`crate::getahead`]; depth 1: one ack per chunk, never one ahead); acks left over
//! after the end are bytes of the board's next header, which the get then completes as a
//! version request and whose reply it swallows before it reports the file. Every message
//! produced is at most 65535 bytes.

use crate::getahead::{resync, AckPlan, VERSION_REPLY};
use std::collections::VecDeque;

mod error;
pub use error::{validate_name, validate_size, TransferError};

pub const HEADER_LEN: usize = 82;
/// The name field is 64 bytes read as a C string: at most 63 bytes of name.
pub const MAX_NAME_LEN: usize = 63;
/// A board drops the socket on a message with a 64-bit length.
pub const MAX_MESSAGE: usize = 65535;
/// Data bytes per put message (as the official clients; the board consumes 512 per step).
pub const PUT_CHUNK: usize = 1024;
/// The board's largest get chunk.
pub const GET_CHUNK: usize = 256;

pub(crate) const OP_PUT: u8 = 1;
pub(crate) const OP_GET: u8 = 2;
pub(crate) const OP_VERSION: u8 = 3;

/// Identifies one queued or running transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransferId(pub u32);

/// The board's MicroPython version from the version request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u8,
    pub minor: u8,
    pub micro: u8,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// Encodes the 82-byte request header (`struct "<2sBBQLH64s"`).
pub fn encode_header(op: u8, size: u32, name: &str) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = b'W';
    h[1] = b'A';
    h[2] = op;
    // flags (3) and offset (4..12) stay 0
    h[12..16].copy_from_slice(&size.to_le_bytes());
    let n = name.as_bytes();
    let n = &n[..n.len().min(MAX_NAME_LEN)];
    h[16..18].copy_from_slice(&(n.len() as u16).to_le_bytes());
    h[18..18 + n.len()].copy_from_slice(n);
    h
}

/// What a transfer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferKind {
    Put { name: String, size: u64 },
    Get { name: String },
    Version,
}

impl TransferKind {
    pub fn name(&self) -> &str {
        match self {
            TransferKind::Put { name, .. } | TransferKind::Get { name } => name,
            TransferKind::Version => "",
        }
    }
}

/// How a transfer ended well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferOutcome {
    Put { name: String, size: u64 },
    Get { name: String, data: Vec<u8> },
    Version(Version),
}

/// What a transfer did after being fed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing to report.
    Idle,
    /// More bytes moved: (done, total if known).
    Progress(u64, Option<u64>),
    Done(TransferOutcome),
    Failed(TransferError),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Header not sent yet.
    Start,
    /// Waiting for the first `WB` (put/get) or the 3-byte reply (version).
    AwaitStart,
    /// Put: sending data; `offset` bytes handed out so far.
    PutSending {
        offset: usize,
    },
    /// Put: all data sent; waiting for the final `WB`.
    PutAwaitEnd,
    /// Get: an ack is out; waiting for a chunk's length.
    GetAwaitLen,
    /// Get: reading a chunk of `len` bytes, `remaining` more to come.
    GetChunk {
        len: usize,
        remaining: usize,
    },
    /// Get: the empty chunk arrived; waiting for the final `WB`.
    GetAwaitEnd,
    /// Get: the file is in; swallowing the version reply that the resync brings.
    GetAwaitVersion,
    Finished,
}

/// One transfer: feed it the binary bytes the board sends; take the messages to send.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: TransferId,
    pub kind: TransferKind,
    state: State,
    /// Put: the file; get: what arrived so far.
    data: Vec<u8>,
    /// Reply bytes collected for the current field.
    field: Vec<u8>,
    outbox: VecDeque<Vec<u8>>,
    /// Get: how many acks to have sent, and how many were.
    acks: AckPlan,
    acks_sent: usize,
    /// Get: a resync went out (its version reply is still to come).
    resynced: bool,
}

impl Transfer {
    /// A put of `data` to `name`. Checks the name and size before anything is sent.
    pub fn put(id: TransferId, name: &str, data: Vec<u8>) -> Result<Self, TransferError> {
        validate_name(name)?;
        validate_size(data.len() as u64)?;
        let kind = TransferKind::Put {
            name: name.to_owned(),
            size: data.len() as u64,
        };
        Ok(Self::new(id, kind, data))
    }

    /// A get with one ack per chunk, never one ahead.
    pub fn get(id: TransferId, name: &str) -> Result<Self, TransferError> {
        Self::get_with_depth(id, name, 1)
    }

    /// A get that keeps up to `depth` acks in flight (clamped to 1..=3; see [`crate::getahead`]).
    /// Only straight to a board: a proxy that acks on the client's behalf expects one per chunk.
    pub fn get_with_depth(id: TransferId, name: &str, depth: usize) -> Result<Self, TransferError> {
        validate_name(name)?;
        let mut t = Self::new(
            id,
            TransferKind::Get {
                name: name.to_owned(),
            },
            Vec::new(),
        );
        t.acks = AckPlan::new(depth);
        Ok(t)
    }

    pub fn version(id: TransferId) -> Self {
        Self::new(id, TransferKind::Version, Vec::new())
    }

    fn new(id: TransferId, kind: TransferKind, data: Vec<u8>) -> Self {
        Transfer {
            id,
            kind,
            state: State::Start,
            data,
            field: Vec::with_capacity(4),
            outbox: VecDeque::new(),
            acks: AckPlan::new(1),
            acks_sent: 0,
            resynced: false,
        }
    }

    /// Queues the acks the plan asks for beyond those sent (one message).
    fn send_acks(&mut self, target: usize) {
        if target > self.acks_sent {
            self.outbox.push_back(vec![0; target - self.acks_sent]);
            self.acks_sent = target;
        }
    }

    /// Total bytes when known in advance (put).
    pub fn total(&self) -> Option<u64> {
        match &self.kind {
            TransferKind::Put { size, .. } => Some(*size),
            _ => None,
        }
    }

    /// Bytes moved so far.
    pub fn done(&self) -> u64 {
        match self.state {
            State::PutSending { offset } => offset as u64,
            State::PutAwaitEnd | State::Finished
                if matches!(self.kind, TransferKind::Put { .. }) =>
            {
                self.data.len() as u64
            }
            _ if matches!(self.kind, TransferKind::Get { .. }) => self.data.len() as u64,
            _ => 0,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// True while the board has the header (the board side holds an open transfer).
    pub fn is_started(&self) -> bool {
        self.state != State::Start
    }

    /// The next control message (header or get ack). Put data comes from [`Self::next_data`].
    pub fn next_message(&mut self) -> Option<Vec<u8>> {
        if self.state == State::Start {
            let (op, size) = match &self.kind {
                TransferKind::Put { size, .. } => (OP_PUT, *size as u32),
                TransferKind::Get { .. } => (OP_GET, 0),
                TransferKind::Version => (OP_VERSION, 0),
            };
            self.state = State::AwaitStart;
            return Some(encode_header(op, size, self.kind.name()).to_vec());
        }
        self.outbox.pop_front()
    }

    /// True when put data is waiting to be sent.
    pub fn has_data(&self) -> bool {
        matches!(self.state, State::PutSending { offset } if offset < self.data.len())
    }

    /// The next put data message (at most `max` bytes, never more than 65535); advances progress.
    pub fn next_data(&mut self, max: usize) -> Option<(Vec<u8>, Step)> {
        let State::PutSending { offset } = self.state else {
            return None;
        };
        if offset >= self.data.len() {
            return None;
        }
        let end = (offset + max.clamp(1, MAX_MESSAGE)).min(self.data.len());
        let chunk = self.data[offset..end].to_vec();
        self.state = if end == self.data.len() {
            State::PutAwaitEnd
        } else {
            State::PutSending { offset: end }
        };
        Some((chunk, Step::Progress(end as u64, self.total())))
    }

    /// Feeds binary bytes from the board. Returns the steps taken and how many bytes of
    /// `bytes` were consumed (the rest belongs to whatever comes next, normally nothing).
    pub fn feed(&mut self, mut bytes: &[u8], steps: &mut Vec<Step>) -> usize {
        let start_len = bytes.len();
        while !bytes.is_empty() && self.state != State::Finished {
            match self.state.clone() {
                State::Start => {
                    steps.push(self.fail(TransferError::Protocol(
                        "binary data before the request was sent",
                    )));
                    break;
                }
                State::AwaitStart => {
                    let want = if self.kind == TransferKind::Version {
                        3
                    } else {
                        4
                    };
                    if !self.fill(&mut bytes, want) {
                        break;
                    }
                    if self.kind == TransferKind::Version {
                        let v = Version {
                            major: self.field[0],
                            minor: self.field[1],
                            micro: self.field[2],
                        };
                        self.field.clear();
                        self.state = State::Finished;
                        steps.push(Step::Done(TransferOutcome::Version(v)));
                        break;
                    }
                    if let Err(e) = self.take_status() {
                        steps.push(self.fail(e));
                        break;
                    }
                    match self.kind {
                        TransferKind::Put { .. } => {
                            if self.data.is_empty() {
                                self.state = State::PutAwaitEnd;
                            } else {
                                self.state = State::PutSending { offset: 0 };
                            }
                            steps.push(Step::Progress(0, self.total()));
                        }
                        TransferKind::Get { .. } => {
                            let target = self.acks.started();
                            self.send_acks(target);
                            self.state = State::GetAwaitLen;
                            steps.push(Step::Progress(0, None));
                        }
                        TransferKind::Version => {}
                    }
                }
                State::PutSending { .. } => {
                    steps.push(self.fail(TransferError::Protocol(
                        "data from the board while a put was being sent",
                    )));
                    break;
                }
                State::PutAwaitEnd => {
                    if !self.fill(&mut bytes, 4) {
                        break;
                    }
                    if let Err(e) = self.take_status() {
                        steps.push(self.fail(e));
                        break;
                    }
                    self.state = State::Finished;
                    let name = self.kind.name().to_owned();
                    let size = self.data.len() as u64;
                    self.data = Vec::new();
                    steps.push(Step::Done(TransferOutcome::Put { name, size }));
                }
                State::GetAwaitLen => {
                    if !self.fill(&mut bytes, 2) {
                        break;
                    }
                    let len = u16::from_le_bytes([self.field[0], self.field[1]]) as usize;
                    self.field.clear();
                    if len == 0 {
                        // Acks beyond the chunks began the board's next header: complete it.
                        let took = self.acks.ended();
                        if let Some(r) = resync(self.acks_sent.saturating_sub(took)) {
                            self.outbox.push_back(r);
                            self.resynced = true;
                        }
                        self.state = State::GetAwaitEnd;
                    } else {
                        self.state = State::GetChunk {
                            len,
                            remaining: len,
                        };
                    }
                }
                State::GetChunk { len, remaining } => {
                    let n = remaining.min(bytes.len());
                    self.data.extend_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    if n == remaining {
                        // Chunk complete: the acks it calls for (at depth 1, one).
                        let target = self.acks.chunk(len);
                        self.send_acks(target);
                        self.state = State::GetAwaitLen;
                    } else {
                        self.state = State::GetChunk {
                            len,
                            remaining: remaining - n,
                        };
                    }
                    steps.push(Step::Progress(self.data.len() as u64, None));
                }
                State::GetAwaitEnd => {
                    if !self.fill(&mut bytes, 4) {
                        break;
                    }
                    if let Err(e) = self.take_status() {
                        steps.push(self.fail(e));
                        break;
                    }
                    if self.resynced {
                        self.state = State::GetAwaitVersion;
                        continue;
                    }
                    steps.push(self.get_done());
                }
                State::GetAwaitVersion => {
                    if !self.fill(&mut bytes, VERSION_REPLY) {
                        break;
                    }
                    self.field.clear();
                    steps.push(self.get_done());
                }
                State::Finished => break,
            }
        }
        start_len - bytes.len()
    }

    /// The error for a connection that ended while this transfer was open.
    pub fn connection_lost(&self) -> TransferError {
        match (&self.kind, &self.state) {
            (TransferKind::Get { name }, State::AwaitStart) => {
                TransferError::NotFound(name.clone())
            }
            (kind, _) => TransferError::ConnectionLost {
                name: kind.name().to_owned(),
                done: self.done(),
            },
        }
    }

    fn get_done(&mut self) -> Step {
        self.state = State::Finished;
        Step::Done(TransferOutcome::Get {
            name: self.kind.name().to_owned(),
            data: std::mem::take(&mut self.data),
        })
    }

    fn fail(&mut self, e: TransferError) -> Step {
        self.state = State::Finished;
        self.outbox.clear();
        Step::Failed(e)
    }

    /// Collects up to `want` bytes into `field`; true when complete.
    fn fill(&mut self, bytes: &mut &[u8], want: usize) -> bool {
        let n = (want - self.field.len()).min(bytes.len());
        self.field.extend_from_slice(&bytes[..n]);
        *bytes = &bytes[n..];
        self.field.len() == want
    }

    fn take_status(&mut self) -> Result<(), TransferError> {
        let f = std::mem::take(&mut self.field);
        if f[0] != b'W' || f[1] != b'B' {
            return Err(TransferError::Protocol("expected a WB status"));
        }
        match u16::from_le_bytes([f[2], f[3]]) {
            0 => Ok(()),
            s => Err(TransferError::BoardStatus(s)),
        }
    }
}

#[cfg(test)]
mod tests;
