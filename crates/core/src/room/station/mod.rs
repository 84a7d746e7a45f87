//! The station's side of the room (sans-I/O): room messages (with the sender's role), `execute`
//! bodies and session events in; room messages, room state and notices out
//! ([`Station::poll_output`]), session commands through [`Board`]; time passed in (ms).
//!
//! A message from a student goes: the glue decodes it into a [`RoomMessage`] and calls
//! [`Station::handle_message`] with the sender and their role → the input or file policy is
//! checked → a [`Board`] command runs it, or a `webrepl:refused` / failed reply goes back.

use std::collections::{HashMap, HashSet, VecDeque};

mod relay;

use super::parts::Reassembly;
use crate::project::{Progress, Project, ProjectHost, ProjectRun};
use crate::room::config::{project_from_body, Body, StationConfig};
use crate::room::message::{
    FsrState, Key, RelayId, RoomMessage, Row, Status, TransferState, XferState,
};
use crate::room::schema;
use crate::station::{Broadcast, BroadcastConfig, Role};
use crate::{Event, FsId, FsOp, FsReply, TransferId};

/// The session commands the station gives (the page's connection to the board).
pub trait Board {
    /// Keystrokes; `Err` (not connected) is told to whoever typed.
    fn send_input(&mut self, text: &str) -> Result<(), String>;
    fn interrupt(&mut self) -> Result<(), String>;
    fn soft_reset(&mut self) -> Result<(), String>;
    fn run(&mut self, code: &str, label: &str) -> Result<(), String>;
    /// Starts a put for someone in the room; returns the transfer's id.
    fn put(&mut self, name: &str, data: Vec<u8>) -> Result<TransferId, String>;
    fn get(&mut self, name: &str) -> Result<TransferId, String>;
    fn fs(&mut self, op: FsOp) -> Result<FsId, String>;
    fn cancel_fs(&mut self, ids: &[FsId]);
    /// A safe upload: its file command and its transfer.
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String>;
}

/// A shared room value the station sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomState {
    /// [`schema::STATUS_KEY`].
    Status(Status),
    /// [`schema::TRANSFER_KEY`]: `None` clears it.
    Transfer(Option<TransferState>),
}

impl RoomState {
    pub fn key(&self) -> &'static str {
        match self {
            RoomState::Status(_) => schema::STATUS_KEY,
            RoomState::Transfer(_) => schema::TRANSFER_KEY,
        }
    }
}

/// What the station wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StationOutput {
    /// Send to the room, or to [`RoomMessage::to`] only.
    Send(RoomMessage),
    SetState(RoomState),
    /// A line for the station's own terminal.
    Notice(String),
}

/// A transfer the station runs for someone else.
#[derive(Debug, Clone)]
struct Relay {
    user: String,
    id: RelayId,
    name: String,
}

/// The station's share of the room.
pub struct Station {
    config: StationConfig,
    me: String,
    now: u64,
    broadcast: Broadcast,
    incoming: Reassembly<(String, RelayId)>,
    relays: HashMap<TransferId, Relay>,
    /// File commands run for someone else.
    fs_relays: HashMap<FsId, (String, RelayId)>,
    /// Projects being written before their run: (user, run).
    projects: Vec<(String, ProjectRun)>,
    /// The transfers of the projects' uploads (their progress is not anyone's download).
    project_transfers: HashSet<TransferId>,
    out: VecDeque<StationOutput>,
}

/// The session seen by a project run.
struct ProjectSession<'a> {
    board: &'a mut dyn Board,
    transfers: &'a mut HashSet<TransferId>,
}

impl ProjectHost for ProjectSession<'_> {
    fn fs(&mut self, op: FsOp) -> Result<FsId, String> {
        self.board.fs(op)
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<FsId, String> {
        let (fs, transfer) = self.board.upload(path, data)?;
        self.transfers.insert(transfer);
        Ok(fs)
    }
    fn run(&mut self, code: &str, label: &str) -> Result<(), String> {
        self.board.run(code, label)
    }
}

