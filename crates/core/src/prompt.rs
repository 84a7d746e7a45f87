//! Whether the board sits at its REPL prompt, judged from its terminal output: idle while the
//! current output line starts with `>>> ` or `... ` (the user may be typing after it); busy once
//! a line break follows (Enter was pressed and a program runs, or prints).
//!
//! The login banner ends in `>>> ` even while a program runs (the board prints a fixed string),
//! so after login the prompt is *unknown* until a line break shows what the board does, or a
//! [`Probe`] settles it: an Enter, answered by `\r\n>>> ` at an idle prompt; if nothing answers,
//! a Ctrl-B, answered by the friendly REPL's banner and `>>> ` when an earlier client left the
//! board in the raw REPL (which echoes nothing); silence after both means a program runs. An
//! Enter echoed as `\r\n=== ` is paste mode left open: Ctrl-C cancels it, back to `>>> `.

/// Follows the board's output line by line.
#[derive(Debug, Clone, Default)]
pub struct PromptTracker {
    /// The start of the current output line (up to 4 bytes).
    line: Vec<u8>,
    /// False while a prompt on this line may be the login banner's.
    trusted: bool,
}

impl PromptTracker {
    pub fn new() -> Self {
        PromptTracker {
            line: Vec::new(),
            trusted: true,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' => {
                    self.line.clear();
                    self.trusted = true;
                }
                b'\r' if self.line.len() < 4 => self.line.clear(),
                _ if self.line.len() < 4 => self.line.push(b),
                _ => {}
            }
        }
    }

    fn at_prompt(&self) -> bool {
        self.line == b">>> " || self.line == b"... "
    }

    /// True when the board waits at `>>> ` or `... `.
    pub fn is_idle(&self) -> bool {
        self.trusted && self.at_prompt()
    }

    /// True when the output shows a prompt that may not be one (the login banner's).
    pub fn is_unknown(&self) -> bool {
        !self.trusted && self.at_prompt()
    }

    /// The prompt just printed comes from the login banner: do not trust it yet.
    pub fn distrust(&mut self) {
        self.trusted = false;
    }

    /// The board is known to be at `>>> ` (after leading it back there, or a probe).
    pub fn set_idle(&mut self) {
        self.line.clear();
        self.line.extend_from_slice(b">>> ");
        self.trusted = true;
    }

    /// The board is known to be busy (a probe went unanswered).
    pub fn set_busy(&mut self) {
        self.line.clear();
        self.trusted = true;
    }
}

/// What an idle friendly REPL answers to an Enter (and paste mode to Ctrl-C); the end of a banner.
const ENTER_ANSWER: &[u8] = b"\r\n>>> ";
/// What paste mode (left open by an earlier client) answers to an Enter.
const PASTE_ANSWER: &[u8] = b"\r\n=== ";
/// How the raw REPL answers Ctrl-B: a line break, then the friendly REPL's banner.
const BANNER_START: &[u8] = b"\r\nMicroPython ";
/// A banner is a line or two; more output than this is a program's.
const BANNER_MAX: usize = 400;
/// How long each step of a probe waits for its answer.
pub const PROBE_MS: u64 = 1500;

/// Asks the board whether it is at its prompt, without disturbing a program more than by a
/// keystroke: the caller sends [`Probe::FIRST`], feeds the board's output and the time, and
/// hears the verdict.
#[derive(Debug, Clone)]
pub struct Probe {
    /// The output since the probe was sent.
    buf: Vec<u8>,
    deadline: u64,
    step: ProbeStep,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ProbeStep {
    Enter,
    /// The Enter was met by silence: Ctrl-B sent (the raw REPL answers with the banner).
    CtrlB,
    /// The Enter echoed as paste mode does: Ctrl-C sent (it cancels the abandoned paste).
    PasteCancel,
}

/// What a probe concluded, or asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeVerdict {
    /// Not yet: keep the output back, wait.
    Wait,
    /// The board is at `>>> ` (its answer is not for the terminal).
    Idle,
    /// Send this and keep waiting.
    Send(&'static str),
    /// Something else answered, or nothing did: a program runs. The output held back so far
    /// belongs to the terminal.
    Busy(Vec<u8>),
}

impl Probe {
    /// What to send to start a probe.
    pub const FIRST: &'static str = "\r";

    pub fn new(now: u64) -> Self {
        Probe {
            buf: Vec::new(),
            deadline: now + PROBE_MS,
            step: ProbeStep::Enter,
        }
    }

    pub fn deadline(&self) -> u64 {
        self.deadline
    }

    /// Feeds the board's output.
    pub fn on_output(&mut self, bytes: &[u8]) -> ProbeVerdict {
        self.buf.extend_from_slice(bytes);
        let b = &self.buf[..];
        let waiting = match self.step {
            ProbeStep::Enter => {
                if b == ENTER_ANSWER {
                    return ProbeVerdict::Idle;
                }
                if b == PASTE_ANSWER {
                    self.step = ProbeStep::PasteCancel;
                    self.buf.clear();
                    self.deadline += PROBE_MS;
                    return ProbeVerdict::Send("\x03");
                }
                ENTER_ANSWER.starts_with(b) || PASTE_ANSWER.starts_with(b)
            }
            ProbeStep::PasteCancel => {
                if b == ENTER_ANSWER {
                    return ProbeVerdict::Idle;
                }
                ENTER_ANSWER.starts_with(b)
            }
            ProbeStep::CtrlB => {
                if b.starts_with(BANNER_START) && b.ends_with(ENTER_ANSWER) {
                    return ProbeVerdict::Idle;
                }
                b.len() < BANNER_MAX && (BANNER_START.starts_with(b) || b.starts_with(BANNER_START))
            }
        };
        if waiting {
            ProbeVerdict::Wait
        } else {
            ProbeVerdict::Busy(std::mem::take(&mut self.buf))
        }
    }

