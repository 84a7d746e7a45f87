//! Code runs: the queue of runs and the one being pasted, paced by its echo ([`crate::paste`]).

use super::{Event, Link, Session};
use crate::paste::{self, Action, RunError, RunId, RunState, Runner};

impl Session {
    /// Runs a block of code: interrupts what runs, sends the code through paste mode paced by
    /// its echo, then starts it. `label` says who asked (shown in the terminal).
    pub fn run_code(&mut self, code: &str, label: &str) -> Result<RunId, RunError> {
        if self.link != Link::Ready {
            return Err(RunError::NotConnected);
        }
        let prepared = paste::prepare(code)?;
        let sending = self.run.as_ref().is_some_and(|r| !r.is_delivered()) || self.raw.is_some();
        if sending && self.runs.len() >= self.config.max_queued_runs {
            return Err(RunError::QueueFull(self.runs.len()));
        }
        let id = RunId(self.next_run);
        self.next_run += 1;
        let label = paste::sanitize_label(label);
        self.runs.push_back((id, label.clone(), prepared));
        if sending {
            self.events.push_back(Event::Run {
                id,
                label,
                state: RunState::Queued,
            });
        } else {
            self.start_next_run();
        }
        Ok(id)
    }

    pub(super) fn run_actions(&mut self, acts: Vec<Action>) {
        let Some((id, label)) = self.run.as_ref().map(|r| (r.id, r.label.clone())) else {
            return;
        };
        let mut start_next = false;
        for a in acts {
            match a {
                Action::Send(s) => self.send_text(&s),
                Action::Show(b) => self.show(&b),
                Action::State(state) => {
                    if matches!(state, RunState::Running | RunState::Failed(_)) {
                        start_next = true;
                    }
                    self.events.push_back(Event::Run {
                        id,
                        label: label.clone(),
                        state,
                    });
                }
            }
        }
        if start_next {
            if !self.held_input.is_empty() {
                let held = std::mem::take(&mut self.held_input);
                self.send_text(&held);
            }
            if self.run.as_ref().is_some_and(Runner::is_done) {
                self.run = None;
            }
            self.start_next_run();
        } else if self.run.as_ref().is_some_and(Runner::is_done) {
            self.run = None;
        }
    }

    pub(super) fn start_next_run(&mut self) {
        if self.run.as_ref().is_some_and(|r| !r.is_delivered()) || self.raw.is_some() {
            return;
        }
        let Some((id, label, code)) = self.runs.pop_front() else {
            return;
        };
        // A program from an earlier run may still be going: the new run interrupts it.
        let mut runner = Runner::new(
            id,
            &label,
            code,
            self.config.paste_window,
            self.config.run_timeout_ms,
        );
        let in_raw =
            self.tail.ends_with(b"\r\n>") || self.tail.ends_with(b"raw REPL; CTRL-B to exit\r\n>");
        let mut acts = Vec::new();
        runner.start(self.now, in_raw, &mut acts);
        self.run = Some(runner);
        self.run_actions(acts);
    }

    pub(super) fn cancel_runs(&mut self, err: RunError) {
        if let Some(r) = self.run.as_mut() {
            let mut acts = Vec::new();
            r.cancel(err.clone(), &mut acts);
            // On a closed link nothing can be sent.
            if self.link != Link::Ready {
                acts.retain(|a| !matches!(a, Action::Send(_)));
            }
            let queued = std::mem::take(&mut self.runs);
            self.run_actions(acts);
            self.runs = queued;
        }
        self.run = None;
        for (id, label, _) in std::mem::take(&mut self.runs) {
            self.events.push_back(Event::Run {
                id,
                label,
                state: RunState::Failed(err.clone()),
            });
        }
        self.held_input.clear();
    }
}
