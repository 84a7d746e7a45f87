//! The module inside Edrys: the station holds the board connection and shares its terminal;
//! students and teachers in its room see it live and type into it (as the station's `input`
//! setting allows).
//!
//! Messages (subjects, all bodies are small objects):
//! - `webrepl:output` {seq, text}: station → room, batched by `webrepl_core::station::Broadcast`;
//! - `webrepl:hello` {}: a newcomer → station, answered by `webrepl:backlog` {seq, text, to};
//! - `webrepl:input` {text}, `webrepl:key` {key: "stop"|"reset"}, `webrepl:run` {code}: → station;
//! - `webrepl:refused` {reason, to}: station → the user whose input was refused;
//! - `webrepl:status` {state, text, url, version, problem}: station → room (`problem`: why the
//!   board connection failed, in words, or empty); also the room state value
//!   `webrepl.status` (Edrys-Lite), so people who join late see one status;
//! - the execute topic (stationConfig `execute`, default `execute`): code from editor modules,
//!   one file or a project (`webrepl_core::project`: the other files are written first);
//! - `webrepl:fs` {id, op, path, to, parents} → station: a file-panel command (list, tree,
//!   remove, rename, mkdir), checked against the station's `FilePolicy`; answered by
//!   `webrepl:fsr` {id, to, state: waiting|done|failed, text, listing: bool,
//!   entries: [[name, d|f, size]…]}.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use webrepl_core::project::{Progress, Project, ProjectHost, ProjectRun};
use webrepl_core::station::{Broadcast, BroadcastConfig, InputPolicy, Role};
use webrepl_core::{EntryKind, FsError, FsId, FsOp, FsReply, FsState, TransferId};

use super::api::{object, Edrys, Message};
use super::config::{project_from_body, StationConfig};
use crate::clock::now_ms;

pub const OUTPUT: &str = "webrepl:output";
pub const HELLO: &str = "webrepl:hello";
pub const BACKLOG: &str = "webrepl:backlog";
pub const INPUT: &str = "webrepl:input";
pub const KEY: &str = "webrepl:key";
pub const RUN: &str = "webrepl:run";
pub const REFUSED: &str = "webrepl:refused";
pub const STATUS: &str = "webrepl:status";
pub const STATUS_KEY: &str = "webrepl.status";
/// Teacher → station: `{id, name, index, last, chunk: Uint8Array}` (a file in ≤ 16 KB parts).
pub const PUT: &str = "webrepl:put";
/// Teacher → station: `{id, name}`.
pub const GET: &str = "webrepl:get";
/// Station → teacher: `{id, to, state, text, done, total}` progress of a relayed transfer.
pub const XFER: &str = "webrepl:xfer";
/// Station → teacher: `{id, to, name, index, last, chunk}` a got file in ≤ 16 KB parts.
pub const FILE: &str = "webrepl:file";
/// Shared room state: the transfer in progress, `{name, done, total, by}`.
pub const TRANSFER_KEY: &str = "webrepl.transfer";
/// Someone → station: a file-panel command.
pub const FS: &str = "webrepl:fs";
/// Station → someone: how their file-panel command went.
pub const FSR: &str = "webrepl:fsr";
/// Someone → station: cancel my waiting file commands and uploads.
pub const FSCANCEL: &str = "webrepl:fscancel";
/// Parts of relayed files stay small: room messages travel over peer-to-peer links.
pub const PART: usize = 16 * 1024;
/// The largest file relayed through the room.
pub const MAX_RELAY: usize = 4 * 1024 * 1024;

/// What the page asks of the station side.
pub trait StationHost {
    fn send_input(&self, text: &str);
    fn interrupt(&self);
    fn soft_reset(&self);
    fn run(&self, code: &str, label: &str) -> Result<(), String>;
    fn notice(&self, text: &str);
    /// Starts a put/get for someone in the room; returns the transfer's id.
    fn put(&self, name: &str, data: Vec<u8>) -> Result<webrepl_core::TransferId, String>;
    fn get(&self, name: &str) -> Result<webrepl_core::TransferId, String>;
    fn fs(&self, op: FsOp) -> Result<FsId, String>;
    fn cancel_fs(&self, ids: &[FsId]);
    fn upload(&self, path: &str, data: Vec<u8>)
        -> Result<(FsId, webrepl_core::TransferId), String>;
}

/// A transfer the station runs for someone else.
struct Relay {
    user: String,
    id: f64,
    name: String,
}

