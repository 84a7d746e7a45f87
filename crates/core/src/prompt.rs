//! Whether the board sits at its REPL prompt, judged from its terminal output: idle while the
//! current output line starts with `>>> ` or `... ` (the user may be typing after it); busy once
//! a line break follows (Enter was pressed and a program runs, or prints).

/// Follows the board's output line by line.
#[derive(Debug, Clone, Default)]
pub struct PromptTracker {
    /// The start of the current output line (up to 4 bytes).
    line: Vec<u8>,
}

impl PromptTracker {
    pub fn new() -> Self {
        PromptTracker::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' => self.line.clear(),
                b'\r' if self.line.len() < 4 => self.line.clear(),
                _ if self.line.len() < 4 => self.line.push(b),
                _ => {}
            }
        }
    }

    /// True when the board waits at `>>> ` or `... `.
    pub fn is_idle(&self) -> bool {
        self.line == b">>> " || self.line == b"... "
    }

    /// The board is known to be at `>>> ` (after leading it back there).
    pub fn set_idle(&mut self) {
        self.line.clear();
        self.line.extend_from_slice(b">>> ");
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
}
