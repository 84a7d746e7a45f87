//! Sans-I/O WebSocket framing for a link to a board (docs/board-behaviour.md: Frames, Speed): a decoder that owns its buffer, and the client frames we send.
//!
//! [`Decoder`] takes bytes as they come off the socket ([`Decoder::push`]) and hands back whole
//! frames ([`Decoder::next_frame`]), however the bytes were split. It unmasks masked frames,
//! accepts the 7-, 16- and 64-bit length forms (up to [`MAX_PAYLOAD`]), and refuses what a
//! board never sends with a [`FrameError`]: fragmented messages (FIN clear or a continuation
//! frame: this decoder does not join fragments), unknown opcodes, reserved bits, oversized or
//! fragmented control frames. After an error the stream's framing is lost and every later call
//! returns the same error.
//!
//! [`Decoder::stalled`] tells when a frame has started but not finished: its header is complete
//! and payload bytes are missing. A board writes each frame as two TCP writes (header, then
//! payload) with Nagle's algorithm on, so that state usually means the payload waits on the
//! board for the client's ACK of the header — the moment to send [`Outgoing::Nudge`].
//!
//! [`encode`] writes the frames a client sends: masked, never fragmented, at most 65535 bytes,
//! a close frame always empty and a ping always empty (the only forms that are safe on a board).

use thiserror::Error;

/// The largest payload the decoder accepts (a board sends at most 65535 bytes per frame).
pub const MAX_PAYLOAD: u64 = 16 << 20;

/// The largest payload a board accepts in one frame (docs/board-behaviour.md: Frames: a 64-bit length drops the socket).
pub const MAX_BOARD_PAYLOAD: usize = 65535;

/// A whole frame from the peer (payload unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    /// A close frame: its status code, if it has one, and the reason (lossy UTF-8).
    Close {
        code: Option<u16>,
        reason: String,
    },
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

/// Why a byte stream is not a WebSocket stream this client can follow.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("the peer announced a frame of {0} bytes, more than the 16 MiB this client accepts")]
    TooLarge(u64),
    #[error("the peer sent a frame with the unknown opcode {0:#x}")]
    UnknownOpcode(u8),
    #[error(
        "the peer sent a fragmented message, which boards never do and this client does not join"
    )]
    Fragmented,
    #[error("the peer sent a control frame that is fragmented or longer than 125 bytes")]
    BadControl,
    #[error("the peer set reserved frame bits (no WebSocket extension was agreed)")]
    Reserved,
    #[error("a frame of {0} bytes is more than a board accepts (65535): split it")]
    TooLongForBoard(usize),
}

/// The fixed part of a frame, parsed from the buffer.
#[derive(Debug, Clone, Copy)]
struct Header {
    opcode: u8,
    mask: Option<[u8; 4]>,
    /// Header bytes, length and mask included.
    len: usize,
    payload: u64,
}

/// Reassembles frames from bytes split anywhere.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Where the next frame starts in `buf`.
    pos: usize,
    /// Frames decoded so far (names the frame being received in [`Decoder::stalled`]).
    done: u64,
    error: Option<FrameError>,
}

