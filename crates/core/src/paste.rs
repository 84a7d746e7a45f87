//! Running a block of code on the board reliably (docs/board-behaviour.md: Control keys): interrupt, paste mode, and a send
//! paced by the board's own echo.
//!
//! Boards keep only about 256 bytes of pending input and lose the rest (micropython#2497). In
//! paste mode every byte is echoed, so the echo acknowledges it: [`Runner`] keeps at most
//! `window` bytes un-echoed in flight and checks that each echo matches what was sent. A board
//! echoes each pasted byte in a frame of its own, which splits multi-byte characters across text
//! frames (fatal for a browser's WebSocket), so a program with non-ASCII text is sent as one ASCII
//! line `exec(b'…')` with `\xNN` escapes; it runs the same and prints the same characters.
//!
//! The runner never leaves the board in paste or raw mode: on any failure it sends Ctrl-C, which
//! cancels paste mode.

use crate::tail::Tail;
use std::collections::VecDeque;
use thiserror::Error;

/// Identifies one requested run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub u32);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RunError {
    #[error("there is no code to run")]
    Empty,
    #[error("the code contains the control character {0:#04x} at byte {1}; it would end paste mode early — remove it")]
    ControlCharacter(u8, usize),
    #[error("the board did not return to its prompt within {0} s after Ctrl-C (the program may catch KeyboardInterrupt); press Stop or reset the board")]
    InterruptTimeout(u64),
    #[error("the board did not enter paste mode within {0} s")]
    PasteModeTimeout(u64),
    #[error(
        "the board's echo stopped for {0} s while the code was being sent; the run was cancelled"
    )]
    EchoTimeout(u64),
    #[error("the board's echo differs from the code sent at byte {0} (input lost or other output in between); the run was cancelled")]
    EchoMismatch(usize),
    #[error("{0} runs are already waiting; try again when they have started")]
    QueueFull(usize),
    #[error("cancelled by Ctrl-C")]
    Cancelled,
    #[error("the connection closed before the code was sent")]
    ConnectionLost,
    #[error("not connected to a board")]
    NotConnected,
}

/// Where a run stands, as reported to the user interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunState {
    /// Waiting behind other runs.
    Queued,
    /// Interrupting whatever runs and sending the code.
    Sending {
        sent: usize,
        total: usize,
    },
    /// The code was sent in full and started.
    Running,
    /// The board is back at its prompt.
    Finished,
    Failed(RunError),
}

/// Prepares source text for paste mode: newlines become `\r`, a trailing newline is ensured, and
/// non-ASCII programs become one `exec(b'…')` line. Refuses control characters that would end or
/// cancel paste mode.
pub fn prepare(code: &str) -> Result<Vec<u8>, RunError> {
    let normalized = code.replace("\r\n", "\n").replace('\r', "\n");
    if normalized.trim().is_empty() {
        return Err(RunError::Empty);
    }
    if let Some((at, b)) = normalized
        .bytes()
        .enumerate()
        .find(|(_, b)| b.is_ascii_control() && !matches!(b, b'\n' | b'\t'))
    {
        return Err(RunError::ControlCharacter(b, at));
    }
    if normalized.is_ascii() {
        let mut out: Vec<u8> = normalized
            .bytes()
            .map(|b| if b == b'\n' { b'\r' } else { b })
            .collect();
        if out.last() != Some(&b'\r') {
            out.push(b'\r');
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(normalized.len() * 2 + 16);
    out.extend_from_slice(b"exec(b'");
    for b in normalized.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.extend_from_slice(b"')\r");
    Ok(out)
}

/// What one sent byte echoes as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    Byte(u8),
    /// `\r` echoes `\r\n=== ` (line breaks, then the paste prompt).
    LinePrompt {
        prompt_seen: usize,
    },
}

const PASTE_PROMPT: &[u8] = b"=== ";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Ctrl-C sent; waiting for `>>> `.
    Interrupting,
    /// Ctrl-E sent; waiting for the `=== ` of the paste-mode banner.
    EnteringPaste,
    /// Sending the code, paced by its echo.
    Streaming,
    /// Ctrl-D sent: the program runs; waiting for `>>> `.
    Running,
    Done,
}

