//! Whether the board sits at its REPL prompt, judged from its terminal output: idle while the
//! current output line starts with `>>> ` or `... ` (the user may be typing after it); busy once
//! a line break follows (Enter was pressed and a program runs, or prints).
//!
//! The login banner ends in `>>> ` even while a program runs (the board prints a fixed string),
//! so after login the prompt is *unknown* until a line break shows what the board does, or a
//! probe (an Enter, answered by `\r\n>>> ` at an idle prompt) settles it.

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
}
