//! The file-operation queue: operations, reads and (over a byte stream) writes waiting for the
//! raw REPL, their cancelling, and how a failed job is reported.

use super::{Event, FsState, Link, Session, Transport};
use crate::fileread::{self, FileRead, ReadEncoding, ReadError};
use crate::files::{self, FsError, FsId, FsOp};
use crate::filewrite::FileWrite;
use crate::inputflow::InputFlow;
use crate::transfer::{self, TransferError, TransferId, TransferKind};

/// What waits in the file-operation queue: an operation answered as [`Event::Fs`], or a file
/// read ([`Session::read`]) answered as a transfer.
#[derive(Debug, Clone)]
pub(super) enum Job {
    Op(FsOp),
    Read(FileRead),
    /// A put over a byte stream.
    Write(FileWrite),
}

/// A file operation being sent to the raw REPL, part by part.
#[derive(Debug, Clone)]
pub(super) struct FsJob {
    pub(super) id: FsId,
    pub(super) job: Job,
    pub(super) parts: Vec<String>,
    /// The next part to send.
    pub(super) next: usize,
    pub(super) retried: bool,
}

impl FsJob {
    pub(super) fn new((id, job): (FsId, Job)) -> Self {
        let parts = match &job {
            Job::Op(op) => files::script_parts(op),
            Job::Read(r) => r.script_parts(),
            Job::Write(_) => Vec::new(),
        };
        FsJob {
            id,
            job,
            parts,
            next: 0,
            retried: false,
        }
    }
}

impl Session {
    /// Queues a file operation (list, delete, rename, mkdir …), run in the raw REPL as soon as
    /// the board is at its prompt. Paths are normalized first.
    pub fn fs(&mut self, op: FsOp) -> Result<FsId, FsError> {
        if self.link != Link::Ready {
            return Err(FsError::NotConnected);
        }
        if self.fs_queue.len() >= self.config.max_queued_fs {
            return Err(FsError::QueueFull(self.fs_queue.len()));
        }
        let op = op.normalized()?;
        let id = self.fs_id();
        self.fs_queue.push_back((id, Job::Op(op)));
        self.pump_fs();
        Ok(id)
    }

    /// Reads a file through the raw REPL ([`crate::fileread`]): one script streams it, so a
    /// board's Nagle stall costs once instead of once per 256-byte chunk as a [`Self::get`]
    /// does — for a client that cannot see partial frames (a browser page on a direct link).
    /// Queued with the file operations (hidden from the terminal, typing held, waits while a
    /// program runs), reported as a transfer: `TransferProgress` with the file's size as total,
    /// then `TransferDone` with [`TransferOutcome::Get`](crate::transfer::TransferOutcome::Get) or `TransferFailed`. A missing file is
    /// an error, not a dropped session. Relative paths are relative to the board's current
    /// folder, as a get's name is.
    pub fn read(&mut self, path: &str) -> Result<TransferId, TransferError> {
        if self.link != Link::Ready {
            return Err(TransferError::NotConnected);
        }
        if self.fs_queue.len() >= self.config.max_queued_fs {
            return Err(ReadError::QueueFull(self.fs_queue.len()).into());
        }
        let path = fileread::read_path(path)?;
        let transfer = self.transfer_id();
        let id = self.fs_id();
        let encoding = match self.transport {
            Transport::Stream => ReadEncoding::Escaped,
            Transport::WebRepl => self.config.read_encoding,
        };
        self.fs_queue
            .push_back((id, Job::Read(FileRead::new(transfer, path, encoding))));
        self.pump_fs();
        Ok(transfer)
    }

    pub(super) fn queue_write(
        &mut self,
        fs: FsId,
        name: &str,
        data: Vec<u8>,
    ) -> Result<TransferId, TransferError> {
        if self.link != Link::Ready {
            return Err(TransferError::NotConnected);
        }
        transfer::validate_name(name)?;
        transfer::validate_size(data.len() as u64)?;
        let path = fileread::read_path(name)?;
        let id = self.transfer_id();
        let chunk = match self.config.input_flow {
            InputFlow::Windowed => self.config.stream_chunk,
            InputFlow::HeldByUsb => self.config.held_stream_chunk,
        };
        self.fs_queue
            .push_back((fs, Job::Write(FileWrite::new(id, path, data, chunk))));
        self.pump_fs();
        Ok(id)
    }

    /// Cancels waiting file operations and uploads. An upload whose data is being sent
    /// finishes its transfer (WebREPL cannot abort a put) and its temporary file is removed;
    /// the target is never touched.
    pub fn cancel_fs(&mut self) {
        self.cancel_fs_matching(|_| true);
    }

    /// Cancels only these operations and uploads (someone's, at an Edrys station).
    pub fn cancel_fs_ids(&mut self, ids: &[FsId]) {
        self.cancel_fs_matching(|id| ids.contains(&id));
    }