/// What the runner asks the session to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this text frame.
    Send(String),
    /// Show these bytes in the terminal.
    Show(Vec<u8>),
    State(RunState),
}

/// One run of a block of code.
#[derive(Debug, Clone)]
pub struct Runner {
    pub id: RunId,
    pub label: String,
    code: Vec<u8>,
    sent: usize,
    echo: VecDeque<Echo>,
    echoed: usize,
    window: usize,
    phase: Phase,
    tail: Tail,
    deadline: u64,
    timeout_ms: u64,
    /// While interrupting: when to send Ctrl-B if no `>>> ` came (see [`NUDGE_MS`]).
    nudge: Option<u64>,
}

/// A board left in the raw REPL by another client (or a cut link) still greets a new session
/// with `>>> `, and there Ctrl-C prints nothing. If Ctrl-C brings no prompt within this long,
/// the runner sends Ctrl-B once: from the raw REPL it leads back to `>>> ` (the friendly REPL's
/// banner); to a program that ignores Ctrl-C it is one stray keystroke.
pub const NUDGE_MS: u64 = 400;

impl Runner {
    /// `code` comes from [`prepare`]; `window` is the most bytes left un-echoed in flight.
    pub fn new(id: RunId, label: &str, code: Vec<u8>, window: usize, timeout_ms: u64) -> Self {
        Runner {
            id,
            label: sanitize_label(label),
            code,
            sent: 0,
            echo: VecDeque::new(),
            echoed: 0,
            window: window.max(1),
            phase: Phase::Interrupting,
            tail: Tail::new(),
            deadline: 0,
            timeout_ms,
            nudge: None,
        }
    }

    pub fn total(&self) -> usize {
        self.code.len()
    }

    /// True once the code was sent in full (the program may still run).
    pub fn is_delivered(&self) -> bool {
        matches!(self.phase, Phase::Running | Phase::Done)
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True while the board's terminal output belongs to the runner, not the user.
    pub fn hides_output(&self) -> bool {
        matches!(self.phase, Phase::EnteringPaste | Phase::Streaming)
    }

    /// Starts: interrupt whatever runs. `board_tail` tells whether the board sits in the raw REPL.
    pub fn start(&mut self, now: u64, in_raw_repl: bool, out: &mut Vec<Action>) {
        self.phase = Phase::Interrupting;
        self.tail.clear();
        self.deadline = now + self.timeout_ms;
        // Ctrl-C stops a program; in the raw REPL it prints nothing, so Ctrl-B leads back to `>>> `.
        if in_raw_repl {
            out.push(Action::Send("\x03\x02".into()));
        } else {
            out.push(Action::Send("\x03".into()));
            self.nudge = Some(now + NUDGE_MS);
        }
        out.push(Action::State(RunState::Sending {
            sent: 0,
            total: self.code.len(),
        }));
    }

    pub fn deadline(&self) -> Option<u64> {
        let d =
            (self.phase != Phase::Done && self.phase != Phase::Running).then_some(self.deadline);
        match (d, self.nudge) {
            (Some(d), Some(n)) if self.phase == Phase::Interrupting => Some(d.min(n)),
            _ => d,
        }
    }

    /// Feeds the board's terminal output.
    pub fn on_output(&mut self, bytes: &[u8], now: u64, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Interrupting => {
                out.push(Action::Show(bytes.to_vec()));
                self.tail.push(bytes);
                if self.tail.ends_with(b">>> ") {
                    self.phase = Phase::EnteringPaste;
                    self.nudge = None;
                    self.tail.clear();
                    self.deadline = now + self.timeout_ms;
                    out.push(Action::Send("\x05".into()));
                }
            }
            Phase::EnteringPaste => {
                self.tail.push(bytes);
                if self.tail.ends_with(PASTE_PROMPT) && self.tail.contains(b"paste mode") {
                    self.phase = Phase::Streaming;
                    self.deadline = now + self.timeout_ms;
                    self.pump(out);
                }
            }
            Phase::Streaming => {
                for (i, &b) in bytes.iter().enumerate() {
                    if !self.match_echo(b) {
                        let at = self.echoed;
                        self.fail(RunError::EchoMismatch(at), out);
                        // What did not match is the board's, not ours: show it.
                        out.push(Action::Show(bytes[i..].to_vec()));
                        return;
                    }
                }
                self.deadline = now + self.timeout_ms;
                self.pump(out);
            }
            Phase::Running => {
                out.push(Action::Show(bytes.to_vec()));
                self.tail.push(bytes);
                if self.tail.ends_with(b">>> ") {
                    self.phase = Phase::Done;
                    out.push(Action::State(RunState::Finished));
                }
            }
            Phase::Done => out.push(Action::Show(bytes.to_vec())),
        }
    }

