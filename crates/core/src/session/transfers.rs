//! WebREPL file transfers over binary frames: put, get and version requests, queued one at a
//! time, and their progress as events.

use super::{Event, Link, Session, Transport};
use crate::transfer::{Step, Transfer, TransferError, TransferId, TransferKind};

impl Session {
    /// A binary frame arrived: file-transfer replies.
    pub fn handle_binary(&mut self, mut bytes: &[u8], now: u64) {
        self.set_now(now);
        let now = self.now;
        if self.link != Link::Ready {
            return;
        }
        let mut steps = Vec::new();
        while !bytes.is_empty() {
            let Some(t) = self.transfers.front_mut().filter(|t| t.is_started()) else {
                // Nothing asked for these bytes: ignore them rather than guess.
                return;
            };
            let used = t.feed(bytes, &mut steps);
            bytes = &bytes[used..];
            self.transfer_deadline = now + self.config.transfer_timeout_ms;
            let (id, kind) = (t.id, t.kind.clone());
            let finished = t.is_finished();
            for step in steps.drain(..) {
                self.transfer_step(id, &kind, step);
            }
            if finished {
                self.transfers.pop_front();
                self.start_next_transfer();
            } else if used == 0 {
                break;
            }
        }
    }

    /// Queues a put of `data` to `name` on the board (over a byte stream: through the raw
    /// REPL, queued with the file operations).
    pub fn put(&mut self, name: &str, data: Vec<u8>) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            let fs = self.fs_id();
            return self.queue_write(fs, name, data);
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::put(id, name, data)?)
    }

    /// Queues a get of `name` (over a byte stream: a [`Self::read`]).
    pub fn get(&mut self, name: &str) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            return self.read(name);
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::get_with_depth(id, name, self.config.get_depth)?)
    }

    /// Queues a request for the board's MicroPython version (WebREPL only).
    pub fn version(&mut self) -> Result<TransferId, TransferError> {
        if self.transport == Transport::Stream {
            return Err(TransferError::NeedsWebRepl("the version request"));
        }
        let id = self.transfer_id();
        self.queue_transfer(Transfer::version(id))
    }

    pub(super) fn transfer_id(&mut self) -> TransferId {
        let id = TransferId(self.next_transfer);
        self.next_transfer += 1;
        id
    }

    pub(super) fn queue_transfer(&mut self, t: Transfer) -> Result<TransferId, TransferError> {
        if self.link == Link::Closed {
            return Err(TransferError::NotConnected);
        }
        let id = t.id;
        self.transfers.push_back(t);
        self.start_next_transfer();
        Ok(id)
    }

    pub(super) fn start_next_transfer(&mut self) {
        if self.link == Link::Ready && self.transfers.front().is_some_and(|t| !t.is_started()) {
            self.transfer_deadline = self.now + self.config.transfer_timeout_ms;
        }
    }

    pub(super) fn transfer_step(&mut self, id: TransferId, kind: &TransferKind, step: Step) {
        match step {
            Step::Idle => {}
            Step::Progress(done, total) => {
                if let Some(Event::TransferProgress {
                    id: last,
                    done: d,
                    total: t,
                }) = self.events.back_mut()
                {
                    if *last == id {
                        *d = done;
                        *t = total;
                        return;
                    }
                }
                self.events
                    .push_back(Event::TransferProgress { id, done, total });
            }
            Step::Done(outcome) => {
                self.events.push_back(Event::TransferDone { id, outcome });
                self.upload_sent(id);
            }
            Step::Failed(error) => {
                self.events.push_back(Event::TransferFailed {
                    id,
                    kind: kind.clone(),
                    error: error.clone(),
                });
                self.upload_failed(id, &error);
            }
        }
    }
}
