//! The raw-REPL exchange behind the file operations (docs/board-behaviour.md: Control keys), hidden from the user's terminal.
//!
//! Enter with Ctrl-C (clears a half-typed line; prints a prompt) and Ctrl-A, then for each
//! script: send it and Ctrl-D; the board answers `OK`, the output, `04`, the exception text,
//! `04`, `>`. Leave with Ctrl-B, which prints the banner and `>>> `. Everything the board prints
//! in between belongs to this exchange and never reaches the terminal. On a timeout the script is
//! interrupted with Ctrl-C and the board is still led back to its normal prompt.
//!
//! Over a byte stream (a USB serial port) long scripts go in raw-paste mode
//! ([`RawRepl::exec_paste`]): `05 'A' 01` asks for it, the board answers `R 01` and a 16-bit
//! window size (or `R 00` / its plain raw-REPL banner when it has no raw-paste), then the script
//! is sent at most a window ahead of the board, which grants another window with each `01`;
//! `04` ends it, the board acknowledges with `04`, then prints the output, `04`, the exception
//! text, `04`, `>` as for a plain script (no `OK`). The flow control is [`crate::rawpaste`].

use crate::inputflow::InputFlow;
use crate::rawpaste::{PasteFlow, PasteStep};
use crate::tail::Tail;

const RAW_PROMPT: &[u8] = b"raw REPL; CTRL-B to exit\r\n>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ctrl-C Ctrl-A sent; waiting for the raw REPL's banner and `>`.
    Entering,
    /// At the raw REPL's `>`; ready for a script.
    Ready,
    /// Script and Ctrl-D sent; waiting for `OK`.
    AwaitOk,
    /// Collecting output up to the first `04`.
    Stdout,
    /// Collecting the exception text up to the second `04`.
    Stderr,
    /// Waiting for the `>` after the second `04`.
    AwaitPrompt,
    /// `05 A 01` sent; waiting for `R 01` and the window size (or a refusal).
    PasteHandshake,
    /// Sending a script in raw-paste mode, a window at a time.
    PasteSend,
    /// Ctrl-B sent; waiting for `>>> `.
    Leaving,
    /// Back at the friendly REPL (or given up).
    Done,
}

/// What the exchange tells its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawAction {
    /// Send this text frame.
    Send(String),
    /// Send these bytes (raw-paste data: any byte values; byte streams only).
    SendBytes(Vec<u8>),
    /// The board has no raw-paste mode; the raw REPL is ready again for plain scripts (the
    /// script asked for was not run).
    NoPaste,
    /// The raw REPL is ready for a script.
    Ready,
    /// Output of a script sent with [`RawRepl::exec_streaming`], as it arrives.
    Stdout(Vec<u8>),
    /// A script finished: its output (empty when streamed) and exception text.
    Reply { stdout: Vec<u8>, stderr: Vec<u8> },
    /// The running script (or the entry) failed to answer in time; it was interrupted.
    TimedOut,
    /// The board is back at `>>> ` (or did not come back in time): the exchange is over.
    Left,
}

/// One stay in the raw REPL, for one or more scripts.
#[derive(Debug, Clone)]
pub struct RawRepl {
    phase: Phase,
    tail: Tail,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    deadline: u64,
    timeout_ms: u64,
    /// The running script's output goes out as [`RawAction::Stdout`] instead of being kept.
    streaming: bool,
    /// The raw-paste send under way.
    paste: Option<PasteFlow>,
    /// Raw-paste was refused: the next `>` answers with [`RawAction::NoPaste`].
    refused: bool,
}

/// Most bytes of one script's output kept (a listing of a big folder stays well below).
const MAX_REPLY: usize = 1 << 20;

impl RawRepl {
    /// Starts entering the raw REPL.
    pub fn enter(now: u64, timeout_ms: u64, out: &mut Vec<RawAction>) -> Self {
        out.push(RawAction::Send("\x03\x01".into()));
        RawRepl {
            phase: Phase::Entering,
            tail: Tail::new(),
            stdout: Vec::new(),
            stderr: Vec::new(),
            deadline: now + timeout_ms,
            timeout_ms,
            streaming: false,
            paste: None,
            refused: false,
        }
    }

