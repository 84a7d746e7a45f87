//! The link's life: open, login, and every way a session ends (closed by the board, the user,
//! the browser, or a proxy).

use super::{CloseInfo, CloseReason, Event, Expect, Link, Session, Transmit, Transport};
use crate::files::FsError;
use crate::login::{LoginState, LoginStep, Password};
use crate::paste::{RunError, Runner};
use crate::prompt::Probe;
use crate::transfer::{TransferError, TransferKind};

impl Session {
    pub fn handle_open(&mut self, now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link != Link::Connecting {
            return;
        }
        self.link = Link::LoggingIn;
        self.link_deadline = now + self.config.login_timeout_ms;
        self.events.push_back(Event::Opened);
        if self.transport == Transport::Stream {
            // No login: ready at once; an Enter asks for the prompt (the board prints nothing
            // when a port opens).
            // `LoggedIn` follows when the probe has its answer.
            self.link = Link::Ready;
            self.greeting = true;
            self.prompt.distrust();
            self.probe = Some(Probe::new(now));
            self.send_text(Probe::FIRST);
        }
    }

    /// A text frame arrived (its bytes: the board may send invalid UTF-8).
    pub fn handle_text(&mut self, bytes: &[u8], now: u64) {
        self.set_now(now);
        let now = self.now;
        match self.link {
            Link::LoggingIn => match self.login.feed(bytes) {
                LoginStep::Pending => {}
                LoginStep::Prompt => {
                    self.link_deadline = now + self.config.login_timeout_ms;
                    if let Some(p) = self.password.clone() {
                        self.send_password(&p);
                    } else {
                        self.link_deadline = u64::MAX;
                        self.events.push_back(Event::PasswordRequired);
                    }
                }
                LoginStep::Connected { rest } => {
                    self.link = Link::Ready;
                    self.events.push_back(Event::LoggedIn);
                    self.show(b"\r\nWebREPL connected\r\n");
                    self.prompt.distrust();
                    self.terminal(&rest);
                    self.start_next_transfer();
                }
                LoginStep::Denied => {
                    // The board closes TCP itself; close our side too so nothing retries.
                    self.finish(CloseReason::AccessDenied);
                    self.transmit.push_back(Transmit::Close);
                }
            },
            Link::Ready => self.terminal(bytes),
            Link::Connecting | Link::Closed => {}
        }
    }

    /// The socket closed with a close frame carrying `reason`. A proxy's own reason (codes
    /// 4000–4999) is reported as it is; anything else as [`Self::handle_close`].
    pub fn handle_close_with_reason(&mut self, info: CloseInfo, reason: &str, now: u64) {
        let reason: String = reason
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        match info.code {
            Some(code @ 4000..=4999) if !reason.trim().is_empty() && self.link != Link::Closed => {
                self.set_now(now);
                self.finish(CloseReason::Proxy { code, reason });
            }
            _ => self.handle_close(info, now),
        }
    }

    /// The socket could not even be opened (the browser refused the address).
    pub fn handle_refused(&mut self, detail: &str, now: u64) {
        self.set_now(now);
        if self.link == Link::Connecting {
            self.finish(CloseReason::Refused(detail.chars().take(200).collect()));
        }
    }

    /// The socket failed before it opened, and the adapter found that the browser's Local
    /// Network Access rule blocked it ([`crate::lna::diagnose`]).
    pub fn handle_local_network_blocked(&mut self, block: crate::lna::LnaBlock, now: u64) {
        self.set_now(now);
        if self.link == Link::Connecting {
            self.finish(CloseReason::LocalNetwork(block));
        }
    }

    /// True until the socket opened (or the session ended).
    pub fn is_connecting(&self) -> bool {
        self.link == Link::Connecting
    }

    /// The socket closed (or failed to open).
    pub fn handle_close(&mut self, info: CloseInfo, now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link == Link::Closed {
            return;
        }
        let reason = match self.link {
            Link::Connecting => CloseReason::ConnectFailed,
            Link::LoggingIn => match self.login.state() {
                LoginState::AwaitPrompt => CloseReason::Rejected,
                LoginState::Denied | LoginState::AwaitVerdict => CloseReason::AccessDenied,
                _ => CloseReason::Lost { code: info.code },
            },
            _ if self.transport == Transport::Stream => CloseReason::Lost { code: None },
            _ => {
                let user_reset = self
                    .user_ctrl_d_at
                    .is_some_and(|t| now.saturating_sub(t) < 3000);
                if self.expect == Expect::SoftReset
                    || user_reset
                    || self.tail.contains(b"soft reboot")
                {
                    CloseReason::SoftReset
                } else if let Some(TransferKind::Get { name }) = self
                    .transfers
                    .front()
                    .filter(|t| {
                        t.is_started()
                            && t.connection_lost() == TransferError::NotFound(t.kind.name().into())
                    })
                    .map(|t| t.kind.clone())
                {
                    CloseReason::FileNotFound(name)
                } else if info.code == Some(1007) {
                    CloseReason::InvalidText
                } else {
                    CloseReason::Lost { code: info.code }
                }
            }
        };
        self.finish(reason);
    }

    /// Gives the password (when [`Event::PasswordRequired`] came, or ahead of the prompt).
    pub fn login(&mut self, password: Password) {
        if self.login.state() == LoginState::NeedPassword && self.link == Link::LoggingIn {
            self.link_deadline = self.now + self.config.login_timeout_ms;
            self.send_password(&password);
        }
        self.password = Some(password);
    }

    pub(super) fn send_password(&mut self, p: &Password) {
        self.transmit.push_back(Transmit::Text(p.line()));
        self.login.password_sent();
    }

    /// Closes the session with an empty close frame.
    pub fn close(&mut self) {
        if self.link == Link::Closed {
            return;
        }
        // Leave the board's REPL as a user expects to find it: the raw REPL of a file operation
        // (Ctrl-B, read even behind a running script) or paste mode of a run being sent (Ctrl-C)
        // would otherwise greet the next client, whose banner still says `>>> `.
        if self.link == Link::Ready {
            if self.raw.is_some() {
                self.send_text("\x02");
            } else if self.run.as_ref().is_some_and(Runner::hides_output) {
                self.send_text("\x03");
            }
        }
        self.transmit.push_back(Transmit::Close);
        self.finish(CloseReason::ByUser);
    }

    /// Ends the session: every open transfer and run fails with a reason, then `Closed`.
    pub(super) fn finish(&mut self, reason: CloseReason) {
        let was_ready = self.link == Link::Ready;
        self.link = Link::Closed;
        let mut text = String::new();
        self.utf8.finish(&mut text);
        self.push_output(text);
        for (i, t) in std::mem::take(&mut self.transfers).into_iter().enumerate() {
            let error = if i == 0 && t.is_started() {
                match (&reason, t.connection_lost()) {
                    (CloseReason::ByUser, _) => TransferError::Cancelled,
                    (_, e) => e,
                }
            } else {
                TransferError::NotConnected
            };
            self.events.push_back(Event::TransferFailed {
                id: t.id,
                kind: t.kind.clone(),
                error: error.clone(),
            });
            self.upload_failed(t.id, &error);
        }
        self.fail_fs(FsError::ConnectionLost);
        self.raw = None;
        if was_ready || self.run.is_some() {
            self.cancel_runs(RunError::ConnectionLost);
        }
        self.events.push_back(Event::Closed(reason));
    }
}
