//! REPL control keys (docs/board-behaviour.md: Control keys) and what each one does on the board.

/// A control key for the MicroPython REPL. Ctrl-A/B/D/E act only on an empty input line, so
/// callers that want them to take effect send Ctrl-C first (the session does this for reset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKey {
    /// Ctrl-A: enter the raw REPL.
    RawRepl,
    /// Ctrl-B: back to the friendly REPL (prints the banner).
    FriendlyRepl,
    /// Ctrl-C: interrupt a running program, or clear the input line.
    Interrupt,
    /// Ctrl-D: soft reset at an empty prompt; ends the WebREPL session.
    SoftReset,
    /// Ctrl-E: paste mode.
    PasteMode,
}

impl ControlKey {
    /// The byte the board reacts to.
    pub const fn byte(self) -> u8 {
        match self {
            ControlKey::RawRepl => 0x01,
            ControlKey::FriendlyRepl => 0x02,
            ControlKey::Interrupt => 0x03,
            ControlKey::SoftReset => 0x04,
            ControlKey::PasteMode => 0x05,
        }
    }

    /// The key as a one-character string, ready for a text frame.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlKey::RawRepl => "\x01",
            ControlKey::FriendlyRepl => "\x02",
            ControlKey::Interrupt => "\x03",
            ControlKey::SoftReset => "\x04",
            ControlKey::PasteMode => "\x05",
        }
    }
}