/// The station's share of the room.
pub struct Station {
    pub edrys: Edrys,
    pub config: StationConfig,
    broadcast: RefCell<Broadcast>,
    timer: Cell<Option<i32>>,
    flush: RefCell<Option<Closure<dyn FnMut()>>>,
    /// Files arriving in parts, by (user, id).
    incoming: RefCell<std::collections::HashMap<(String, u64), Vec<u8>>>,
    relays: RefCell<std::collections::HashMap<webrepl_core::TransferId, Relay>>,
    /// File commands run for someone else: (user, their id).
    fs_relays: RefCell<std::collections::HashMap<FsId, (String, f64)>>,
    /// Projects being written before their run: (user, run).
    projects: RefCell<Vec<(String, ProjectRun)>>,
    /// The transfers of the projects' uploads (their progress is not anyone's download).
    project_transfers: RefCell<std::collections::HashSet<TransferId>>,
}

/// The session seen by a project run, through the station's host.
struct ProjectSession<'a> {
    host: &'a dyn StationHost,
    transfers: &'a RefCell<std::collections::HashSet<TransferId>>,
}

impl ProjectHost for ProjectSession<'_> {
    fn fs(&mut self, op: FsOp) -> Result<FsId, String> {
        self.host.fs(op)
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<FsId, String> {
        let (fs, transfer) = self.host.upload(path, data)?;
        self.transfers.borrow_mut().insert(transfer);
        Ok(fs)
    }
    fn run(&mut self, code: &str, label: &str) -> Result<(), String> {
        self.host.run(code, label)
    }
}

