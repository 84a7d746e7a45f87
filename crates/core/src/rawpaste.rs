//! Raw-paste flow control (MicroPython ≥ 1.14): the board's answer to `05 'A' 01`, then a
//! script sent at most a window ahead of what the board has read.
//!
//! The board answers `R 01` and a 16-bit little-endian window size W, and (its buffer being 2W)
//! an `01` right after. Each `01` lets the client send W more bytes; the client never has more
//! than the board can hold in flight, so nothing is lost on a board that keeps ~256 bytes of
//! input. The client ends with `04`; the board acknowledges with `04`. A board that stops early
//! (a syntax error while it compiles as it reads) sends its `04` first: the client answers `04`.
//! `R 00` means the board knows raw-paste but refused; anything else, that it has none.

/// What the flow asks for after some board output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasteStep {
    /// Nothing to do until more output comes.
    Wait,
    /// Send these bytes (script bytes, and the final `04` once all is sent).
    Send(Vec<u8>),
    /// `R 00`: raw-paste refused; the raw REPL prints `>` next.
    Refused,
    /// Not a raw-paste answer (an older board): its raw-REPL banner is under way (the bytes
    /// consumed are its start).
    Unknown,
    /// The board acknowledged the end of the script: what follows is the script's output.
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Collecting `R 01 lo hi`.
    Handshake,
    Sending,
    /// Everything and the `04` sent; waiting for the board's `04`.
    EndSent,
    Ended,
}

/// One script's trip through raw-paste mode.
#[derive(Debug, Clone)]
pub struct PasteFlow {
    state: State,
    head: Vec<u8>,
    script: Vec<u8>,
    sent: usize,
    window: usize,
    credit: usize,
    /// The board's USB holds back what it cannot take yet: no need to wait for windows.
    held: bool,
}

impl PasteFlow {
    /// A flow for `script`; the caller has sent (or sends now) `05 'A' 01`.
    pub fn new(script: Vec<u8>) -> Self {
        PasteFlow {
            state: State::Handshake,
            head: Vec::with_capacity(4),
            script,
            sent: 0,
            window: 0,
            credit: 0,
            held: false,
        }
    }

    /// A flow for a board whose USB stack holds back input it has no room for
    /// ([`crate::InputFlow::HeldByUsb`]): once the board is in raw-paste mode the whole script goes at
    /// once (the windows it grants are not waited for: nothing can be lost).
    pub fn held_by_usb(script: Vec<u8>) -> Self {
        PasteFlow {
            held: true,
            ..PasteFlow::new(script)
        }
    }

    /// The window size the board announced (0 before its answer).
    pub fn window(&self) -> usize {
        self.window
    }

    /// Script bytes sent so far.
    pub fn sent(&self) -> usize {
        self.sent
    }

    /// Feeds board output; returns how many bytes belonged to the flow and what to do. Bytes
    /// after [`PasteStep::Ended`], `Refused` or `Unknown` are not consumed.
    pub fn on_output(&mut self, bytes: &[u8]) -> (usize, PasteStep) {
        let mut used = 0;
        while used < bytes.len() {
            let b = bytes[used];
            used += 1;
            match self.state {
                State::Handshake => {
                    self.head.push(b);
                    match self.head.as_slice() {
                        [b'R', 0x00] => return (used, PasteStep::Refused),
                        [b'R', 0x01] | [b'R'] | [b'R', 0x01, _] => {}
                        [b'R', 0x01, lo, hi] => {
                            self.window = (*lo as usize | (*hi as usize) << 8).max(1);
                            self.credit = if self.held { usize::MAX } else { self.window };
                            self.state = State::Sending;
                        }
                        _ => return (used, PasteStep::Unknown),
                    }
                }
                State::Sending => match b {
                    0x01 => self.credit = self.credit.saturating_add(self.window),
                    0x04 => {
                        // The board stopped reading: acknowledge, then its output follows.
                        self.state = State::Ended;
                        return (used, PasteStep::Send(vec![0x04]));
                    }
                    _ => {} // nothing else is expected; a stray byte must not stop the send
                },
                State::EndSent => {
                    if b == 0x04 {
                        self.state = State::Ended;
                        return (used, PasteStep::Ended);
                    }
                }
                State::Ended => return (used - 1, PasteStep::Ended),
            }
        }
        (used, self.next_send())
    }

    /// True once the board acknowledged the end.
    pub fn is_ended(&self) -> bool {
        self.state == State::Ended
    }

