//! Running queued jobs in the raw REPL: entering it when the board is idle, sending each script,
//! and turning the answers into events.

use super::jobs::{read_kind, write_kind, FsJob, Job};
use super::{Event, FsState, Link, Session, Transmit};
use crate::fileread::FileRead;
use crate::files::{self, FsError, FsId};
use crate::filewrite::Part;
use crate::login::find;
use crate::prompt::Probe;
use crate::rawrepl::{RawAction, RawRepl};
use crate::transfer::{Step, TransferOutcome};

impl Session {
    /// Starts the raw REPL, sends the next script, or leaves, as the state allows.
    pub(super) fn pump_fs(&mut self) {
        if self.link != Link::Ready {
            return;
        }
        let mut acts = Vec::new();
        if let Some(raw) = self.raw.as_mut() {
            if !raw.is_ready() {
                return;
            }
            if self.fs_current.is_none() && self.runs.is_empty() {
                self.fs_current = self.fs_queue.pop_front().map(FsJob::new);
            }
            match self.fs_current.as_mut() {
                Some(FsJob {
                    job: Job::Write(w), ..
                }) => match w.next_part(self.paste_ok) {
                    Some(Part::Plain(script)) => raw.exec(&script, self.now, &mut acts),
                    Some(Part::Paste(script)) => {
                        raw.exec_paste(script, self.config.input_flow, self.now, &mut acts)
                    }
                    None => {}
                },
                Some(job) => {
                    let part = job.parts.get(job.next).cloned().unwrap_or_default();
                    job.next += 1;
                    if matches!(job.job, Job::Read(_)) && job.next == job.parts.len() {
                        raw.exec_streaming(&part, self.now, &mut acts)
                    } else {
                        raw.exec(&part, self.now, &mut acts)
                    }
                }
                None => raw.leave(self.now, &mut acts),
            }
        } else {
            // A run being sent goes first; a program running (a run's or the user's) must end.
            let sending = self.run.as_ref().is_some_and(|r| !r.is_delivered());
            if self.fs_queue.is_empty() || sending || !self.runs.is_empty() {
                return;
            }
            if self.prompt.is_unknown() && self.run.is_none() {
                // The prompt may be the login banner's: an Enter tells (`\r\n>>> ` if idle).
                if self.probe.is_none() {
                    self.probe = Some(Probe::new(self.now));
                    self.send_text(Probe::FIRST);
                }
                return;
            }
            if !self.prompt.is_idle() || self.run.is_some() {
                if !self.fs_waiting_told {
                    self.fs_waiting_told = true;
                    let ids: Vec<FsId> = self.fs_queue.iter().map(|(id, _)| *id).collect();
                    for id in ids {
                        self.fs_event(id, FsState::WaitingForPrompt);
                    }
                }
                return;
            }
            self.fs_waiting_told = false;
            self.raw = Some(RawRepl::enter(
                self.now,
                self.config.fs_timeout_ms,
                &mut acts,
            ));
        }
        self.raw_actions(acts);
    }

