//! Get acks ahead of the board (docs/board-behaviour.md: Files, "Acks ahead"): how many acks a get should have sent by each point, and the bytes that complete the header its excess acks began.
//!
//! A board sends one chunk for every byte it reads during a get, whenever the byte comes, so a
//! client may have several acks in flight. After the empty chunk every byte the board reads is
//! part of the next 82-byte header, whose op byte (offset 2) alone decides what happens. An
//! [`AckPlan`] of depth `d` keeps `d` acks in flight while chunks come full (256 bytes) and asks
//! for nothing beyond the empty chunk once a short chunk shows the file's end: at most `d − 1`
//! acks are left over. [`resync`] completes the header they began as a version request, whose
//! 3-byte reply ([`VERSION_REPLY`]) the client then discards. With 3 excess acks the third
//! would be the op byte: [`MAX_DEPTH`] is 3.

use crate::transfer::{GET_CHUNK, HEADER_LEN, OP_VERSION};

/// Most acks a get may have in flight (at most 2 left over after the end).
pub const MAX_DEPTH: usize = 3;

/// Bytes of the version reply that a [`resync`] brings.
pub const VERSION_REPLY: usize = 3;

/// How many acks one get should have sent so far, from the chunks seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckPlan {
    depth: usize,
    /// Chunks whole so far (the empty one included once it came).
    chunks: usize,
    /// Acks the get should have sent by now (it never takes one back).
    target: usize,
}

impl AckPlan {
    /// `depth` acks in flight, clamped to `1..=MAX_DEPTH` (1: one ack per chunk, never ahead).
    pub fn new(depth: usize) -> Self {
        AckPlan {
            depth: depth.clamp(1, MAX_DEPTH),
            chunks: 0,
            target: 0,
        }
    }

    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The get's `WB 00 00` came. Returns the acks to have sent by now.
    pub fn started(&mut self) -> usize {
        self.target = self.depth;
        self.target
    }

    /// A data chunk of `len` bytes is whole. Returns the acks to have sent by now: `depth`
    /// beyond it after a full chunk; after a short one only the ack for the empty chunk.
    pub fn chunk(&mut self, len: usize) -> usize {
        self.chunks += 1;
        self.target = if len >= GET_CHUNK {
            self.chunks + self.depth
        } else {
            self.chunks + 1
        };
        self.target
    }

    /// The empty chunk came: nothing more to send. Returns the chunks the get took (the empty
    /// one included): acks sent beyond these are now bytes of the board's next header.
    pub fn ended(&mut self) -> usize {
        self.chunks += 1;
        self.target = self.chunks;
        self.chunks
    }

    /// Acks to have sent by now.
    pub fn target(&self) -> usize {
        self.target
    }
}

/// The bytes that complete a header begun by `excess` left-over acks (zeros), as a version
/// request: `82 − excess` bytes with op 3 where offset 2 falls. None for 0 (nothing to complete)
/// and for 3 or more (the op byte is already a zero: the board cannot be brought back).
pub fn resync(excess: usize) -> Option<Vec<u8>> {
    if excess == 0 || excess >= 3 {
        return None;
    }
    let mut h = vec![0u8; HEADER_LEN - excess];
    h[2 - excess] = OP_VERSION;
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Acks sent for a file of `len` bytes at `depth`, and how many are left over (a board
    /// answers each ack in order; the plan is told each chunk as it comes).
    fn play(len: usize, depth: usize) -> (usize, usize, usize) {
        let mut plan = AckPlan::new(depth);
        let mut sent = plan.started();
        let mut most_in_flight = sent;
        let mut left = len;
        let mut chunks = 0;
        loop {
            assert!(sent > chunks, "the board needs an ack for the next chunk");
            let n = left.min(GET_CHUNK);
            left -= n;
            if n == 0 {
                let took = plan.ended();
                assert_eq!(plan.target(), took);
                return (sent, sent - took, most_in_flight);
            }
            chunks += 1;
            sent = sent.max(plan.chunk(n));
            most_in_flight = most_in_flight.max(sent - chunks);
        }
    }

    #[test]
    fn depth_one_is_one_ack_per_chunk_and_none_left_over() {
        for len in [0usize, 1, 255, 256, 257, 512, 3000] {
            let chunks = len.div_ceil(GET_CHUNK) + 1;
            assert_eq!(play(len, 1), (chunks, 0, 1), "{len} bytes");
        }
    }

    #[test]
    fn depth_three_leaves_one_or_two_over_never_three() {
        for len in [0, 1, 255, 256, 257, 511, 512, 513, 3000, 65537] {
            let (sent, over, in_flight) = play(len, 3);
            // A file ending in a full chunk (or empty) leaves 2, a short last chunk 1.
            let want = if len % GET_CHUNK == 0 { 2 } else { 1 };
            assert_eq!(over, want, "{len} bytes: {sent} acks");
            assert!(in_flight <= 3);
        }
        assert_eq!(AckPlan::new(7).depth(), MAX_DEPTH);
        assert_eq!(AckPlan::new(0).depth(), 1);
    }

    #[test]
    fn resync_puts_op_3_at_the_header_offset_2() {
        for k in 1..=2 {
            let r = resync(k).unwrap();
            assert_eq!(r.len(), HEADER_LEN - k);
            let mut header = vec![0u8; k];
            header.extend_from_slice(&r);
            assert_eq!(header.len(), HEADER_LEN);
            assert_eq!(header[2], OP_VERSION);
            assert!(header.iter().enumerate().all(|(i, &b)| i == 2 || b == 0));
        }
        assert_eq!(resync(0), None);
        assert_eq!(resync(3), None);
    }
}