    fn next_send(&mut self) -> PasteStep {
        if self.state != State::Sending || self.credit == 0 {
            return PasteStep::Wait;
        }
        let n = self.credit.min(self.script.len() - self.sent);
        let mut out = self.script[self.sent..self.sent + n].to_vec();
        self.sent += n;
        self.credit -= n;
        if self.sent == self.script.len() {
            out.push(0x04);
            self.state = State::EndSent;
        }
        PasteStep::Send(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A board with a 2W-byte buffer: grants a window per W bytes read, acks the end.
    fn run_board(script: &[u8], window: u16, cuts: &[usize]) -> (Vec<u8>, usize) {
        let mut flow = PasteFlow::new(script.to_vec());
        let mut answer = vec![b'R', 1, window as u8, (window >> 8) as u8, 1];
        let mut received = Vec::new();
        let mut max_in_flight = 0;
        let mut read = 0usize;
        let mut ended = false;
        let mut guard = 0;
        while !ended {
            guard += 1;
            assert!(guard < 100_000, "no progress");
            // Feed the board's answer cut at the given places.
            let mut rest = &answer[..];
            let mut sends = Vec::new();
            let mut k = 0;
            while !rest.is_empty() {
                let cut = cuts.get(k).map_or(rest.len(), |c| (*c % rest.len()) + 1);
                k += 1;
                let (used, step) = flow.on_output(&rest[..cut]);
                assert!(used <= cut);
                rest = &rest[used..];
                match step {
                    PasteStep::Send(b) => sends.extend_from_slice(&b),
                    PasteStep::Ended => {
                        ended = true;
                        break;
                    }
                    PasteStep::Wait => {}
                    other => panic!("unexpected {other:?}"),
                }
            }
            answer.clear();
            assert!(ended || !sends.is_empty(), "the flow stalled");
            received.extend_from_slice(&sends);
            max_in_flight = max_in_flight.max(received.len() - read);
            // The board reads all it holds, granting a window per W bytes.
            while read < received.len() {
                let b = received[read];
                read += 1;
                if b == 0x04 {
                    answer.push(0x04);
                    break;
                }
                if read.is_multiple_of(window as usize) {
                    answer.push(0x01);
                }
            }
        }
        (received, max_in_flight)
    }

    #[test]
    fn handshake_window_and_end() {
        let mut f = PasteFlow::new(b"print(1)".to_vec());
        assert_eq!(f.on_output(b"R\x01"), (2, PasteStep::Wait));
        assert_eq!(
            f.on_output(b"\x80\x00"),
            (2, PasteStep::Send(b"print(1)\x04".to_vec()))
        );
        assert_eq!(f.window(), 128);
        assert_eq!(f.on_output(b"\x01\x041\r\n"), (2, PasteStep::Ended));
        assert!(f.is_ended());
    }

    #[test]
    fn refusal_and_old_boards() {
        let mut f = PasteFlow::new(b"x".to_vec());
        assert_eq!(f.on_output(b"R\x00>"), (2, PasteStep::Refused));
        let mut f = PasteFlow::new(b"x".to_vec());
        assert_eq!(f.on_output(b"raw REPL"), (1, PasteStep::Unknown));
    }

    #[test]
    fn an_early_end_is_acknowledged() {
        let mut f = PasteFlow::new(vec![b'a'; 1000]);
        let (_, s) = f.on_output(b"R\x01\x80\x00");
        assert_eq!(s, PasteStep::Send(vec![b'a'; 128]));
        assert_eq!(f.on_output(b"\x04"), (1, PasteStep::Send(vec![0x04])));
        assert!(f.is_ended());
    }

    #[test]
    fn held_by_usb_the_whole_script_goes_at_once() {
        let mut f = PasteFlow::held_by_usb(vec![b'a'; 1000]);
        // Nothing before the board is in raw-paste mode (it could still refuse).
        assert_eq!(f.on_output(b"R\x01"), (2, PasteStep::Wait));
        let mut want = vec![b'a'; 1000];
        want.push(0x04);
        assert_eq!(f.on_output(b"\x80\x00"), (2, PasteStep::Send(want)));
        // The windows the board grants as it reads change nothing; its end acknowledgement ends.
        assert_eq!(f.on_output(b"\x01\x01\x01"), (3, PasteStep::Wait));
        assert_eq!(f.on_output(b"\x04"), (1, PasteStep::Ended));
        // A board that stopped early sends the same single 04: no 04 goes back, as the script's
        // own end is already on its way (a second one would reach the raw REPL: a soft reset).
        let mut f = PasteFlow::held_by_usb(b"1/".to_vec());
        f.on_output(b"R\x01\x80\x00");
        assert_eq!(f.on_output(b"\x04"), (1, PasteStep::Ended));
    }

    proptest! {
        #[test]
        fn never_more_in_flight_than_the_board_holds(
            script in proptest::collection::vec(0x05u8..=0xff, 0..3000),
            window in 1u16..300,
            cuts in proptest::collection::vec(0usize..64, 0..20),
        ) {
            let (received, max_in_flight) = run_board(&script, window, &cuts);
            let mut want = script.clone();
            want.push(0x04);
            prop_assert_eq!(received, want);
            // The initial `01` grants a second window: 2W in flight at most.
            prop_assert!(max_in_flight <= 2 * window as usize + 1);
        }
    }
}
