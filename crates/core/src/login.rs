//! Logging in (docs/board-behaviour.md: Terminal): the `Password: ` prompt, the password line, and the board's verdict.
//!
//! The board sends `Password: ` as its first text frame, keeps at most 9 characters of the
//! answer, has no echo and no backspace, and answers `\r\nWebREPL connected\r\n>>> ` or
//! `\r\nAccess denied\r\n` followed by a bare TCP close. [`Login`] recognises these in the text
//! byte stream however it is framed; [`Password`] refuses what the board could never accept
//! before anything is sent.

use thiserror::Error;

/// The longest password a board accepts (micropython#2300; an entry of 10 or more is denied).
pub const MAX_PASSWORD_LEN: usize = 9;

pub const PROMPT: &[u8] = b"Password: ";
pub const CONNECTED: &[u8] = b"WebREPL connected\r\n";
pub const DENIED: &[u8] = b"Access denied";

/// Why a login cannot go ahead.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoginError {
    #[error(
        "the password is empty; enter the WebREPL password set on the board with webrepl_setup"
    )]
    Empty,
    #[error("the password is {0} bytes long, but a WebREPL password has at most 9 (the board denies anything longer); check the password set with webrepl_setup")]
    TooLong(usize),
    #[error("the password contains a line break or control character, which the board would read as the end of the password")]
    ControlCharacter,
    #[error("access denied: the board rejected the password")]
    AccessDenied,
}

/// A password the board can accept: 1 to 9 bytes, no control characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(password: &str) -> Result<Self, LoginError> {
        if password.is_empty() {
            return Err(LoginError::Empty);
        }
        if password.chars().any(char::is_control) {
            return Err(LoginError::ControlCharacter);
        }
        // The board counts bytes (it stores what it reads from the socket).
        if password.len() > MAX_PASSWORD_LEN {
            return Err(LoginError::TooLong(password.len()));
        }
        Ok(Password(password.to_owned()))
    }

    /// The line to send: the password followed by `\r` only (a `\n` would reach the REPL).
    pub fn line(&self) -> String {
        format!("{}\r", self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Where a login stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginState {
    /// Waiting for `Password: `.
    AwaitPrompt,
    /// The prompt arrived and no password is known yet.
    NeedPassword,
    /// The password was sent; waiting for the verdict.
    AwaitVerdict,
    LoggedIn,
    Denied,
}

/// What feeding bytes to [`Login`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStep {
    /// Nothing decided yet.
    Pending,
    /// The prompt arrived.
    Prompt,
    /// Logged in; the bytes after `WebREPL connected\r\n` (usually `>>> `) belong to the terminal.
    Connected {
        rest: Vec<u8>,
    },
    Denied,
}

/// Recognises the login exchange in the text stream.
#[derive(Debug, Clone)]
pub struct Login {
    state: LoginState,
    buf: Vec<u8>,
}

impl Default for Login {
    fn default() -> Self {
        Self::new()
    }
}

/// Bytes kept while looking for a marker: the board sends nothing long before login.
const MAX_BUF: usize = 256;

impl Login {
    pub fn new() -> Self {
        Login {
            state: LoginState::AwaitPrompt,
            buf: Vec::new(),
        }
    }

    pub fn state(&self) -> LoginState {
        self.state
    }

    /// Marks the password as sent.
    pub fn password_sent(&mut self) {
        self.state = LoginState::AwaitVerdict;
        self.buf.clear();
    }

    /// Feeds text bytes received before login completed.
    pub fn feed(&mut self, bytes: &[u8]) -> LoginStep {
        match self.state {
            LoginState::LoggedIn | LoginState::Denied | LoginState::NeedPassword => {
                return LoginStep::Pending
            }
            LoginState::AwaitPrompt | LoginState::AwaitVerdict => {}
        }
        self.buf.extend_from_slice(bytes);
        if self.state == LoginState::AwaitPrompt && find(&self.buf, PROMPT).is_some() {
            self.state = LoginState::NeedPassword;
            self.buf.clear();
            return LoginStep::Prompt;
        }
        if self.state == LoginState::AwaitVerdict {
            if let Some(at) = find(&self.buf, CONNECTED) {
                self.state = LoginState::LoggedIn;
                let rest = self.buf.split_off(at + CONNECTED.len());
                self.buf.clear();
                return LoginStep::Connected { rest };
            }
            if find(&self.buf, DENIED).is_some() {
                self.state = LoginState::Denied;
                self.buf.clear();
                return LoginStep::Denied;
            }
        }
        if self.buf.len() > MAX_BUF {
            let cut = self.buf.len() - MAX_BUF;
            self.buf.drain(..cut);
        }
        LoginStep::Pending
    }
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules() {
        assert_eq!(Password::new("").unwrap_err(), LoginError::Empty);
        assert_eq!(
            Password::new("secret1234").unwrap_err(),
            LoginError::TooLong(10)
        );
        assert_eq!(
            Password::new("abc\ndef").unwrap_err(),
            LoginError::ControlCharacter
        );
        assert!(Password::new("secret123").is_ok());
        // Non-ASCII counts in bytes, as the board reads them: 5 × 2 bytes = 10.
        assert!(Password::new("äöüäö").is_err());
        assert_eq!(
            Password::new("secret123").map(|p| p.line()).ok().as_deref(),
            Some("secret123\r")
        );
        assert_eq!(
            format!("{:?}", Password::new("abcd").ok()),
            "Some(Password(***))"
        );
        assert!(LoginError::TooLong(12).to_string().contains("at most 9"));
    }

    #[test]
    fn login_split_everywhere() {
        let prompt = b"Password: ";
        let ok = b"\r\nWebREPL connected\r\n>>> ";
        for cut in 0..=prompt.len() {
            let mut l = Login::new();
            let a = l.feed(&prompt[..cut]);
            let b = l.feed(&prompt[cut..]);
            assert!(a == LoginStep::Prompt || b == LoginStep::Prompt);
        }
        for cut in 0..=ok.len() {
            let mut l = Login::new();
            l.feed(prompt);
            l.password_sent();
            // What the session would show in the terminal: the rest after the banner, then
            // every later byte.
            let mut term = Vec::new();
            let mut connected = false;
            for part in [&ok[..cut], &ok[cut..]] {
                if connected {
                    term.extend_from_slice(part);
                } else if let LoginStep::Connected { rest } = l.feed(part) {
                    connected = true;
                    term.extend_from_slice(&rest);
                }
            }
            assert!(connected, "cut {cut}");
            assert_eq!(term, b">>> ", "cut {cut}");
        }
    }

    #[test]
    fn denied() {
        let mut l = Login::new();
        l.feed(b"Password: ");
        l.password_sent();
        assert_eq!(l.feed(b"\r\nAccess denied\r\n"), LoginStep::Denied);
        assert_eq!(l.state(), LoginState::Denied);
    }
}