    pub(super) fn cancel_fs_matching(&mut self, hit: impl Fn(FsId) -> bool) {
        for (id, job) in std::mem::take(&mut self.fs_queue) {
            if !hit(id) {
                self.fs_queue.push_back((id, job));
                continue;
            }
            // Already on the board under its temporary name: remove that instead.
            if let Job::Op(FsOp::Commit { temp, .. } | FsOp::Discard { path: temp }) = &job {
                let discard = self.fs_id();
                let path = temp.clone();
                self.fs_queue
                    .push_back((discard, Job::Op(FsOp::Discard { path })));
            }
            self.job_failed(id, job, FsError::Cancelled);
        }
        let mut i = 0;
        while i < self.uploads.len() {
            let up = self.uploads[i].clone();
            if !hit(up.id) {
                i += 1;
                continue;
            }
            let queued = self
                .transfers
                .iter()
                .position(|t| t.id == up.transfer && !t.is_started());
            let writing = matches!(&self.fs_current, Some(FsJob { job: Job::Write(w), .. }) if w.transfer == up.transfer);
            if self.transport == Transport::Stream && !writing {
                // Its write was still queued (and is reported cancelled above).
                self.uploads.remove(i);
                self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            } else if let Some(pos) = queued {
                if let Some(t) = self.transfers.remove(pos) {
                    self.events.push_back(Event::TransferFailed {
                        id: t.id,
                        kind: t.kind.clone(),
                        error: TransferError::Cancelled,
                    });
                }
                self.uploads.remove(i);
                self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            } else {
                self.uploads[i].cancelled = true;
                i += 1;
            }
        }
    }

    /// True while file operations or uploads are queued or running.
    pub fn fs_pending(&self) -> bool {
        !self.fs_queue.is_empty() || self.fs_current.is_some() || !self.uploads.is_empty()
    }

    pub(super) fn fs_id(&mut self) -> FsId {
        let id = FsId(self.next_fs);
        self.next_fs += 1;
        id
    }

    pub(super) fn fs_event(&mut self, id: FsId, state: FsState) {
        self.events.push_back(Event::Fs { id, state });
    }

    /// Fails the running and waiting file operations (not uploads still sending data).
    pub(super) fn fail_fs(&mut self, err: FsError) {
        self.flush_deferred();
        if let Some(job) = self.fs_current.take() {
            self.job_failed(job.id, job.job, err.clone());
        }
        for (id, job) in std::mem::take(&mut self.fs_queue) {
            self.job_failed(id, job, err.clone());
        }
    }

    /// Reports a job that failed or was dropped: an operation as [`Event::Fs`], a read as the
    /// transfer it is.
    pub(super) fn job_failed(&mut self, id: FsId, job: Job, err: FsError) {
        let r = match job {
            Job::Op(_) => return self.fs_event(id, FsState::Failed(err)),
            Job::Read(r) => r,
            Job::Write(w) => return self.write_failed(w, err),
        };
        let name = r.path.clone();
        let error = match err {
            FsError::Cancelled => TransferError::Cancelled,
            FsError::ConnectionLost => TransferError::ConnectionLost {
                name,
                done: r.progress().0,
            },
            FsError::Timeout(secs) => TransferError::Timeout { name, secs },
            other => TransferError::Read(ReadError::Board {
                path: name,
                message: other.to_string(),
            }),
        };
        self.events.push_back(Event::TransferFailed {
            id: r.transfer,
            kind: read_kind(&r),
            error,
        });
    }

    pub(super) fn write_failed(&mut self, w: FileWrite, err: FsError) {
        let name = w.path.clone();
        let error = match &err {
            FsError::Cancelled => TransferError::Cancelled,
            FsError::ConnectionLost => TransferError::ConnectionLost {
                name,
                done: w.progress().0,
            },
            FsError::Timeout(secs) => TransferError::Timeout { name, secs: *secs },
            FsError::Board { message, .. } => TransferError::Write {
                name,
                message: message.clone(),
            },
            other => TransferError::Write {
                name,
                message: other.to_string(),
            },
        };
        self.events.push_back(Event::TransferFailed {
            id: w.transfer,
            kind: write_kind(&w),
            error,
        });
        if let Some(pos) = self.uploads.iter().position(|u| u.transfer == w.transfer) {
            let up = self.uploads.remove(pos);
            self.fs_event(up.id, FsState::Failed(err));
        }
    }
}

/// A read, as the transfer it is reported as.
pub(super) fn read_kind(r: &FileRead) -> TransferKind {
    TransferKind::Get {
        name: r.path.clone(),
    }
}

/// A put over a byte stream, as the transfer it is reported as.
pub(super) fn write_kind(w: &FileWrite) -> TransferKind {
    TransferKind::Put {
        name: w.path.clone(),
        size: w.size(),
    }
}