    /// Called when the deadline passed.
    pub fn on_timeout(&mut self, now: u64, out: &mut Vec<Action>) {
        if self.phase == Phase::Interrupting && self.nudge.is_some_and(|n| now >= n) {
            self.nudge = None;
            out.push(Action::Send("\x02".into()));
        }
        if now < self.deadline {
            return;
        }
        let secs = self.timeout_ms.div_ceil(1000);
        let err = match self.phase {
            Phase::Interrupting => RunError::InterruptTimeout(secs),
            Phase::EnteringPaste => RunError::PasteModeTimeout(secs),
            Phase::Streaming => RunError::EchoTimeout(secs),
            Phase::Running | Phase::Done => return,
        };
        self.fail(err, out);
    }

    /// Cancels the run (user's Ctrl-C, or the session ends).
    pub fn cancel(&mut self, err: RunError, out: &mut Vec<Action>) {
        if self.phase == Phase::Done {
            return;
        }
        if self.phase == Phase::Running {
            self.phase = Phase::Done;
            return;
        }
        self.fail(err, out);
    }

    fn fail(&mut self, err: RunError, out: &mut Vec<Action>) {
        let was_pasting = matches!(self.phase, Phase::EnteringPaste | Phase::Streaming);
        self.phase = Phase::Done;
        if was_pasting && err != RunError::ConnectionLost {
            // Ctrl-C leaves paste mode without running anything.
            out.push(Action::Send("\x03".into()));
        }
        out.push(Action::State(RunState::Failed(err)));
    }

    fn match_echo(&mut self, b: u8) -> bool {
        let Some(front) = self.echo.front_mut() else {
            return false;
        };
        match front {
            Echo::Byte(want) => {
                if *want != b {
                    return false;
                }
                self.echo.pop_front();
                self.echoed += 1;
                true
            }
            Echo::LinePrompt { prompt_seen } => {
                if *prompt_seen == 0 && (b == b'\r' || b == b'\n') {
                    return true;
                }
                if PASTE_PROMPT.get(*prompt_seen) != Some(&b) {
                    return false;
                }
                *prompt_seen += 1;
                if *prompt_seen == PASTE_PROMPT.len() {
                    self.echo.pop_front();
                    self.echoed += 1;
                }
                true
            }
        }
    }

    /// Sends more code while the window allows, then Ctrl-D once everything was echoed.
    fn pump(&mut self, out: &mut Vec<Action>) {
        let in_flight = self.echo.len();
        // Refill only when half the window is free: fewer, larger frames.
        if self.sent < self.code.len() && in_flight <= self.window / 2 {
            let end = (self.sent + self.window - in_flight).min(self.code.len());
            let chunk = &self.code[self.sent..end];
            for &b in chunk {
                self.echo.push_back(if b == b'\r' {
                    Echo::LinePrompt { prompt_seen: 0 }
                } else {
                    Echo::Byte(b)
                });
            }
            // `prepare` made the code ASCII, so any cut is a character boundary.
            out.push(Action::Send(String::from_utf8_lossy(chunk).into_owned()));
            self.sent = end;
            out.push(Action::State(RunState::Sending {
                sent: self.sent,
                total: self.code.len(),
            }));
        }
        if self.sent == self.code.len() && self.echo.is_empty() {
            self.phase = Phase::Running;
            self.tail.clear();
            let notice = format!(
                "\r\n\x1b[36m── run from {} ({} bytes) ──\x1b[0m",
                self.label,
                self.code.len()
            );
            out.push(Action::Show(notice.into_bytes()));
            out.push(Action::Send("\x04".into()));
            out.push(Action::State(RunState::Running));
        }
    }
}

