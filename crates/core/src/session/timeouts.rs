//! Deadlines: when the session next wants [`Session::handle_timeout`], and what each phase
//! does when its time runs out.

use super::{CloseReason, Event, Link, Session, Transmit};
use crate::login::LoginState;
use crate::paste::Runner;
use crate::rawrepl::RawRepl;
use crate::transfer::{Transfer, TransferError};

impl Session {
    /// Call when the time from [`Self::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: u64) {
        self.set_now(now);
        let now = self.now;
        match self.link {
            Link::Connecting if now >= self.link_deadline => {
                self.transmit.push_back(Transmit::Close);
                self.finish(CloseReason::ConnectTimeout(
                    self.config.connect_timeout_ms.div_ceil(1000),
                ));
                return;
            }
            Link::LoggingIn if now >= self.link_deadline => {
                let secs = self.config.login_timeout_ms.div_ceil(1000);
                let reason = if self.login.state() == LoginState::AwaitPrompt {
                    CloseReason::NoPrompt(secs)
                } else {
                    CloseReason::LoginTimeout(secs)
                };
                self.transmit.push_back(Transmit::Close);
                self.finish(reason);
                return;
            }
            _ => {}
        }
        if self.link != Link::Ready {
            return;
        }
        if let Some(t) = self.transfers.front() {
            if t.is_started() && now >= self.transfer_deadline {
                let (id, kind) = (t.id, t.kind.clone());
                let secs = self.config.transfer_timeout_ms.div_ceil(1000);
                self.transfers.pop_front();
                let error = TransferError::Timeout {
                    name: kind.name().to_owned(),
                    secs,
                };
                self.events
                    .push_back(Event::TransferFailed { id, kind, error });
                // The board's transfer parser is mid-message: only a new session resynchronises it.
                self.transmit.push_back(Transmit::Close);
                self.finish(CloseReason::TransferStalled);
                return;
            }
        }
        let mut acts = Vec::new();
        if let Some(r) = self.run.as_mut() {
            r.on_timeout(now, &mut acts);
        }
        self.run_actions(acts);
        let mut acts = Vec::new();
        if let Some(r) = self.raw.as_mut() {
            r.on_timeout(now, &mut acts);
        }
        self.raw_actions(acts);
        if let Some(verdict) = self.probe.as_mut().map(|p| p.on_timeout(now)) {
            self.probe_verdict(verdict);
        }
    }

    /// The next time [`Self::handle_timeout`] wants to be called, if any.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let mut consider = |t: u64| next = Some(next.map_or(t, |n: u64| n.min(t)));
        match self.link {
            Link::Connecting | Link::LoggingIn if self.link_deadline != u64::MAX => {
                consider(self.link_deadline)
            }
            Link::Ready => {
                if self.transfers.front().is_some_and(Transfer::is_started) {
                    consider(self.transfer_deadline);
                }
                if let Some(d) = self.run.as_ref().and_then(Runner::deadline) {
                    consider(d);
                }
                if let Some(d) = self.raw.as_ref().and_then(RawRepl::deadline) {
                    consider(d);
                }
                if let Some(p) = &self.probe {
                    consider(p.deadline());
                }
            }
            _ => {}
        }
        next
    }
}
