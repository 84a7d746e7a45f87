//! The station's relays: puts, gets and file commands it runs on the board for someone in the
//! room, checked against the file policy, and their progress told back to that person.

use super::{Relay, Station};
use crate::room::message::TransferState;
use crate::room::message::{FsKind, FsrState, RelayId, RoomMessage, XferState};
use crate::room::parts::{split, MAX_RELAY};
use crate::room::station::{Board, RoomState, StationOutput};
use crate::station::Role;
use crate::{Event, FsOp, FsState, TransferOutcome};

impl Station {
    /// A put/get through the station: teachers send and get anything; from the file panel
    /// (`safe` puts), everyone as the station's file policy allows.
    pub(super) fn relay(
        &mut self,
        from: &str,
        role: Option<Role>,
        id: RelayId,
        name: String,
        put: Option<(u32, bool, Vec<u8>, bool)>,
        board: &mut dyn Board,
    ) {
        let safe = put.as_ref().is_some_and(|p| p.3);
        let policy = &self.config.files;
        let allowed = match (&put, role) {
            (_, Some(Role::Teacher | Role::Station)) => Ok(()),
            (None, _) => crate::files::normalize(&name)
                .map_err(|e| e.to_string())
                .and_then(|p| policy.may_read(role, &p)),
            (Some(_), _) if safe => crate::files::normalize(&name)
                .map_err(|e| e.to_string())
                .and_then(|p| policy.may_change(role, from, &[&p], false)),
            _ => Err("only teachers can send files through the station".into()),
        };
        let key = (from.to_owned(), id);
        if let Err(why) = allowed {
            if safe {
                self.incoming.drop_file(&key);
                self.fsr(from, id, FsrState::Failed, &why, None);
            }
            self.xfer((from, id), XferState::Failed, &why, 0, None);
            return;
        }
        let started = match put {
            None => board.get(&name),
            Some((index, last, chunk, safe)) => match self.incoming.push(&key, index, last, &chunk)
            {
                Ok(None) => return, // more parts to come
                Err(e) => {
                    if safe {
                        self.fsr(from, id, FsrState::Failed, &e.to_string(), None);
                    }
                    Err(e.to_string())
                }
                Ok(Some(data)) if safe => match board.upload(&name, data) {
                    Ok((fs, tid)) => {
                        self.fs_relays.insert(fs, key.clone());
                        Ok(tid)
                    }
                    Err(e) => {
                        self.fsr(from, id, FsrState::Failed, &e, None);
                        Err(e)
                    }
                },
                Ok(Some(data)) => board.put(&name, data),
            },
        };
        match started {
            Ok(tid) => {
                self.relays.insert(
                    tid,
                    Relay {
                        user: from.to_owned(),
                        id,
                        name,
                    },
                );
                self.xfer(
                    (from, id),
                    XferState::Queued,
                    "waiting for the board…",
                    0,
                    None,
                );
            }
            Err(e) => self.xfer((from, id), XferState::Failed, &e, 0, None),
        }
    }