    /// True when a script may be sent.
    pub fn is_ready(&self) -> bool {
        self.phase == Phase::Ready
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while a script runs on the board.
    pub fn is_busy(&self) -> bool {
        matches!(
            self.phase,
            Phase::AwaitOk
                | Phase::Stdout
                | Phase::Stderr
                | Phase::PasteHandshake
                | Phase::PasteSend
        )
    }

    pub fn deadline(&self) -> Option<u64> {
        (!matches!(self.phase, Phase::Ready | Phase::Done)).then_some(self.deadline)
    }

    /// Sends a script (call when ready).
    pub fn exec(&mut self, script: &str, now: u64, out: &mut Vec<RawAction>) {
        self.send_script(script, false, now, out);
    }

    /// Sends a script whose output is handed on as it arrives ([`RawAction::Stdout`]), for
    /// output of any size (a file); the deadline counts from the last byte.
    pub fn exec_streaming(&mut self, script: &str, now: u64, out: &mut Vec<RawAction>) {
        self.send_script(script, true, now, out);
    }

    fn send_script(&mut self, script: &str, streaming: bool, now: u64, out: &mut Vec<RawAction>) {
        if self.phase != Phase::Ready {
            return;
        }
        self.streaming = streaming;
        self.phase = Phase::AwaitOk;
        self.tail.clear();
        self.stdout.clear();
        self.stderr.clear();
        self.deadline = now + self.timeout_ms;
        out.push(RawAction::Send(format!("{script}\x04")));
    }

    /// Sends a script of any length in raw-paste mode (byte streams only; call when ready). Its
    /// reply comes as [`RawAction::Reply`], or [`RawAction::NoPaste`] when the board has none.
    pub fn exec_paste(
        &mut self,
        script: Vec<u8>,
        flow: InputFlow,
        now: u64,
        out: &mut Vec<RawAction>,
    ) {
        if self.phase != Phase::Ready {
            return;
        }
        self.streaming = false;
        self.phase = Phase::PasteHandshake;
        self.tail.clear();
        self.stdout.clear();
        self.stderr.clear();
        self.deadline = now + self.timeout_ms;
        self.paste = Some(match flow {
            InputFlow::Windowed => PasteFlow::new(script),
            InputFlow::HeldByUsb => PasteFlow::held_by_usb(script),
        });
        out.push(RawAction::Send("\x05A\x01".into()));
    }

    /// Leaves the raw REPL (call when ready and no script is left).
    pub fn leave(&mut self, now: u64, out: &mut Vec<RawAction>) {
        if matches!(self.phase, Phase::Leaving | Phase::Done) {
            return;
        }
        // Ctrl-C first stops a script that still runs; in the raw REPL it prints nothing else.
        let keys = if self.phase == Phase::Ready {
            "\x02"
        } else {
            "\x03\x02"
        };
        self.phase = Phase::Leaving;
        self.paste = None;
        self.tail.clear();
        self.deadline = now + self.timeout_ms;
        out.push(RawAction::Send(keys.into()));
    }

    /// The board's terminal output while the exchange owns it.
    pub fn on_output(&mut self, bytes: &[u8], now: u64, out: &mut Vec<RawAction>) {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.phase {
                Phase::Entering => {
                    self.tail.push(rest);
                    rest = &[];
                    if self.tail.ends_with(RAW_PROMPT) {
                        self.phase = Phase::Ready;
                        out.push(self.ready_action());
                    }
                }
                Phase::AwaitOk => {
                    // Only `OK` is expected; anything before it (a late prompt) is skipped.
                    let b = rest[0];
                    rest = &rest[1..];
                    self.tail.push(&[b]);
                    if self.tail.ends_with(b"OK") {
                        self.phase = Phase::Stdout;
                        self.deadline = now + self.timeout_ms;
                    }
                }
                Phase::Stdout | Phase::Stderr => {
                    let end = rest.iter().position(|&b| b == 0x04);
                    let part = &rest[..end.unwrap_or(rest.len())];
                    if self.streaming && self.phase == Phase::Stdout {
                        if !part.is_empty() {
                            out.push(RawAction::Stdout(part.to_vec()));
                        }
                    } else {
                        let buf = if self.phase == Phase::Stdout {
                            &mut self.stdout
                        } else {
                            &mut self.stderr
                        };
                        let room = MAX_REPLY.saturating_sub(buf.len());
                        buf.extend_from_slice(&part[..part.len().min(room)]);
                    }
                    self.deadline = now + self.timeout_ms;
                    match end {
                        Some(i) => {
                            rest = &rest[i + 1..];
                            self.phase = if self.phase == Phase::Stdout {
                                Phase::Stderr
                            } else {
                                Phase::AwaitPrompt
                            };
                        }
                        None => rest = &[],
                    }
                }
                Phase::PasteHandshake | Phase::PasteSend => {
                    let Some(flow) = self.paste.as_mut() else {
                        self.phase = Phase::Ready;
                        continue;
                    };
                    let (used, step) = flow.on_output(rest);
                    let consumed = &rest[..used];
                    rest = &rest[used..];
                    self.deadline = now + self.timeout_ms;
                    match step {
                        PasteStep::Wait => {}
                        PasteStep::Send(bytes) => {
                            self.phase = Phase::PasteSend;
                            out.push(RawAction::SendBytes(bytes));
                        }
                        PasteStep::Refused => {
                            // `R 00`: the board prints its raw prompt `>` next.
                            self.paste = None;
                            self.phase = Phase::AwaitPrompt;
                            self.tail.clear();
                            self.refused = true;
                        }
                        PasteStep::Unknown => {
                            // A board without raw-paste took `05 A` as a line and `01` as a
                            // new raw REPL: its banner (begun in `consumed`) and `>` follow.
                            self.paste = None;
                            self.phase = Phase::Entering;
                            self.tail.clear();
                            self.tail.push(consumed);
                            self.refused = true;
                        }
                        PasteStep::Ended => {
                            self.paste = None;
                            self.phase = Phase::Stdout;
                        }
                    }
                }
                Phase::AwaitPrompt => {
                    let b = rest[0];
                    rest = &rest[1..];
                    if b == b'>' && self.refused {
                        self.phase = Phase::Ready;
                        out.push(self.ready_action());
                    } else if b == b'>' {
                        self.phase = Phase::Ready;
                        out.push(RawAction::Reply {
                            stdout: std::mem::take(&mut self.stdout),
                            stderr: std::mem::take(&mut self.stderr),
                        });
                    }
                }
                Phase::Leaving => {
                    self.tail.push(rest);
                    rest = &[];
                    if self.tail.ends_with(b">>> ") {
                        self.phase = Phase::Done;
                        out.push(RawAction::Left);
                    }
                }
                Phase::Ready | Phase::Done => rest = &[],
            }
        }
    }