/// Keeps a label printable: no control characters (no escape sequences from remote names), short.
pub fn sanitize_label(label: &str) -> String {
    let clean: String = label.chars().filter(|c| !c.is_control()).take(64).collect();
    if clean.trim().is_empty() {
        "this page".into()
    } else {
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays the board's paste mode for a runner; returns the text frames it sent.
    fn drive(code: &str, window: usize) -> (Vec<String>, Vec<Action>) {
        let mut r = Runner::new(RunId(1), "t", prepare(code).unwrap(), window, 3000);
        let mut acts = vec![];
        r.start(0, false, &mut acts);
        r.on_output(b"\r\n>>> ", 1, &mut acts);
        r.on_output(
            b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ",
            2,
            &mut acts,
        );
        let mut sent_frames = vec![];
        let mut i = 0;
        while i < acts.len() {
            if let Action::Send(s) = acts[i].clone() {
                sent_frames.push(s.clone());
                let control = matches!(s.as_str(), "\x03" | "\x04" | "\x05");
                if r.phase == Phase::Streaming && !control {
                    for b in s.bytes() {
                        let echo: Vec<u8> = if b == b'\r' {
                            b"\r\n=== ".to_vec()
                        } else {
                            vec![b]
                        };
                        r.on_output(&echo, 3, &mut acts);
                    }
                }
            }
            i += 1;
        }
        (sent_frames, acts)
    }

    #[test]
    fn prepares_ascii_and_non_ascii() {
        assert_eq!(prepare("a\nb").unwrap(), b"a\rb\r");
        assert_eq!(
            prepare("print('ä')\r\n").unwrap(),
            b"exec(b'print(\\'\\xc3\\xa4\\')\\n')\r"
        );
        assert_eq!(prepare("  \n"), Err(RunError::Empty));
        assert_eq!(prepare("a\x04"), Err(RunError::ControlCharacter(4, 1)));
    }

    #[test]
    fn sends_everything_within_the_window_then_ctrl_d() {
        let code: String = (0..200).map(|i| format!("x{i} = {i}\n")).collect();
        let (frames, acts) = drive(&code, 128);
        assert_eq!(frames[0], "\x03");
        assert_eq!(frames[1], "\x05");
        assert_eq!(frames.last().map(String::as_str), Some("\x04"));
        let body: String = frames[2..frames.len() - 1].concat();
        assert_eq!(body.as_bytes(), prepare(&code).unwrap().as_slice());
        assert!(frames[2..frames.len() - 1].iter().all(|f| f.len() <= 128));
        assert!(acts.contains(&Action::State(RunState::Running)));
    }

    #[test]
    fn mismatch_cancels_with_ctrl_c() {
        let mut r = Runner::new(RunId(1), "t", prepare("abc").unwrap(), 128, 3000);
        let mut acts = vec![];
        r.start(0, false, &mut acts);
        r.on_output(b">>> ", 1, &mut acts);
        r.on_output(
            b"paste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ",
            2,
            &mut acts,
        );
        acts.clear();
        r.on_output(b"ab", 3, &mut acts);
        r.on_output(b"X", 3, &mut acts);
        assert!(acts.contains(&Action::Send("\x03".into())));
        assert!(acts.contains(&Action::State(RunState::Failed(RunError::EchoMismatch(2)))));
        assert!(r.is_done());
    }

    #[test]
    fn timeouts_name_the_phase() {
        let mut r = Runner::new(RunId(1), "t", prepare("abc").unwrap(), 128, 3000);
        let mut acts = vec![];
        r.start(0, false, &mut acts);
        r.on_timeout(2999, &mut acts);
        assert!(!r.is_done());
        r.on_timeout(3000, &mut acts);
        assert!(acts.contains(&Action::State(RunState::Failed(
            RunError::InterruptTimeout(3)
        ))));
    }

    #[test]
    fn labels_cannot_inject_escapes() {
        assert_eq!(sanitize_label("ev\x1b[2Jil"), "ev[2Jil");
        assert_eq!(sanitize_label("\n"), "this page");
    }
}