    pub(super) fn raw_actions(&mut self, acts: Vec<RawAction>) {
        for a in acts {
            match a {
                RawAction::Send(s) => self.send_text(&s),
                RawAction::SendBytes(b) => self.transmit.push_back(Transmit::Binary(b)),
                RawAction::NoPaste => {
                    // The same part goes again, cut for the plain raw REPL.
                    self.paste_ok = false;
                    self.pump_fs();
                }
                RawAction::Ready => self.pump_fs(),
                RawAction::Stdout(bytes) => {
                    if let Some(Job::Read(r)) = self.fs_current.as_mut().map(|j| &mut j.job) {
                        r.feed(&bytes);
                        let (id, kind, (done, total)) = (r.transfer, read_kind(r), r.progress());
                        self.transfer_step(id, &kind, Step::Progress(done, total));
                    }
                }
                RawAction::Reply { stdout, stderr } => {
                    if let Some(job) = self.fs_current.take_if(|j| matches!(j.job, Job::Write(_))) {
                        self.write_reply(job, &stderr);
                    } else if let Some(mut job) = self.fs_current.take() {
                        if !job.retried && find(&stderr, b"KeyboardInterrupt").is_some() {
                            // A Ctrl-C that reached the board late interrupts the first
                            // script: run it once more.
                            job.retried = true;
                            job.next = 0;
                            if let Job::Read(r) = &mut job.job {
                                r.restart();
                            }
                            self.fs_current = Some(job);
                        } else if stderr.is_empty() && job.next < job.parts.len() {
                            self.fs_current = Some(job);
                        } else {
                            let event = match job.job {
                                Job::Op(op) => Event::Fs {
                                    id: job.id,
                                    state: match files::parse_reply(&op, &stdout, &stderr) {
                                        Ok(r) => FsState::Done(r),
                                        Err(e) => FsState::Failed(e),
                                    },
                                },
                                Job::Read(r) => read_event(r, &stderr),
                                // Taken by `write_reply` above.
                                Job::Write(_) => continue,
                            };
                            if self.fs_queue.is_empty() {
                                self.fs_deferred.push(event);
                            } else {
                                self.events.push_back(event);
                            }
                        }
                    }
                    self.pump_fs();
                }
                RawAction::TimedOut => {
                    let secs = self.config.fs_timeout_ms.div_ceil(1000);
                    if let Some(job) = self.fs_current.take() {
                        self.job_failed(job.id, job.job, FsError::Timeout(secs));
                    } else {
                        // The raw REPL never answered: the board is busy after all.
                        for (id, job) in std::mem::take(&mut self.fs_queue) {
                            self.job_failed(id, job, FsError::Timeout(secs));
                        }
                    }
                }
                RawAction::Left => {
                    self.raw = None;
                    self.prompt.set_idle();
                    self.flush_deferred();
                    if !self.held_input.is_empty() {
                        let held = std::mem::take(&mut self.held_input);
                        self.send_text(&held);
                    }
                    self.start_next_run();
                    self.pump_fs();
                }
            }
        }
    }

    /// A put's script (over a byte stream) was answered: the next part, or the end.
    pub(super) fn write_reply(&mut self, mut job: FsJob, stderr: &[u8]) {
        let Job::Write(w) = &mut job.job else {
            return;
        };
        if !stderr.is_empty() {
            if !job.retried && find(stderr, b"KeyboardInterrupt").is_some() {
                job.retried = true; // a late Ctrl-C: the same part once more
                self.fs_current = Some(job);
            } else {
                let message = files::traceback_message(stderr);
                let (id, w) = (job.id, job.job);
                let path = match &w {
                    Job::Write(w) => w.path.clone(),
                    _ => String::new(),
                };
                self.job_failed(id, w, FsError::Board { path, message });
            }
            return;
        }
        w.answered();
        let (id, kind, (done, total)) = (w.transfer, write_kind(w), w.progress());
        self.transfer_step(id, &kind, Step::Progress(done, Some(total)));
        if !w.is_done() {
            self.fs_current = Some(job);
            return;
        }
        if self.uploads.iter().any(|u| u.transfer == id) {
            self.upload_sent(id);
            return;
        }
        let event = Event::TransferDone {
            id,
            outcome: TransferOutcome::Put {
                name: kind.name().to_owned(),
                size: total,
            },
        };
        if self.fs_queue.is_empty() {
            self.fs_deferred.push(event);
        } else {
            self.events.push_back(event);
        }
    }

    pub(super) fn flush_deferred(&mut self) {
        self.events.extend(std::mem::take(&mut self.fs_deferred));
    }
}

/// A finished read's event: the file, or why not.
fn read_event(r: FileRead, stderr: &[u8]) -> Event {
    let (id, kind) = (r.transfer, read_kind(&r));
    match r.finish(stderr) {
        Ok(data) => Event::TransferDone {
            id,
            outcome: TransferOutcome::Get {
                name: kind.name().to_owned(),
                data,
            },
        },
        Err(e) => Event::TransferFailed {
            id,
            kind,
            error: e.into(),
        },
    }
}
