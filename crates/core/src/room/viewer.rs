//! A student's or teacher's side of the room (sans-I/O): the station's messages in, what to
//! show out ([`Viewer::poll_event`]); requests to the station built here, with this user's
//! ids ([`RelayId`]) and the input policy checked before anything is sent.
//!
//! Live output and the backlog merge by sequence number: output that arrives before the
//! backlog waits, the backlog is shown once, and nothing is shown twice.

use std::collections::{HashMap, VecDeque};

use super::message::{FsKind, FsrState, Key, RelayId, RoomMessage, Status, XferState};
use super::parts::{split, PartError, Reassembly, MAX_RELAY};
use crate::station::{InputPolicy, Role};
use crate::{FsError, FsOp, FsReply, FsState};

/// What the page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ViewerEvent {
    /// Terminal text.
    Write(String),
    Status {
        state: String,
        text: String,
        version: String,
    },
    /// A message for this user (a refusal, the station's problem).
    Message(String),
    /// A relayed transfer moved on; `get` tells a get (done only once its bytes arrived, see
    /// [`ViewerEvent::Download`]) from a put.
    Transfer {
        id: RelayId,
        get: bool,
        state: XferState,
        text: String,
        done: u64,
        total: Option<u64>,
    },
    /// A relayed get's bytes arrived.
    Download {
        id: RelayId,
        name: String,
        data: Vec<u8>,
    },
    /// A relayed file command moved on.
    Fs { id: RelayId, state: FsState },
}

/// A student's or teacher's view of the station's terminal and files.
pub struct Viewer {
    me: String,
    role: Role,
    policy: InputPolicy,
    /// Output seen so far (sequence number), `None` until the backlog arrived.
    seen: Option<u64>,
    /// Output that arrived before the backlog.
    early: Vec<(u64, String)>,
    /// Relayed gets being received.
    files: Reassembly<RelayId>,
    /// Ids of this user's gets in flight.
    gets: HashMap<RelayId, String>,
    next_id: u32,
    events: VecDeque<ViewerEvent>,
}