impl Decoder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            // An idle link keeps a small buffer (a 64 KB frame once is no reason to hold 64 KB).
            if self.buf.capacity() > 64 * 1024 {
                self.buf.shrink_to(4096);
            }
        } else if self.pos >= 4096 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, or `None` until more bytes are pushed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let header = match self.header() {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(None),
            Err(e) => {
                self.error = Some(e.clone());
                return Err(e);
            }
        };
        // `payload` ≤ MAX_PAYLOAD, checked by `header`.
        let end = self.pos + header.len + header.payload as usize;
        if self.buf.len() < end {
            return Ok(None);
        }
        let mut payload = self.buf[self.pos + header.len..end].to_vec();
        self.pos = end;
        self.done += 1;
        if let Some(mask) = header.mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= mask[i % 4];
            }
        }
        Ok(Some(match header.opcode {
            0x1 => Frame::Text(payload),
            0x2 => Frame::Binary(payload),
            0x8 => {
                let code =
                    (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                let reason = payload
                    .get(2..)
                    .map(|r| String::from_utf8_lossy(r).into_owned())
                    .unwrap_or_default();
                Frame::Close { code, reason }
            }
            0x9 => Frame::Ping(payload),
            _ => Frame::Pong(payload),
        }))
    }

    /// `Some(n)` while frame number `n` (counting from 0) has its whole header but not all of
    /// its payload: the board may be holding the rest until it sees an ACK. The number lets a
    /// caller act once per frame. `None` when the buffer ends on a frame boundary, inside a
    /// header, or after an error.
    pub fn stalled(&self) -> Option<u64> {
        if self.error.is_some() {
            return None;
        }
        let h = self.header().ok()??;
        let have = (self.buf.len() - self.pos - h.len) as u64;
        (have < h.payload).then_some(self.done)
    }

    /// Bytes pushed and not yet handed out as frames.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Parses the header at `pos`: `None` while incomplete.
    fn header(&self) -> Result<Option<Header>, FrameError> {
        let b = &self.buf[self.pos..];
        if b.len() < 2 {
            return Ok(None);
        }
        if b[0] & 0x70 != 0 {
            return Err(FrameError::Reserved);
        }
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0f;
        match opcode {
            0x0 => return Err(FrameError::Fragmented),
            0x1 | 0x2 if !fin => return Err(FrameError::Fragmented),
            0x1 | 0x2 => {}
            0x8..=0xA if !fin || b[1] & 0x7f > 125 => return Err(FrameError::BadControl),
            0x8..=0xA => {}
            other => return Err(FrameError::UnknownOpcode(other)),
        }
        let masked = b[1] & 0x80 != 0;
        let (payload, mut len) = match b[1] & 0x7f {
            126 if b.len() < 4 => return Ok(None),
            126 => (u64::from(u16::from_be_bytes([b[2], b[3]])), 4),
            127 if b.len() < 10 => return Ok(None),
            127 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&b[2..10]);
                (u64::from_be_bytes(n), 10)
            }
            n => (u64::from(n), 2),
        };
        if payload > MAX_PAYLOAD {
            return Err(FrameError::TooLarge(payload));
        }
        let mask = if masked {
            if b.len() < len + 4 {
                return Ok(None);
            }
            let mut m = [0u8; 4];
            m.copy_from_slice(&b[len..len + 4]);
            len += 4;
            Some(m)
        } else {
            None
        };
        Ok(Some(Header {
            opcode,
            mask,
            len,
            payload,
        }))
    }
}

