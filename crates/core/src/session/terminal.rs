//! The terminal: typed input (held while a run or a file command owns the REPL), control keys,
//! and board output routed past the prompt probe.

use super::{Event, Expect, Link, Session, Transport};
use crate::control::ControlKey;
use crate::files::FsError;
use crate::paste::RunError;
use crate::prompt::ProbeVerdict;

const HELD_INPUT_MAX: usize = 4096;

impl Session {
    /// Keystrokes or pasted text for the REPL. Newlines are sent as `\r` (what Enter sends).
    pub fn send_input(&mut self, text: &str) {
        if self.link != Link::Ready || text.is_empty() {
            return;
        }
        let text = text.replace("\r\n", "\r").replace('\n', "\r");
        if self.raw.is_some() {
            // File commands own the REPL for a moment: hold typing; Ctrl-C stops them.
            if text.contains('\x03') {
                self.held_input.clear();
                self.fail_fs(FsError::Cancelled);
                let mut acts = Vec::new();
                if let Some(raw) = self.raw.as_mut() {
                    raw.interrupt(self.now, &mut acts);
                }
                self.raw_actions(acts);
            } else if self.held_input.len() + text.len() <= HELD_INPUT_MAX {
                self.held_input.push_str(&text);
            }
            return;
        }
        if let Some(run) = self.run.as_mut().filter(|r| !r.is_delivered()) {
            if text.contains('\x03') {
                // Ctrl-C drops what was typed meanwhile, as it would at the prompt.
                self.held_input.clear();
                let mut acts = Vec::new();
                run.cancel(RunError::Cancelled, &mut acts);
                self.run_actions(acts);
            } else if self.held_input.len() + text.len() <= HELD_INPUT_MAX {
                self.held_input.push_str(&text);
            }
            return;
        }
        if text.contains('\x04') {
            self.user_ctrl_d_at = Some(self.now);
        }
        self.send_text(&text);
    }

    pub fn send_key(&mut self, key: ControlKey) {
        self.send_input(key.as_str());
    }

    /// Ctrl-C: stops a running program (and a run being sent).
    pub fn interrupt(&mut self) {
        self.send_key(ControlKey::Interrupt);
    }

    /// Soft reset: Ctrl-C (Ctrl-D acts only on an empty line), then Ctrl-D. The board ends the
    /// session; [`CloseReason::SoftReset`](super::CloseReason::SoftReset) follows and the board is back shortly after.
    pub fn soft_reset(&mut self) {
        if self.link != Link::Ready {
            return;
        }
        self.cancel_runs(RunError::Cancelled);
        self.fail_fs(FsError::Cancelled);
        self.raw = None;
        if self.transport == Transport::Stream {
            // The link stays; the board prints its banner and `>>> ` again.
            self.prompt.distrust();
        } else {
            self.expect = Expect::SoftReset;
        }
        self.send_text("\x03\x04");
    }

    /// Board terminal output after login.
    pub(super) fn terminal(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.tail.push(bytes);
        if let Some(raw) = self.raw.as_mut() {
            let mut acts = Vec::new();
            raw.on_output(bytes, self.now, &mut acts);
            self.raw_actions(acts);
            return;
        }
        match self.probe.as_mut().map(|p| p.on_output(bytes)) {
            None => self.board_output(bytes),
            Some(verdict) => self.probe_verdict(verdict),
        }
    }

    /// Board output for the terminal (or the run that owns it), past any probe.
    pub(super) fn board_output(&mut self, bytes: &[u8]) {
        self.prompt.push(bytes);
        if let Some(run) = self.run.as_mut() {
            let mut acts = Vec::new();
            run.on_output(bytes, self.now, &mut acts);
            self.run_actions(acts);
        } else {
            self.show(bytes);
        }
        if !self.fs_queue.is_empty() {
            self.pump_fs();
        }
    }

    /// Acts on what the probe says (its `Busy` output from the board goes to the terminal).
    pub(super) fn probe_verdict(&mut self, verdict: ProbeVerdict) {
        if self.greeting && !matches!(verdict, ProbeVerdict::Wait | ProbeVerdict::Send(_)) {
            self.greeting = false;
            self.events.push_back(Event::LoggedIn);
        }
        match verdict {
            ProbeVerdict::Wait => {}
            ProbeVerdict::Send(s) => self.send_text(s),
            ProbeVerdict::Idle => {
                // The board answered at an idle prompt: nothing to show (over a serial port,
                // the prompt the user would see after pressing Enter).
                if self.transport == Transport::Stream && self.fs_queue.is_empty() {
                    self.show(b"\r\n>>> ");
                }
                self.probe = None;
                self.prompt.set_idle();
                self.pump_fs();
            }
            ProbeVerdict::Busy(held) => {
                // A program's output answered, or nothing did: a program runs (and got a
                // keystroke on its input). What the probe held back is the board's output.
                self.probe = None;
                self.prompt.set_busy();
                self.board_output(&held);
            }
        }
    }
}
