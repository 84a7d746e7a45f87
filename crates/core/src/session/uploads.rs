//! Safe uploads: a put to a temporary name, then a commit (size check and rename) or a discard.

use super::jobs::Job;
use super::{FsState, Link, Session, Transport};
use crate::files::{self, FsError, FsId, FsOp};
use crate::transfer::{TransferError, TransferId};

/// A safe upload: a put to a temporary name, then [`FsOp::Commit`].
#[derive(Debug, Clone)]
pub(super) struct Upload {
    pub(super) id: FsId,
    pub(super) transfer: TransferId,
    pub(super) temp: String,
    pub(super) path: String,
    pub(super) size: u64,
    pub(super) cancelled: bool,
}

impl Session {
    /// Uploads `data` to `path` safely: a put to a temporary name, a size check on the board,
    /// then a rename over `path` (folders above it are made). An upload that is cut off never
    /// leaves a truncated `path`. Progress comes as `TransferProgress` of the returned transfer;
    /// the end as `Fs` of the returned id.
    pub fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), FsError> {
        if self.link != Link::Ready {
            return Err(FsError::NotConnected);
        }
        let path = files::normalize_transferable(path)?;
        let id = self.fs_id();
        let temp = format!("/.webrepl-{}.part", id.0);
        let size = data.len() as u64;
        let sent = match self.transport {
            Transport::Stream => self.queue_write(id, &temp, data),
            Transport::WebRepl => self.put(&temp, data),
        };
        let transfer = sent.map_err(|e| FsError::Upload {
            path: path.clone(),
            message: e.to_string(),
        })?;
        self.uploads.push(Upload {
            id,
            transfer,
            temp,
            path,
            size,
            cancelled: false,
        });
        Ok((id, transfer))
    }

    /// An upload's data is on the board under its temporary name: commit it (or discard it).
    pub(super) fn upload_sent(&mut self, transfer: TransferId) {
        let Some(pos) = self.uploads.iter().position(|u| u.transfer == transfer) else {
            return;
        };
        let up = self.uploads.remove(pos);
        if up.cancelled {
            self.fs_event(up.id, FsState::Failed(FsError::Cancelled));
            let id = self.fs_id();
            self.fs_queue
                .push_back((id, Job::Op(FsOp::Discard { path: up.temp })));
        } else {
            self.fs_queue.push_back((
                up.id,
                Job::Op(FsOp::Commit {
                    temp: up.temp,
                    path: up.path,
                    size: up.size,
                }),
            ));
        }
        self.pump_fs();
    }

    pub(super) fn upload_failed(&mut self, transfer: TransferId, error: &TransferError) {
        if let Some(pos) = self.uploads.iter().position(|u| u.transfer == transfer) {
            let up = self.uploads.remove(pos);
            let err = FsError::Upload {
                path: up.path,
                message: error.to_string(),
            };
            self.fs_event(up.id, FsState::Failed(err));
        }
    }
}