impl Viewer {
    pub fn new(me: &str, role: Role, policy: InputPolicy) -> Viewer {
        Viewer {
            me: me.to_owned(),
            role,
            policy,
            seen: None,
            early: Vec::new(),
            files: Reassembly::new(MAX_RELAY),
            gets: HashMap::new(),
            next_id: 0,
            events: VecDeque::new(),
        }
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn poll_event(&mut self) -> Option<ViewerEvent> {
        self.events.pop_front()
    }

    /// The message asking the station for the recent output (live output waits until it arrives).
    pub fn join(&self) -> RoomMessage {
        RoomMessage::Hello {}
    }

    /// Called about once a second after joining (`attempt` counts from 1). The station may not
    /// have been listening when the first `hello` went out, so it is asked again (the message
    /// to send); after three tries the live output is shown without the backlog (`None`: no
    /// more calls wanted).
    pub fn retry(&mut self, attempt: u32) -> Option<RoomMessage> {
        if self.seen.is_some() {
            return None;
        }
        if attempt < 3 {
            return Some(RoomMessage::Hello {});
        }
        let mut last = 0;
        for (s, t) in std::mem::take(&mut self.early) {
            self.events.push_back(ViewerEvent::Write(t));
            last = s;
        }
        self.seen = Some(last);
        None
    }

    /// The station's status (a message, or the room state read at joining).
    pub fn status(&mut self, s: &Status) {
        self.events.push_back(ViewerEvent::Status {
            state: s.state.clone(),
            text: format!("Station: {}", s.text),
            version: s.version.clone(),
        });
        if !s.problem.is_empty() {
            self.events
                .push_back(ViewerEvent::Message(format!("Station: {}", s.problem)));
        }
    }

    /// A message from the room.
    pub fn handle_message(&mut self, m: RoomMessage) {
        if m.to().is_some_and(|to| to != self.me) {
            return;
        }
        match m {
            RoomMessage::Output { seq, text } => match self.seen {
                Some(s) if seq <= s => {}
                Some(_) => {
                    self.seen = Some(seq);
                    self.events.push_back(ViewerEvent::Write(text));
                }
                None => self.early.push((seq, text)),
            },
            RoomMessage::Backlog { seq, text, .. } if self.seen.is_none() => {
                self.events.push_back(ViewerEvent::Write(text));
                let mut last = seq;
                for (s, t) in std::mem::take(&mut self.early) {
                    if s > seq {
                        self.events.push_back(ViewerEvent::Write(t));
                        last = s;
                    }
                }
                self.seen = Some(last);
            }
            RoomMessage::Status(s) => self.status(&s),
            RoomMessage::Refused { reason, .. } => {
                self.events.push_back(ViewerEvent::Message(reason))
            }
            RoomMessage::Xfer {
                id,
                state,
                text,
                done,
                total,
                ..
            } => {
                let get = self.gets.contains_key(&id);
                if matches!(state, XferState::Done | XferState::Failed) {
                    self.gets.remove(&id);
                }
                if state == XferState::Failed {
                    self.files.drop_file(&id);
                }
                self.events.push_back(ViewerEvent::Transfer {
                    id,
                    get,
                    state,
                    text,
                    done,
                    total,
                });
            }
            RoomMessage::Fsr {
                id,
                state,
                text,
                listing,
                entries,
                ..
            } => {
                let state = match state {
                    FsrState::Waiting => FsState::WaitingForPrompt,
                    FsrState::Done if listing => FsState::Done(FsReply::Listing(
                        entries.into_iter().map(Into::into).collect(),
                    )),
                    FsrState::Done => FsState::Done(FsReply::Done),
                    FsrState::Failed => FsState::Failed(FsError::Station(text)),
                };
                self.events.push_back(ViewerEvent::Fs { id, state });
            }
            RoomMessage::File {
                id,
                name,
                index,
                last,
                chunk,
                ..
            } => match self.files.push(&id, index, last, &chunk) {
                Ok(None) => {}
                Ok(Some(data)) => {
                    self.events
                        .push_back(ViewerEvent::Download { id, name, data });
                }
                Err(e) => self.part_failed(id, e),
            },
            _ => {}
        }
    }

    fn part_failed(&mut self, id: RelayId, e: PartError) {
        let get = self.gets.remove(&id).is_some();
        self.events.push_back(ViewerEvent::Transfer {
            id,
            get,
            state: XferState::Failed,
            text: e.to_string(),
            done: 0,
            total: None,
        });
    }

    fn may_type(&self) -> Result<(), String> {
        self.policy.check(Some(self.role)).map_err(str::to_owned)
    }

    /// A new id for a request of this user.
    pub fn next_id(&mut self) -> RelayId {
        self.next_id += 1;
        RelayId(self.next_id)
    }

    /// Keystrokes, when the input policy lets this user type (else why not).
    pub fn input(&self, text: &str) -> Result<RoomMessage, String> {
        self.may_type()?;
        Ok(RoomMessage::Input {
            text: text.to_owned(),
        })
    }

    /// Stop or Soft reset, under the input policy.
    pub fn key(&self, key: Key) -> Result<RoomMessage, String> {
        self.may_type()?;
        Ok(RoomMessage::Key { key })
    }

    /// Code for the station to run (a paste, a file's ▶), as this user's run.
    pub fn run(&self, code: &str) -> Result<RoomMessage, String> {
        self.may_type()?;
        Ok(RoomMessage::Run {
            code: code.to_owned(),
        })
    }

    /// A file-panel command through the station (which checks the file policy).
    pub fn fs(&mut self, op: &FsOp) -> Result<(RelayId, RoomMessage), String> {
        let (kind, path, to, parents) = match op {
            FsOp::List { dir } => (FsKind::List, dir, "", false),
            FsOp::Tree { dir } => (FsKind::Tree, dir, "", false),
            FsOp::Remove { path } => (FsKind::Remove, path, "", false),
            FsOp::Rename { from, to } => (FsKind::Rename, from, to.as_str(), false),
            FsOp::Mkdir { path, parents } => (FsKind::Mkdir, path, "", *parents),
            FsOp::Commit { .. } | FsOp::Discard { .. } | FsOp::Digest { .. } => {
                return Err("this file command runs only at the station".into())
            }
        };
        let id = self.next_id();
        Ok((
            id,
            RoomMessage::Fs {
                id,
                op: kind,
                path: path.clone(),
                to: to.to_owned(),
                parents,
            },
        ))
    }

    /// Cancels this user's waiting file commands and uploads at the station.
    pub fn cancel_fs(&self) -> RoomMessage {
        RoomMessage::FsCancel {}
    }

    /// A safe upload from the file panel through the station (which checks the file policy).
    pub fn upload(
        &mut self,
        path: &str,
        data: &[u8],
    ) -> Result<(RelayId, Vec<RoomMessage>), String> {
        self.send_file(path, data, true)
    }

    /// A teacher sends a file to the board through the station, in parts.
    pub fn put(&mut self, name: &str, data: &[u8]) -> Result<(RelayId, Vec<RoomMessage>), String> {
        if self.role != Role::Teacher {
            return Err("only teachers can send files through the station".into());
        }
        self.send_file(name, data, false)
    }

    fn send_file(
        &mut self,
        name: &str,
        data: &[u8],
        safe: bool,
    ) -> Result<(RelayId, Vec<RoomMessage>), String> {
        if data.len() > MAX_RELAY {
            return Err(PartError::TooLarge.to_string());
        }
        let id = self.next_id();
        let parts = split(data)
            .map(|(index, last, chunk)| RoomMessage::Put {
                id,
                name: name.to_owned(),
                index,
                last,
                chunk: chunk.to_vec(),
                safe,
            })
            .collect();
        Ok((id, parts))
    }

    /// Gets a file from the board through the station (which checks who may read it).
    pub fn get(&mut self, name: &str) -> (RelayId, RoomMessage) {
        let id = self.next_id();
        self.gets.insert(id, name.to_owned());
        (
            id,
            RoomMessage::Get {
                id,
                name: name.to_owned(),
            },
        )
    }
}