    fn ready_action(&mut self) -> RawAction {
        if std::mem::take(&mut self.refused) {
            RawAction::NoPaste
        } else {
            RawAction::Ready
        }
    }

    /// Call when [`Self::deadline`] has passed.
    pub fn on_timeout(&mut self, now: u64, out: &mut Vec<RawAction>) {
        if self.deadline().is_none_or(|d| now < d) {
            return;
        }
        match self.phase {
            Phase::Leaving => {
                // The board did not come back to its prompt: give the terminal back anyway.
                self.phase = Phase::Done;
                out.push(RawAction::Left);
            }
            _ => {
                out.push(RawAction::TimedOut);
                self.leave(now, out);
            }
        }
    }

    /// The user pressed Ctrl-C: stop the script and go back to the prompt.
    pub fn interrupt(&mut self, now: u64, out: &mut Vec<RawAction>) {
        if self.phase != Phase::Ready {
            self.phase = Phase::AwaitOk; // so that leave() sends Ctrl-C first
        }
        self.leave(now, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(r: &mut RawRepl, bytes: &[u8]) -> Vec<RawAction> {
        let mut out = Vec::new();
        r.on_output(bytes, 0, &mut out);
        out
    }

    #[test]
    fn a_script_round_trip_as_the_capture_shows_it() {
        let mut out = Vec::new();
        let mut r = RawRepl::enter(0, 1000, &mut out);
        assert_eq!(out, vec![RawAction::Send("\x03\x01".into())]);
        assert!(feed(&mut r, b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n").is_empty());
        assert_eq!(feed(&mut r, b">"), vec![RawAction::Ready]);
        out.clear();
        r.exec("print('hi')", 0, &mut out);
        assert_eq!(out, vec![RawAction::Send("print('hi')\x04".into())]);
        assert!(feed(&mut r, b"O").is_empty());
        assert!(feed(&mut r, b"Khi\r\n\x04Trace").is_empty());
        assert_eq!(
            feed(&mut r, b"back\x04>"),
            vec![RawAction::Reply {
                stdout: b"hi\r\n".to_vec(),
                stderr: b"Traceback".to_vec()
            }]
        );
        out.clear();
        r.leave(0, &mut out);
        assert_eq!(out, vec![RawAction::Send("\x02".into())]);
        assert!(feed(&mut r, b"\r\nMicroPython v1.27\r\nType \"help()\"\r\n").is_empty());
        assert_eq!(feed(&mut r, b">>> "), vec![RawAction::Left]);
        assert!(r.is_done());
    }

    #[test]
    fn streamed_output_is_handed_on_as_it_arrives() {
        let mut out = Vec::new();
        let mut r = RawRepl::enter(0, 1000, &mut out);
        feed(&mut r, b"raw REPL; CTRL-B to exit\r\n>");
        r.exec_streaming("print(1)", 0, &mut out);
        assert_eq!(
            feed(&mut r, b"OKab"),
            vec![RawAction::Stdout(b"ab".to_vec())]
        );
        assert_eq!(
            feed(&mut r, b"c\x04E\x04>"),
            vec![
                RawAction::Stdout(b"c".to_vec()),
                RawAction::Reply {
                    stdout: vec![],
                    stderr: b"E".to_vec()
                }
            ]
        );
        // The next plain script keeps its output again.
        r.exec("x", 0, &mut out);
        assert_eq!(
            feed(&mut r, b"OKhi\x04\x04>"),
            vec![RawAction::Reply {
                stdout: b"hi".to_vec(),
                stderr: vec![]
            }]
        );
    }

    #[test]
    fn a_silent_board_is_interrupted_and_led_back() {
        let mut out = Vec::new();
        let mut r = RawRepl::enter(0, 1000, &mut out);
        feed(&mut r, b"raw REPL; CTRL-B to exit\r\n>");
        r.exec("while 1:pass", 10, &mut out);
        out.clear();
        r.on_timeout(500, &mut out);
        assert!(out.is_empty());
        r.on_timeout(1010, &mut out);
        assert_eq!(
            out,
            vec![RawAction::TimedOut, RawAction::Send("\x03\x02".into())]
        );
        out.clear();
        r.on_timeout(5000, &mut out);
        assert_eq!(out, vec![RawAction::Left]);
    }
}