    /// Called when the time passes [`Probe::deadline`].
    pub fn on_timeout(&mut self, now: u64) -> ProbeVerdict {
        if now < self.deadline {
            return ProbeVerdict::Wait;
        }
        match self.step {
            // Silence: a program runs, or the raw REPL (no echo) holds the Enter.
            ProbeStep::Enter if self.buf.is_empty() => {
                self.step = ProbeStep::CtrlB;
                self.deadline = now + PROBE_MS;
                ProbeVerdict::Send("\x02")
            }
            _ => ProbeVerdict::Busy(std::mem::take(&mut self.buf)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_prompts_typing_and_programs() {
        let mut p = PromptTracker::new();
        assert!(!p.is_idle());
        p.push(b"\r\nWebREPL connected\r\n>>");
        assert!(!p.is_idle());
        p.push(b"> ");
        assert!(p.is_idle());
        p.push(b"print(1)");
        assert!(p.is_idle(), "typing at the prompt");
        p.push(b"\r\n");
        assert!(!p.is_idle(), "Enter: the line runs");
        p.push(b"1\r\n>>> ");
        assert!(p.is_idle());
        p.push(b"for i in x:\r\n... ");
        assert!(p.is_idle());
        p.push(b"\r\n0\r\n1\r\n");
        assert!(!p.is_idle());
    }

    #[test]
    fn the_login_banner_prompt_is_not_trusted() {
        let mut p = PromptTracker::new();
        p.push(b"\r\nWebREPL connected\r\n>>> ");
        p.distrust();
        assert!(!p.is_idle());
        assert!(p.is_unknown());
        p.push(b"tick 1\r\n");
        assert!(!p.is_idle() && !p.is_unknown(), "a program prints: busy");
        p.push(b">>> ");
        assert!(p.is_idle());
    }

    #[test]
    fn probe_idle_prompt_answers_the_enter() {
        let mut p = Probe::new(0);
        assert_eq!(p.on_output(b"\r\n"), ProbeVerdict::Wait);
        assert_eq!(p.on_output(b">>> "), ProbeVerdict::Idle);
    }

    #[test]
    fn probe_raw_repl_answers_the_ctrl_b_with_the_banner() {
        let mut p = Probe::new(0);
        assert_eq!(p.on_timeout(PROBE_MS - 1), ProbeVerdict::Wait);
        assert_eq!(p.on_timeout(PROBE_MS), ProbeVerdict::Send("\x02"));
        let banner: &[u8] = b"\r\nMicroPython v1.27.0 on 2025-12-10; ESP32 module with ESP32\r\nType \"help()\" for more information.\r\n>>> ";
        // Split anywhere, the banner is recognised.
        for cut in 0..banner.len() {
            let mut q = p.clone();
            if cut > 0 {
                assert_eq!(q.on_output(&banner[..cut]), ProbeVerdict::Wait, "cut {cut}");
            }
            assert_eq!(q.on_output(&banner[cut..]), ProbeVerdict::Idle, "cut {cut}");
        }
    }

    #[test]
    fn probe_cancels_a_paste_mode_left_open() {
        let mut p = Probe::new(0);
        assert_eq!(p.on_output(b"\r\n"), ProbeVerdict::Wait);
        assert_eq!(p.on_output(b"=== "), ProbeVerdict::Send("\x03"));
        assert_eq!(p.on_timeout(PROBE_MS), ProbeVerdict::Wait, "a new deadline");
        assert_eq!(p.on_output(b"\r\n>"), ProbeVerdict::Wait);
        assert_eq!(p.on_output(b">> "), ProbeVerdict::Idle);
        // Anything else after the Ctrl-C: a program's output.
        let mut p = Probe::new(0);
        p.on_output(b"\r\n=== ");
        assert_eq!(
            p.on_output(b"Traceback"),
            ProbeVerdict::Busy(b"Traceback".to_vec())
        );
    }

    #[test]
    fn probe_program_output_or_silence_means_busy() {
        let mut p = Probe::new(0);
        assert_eq!(p.on_output(b"\r\n"), ProbeVerdict::Wait);
        assert_eq!(
            p.on_output(b"tick 1\r\n"),
            ProbeVerdict::Busy(b"\r\ntick 1\r\n".to_vec())
        );
        let mut p = Probe::new(0);
        assert_eq!(p.on_timeout(PROBE_MS), ProbeVerdict::Send("\x02"));
        assert_eq!(p.on_timeout(2 * PROBE_MS), ProbeVerdict::Busy(Vec::new()));
        // A partial answer to the Enter, then silence: a program took it; no Ctrl-B.
        let mut p = Probe::new(0);
        assert_eq!(p.on_output(b"\r\n"), ProbeVerdict::Wait);
        assert_eq!(p.on_timeout(PROBE_MS), ProbeVerdict::Busy(b"\r\n".to_vec()));
        // After the Ctrl-B, a program's output is passed on.
        let mut p = Probe::new(0);
        p.on_timeout(PROBE_MS);
        assert_eq!(p.on_output(b"\r\nMicro"), ProbeVerdict::Wait);
        assert_eq!(
            p.on_output(b"Python says hi\r\n"),
            ProbeVerdict::Wait,
            "could still become the banner"
        );
        assert_eq!(
            p.on_timeout(3 * PROBE_MS),
            ProbeVerdict::Busy(b"\r\nMicroPython says hi\r\n".to_vec())
        );
    }
}