/// A frame this client sends to a board: only the forms that are safe there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outgoing<'a> {
    /// Terminal input (goes to the board's REPL).
    Text(&'a [u8]),
    /// File-transfer bytes (go to the board's transfer parser).
    Binary(&'a [u8]),
    /// An empty close frame. A status code would keep the board's session open (docs/board-behaviour.md: Frames).
    Close,
    /// An empty ping, sent only to make the client's side send a segment (which carries the
    /// ACK a board waits for before it sends a held payload, docs/board-behaviour.md: Speed).
    ///
    /// Why it is safe, from reading MicroPython's extmod/modwebsocket.c and modwebrepl.c
    /// (1.2x–1.29): the board's frame reader takes a control frame with no payload, masked or
    /// not, as a complete frame and goes straight on to the next header without returning a
    /// byte to the WebREPL layer — so nothing reaches the REPL or the file-transfer parser, in
    /// the login, between text frames, between a get's one-byte acks or inside a put's data
    /// (it can only come between whole frames: we write every frame in one piece). The board
    /// never answers a ping. The known bug: when the board reads a frame header it copies the
    /// header's flags into the "type of the last data frame" it reports to the WebREPL layer,
    /// control frames included. That is harmless for an empty ping (the next data frame's header
    /// sets the type again before any of its bytes are returned), but it is why a ping *with*
    /// payload is never sent: its payload bytes would be returned as data of type "ping", which
    /// the WebREPL layer takes for file-transfer bytes (and a close frame's status code the same
    /// way). It would also move the bytes of a continuation frame after it to the transfer
    /// parser — we never fragment. An empty data frame is ignored as well ("not EOF"), but it
    /// sets the data type to its own; the empty ping leaves no trace.
    Nudge,
}

/// Appends `frame`, masked with `mask`, to `out`. Refuses payloads over 65535 bytes.
pub fn encode(frame: Outgoing<'_>, mask: [u8; 4], out: &mut Vec<u8>) -> Result<(), FrameError> {
    let (opcode, payload): (u8, &[u8]) = match frame {
        Outgoing::Text(p) => (0x1, p),
        Outgoing::Binary(p) => (0x2, p),
        Outgoing::Close => (0x8, &[]),
        Outgoing::Nudge => (0x9, &[]),
    };
    if payload.len() > MAX_BOARD_PAYLOAD {
        return Err(FrameError::TooLongForBoard(payload.len()));
    }
    out.reserve(payload.len() + 8);
    out.push(0x80 | opcode);
    if payload.len() < 126 {
        out.push(0x80 | payload.len() as u8);
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_capture_split_after_every_header() {
        // tcp_get_delayed_ack.jsonl: `82 04` alone, then `WB 00 00`.
        let mut d = Decoder::new();
        d.push(&[0x82, 0x04]);
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.stalled(), Some(0));
        d.push(b"WB\0\0");
        assert_eq!(d.next_frame(), Ok(Some(Frame::Binary(b"WB\0\0".to_vec()))));
        assert_eq!(d.stalled(), None);
        // `82 7e 01 02`: a 258-byte chunk's header, then its payload.
        d.push(&[0x82, 0x7e, 0x01]);
        assert_eq!(d.stalled(), None, "the header is not complete yet");
        d.push(&[0x02]);
        assert_eq!(d.stalled(), Some(1));
        d.push(&[7; 257]);
        assert_eq!(d.stalled(), Some(1));
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&[7]);
        assert_eq!(d.next_frame(), Ok(Some(Frame::Binary(vec![7; 258]))));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn unmasks_and_reads_close_codes() {
        let mut out = Vec::new();
        encode(Outgoing::Text(b"hello"), [1, 2, 3, 4], &mut out).unwrap();
        let mut d = Decoder::new();
        d.push(&out);
        assert_eq!(d.next_frame(), Ok(Some(Frame::Text(b"hello".to_vec()))));
        d.push(&[0x88, 0x05, 0x03, 0xe8, b'b', b'y', b'e', 0x88, 0x00]);
        let close = |code, reason: &str| Frame::Close {
            code,
            reason: reason.into(),
        };
        assert_eq!(d.next_frame(), Ok(Some(close(Some(1000), "bye"))));
        assert_eq!(d.next_frame(), Ok(Some(close(None, ""))));
    }

    #[test]
    fn refuses_what_a_board_never_sends_and_stays_failed() {
        for (bytes, want) in [
            (vec![0x01, 0x01, b'a'], FrameError::Fragmented),
            (vec![0x80, 0x00], FrameError::Fragmented),
            (vec![0x83, 0x00], FrameError::UnknownOpcode(3)),
            (vec![0xc1, 0x00], FrameError::Reserved),
            (vec![0x89, 0x7e, 0, 200], FrameError::BadControl),
            (
                [&[0x82u8, 0x7f][..], &(MAX_PAYLOAD + 1).to_be_bytes()].concat(),
                FrameError::TooLarge(MAX_PAYLOAD + 1),
            ),
        ] {
            let mut d = Decoder::new();
            d.push(&bytes);
            assert_eq!(d.next_frame(), Err(want.clone()), "{bytes:02x?}");
            d.push(&[0x81, 0x00]);
            assert_eq!(d.next_frame(), Err(want));
            assert_eq!(d.stalled(), None);
        }
    }

    #[test]
    fn a_64_bit_length_within_the_limit_decodes() {
        let mut d = Decoder::new();
        d.push(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]);
        assert_eq!(d.stalled(), Some(0));
        d.push(&vec![9; 65536]);
        assert_eq!(d.next_frame(), Ok(Some(Frame::Binary(vec![9; 65536]))));
    }

    #[test]
    fn encodes_only_safe_client_frames() {
        let mut out = Vec::new();
        encode(Outgoing::Nudge, [0xa, 0xb, 0xc, 0xd], &mut out).unwrap();
        assert_eq!(
            out,
            [0x89, 0x80, 0xa, 0xb, 0xc, 0xd],
            "an empty, masked ping"
        );
        out.clear();
        encode(Outgoing::Close, [0; 4], &mut out).unwrap();
        assert_eq!(out, [0x88, 0x80, 0, 0, 0, 0], "an empty close");
        out.clear();
        encode(Outgoing::Binary(&[0; 300]), [0; 4], &mut out).unwrap();
        assert_eq!(&out[..4], &[0x82, 0xfe, 0x01, 0x2c]);
        assert_eq!(
            encode(Outgoing::Text(&[0; 65536]), [0; 4], &mut out),
            Err(FrameError::TooLongForBoard(65536))
        );
    }
}