impl Station {
    /// The station of user `me` (its own messages come back to it and are ignored).
    pub fn new(config: StationConfig, me: &str, now: u64) -> Station {
        Station {
            config,
            me: me.to_owned(),
            now,
            broadcast: Broadcast::new(BroadcastConfig::default(), now),
            incoming: Reassembly::default(),
            relays: HashMap::new(),
            fs_relays: HashMap::new(),
            projects: Vec::new(),
            project_transfers: HashSet::new(),
            out: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    /// Time only moves forward, whatever the callers pass.
    fn tick(&mut self, now: u64) -> u64 {
        self.now = self.now.max(now);
        self.now
    }

    /// The next output to carry out.
    pub fn poll_output(&mut self) -> Option<StationOutput> {
        self.out.pop_front()
    }

    /// When [`Station::handle_timeout`] wants to be called (terminal output waits).
    pub fn poll_timeout(&self) -> Option<u64> {
        self.broadcast.poll_timeout()
    }

    pub fn handle_timeout(&mut self, now: u64) {
        let now = self.tick(now);
        if let Some(text) = self.broadcast.poll_message(now) {
            let seq = self.broadcast.seq;
            self.send(RoomMessage::Output { seq, text });
        }
    }

    /// Terminal output of the station: shared with the room in batches (flood control in
    /// [`Broadcast`]).
    pub fn output(&mut self, now: u64, text: &str) {
        self.tick(now);
        self.broadcast.push(text);
    }

    /// Publishes the connection state to the room (message and shared value).
    pub fn status(&mut self, status: Status) {
        self.out
            .push_back(StationOutput::SetState(RoomState::Status(status.clone())));
        self.send(RoomMessage::Status(status));
    }

    fn send(&mut self, m: RoomMessage) {
        self.out.push_back(StationOutput::Send(m));
    }

    fn notice(&mut self, text: String) {
        self.out.push_back(StationOutput::Notice(text));
    }

    fn refuse(&mut self, user: &str, reason: &str) {
        if user.is_empty() {
            return;
        }
        self.send(RoomMessage::Refused {
            reason: reason.to_owned(),
            to: user.to_owned(),
        });
    }

    fn xfer(
        &mut self,
        r: (&str, RelayId),
        state: XferState,
        text: &str,
        done: u64,
        total: Option<u64>,
    ) {
        self.send(RoomMessage::Xfer {
            id: r.1,
            to: r.0.to_owned(),
            state,
            text: text.to_owned(),
            done,
            total,
        });
    }

    fn fsr(
        &mut self,
        user: &str,
        id: RelayId,
        state: FsrState,
        text: &str,
        reply: Option<&FsReply>,
    ) {
        let entries = match reply {
            Some(FsReply::Listing(list)) => list.iter().map(Row::from).collect(),
            _ => vec![],
        };
        self.send(RoomMessage::Fsr {
            id,
            to: user.to_owned(),
            state,
            text: text.to_owned(),
            listing: matches!(reply, Some(FsReply::Listing(_))),
            entries,
        });
    }

    /// A room message from `from` (with their role in the class), decoded by the glue; `Err`
    /// holds why its body could not be read.
    pub fn handle_message(
        &mut self,
        now: u64,
        from: &str,
        role: Option<Role>,
        subject: &str,
        message: Result<RoomMessage, String>,
        board: &mut dyn Board,
    ) {
        self.tick(now);
        if from == self.me {
            return; // our own messages come back to us
        }
        let m = match message {
            Ok(m) => m,
            Err(e) => {
                // Only requests to the station get an answer; replies to others are not ours.
                if schema::row(subject).is_some_and(|r| r.direction.ends_with("→ station")) {
                    self.refuse(
                        from,
                        &format!("the station could not read your {subject} message: {e}"),
                    );
                }
                return;
            }
        };
        let who = if from.is_empty() { "someone" } else { from };
        match m {
            RoomMessage::Hello {} => {
                let (seq, text) = (self.broadcast.seq, self.broadcast.backlog());
                self.send(RoomMessage::Backlog {
                    seq,
                    text,
                    to: from.to_owned(),
                });
            }
            RoomMessage::Put {
                id,
                name,
                index,
                last,
                chunk,
                safe,
            } => self.relay(
                from,
                role,
                id,
                name,
                Some((index, last, chunk, safe)),
                board,
            ),
            RoomMessage::Get { id, name } => self.relay(from, role, id, name, None, board),
            RoomMessage::Fs {
                id,
                op,
                path,
                to,
                parents,
            } => self.fs_request(from, role, id, op, path, to, parents, board),
            RoomMessage::FsCancel {} => {
                let mine: Vec<FsId> = self
                    .fs_relays
                    .iter()
                    .filter(|(_, (user, _))| user == from)
                    .map(|(id, _)| *id)
                    .collect();
                board.cancel_fs(&mine);
            }
            RoomMessage::Input { .. } | RoomMessage::Key { .. } | RoomMessage::Run { .. } => {
                if let Err(reason) = self.config.input.check(role) {
                    self.refuse(from, reason);
                    return;
                }
                let done = match m {
                    RoomMessage::Input { text } => board
                        .send_input(&text)
                        .map_err(|e| format!("your keys were not sent: {e}")),
                    RoomMessage::Key { key: Key::Stop } => board
                        .interrupt()
                        .map_err(|e| format!("Stop was not sent: {e}")),
                    RoomMessage::Key { key: Key::Reset } => board
                        .soft_reset()
                        .map_err(|e| format!("Soft reset was not sent: {e}")),
                    RoomMessage::Run { code } => board
                        .run(&code, who)
                        .map_err(|e| format!("your code was not run: {e}")),
                    _ => Ok(()),
                };
                if let Err(why) = done {
                    self.refuse(from, &why);
                }
            }
            // The station's own kinds of messages, from someone else: not for us.
            RoomMessage::Output { .. }
            | RoomMessage::Backlog { .. }
            | RoomMessage::Refused { .. }
            | RoomMessage::Status(_)
            | RoomMessage::Fsr { .. }
            | RoomMessage::Xfer { .. }
            | RoomMessage::File { .. } => {}
        }
    }

    /// Code from an editor on the `execute` subject ([`StationConfig::execute`]): a single file
    /// runs at once; a project after writing its other files (only those that differ on the
    /// board) into the project folder — a student's own folder when the room has `student_dir`
    /// — as the file policy allows. Refused: nothing runs.
    pub fn handle_execute(
        &mut self,
        now: u64,
        from: &str,
        role: Option<Role>,
        body: &Body,
        board: &mut dyn Board,
    ) {
        self.tick(now);
        let who = if from.is_empty() { "someone" } else { from }.to_owned();
        match project_from_body(body) {
            Ok(project) => self.run_project(project, from, role, &who, board),
            Err(e) => {
                self.notice(format!("{who} sent to \"{}\": {e}", self.config.execute));
                self.refuse(from, &e);
            }
        }
    }

    fn run_project(
        &mut self,
        project: Project,
        user: &str,
        role: Option<Role>,
        who: &str,
        board: &mut dyn Board,
    ) {
        let policy = &self.config.files;
        let dir = match role {
            Some(Role::Student) => policy.student_folder(user),
            _ => None,
        }
        .unwrap_or_else(|| self.config.project_dir.clone());
        let checked = ProjectRun::paths(&project, &dir)
            .map_err(|e| e.to_string())
            .and_then(|paths| {
                let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
                if refs.is_empty() {
                    Ok(())
                } else {
                    policy.may_change(role, user, &refs, false)
                }
            });
        if let Err(e) = checked {
            self.notice(format!("the project from {who} was not run: {e}"));
            self.refuse(user, &format!("your project was not run: {e}"));
            return;
        }
        let mut session = ProjectSession {
            board,
            transfers: &mut self.project_transfers,
        };
        let (run, progress) = ProjectRun::start(project, &dir, who, &mut session);
        self.project_progress(user, who, progress);
        if !run.is_done() {
            self.projects.push((user.to_owned(), run));
        }
    }

    fn project_progress(&mut self, user: &str, who: &str, p: Progress) {
        match p {
            Progress::Working => {}
            Progress::Started { written, unchanged } if written + unchanged > 0 => {
                self.notice(format!(
                    "project from {who}: {written} file(s) written, {unchanged} unchanged"
                ));
            }
            Progress::Started { .. } => {}
            Progress::Failed(e) => {
                self.notice(format!("the project from {who} was not run: {e}"));
                self.refuse(user, &format!("your project was not run: {e}"));
            }
        }
    }

    /// A session event. True when it belonged to someone in the room (a relayed transfer or
    /// file command, a project being written): the station's own rows and panel do not know it.
    pub fn handle_event(&mut self, now: u64, e: &Event, board: &mut dyn Board) -> bool {
        self.tick(now);
        self.transfer_event(e) || self.fs_event(e) || self.project_event(e, board)
    }

    fn project_event(&mut self, e: &Event, board: &mut dyn Board) -> bool {
        match e {
            Event::Fs { id, state } => {
                let Some(pos) = self.projects.iter().position(|(_, r)| r.owns(*id)) else {
                    return false;
                };
                let (user, mut run) = self.projects.remove(pos);
                let mut session = ProjectSession {
                    board,
                    transfers: &mut self.project_transfers,
                };
                let progress = run.on_fs(*id, state, &mut session);
                let label = run.label().to_owned();
                self.project_progress(&user, &label, progress);
                if !run.is_done() {
                    self.projects.push((user, run));
                }
                true
            }
            Event::TransferProgress { id, .. } => self.project_transfers.contains(id),
            Event::TransferDone { id, .. } | Event::TransferFailed { id, .. } => {
                self.project_transfers.remove(id)
            }
            _ => false,
        }
    }
}
