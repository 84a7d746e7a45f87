//! Get read-ahead for a proxy between a client and a board (docs/board-behaviour.md: Files, Speed).
//!
//! A get is bound by one round trip per 256-byte chunk: the board sends the next chunk only
//! after the client's one-byte ack. Through a proxy each round trip crosses two links and the
//! client's own processing. [`ReadAhead`] lets the proxy ack the chunks to the board itself —
//! up to `depth` acks in flight ([`crate::getahead`]; depth 1: one per chunk as it arrives, never
//! two ahead of the board) — and drops the client's acks when they come. Acks left over after
//! the end began the board's next header: the proxy completes it as a version request and hides
//! the 3-byte reply, so the client sees exactly the bytes of a plain get, in the same order; the
//! board is paced by the proxy's round trip alone. At most `window` chunks are acked on the
//! client's behalf; beyond that the proxy waits for the client's acks (flow control for a slow
//! client). The client must ack one chunk at a time (a client that acks ahead itself would be
//! read ahead twice).
//!
//! It follows both binary streams as the board parses them: 82-byte headers from the client,
//! put data passed through untouched, the board's `WB` status, chunk lengths and the final `WB`.

use crate::getahead::{resync, AckPlan, VERSION_REPLY};
use crate::transfer::HEADER_LEN;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Client {
    /// Collecting a header (bytes so far).
    Header,
    /// Passing `n` more bytes of put data.
    PutData(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Board {
    /// No get in progress.
    Idle,
    /// A get was asked for: waiting for the 4-byte status (bytes so far).
    Status(u8),
    /// Reading a chunk's 2-byte length (bytes so far, low byte).
    Length(u8, u8),
    /// A chunk of `len` bytes, `left` of them still to pass.
    Data { len: u16, left: u16 },
    /// After the empty chunk: the final 4-byte status (bytes so far).
    Final(u8),
}

/// One link's read-ahead state.
#[derive(Debug, Clone)]
pub struct ReadAhead {
    client: Client,
    header: Vec<u8>,
    board: Board,
    /// Acks sent to the board on the client's behalf, not yet matched by the client's own.
    ahead: usize,
    window: usize,
    /// The current get's acks: how many to have sent, and how many the proxy sent.
    plan: AckPlan,
    sent: usize,
    /// The current get sent a resync: the version reply follows its final status.
    resynced: bool,
    /// Board bytes still to hide from the client (a resync's version reply).
    hide: usize,
}

impl ReadAhead {
    /// `window`: most chunks acked ahead of the client (0 turns read-ahead off); one ack in
    /// flight to the board.
    pub fn new(window: usize) -> Self {
        Self::with_depth(window, 1)
    }

    /// As [`Self::new`], with up to `depth` acks in flight to the board (clamped to 1..=3).
    pub fn with_depth(window: usize, depth: usize) -> Self {
        ReadAhead {
            client: Client::Header,
            header: Vec::with_capacity(HEADER_LEN),
            board: Board::Idle,
            ahead: 0,
            window,
            plan: AckPlan::new(depth),
            sent: 0,
            resynced: false,
            hide: 0,
        }
    }

    /// Client → board binary bytes; returns what to send to the board.
    pub fn from_client(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(bytes.len());
        let mut rest = bytes;
        while !rest.is_empty() {
            if let Client::PutData(n) = self.client {
                let take = (n.min(rest.len() as u64)) as usize;
                out.extend_from_slice(&rest[..take]);
                rest = &rest[take..];
                let left = n - take as u64;
                self.client = if left == 0 {
                    Client::Header
                } else {
                    Client::PutData(left)
                };
                continue;
            }
            // An ack the proxy already sent for the client: drop it (and send one held back).
            if self.ahead > 0 && self.header.is_empty() && rest[0] == 0 {
                rest = &rest[1..];
                self.ahead -= 1;
                self.release(&mut out);
                continue;
            }
            // During a get the board reads each client byte as an ack, not as a header.
            if self.in_get() && self.header.is_empty() {
                out.push(rest[0]);
                rest = &rest[1..];
                continue;
            }
            let take = (HEADER_LEN - self.header.len()).min(rest.len());
            self.header.extend_from_slice(&rest[..take]);
            out.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.header.len() == HEADER_LEN {
                let h = std::mem::take(&mut self.header);
                if &h[..2] == b"WA" {
                    match h[2] {
                        1 => {
                            let size = u32::from_le_bytes([h[12], h[13], h[14], h[15]]);
                            if size > 0 {
                                self.client = Client::PutData(u64::from(size));
                            }
                        }
                        2 => {
                            self.board = Board::Status(0);
                            self.plan = AckPlan::new(self.plan.depth());
                            self.sent = 0;
                            self.resynced = false;
                        }
                        _ => {}
                    }
                }
            }
        }
        out
    }

    /// Board → client binary bytes: appends what to pass on to `to_client` (all of them but a
    /// resync's version reply) and returns what to send to the board now (acks, and at a get's
    /// end the bytes that complete the header its left-over acks began).
    pub fn from_board(&mut self, bytes: &[u8], to_client: &mut Vec<u8>) -> Vec<u8> {
        let mut to_board = Vec::new();
        let mut rest = bytes;
        while !rest.is_empty() {
            if self.hide > 0 {
                let take = self.hide.min(rest.len());
                rest = &rest[take..];
                self.hide -= take;
                continue;
            }
            let take = match self.board {
                Board::Idle => rest.len(),
                Board::Status(n) => {
                    let take = (4 - n as usize).min(rest.len());
                    let n = n as usize + take;
                    if n == 4 {
                        // The status is in: the client will ack it to ask for the first chunk.
                        self.board = Board::Length(0, 0);
                        self.plan.started();
                        self.release(&mut to_board);
                    } else {
                        self.board = Board::Status(n as u8);
                    }
                    take
                }
                Board::Length(0, _) => {
                    self.board = Board::Length(1, rest[0]);
                    1
                }
                Board::Length(_, lo) => {
                    let len = u16::from_le_bytes([lo, rest[0]]);
                    if len == 0 {
                        self.board = Board::Final(0);
                        self.ended(&mut to_board);
                    } else {
                        self.board = Board::Data { len, left: len };
                    }
                    1
                }
                Board::Data { len, left } => {
                    let take = (left as usize).min(rest.len());
                    let left = left - take as u16;
                    if left == 0 {
                        self.board = Board::Length(0, 0);
                        self.plan.chunk(len as usize);
                        self.release(&mut to_board);
                    } else {
                        self.board = Board::Data { len, left };
                    }
                    take
                }
                Board::Final(n) => {
                    let take = (4 - n as usize).min(rest.len());
                    let n = n as usize + take;
                    self.board = if n == 4 {
                        if std::mem::take(&mut self.resynced) {
                            self.hide = VERSION_REPLY;
                        }
                        Board::Idle
                    } else {
                        Board::Final(n as u8)
                    };
                    take
                }
            };
            to_client.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        to_board
    }

    /// True between a get's header and its final status.
    pub fn in_get(&self) -> bool {
        self.board != Board::Idle
    }

    /// Sends the acks the plan asks for, as far as the window allows.
    fn release(&mut self, out: &mut Vec<u8>) {
        if self.window == 0 {
            return;
        }
        while self.sent < self.plan.target() && self.ahead < self.window {
            out.push(0);
            self.sent += 1;
            self.ahead += 1;
        }
    }

    /// The empty chunk came: acks beyond the chunks began the board's next header. Complete
    /// it; the client never sends acks for those.
    fn ended(&mut self, to_board: &mut Vec<u8>) {
        let took = self.plan.ended();
        let excess = self.sent.saturating_sub(took);
        if let Some(r) = resync(excess) {
            to_board.extend_from_slice(&r);
            self.resynced = true;
            self.ahead = self.ahead.saturating_sub(excess);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::encode_header;

    /// Plays a get of `file` between a client that acks each chunk (`client_lag` chunks late)
    /// and a board, through the read-ahead. Returns (what the client received, the
    /// largest number of acks the board had unanswered, acks the board got).
    fn play(file: &[u8], window: usize, client_lag: usize) -> (Vec<u8>, usize, usize) {
        let mut ra = ReadAhead::new(window);
        let header = encode_header(2, 0, "f.bin");
        let to_board = ra.from_client(&header);
        assert_eq!(to_board, header.to_vec(), "headers pass unchanged");
        // The board: sends the status, then one chunk per ack.
        let mut chunks: Vec<Vec<u8>> = file
            .chunks(256)
            .map(|c| {
                let mut m = (c.len() as u16).to_le_bytes().to_vec();
                m.extend_from_slice(c);
                m
            })
            .collect();
        chunks.push(vec![0, 0, b'W', b'B', 0, 0]);
        let mut board_out = std::collections::VecDeque::from(chunks);
        let mut client_got = Vec::new();
        let mut client_acks_pending = 0usize; // acks the client will send (lagging)
        let mut board_acks = 0usize;
        let mut unanswered = 0usize; // acks at the board not yet answered with a chunk
        let mut max_unanswered = 0;
        // Status first.
        let mut in_flight: Vec<Vec<u8>> = vec![b"WB\x00\x00".to_vec()];
        loop {
            // Board frames reach the proxy: forwarded to the client; proxy acks as told.
            for frame in in_flight.drain(..) {
                let mut passed = Vec::new();
                let acks = ra.from_board(&frame, &mut passed).len();
                assert_eq!(passed, frame, "depth 1 passes every board byte");
                client_got.extend_from_slice(&passed);
                board_acks += acks;
                unanswered += acks;
                max_unanswered = max_unanswered.max(unanswered);
                // The client acks every frame but the empty chunk and the final status.
                if frame == b"WB\x00\x00" || frame[..2] != [0, 0] {
                    client_acks_pending += 1;
                }
            }
            // The client's acks, `client_lag` behind.
            // (Late, but never so late that nothing moves: then the client catches up.)
            while client_acks_pending > client_lag || (unanswered == 0 && client_acks_pending > 0) {
                client_acks_pending -= 1;
                let fwd = ra.from_client(&[0]);
                board_acks += fwd.len();
                unanswered += fwd.len();
                max_unanswered = max_unanswered.max(unanswered);
            }
            // The board answers each ack with one chunk.
            if unanswered > 0 {
                if let Some(c) = board_out.pop_front() {
                    unanswered -= 1;
                    in_flight.push(c);
                    continue;
                }
            }
            if in_flight.is_empty() && (board_out.is_empty() || unanswered == 0) {
                break;
            }
        }
        (client_got, max_unanswered, board_acks)
    }

    #[test]
    fn a_get_streams_with_one_ack_per_chunk_and_never_two_ahead() {
        let file: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        for (window, lag) in [(0, 0), (1, 0), (4, 0), (4, 3), (4, 50), (64, 10)] {
            let (got, max_unanswered, acks) = play(&file, window, lag);
            assert!(
                max_unanswered <= 1,
                "window {window} lag {lag}: two acks ahead"
            );
            // 12 chunks of data: one ack for the status, one after each data chunk.
            assert_eq!(acks, 13, "window {window} lag {lag}");
            let mut want = b"WB\x00\x00".to_vec();
            for c in file.chunks(256) {
                want.extend_from_slice(&(c.len() as u16).to_le_bytes());
                want.extend_from_slice(c);
            }
            want.extend_from_slice(&[0, 0, b'W', b'B', 0, 0]);
            assert_eq!(got, want);
        }
    }

    #[test]
    fn put_data_is_never_mistaken_for_acks_or_headers() {
        let mut ra = ReadAhead::new(8);
        let mut data = vec![0u8; 100];
        data.extend_from_slice(&encode_header(2, 0, "x")); // looks like a get header
        let header = encode_header(1, data.len() as u32, "p.bin");
        assert_eq!(ra.from_client(&header), header.to_vec());
        assert_eq!(ra.from_client(&data[..50]), data[..50].to_vec());
        assert_eq!(ra.from_client(&data[50..]), data[50..].to_vec());
        assert!(!ra.in_get(), "put data that looks like a header is data");
        assert!(ra.from_board(b"WB\x00\x00", &mut vec![]).is_empty());
    }

    #[test]
    fn a_board_reply_split_anywhere_gives_the_same_acks() {
        let mut stream = b"WB\x00\x00".to_vec();
        for i in 0..3u8 {
            stream.extend_from_slice(&[3, 0, i, i, i]);
        }
        stream.extend_from_slice(&[0, 0, b'W', b'B', 0, 0]);
        for cut in 0..=stream.len() {
            let mut ra = ReadAhead::new(100);
            ra.from_client(&encode_header(2, 0, "f"));
            let mut passed = vec![];
            let acks = ra.from_board(&stream[..cut], &mut passed).len()
                + ra.from_board(&stream[cut..], &mut passed).len();
            assert_eq!(passed, stream);
            assert_eq!(acks, 4, "cut at {cut}");
            assert!(!ra.in_get());
        }
    }
}