    /// A file-panel command from someone in the room, checked against the file policy.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fs_request(
        &mut self,
        from: &str,
        role: Option<Role>,
        id: RelayId,
        op: FsKind,
        path: String,
        to: String,
        parents: bool,
        board: &mut dyn Board,
    ) {
        let op = match op {
            FsKind::List => FsOp::List { dir: path },
            FsKind::Tree => FsOp::Tree { dir: path },
            FsKind::Remove => FsOp::Remove { path },
            FsKind::Rename => FsOp::Rename { from: path, to },
            FsKind::Mkdir => FsOp::Mkdir { path, parents },
        };
        let files = &self.config.files;
        let checked = op.normalized().map_err(|e| e.to_string()).and_then(|op| {
            let making = matches!(op, FsOp::Mkdir { .. });
            let changed = op.changed_paths();
            if changed.is_empty() {
                if role.is_none() {
                    return Err("your role in this class is unknown".to_owned());
                }
            } else {
                files.may_change(role, from, &changed, making)?;
            }
            Ok(op)
        });
        match checked.and_then(|op| board.fs(op)) {
            Ok(fs) => {
                self.fs_relays.insert(fs, (from.to_owned(), id));
            }
            Err(why) => self.fsr(from, id, FsrState::Failed, &why, None),
        }
    }

    /// A file command's progress: told to whoever asked. True when it was someone else's.
    pub(super) fn fs_event(&mut self, e: &Event) -> bool {
        let Event::Fs { id, state } = e else {
            return false;
        };
        let Some((user, their)) = self.fs_relays.get(id).cloned() else {
            return false;
        };
        match state {
            FsState::WaitingForPrompt => self.fsr(&user, their, FsrState::Waiting, "", None),
            FsState::Done(reply) => {
                self.fs_relays.remove(id);
                self.fsr(&user, their, FsrState::Done, "", Some(reply));
            }
            FsState::Failed(err) => {
                self.fs_relays.remove(id);
                self.fsr(&user, their, FsrState::Failed, &err.to_string(), None);
            }
        }
        true
    }

    /// Progress of any transfer: shared in the room state; for a relayed one, also told to the
    /// person who asked. True when the transfer was relayed.
    pub(super) fn transfer_event(&mut self, e: &Event) -> bool {
        let id = match e {
            Event::TransferProgress { id, .. }
            | Event::TransferDone { id, .. }
            | Event::TransferFailed { id, .. } => *id,
            _ => return false,
        };
        let relay = self.relays.get(&id).cloned();
        let by = relay
            .as_ref()
            .map_or_else(|| self.me.clone(), |r| r.user.clone());
        match e {
            Event::TransferProgress { done, total, .. } => {
                let name = relay.as_ref().map(|r| r.name.clone()).unwrap_or_default();
                self.out
                    .push_back(StationOutput::SetState(RoomState::Transfer(Some(
                        TransferState {
                            name,
                            done: *done,
                            total: *total,
                            by,
                        },
                    ))));
                if let Some(r) = &relay {
                    self.xfer((&r.user, r.id), XferState::Active, "", *done, *total);
                }
            }
            Event::TransferDone { outcome, .. } => {
                self.out
                    .push_back(StationOutput::SetState(RoomState::Transfer(None)));
                if let Some(r) = &relay {
                    self.relay_done(r, outcome);
                }
            }
            Event::TransferFailed { error, .. } => {
                self.out
                    .push_back(StationOutput::SetState(RoomState::Transfer(None)));
                if let Some(r) = &relay {
                    self.xfer(
                        (&r.user, r.id),
                        XferState::Failed,
                        &error.to_string(),
                        0,
                        None,
                    );
                }
            }
            _ => {}
        }
        if matches!(e, Event::TransferDone { .. } | Event::TransferFailed { .. }) {
            self.relays.remove(&id);
        }
        relay.is_some()
    }

    fn relay_done(&mut self, r: &Relay, outcome: &TransferOutcome) {
        let to = (r.user.as_str(), r.id);
        match outcome {
            TransferOutcome::Put { size, name } => self.xfer(
                to,
                XferState::Done,
                &format!("sent {size} bytes to {name}"),
                *size,
                Some(*size),
            ),
            TransferOutcome::Get { data, .. } if data.len() > MAX_RELAY => self.xfer(
                to,
                XferState::Failed,
                &format!(
                    "the file has {} bytes; files over 4 MB are not relayed through the room: get it at the station",
                    data.len()
                ),
                0,
                None,
            ),
            TransferOutcome::Get { name, data } => {
                for (index, last, chunk) in split(data) {
                    self.send(RoomMessage::File {
                        id: r.id,
                        to: r.user.clone(),
                        name: name.clone(),
                        index,
                        last,
                        chunk: chunk.to_vec(),
                    });
                }
                let n = data.len() as u64;
                self.xfer(to, XferState::Done, &format!("{n} bytes"), n, Some(n));
            }
            TransferOutcome::Version(_) => {}
        }
    }
}