impl Station {
    pub fn new(edrys: Edrys, config: StationConfig) -> Rc<Station> {
        let st = Rc::new(Station {
            edrys,
            config,
            broadcast: RefCell::new(Broadcast::new(BroadcastConfig::default(), now_ms())),
            timer: Cell::new(None),
            flush: RefCell::new(None),
            incoming: RefCell::new(Default::default()),
            relays: RefCell::new(Default::default()),
            fs_relays: RefCell::new(Default::default()),
            projects: RefCell::new(Vec::new()),
            project_transfers: RefCell::new(Default::default()),
        });
        let weak = Rc::downgrade(&st);
        *st.flush.borrow_mut() = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(st) = weak.upgrade() {
                st.timer.set(None);
                st.flush_now();
            }
        }));
        st
    }

    /// Terminal output of the station: shared with the room in batches.
    pub fn output(&self, text: &str) {
        self.broadcast.borrow_mut().push(text);
        self.arm();
    }

    fn arm(&self) {
        if self.timer.get().is_some() {
            return;
        }
        let Some(due) = self.broadcast.borrow().poll_timeout() else {
            return;
        };
        let delay = due.saturating_sub(now_ms()) as i32;
        let (Some(w), Some(cb)) = (
            web_sys::window(),
            self.flush.borrow().as_ref().map(|c| c.as_ref().clone()),
        ) else {
            return;
        };
        if let Ok(id) = w
            .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), delay.max(0))
        {
            self.timer.set(Some(id));
        }
    }

    fn flush_now(&self) {
        let msg = self.broadcast.borrow_mut().poll_message(now_ms());
        if let Some(text) = msg {
            let seq = self.broadcast.borrow().seq;
            let _ = self.edrys.send(
                OUTPUT,
                &object(&[("seq", (seq as f64).into()), ("text", text.into())]),
                None,
            );
        }
        self.arm();
    }

    /// Publishes the connection state to the room (message and shared value).
    pub fn status(&self, state: &str, text: &str, url: &str, version: &str, problem: &str) {
        let body = object(&[
            ("state", state.into()),
            ("text", text.into()),
            ("url", url.into()),
            ("version", version.into()),
            ("problem", problem.into()),
        ]);
        let _ = self.edrys.set_state(STATUS_KEY, &body);
        let _ = self.edrys.send(STATUS, &body, None);
    }

    /// Handles a room message addressed to the station.
    pub fn on_message(&self, host: &dyn StationHost, m: &Message) {
        if m.from == self.edrys.username() && m.subject != self.config.execute {
            return; // our own messages come back to us
        }
        let who = if m.from.is_empty() {
            "someone".to_owned()
        } else {
            m.from.clone()
        };
        if m.subject == self.config.execute {
            match project_from_body(&m.body_kind()) {
                Ok(project) => self.run_project(host, project, &m.from, &who),
                Err(e) => {
                    host.notice(&format!("{who} sent to \"{}\": {e}", self.config.execute));
                    self.refuse(&m.from, &e);
                }
            }
            return;
        }
        match m.subject.as_str() {
            HELLO => {
                let b = self.broadcast.borrow();
                let body = object(&[
                    ("seq", (b.seq as f64).into()),
                    ("text", b.backlog().into()),
                    ("to", m.from.clone().into()),
                ]);
                let _ = self.edrys.send(BACKLOG, &body, Some(&m.from));
            }
            PUT | GET => self.relay_request(host, m),
            FS => self.fs_request(host, m),
            FSCANCEL => {
                let mine: Vec<FsId> = self
                    .fs_relays
                    .borrow()
                    .iter()
                    .filter(|(_, (user, _))| *user == m.from)
                    .map(|(id, _)| *id)
                    .collect();
                host.cancel_fs(&mine);
            }
            INPUT | KEY | RUN => {
                if let Err(reason) = self.config.input.check(self.edrys.role_of(&m.from)) {
                    self.refuse(&m.from, reason);
                    return;
                }
                match m.subject.as_str() {
                    INPUT => {
                        if let Some(t) = m.field("text").as_string() {
                            host.send_input(&t);
                        }
                    }
                    KEY => match m.field("key").as_string().as_deref() {
                        Some("stop") => host.interrupt(),
                        Some("reset") => host.soft_reset(),
                        _ => {}
                    },
                    _ => {
                        if let Some(code) = m.field("code").as_string() {
                            if let Err(e) = host.run(&code, &who) {
                                self.refuse(&m.from, &format!("your code was not run: {e}"));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Runs code from an editor: a single file at once; a project after writing its other files
    /// (only those that differ on the board) into the project folder — a student's own folder
    /// when the room has `student_dir` — as the file policy allows. Refused: nothing runs.
    fn run_project(&self, host: &dyn StationHost, project: Project, user: &str, who: &str) {
        let role = self.edrys.role_of(user);
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
            host.notice(&format!("the project from {who} was not run: {e}"));
            self.refuse(user, &format!("your project was not run: {e}"));
            return;
        }
        let mut session = ProjectSession {
            host,
            transfers: &self.project_transfers,
        };
        let (run, progress) = ProjectRun::start(project, &dir, who, &mut session);
        self.project_progress(host, user, who, progress);
        if !run.is_done() {
            self.projects.borrow_mut().push((user.to_owned(), run));
        }
    }

    fn project_progress(&self, host: &dyn StationHost, user: &str, who: &str, p: Progress) {
        match p {
            Progress::Working => {}
            Progress::Started { written, unchanged } if written + unchanged > 0 => {
                host.notice(&format!(
                    "project from {who}: {written} file(s) written, {unchanged} unchanged"
                ));
            }
            Progress::Started { .. } => {}
            Progress::Failed(e) => {
                host.notice(&format!("the project from {who} was not run: {e}"));
                self.refuse(user, &format!("your project was not run: {e}"));
            }
        }
    }

    /// A session event of a project being prepared. True when it was the project's.
    pub fn project_event(&self, host: &dyn StationHost, e: &webrepl_core::Event) -> bool {
        use webrepl_core::Event;
        match e {
            Event::Fs { id, state } => {
                // Taken out while it works: its calls into the session come back here.
                let pos = self.projects.borrow().iter().position(|(_, r)| r.owns(*id));
                let Some(pos) = pos else { return false };
                let (user, mut run) = self.projects.borrow_mut().remove(pos);
                let mut session = ProjectSession {
                    host,
                    transfers: &self.project_transfers,
                };
                let progress = run.on_fs(*id, state, &mut session);
                self.project_progress(host, &user, run.label(), progress);
                if !run.is_done() {
                    self.projects.borrow_mut().push((user, run));
                }
                true
            }
            Event::TransferProgress { id, .. } => self.project_transfers.borrow().contains(id),
            Event::TransferDone { id, .. } | Event::TransferFailed { id, .. } => {
                self.project_transfers.borrow_mut().remove(id)
            }
            _ => false,
        }
    }

    /// A put/get through the station: teachers send and get anything; from the file panel
    /// (`safe` puts), everyone as the station's file policy allows.
    fn relay_request(&self, host: &dyn StationHost, m: &Message) {
        let id = m.field("id").as_f64().unwrap_or(0.0);
        let name = m.field("name").as_string().unwrap_or_default();
        let reply = |state: &str, text: &str| self.xfer(&m.from, id, state, text, 0.0, None);
        let role = self.edrys.role_of(&m.from);
        let safe = m.field("safe").as_bool() == Some(true);
        let policy = &self.config.files;
        let allowed = match (m.subject.as_str(), role) {
            (_, Some(Role::Teacher | Role::Station)) => Ok(()),
            (GET, _) => webrepl_core::files::normalize(&name)
                .map_err(|e| e.to_string())
                .and_then(|p| policy.may_read(role, &p)),
            (_, _) if safe => webrepl_core::files::normalize(&name)
                .map_err(|e| e.to_string())
                .and_then(|p| policy.may_change(role, &m.from, &[&p], false)),
            _ => Err("only teachers can send files through the station".into()),
        };
        if let Err(why) = allowed {
            if safe {
                self.incoming
                    .borrow_mut()
                    .remove(&(m.from.clone(), id as u64));
                self.fsr(&m.from, id, "failed", &why, None);
            }
            reply("failed", &why);
            return;
        }
        let started = if m.subject == GET {
            host.get(&name)
        } else {
            match self.put_part(m, id) {
                Err(e) => Err(e),
                Ok(None) => return, // more parts to come
                Ok(Some(data)) if safe => match host.upload(&name, data) {
                    Ok((fs, tid)) => {
                        self.fs_relays.borrow_mut().insert(fs, (m.from.clone(), id));
                        Ok(tid)
                    }
                    Err(e) => {
                        self.fsr(&m.from, id, "failed", &e, None);
                        Err(e)
                    }
                },
                Ok(Some(data)) => host.put(&name, data),
            }
        };
        match started {
            Ok(tid) => {
                let relay = Relay {
                    user: m.from.clone(),
                    id,
                    name,
                };
                self.relays.borrow_mut().insert(tid, relay);
                reply("queued", "waiting for the board…");
            }
            Err(e) => reply("failed", &e),
        }
    }

    /// A file-panel command from someone in the room, checked against the file policy.
    fn fs_request(&self, host: &dyn StationHost, m: &Message) {
        let id = m.field("id").as_f64().unwrap_or(0.0);
        let field = |k: &str| m.field(k).as_string().unwrap_or_default();
        let op = match field("op").as_str() {
            "list" => Ok(FsOp::List { dir: field("path") }),
            "tree" => Ok(FsOp::Tree { dir: field("path") }),
            "remove" => Ok(FsOp::Remove {
                path: field("path"),
            }),
            "rename" => Ok(FsOp::Rename {
                from: field("path"),
                to: field("to"),
            }),
            "mkdir" => Ok(FsOp::Mkdir {
                path: field("path"),
                parents: m.field("parents").as_bool() == Some(true),
            }),
            other => Err(FsError::Station(format!(
                "unknown file command \"{other}\""
            ))),
        }
        .and_then(FsOp::normalized);
        let role = self.edrys.role_of(&m.from);
        let checked = op.map_err(|e| e.to_string()).and_then(|op| {
            let making = matches!(op, FsOp::Mkdir { .. });
            let changed = op.changed_paths();
            if changed.is_empty() {
                if role.is_none() {
                    return Err("your role in this class is unknown".into());
                }
            } else {
                self.config
                    .files
                    .may_change(role, &m.from, &changed, making)?;
            }
            Ok(op)
        });
        match checked.and_then(|op| host.fs(op)) {
            Ok(fs) => {
                self.fs_relays.borrow_mut().insert(fs, (m.from.clone(), id));
            }
            Err(why) => self.fsr(&m.from, id, "failed", &why, None),
        }
    }

    /// A file command's progress: told to whoever asked. True when it was someone else's.
    pub fn fs_event(&self, e: &webrepl_core::Event) -> bool {
        let webrepl_core::Event::Fs { id, state } = e else {
            return false;
        };
        let Some((user, their)) = self.fs_relays.borrow().get(id).cloned() else {
            return false;
        };
        match state {
            FsState::WaitingForPrompt => self.fsr(&user, their, "waiting", "", None),
            FsState::Done(reply) => {
                self.fs_relays.borrow_mut().remove(id);
                self.fsr(&user, their, "done", "", Some(reply));
            }
            FsState::Failed(err) => {
                self.fs_relays.borrow_mut().remove(id);
                self.fsr(&user, their, "failed", &err.to_string(), None);
            }
        }
        true
    }

    fn fsr(&self, user: &str, id: f64, state: &str, text: &str, reply: Option<&FsReply>) {
        let entries = js_sys::Array::new();
        if let Some(FsReply::Listing(list)) = reply {
            for e in list {
                let kind = if e.kind == EntryKind::Dir { "d" } else { "f" };
                let row = js_sys::Array::of3(
                    &e.name.clone().into(),
                    &kind.into(),
                    &(e.size as f64).into(),
                );
                entries.push(&row);
            }
        }
        let body = object(&[
            ("id", id.into()),
            ("to", user.into()),
            ("state", state.into()),
            ("text", text.into()),
            ("entries", entries.into()),
            ("listing", matches!(reply, Some(FsReply::Listing(_))).into()),
        ]);
        let _ = self.edrys.send(FSR, &body, Some(user));
    }

    /// Collects one part of a relayed put; the whole file once its last part arrived.
    fn put_part(&self, m: &Message, id: f64) -> Result<Option<Vec<u8>>, String> {
        let key = (m.from.clone(), id as u64);
        let chunk = m.field("chunk");
        let mut incoming = self.incoming.borrow_mut();
        let Some(bytes) = chunk.dyn_ref::<js_sys::Uint8Array>().map(|a| a.to_vec()) else {
            incoming.remove(&key);
            return Err("the file part did not arrive as bytes".into());
        };
        let buf = incoming.entry(key.clone()).or_default();
        if buf.len() + bytes.len() > MAX_RELAY {
            incoming.remove(&key);
            return Err(
                "files over 4 MB are not relayed through the room; send them at the station".into(),
            );
        }
        buf.extend_from_slice(&bytes);
        if m.field("last").as_bool() != Some(true) {
            return Ok(None);
        }
        Ok(incoming.remove(&key))
    }

    /// Progress of any transfer: shared in the room state; for a relayed one, also told to the
    /// person who asked. Returns true when the transfer was relayed (the station's own rows do
    /// not know it).
    pub fn transfer_event(&self, e: &webrepl_core::Event) -> bool {
        use webrepl_core::{Event, TransferOutcome};
        let id = match e {
            Event::TransferProgress { id, .. }
            | Event::TransferDone { id, .. }
            | Event::TransferFailed { id, .. } => *id,
            _ => return false,
        };
        let relays = self.relays.borrow();
        let relay = relays.get(&id);
        let by = relay
            .map(|r| r.user.clone())
            .unwrap_or_else(|| self.edrys.username());
        match e {
            Event::TransferProgress { done, total, .. } => {
                let name = relay.map(|r| r.name.clone()).unwrap_or_default();
                let state = object(&[
                    ("name", name.into()),
                    ("done", (*done as f64).into()),
                    ("total", total.map_or(JsValue::NULL, |t| (t as f64).into())),
                    ("by", by.into()),
                ]);
                let _ = self.edrys.set_state(TRANSFER_KEY, &state);
                if let Some(r) = relay {
                    self.xfer(
                        &r.user,
                        r.id,
                        "active",
                        "",
                        *done as f64,
                        total.map(|t| t as f64),
                    );
                }
            }
            Event::TransferDone { outcome, .. } => {
                let _ = self.edrys.set_state(TRANSFER_KEY, &JsValue::NULL);
                if let Some(r) = relay {
                    match outcome {
                        TransferOutcome::Put { size, name } => self.xfer(
                            &r.user,
                            r.id,
                            "done",
                            &format!("sent {size} bytes to {name}"),
                            *size as f64,
                            Some(*size as f64),
                        ),
                        TransferOutcome::Get { name, data } => {
                            let fields = [
                                ("id", r.id.into()),
                                ("to", r.user.clone().into()),
                                ("name", name.clone().into()),
                            ];
                            let _ = send_parts(&self.edrys, FILE, &fields, data, Some(&r.user));
                            self.xfer(
                                &r.user,
                                r.id,
                                "done",
                                &format!("{} bytes", data.len()),
                                data.len() as f64,
                                Some(data.len() as f64),
                            );
                        }
                        TransferOutcome::Version(_) => {}
                    }
                }
            }
            Event::TransferFailed { error, .. } => {
                let _ = self.edrys.set_state(TRANSFER_KEY, &JsValue::NULL);
                if let Some(r) = relay {
                    self.xfer(&r.user, r.id, "failed", &error.to_string(), 0.0, None);
                }
            }
            _ => {}
        }
        let relayed = relay.is_some();
        drop(relays);
        if matches!(e, Event::TransferDone { .. } | Event::TransferFailed { .. }) {
            self.relays.borrow_mut().remove(&id);
        }
        relayed
    }

    fn xfer(&self, user: &str, id: f64, state: &str, text: &str, done: f64, total: Option<f64>) {
        let body = object(&[
            ("id", id.into()),
            ("to", user.into()),
            ("state", state.into()),
            ("text", text.into()),
            ("done", done.into()),
            ("total", total.map_or(JsValue::NULL, JsValue::from_f64)),
        ]);
        let _ = self.edrys.send(XFER, &body, Some(user));
    }

    fn refuse(&self, user: &str, reason: &str) {
        if user.is_empty() {
            return;
        }
        let body = object(&[("reason", reason.into()), ("to", user.into())]);
        let _ = self.edrys.send(REFUSED, &body, Some(user));
    }
}

/// What a viewer (student or teacher) shows.
pub trait ViewerHost {
    fn write(&self, text: &str);
    fn status(&self, state: &str, text: &str, version: &str);
    fn message(&self, text: &str);
    /// A relayed transfer moved on: `id` is the viewer's own row id.
    fn transfer(&self, id: u32, state: &str, text: &str, done: f64, total: Option<f64>);
    /// A relayed get finished.
    fn download(&self, id: u32, name: &str, data: &[u8]);
    /// A relayed file command moved on.
    fn fs(&self, id: u32, state: FsState);
}

/// A student's or teacher's view of the station's terminal.
pub struct Viewer {
    pub edrys: Edrys,
    pub role: Role,
    pub policy: InputPolicy,
    /// Output seen so far (sequence number), `None` until the backlog arrived.
    seen: Cell<Option<u64>>,
    /// Output that arrived before the backlog.
    early: RefCell<Vec<(u64, String)>>,
    /// Relayed gets being received, by id.
    files: RefCell<std::collections::HashMap<u32, Vec<u8>>>,
}

impl Viewer {
    pub fn new(edrys: Edrys, role: Role, policy: InputPolicy) -> Rc<Viewer> {
        Rc::new(Viewer {
            edrys,
            role,
            policy,
            seen: Cell::new(None),
            early: RefCell::new(Vec::new()),
            files: RefCell::new(Default::default()),
        })
    }

    /// Asks the station for the recent output; live output waits until it arrives.
    pub fn join(&self, host: &dyn ViewerHost) {
        if let Err(e) = self.edrys.send(HELLO, &object(&[]), None) {
            host.message(&format!("could not reach the station: {e}"));
        }
        if let Some(s) = self.edrys.state(STATUS_KEY) {
            self.show_status(host, &s);
        }
    }

    /// Called about once a second after joining (`attempt` counts from 1). The station may not
    /// have been listening when the first `hello` went out, so it is asked again; after three tries
    /// the live output is shown without the backlog. Returns true while more calls are wanted.
    pub fn retry(&self, host: &dyn ViewerHost, attempt: u32) -> bool {
        if self.seen.get().is_some() {
            return false;
        }
        if attempt < 3 {
            let _ = self.edrys.send(HELLO, &object(&[]), None);
            return true;
        }
        let early: Vec<(u64, String)> = self.early.borrow_mut().drain(..).collect();
        let mut last = 0;
        for (s, t) in early {
            host.write(&t);
            last = s;
        }
        self.seen.set(Some(last));
        false
    }

    pub fn on_message(&self, host: &dyn ViewerHost, m: &Message) {
        let me = self.edrys.username();
        let to_me = || m.field("to").as_string().is_none_or(|t| t == me);
        match m.subject.as_str() {
            OUTPUT => {
                let seq = m.field("seq").as_f64().unwrap_or(0.0) as u64;
                let Some(text) = m.field("text").as_string() else {
                    return;
                };
                match self.seen.get() {
                    Some(s) if seq <= s => {}
                    Some(_) => {
                        self.seen.set(Some(seq));
                        host.write(&text);
                    }
                    None => self.early.borrow_mut().push((seq, text)),
                }
            }
            BACKLOG if to_me() && self.seen.get().is_none() => {
                let seq = m.field("seq").as_f64().unwrap_or(0.0) as u64;
                host.write(&m.field("text").as_string().unwrap_or_default());
                let mut last = seq;
                for (s, t) in self.early.borrow_mut().drain(..) {
                    if s > seq {
                        host.write(&t);
                        last = s;
                    }
                }
                self.seen.set(Some(last));
            }
            STATUS => self.show_status(host, &m.body),
            REFUSED if to_me() => host.message(&m.field("reason").as_string().unwrap_or_default()),
            XFER if to_me() => {
                let id = m.field("id").as_f64().unwrap_or(0.0) as u32;
                let state = m.field("state").as_string().unwrap_or_default();
                let text = m.field("text").as_string().unwrap_or_default();
                host.transfer(
                    id,
                    &state,
                    &text,
                    m.field("done").as_f64().unwrap_or(0.0),
                    m.field("total").as_f64(),
                );
            }
            FSR if to_me() => {
                let id = m.field("id").as_f64().unwrap_or(0.0) as u32;
                let text = m.field("text").as_string().unwrap_or_default();
                let state = match m.field("state").as_string().as_deref() {
                    Some("waiting") => FsState::WaitingForPrompt,
                    Some("done") => {
                        let rows = js_sys::Array::from(&m.field("entries"));
                        let entries: Vec<webrepl_core::Entry> = rows
                            .iter()
                            .filter_map(|r| {
                                let r = js_sys::Array::from(&r);
                                Some(webrepl_core::Entry {
                                    name: r.get(0).as_string()?,
                                    kind: if r.get(1).as_string()? == "d" {
                                        EntryKind::Dir
                                    } else {
                                        EntryKind::File
                                    },
                                    size: r.get(2).as_f64().unwrap_or(0.0) as u64,
                                })
                            })
                            .collect();
                        FsState::Done(if m.field("listing").as_bool() == Some(true) {
                            FsReply::Listing(entries)
                        } else {
                            FsReply::Done
                        })
                    }
                    _ => FsState::Failed(FsError::Station(text)),
                };
                host.fs(id, state);
            }
            FILE if to_me() => {
                let id = m.field("id").as_f64().unwrap_or(0.0) as u32;
                let chunk = m.field("chunk");
                let Some(bytes) = chunk.dyn_ref::<js_sys::Uint8Array>().map(|a| a.to_vec()) else {
                    return;
                };
                self.files
                    .borrow_mut()
                    .entry(id)
                    .or_default()
                    .extend_from_slice(&bytes);
                if m.field("last").as_bool() == Some(true) {
                    let data = self.files.borrow_mut().remove(&id).unwrap_or_default();
                    host.download(id, &m.field("name").as_string().unwrap_or_default(), &data);
                }
            }
            _ => {}
        }
    }

    fn show_status(&self, host: &dyn ViewerHost, body: &JsValue) {
        let get = |k: &str| {
            js_sys::Reflect::get(body, &k.into())
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        host.status(
            &get("state"),
            &format!("Station: {}", get("text")),
            &get("version"),
        );
        let problem = get("problem");
        if !problem.is_empty() {
            host.message(&format!("Station: {problem}"));
        }
    }

    /// Keystrokes: sent to the station when the policy allows, else refused here with the reason.
    pub fn send(&self, subject: &str, body: JsValue) -> Result<(), String> {
        self.config_check()?;
        self.edrys.send(subject, &body, None)
    }

    /// Code for the station to run (a paste, a file's ▶), as this user's run.
    pub fn run(&self, code: &str) -> Result<(), String> {
        self.send(RUN, object(&[("code", code.into())]))
    }

    /// A file-panel command through the station.
    pub fn fs(&self, id: u32, op: &FsOp) -> Result<(), String> {
        let (kind, path, to, parents) = match op {
            FsOp::List { dir } => ("list", dir, "", false),
            FsOp::Tree { dir } => ("tree", dir, "", false),
            FsOp::Remove { path } => ("remove", path, "", false),
            FsOp::Rename { from, to } => ("rename", from, to.as_str(), false),
            FsOp::Mkdir { path, parents } => ("mkdir", path, "", *parents),
            FsOp::Commit { .. } | FsOp::Discard { .. } | FsOp::Digest { .. } => {
                return Err("this file command runs only at the station".into())
            }
        };
        self.edrys.send(
            FS,
            &object(&[
                ("id", id.into()),
                ("op", kind.into()),
                ("path", path.as_str().into()),
                ("to", to.into()),
                ("parents", parents.into()),
            ]),
            None,
        )
    }

    /// Cancels this user's waiting file commands and uploads at the station.
    pub fn cancel_fs(&self) -> Result<(), String> {
        self.edrys.send(FSCANCEL, &object(&[]), None)
    }

    /// A safe upload from the file panel through the station (which checks the file policy).
    pub fn upload(&self, id: u32, path: &str, data: &[u8]) -> Result<(), String> {
        self.send_file(id, path, data, true)
    }

    /// A teacher sends a file to the board through the station, in parts.
    pub fn put(&self, id: u32, name: &str, data: &[u8]) -> Result<(), String> {
        if self.role != Role::Teacher {
            return Err("only teachers can send files through the station".into());
        }
        self.send_file(id, name, data, false)
    }

    fn send_file(&self, id: u32, name: &str, data: &[u8], safe: bool) -> Result<(), String> {
        if data.len() > MAX_RELAY {
            return Err(
                "files over 4 MB are not relayed through the room; send them at the station".into(),
            );
        }
        send_parts(
            &self.edrys,
            PUT,
            &[
                ("id", id.into()),
                ("name", name.into()),
                ("safe", safe.into()),
            ],
            data,
            None,
        )
    }

    /// Gets a file from the board through the station (which checks who may read it).
    pub fn get(&self, id: u32, name: &str) -> Result<(), String> {
        self.edrys.send(
            GET,
            &object(&[("id", id.into()), ("name", name.into())]),
            None,
        )
    }

    fn config_check(&self) -> Result<(), String> {
        self.policy.check(Some(self.role)).map_err(str::to_owned)
    }
}

/// Sends `data` as messages of at most [`PART`] bytes: `fields` plus `index`, `last`, `chunk`
/// (an empty file is one empty part).
fn send_parts(
    edrys: &Edrys,
    subject: &str,
    fields: &[(&str, JsValue)],
    data: &[u8],
    user: Option<&str>,
) -> Result<(), String> {
    let parts = data.chunks(PART).count().max(1);
    for (i, part) in data
        .chunks(PART)
        .chain(data.is_empty().then_some(&[][..]))
        .enumerate()
    {
        let mut all = fields.to_vec();
        all.push(("index", (i as f64).into()));
        all.push(("last", (i + 1 == parts).into()));
        all.push(("chunk", js_sys::Uint8Array::from(part).into()));
        edrys.send(subject, &object(&all), user)?;
    }
    Ok(())
}

/// Waits for `window.Edrys` to be ready, for up to `wait_ms`; calls `f(Some(edrys))` when it
/// is, or `f(None)` (standalone) when the page is not in a frame or Edrys never became ready.
pub fn detect(wait_ms: u32, f: impl FnOnce(Option<Edrys>) + 'static) {
    let Some(w) = web_sys::window() else {
        return f(None);
    };
    let framed = w
        .parent()
        .ok()
        .flatten()
        .is_some_and(|p| !js_sys::Object::is(&p, &w));
    if !framed {
        return f(None);
    }
    let f = Rc::new(RefCell::new(Some(f)));
    let finish = {
        let f = f.clone();
        move |e: Option<Edrys>| {
            if let Some(cb) = f.borrow_mut().take() {
                cb(e);
            }
        }
    };
    let finish: Rc<dyn Fn(Option<Edrys>)> = Rc::new(finish);
    // The host script loads asynchronously: look for it, then wait for its onReady.
    poll(
        now_ms(),
        wait_ms as u64,
        finish.clone(),
        Rc::new(Cell::new(false)),
    );
    let cb = Closure::once_into_js(move || finish(None));
    let _ =
        w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), wait_ms as i32);
}

fn poll(started: u64, wait_ms: u64, finish: Rc<dyn Fn(Option<Edrys>)>, registered: Rc<Cell<bool>>) {
    if let Some(e) = Edrys::get() {
        if e.ready() {
            return finish(Some(e));
        }
        if !registered.replace(true) {
            let (f2, e2) = (finish.clone(), e.clone());
            let _ = e.on_ready(move || f2(Some(e2)));
        }
    }
    if registered.get() || now_ms().saturating_sub(started) >= wait_ms {
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let cb = Closure::once_into_js(move || poll(started, wait_ms, finish, registered));
    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 50);
}
