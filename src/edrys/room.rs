//! The room's glue: `window.Edrys` messages ⇄ the core's [`webrepl_core::room`] station and
//! viewer. Decodes each message ([`super::wire`]), hands it to the core with the sender's role
//! and the time, and carries out what the core asks (send, set room state, show a notice,
//! arm a timer). All decisions are the core's.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use webrepl_core::room::message::{Key, RelayId, Status};
use webrepl_core::room::{
    self, schema, Board, RoomState, StationConfig, StationOutput, ViewerEvent,
};
use webrepl_core::station::{InputPolicy, Role};
use webrepl_core::{Event, FsOp};

use super::api::{Edrys, Message};
use super::wire;
use crate::clock::now_ms;

/// Something that reached the station while it was busy (a session call delivers events and
/// room messages synchronously): handed back to the page once the call is over.
pub enum Deferred {
    Event(Event),
    Message(Message),
    Status(Status),
}

/// The station's share of the room (this browser holds the board connection).
pub struct Station {
    pub edrys: Edrys,
    config: StationConfig,
    core: RefCell<room::Station>,
    busy: Cell<bool>,
    deferred: RefCell<VecDeque<Deferred>>,
    /// Where deferred items and notices go (the page).
    redeliver: Box<dyn Fn(Deferred)>,
    notice: Box<dyn Fn(&str)>,
    timer: Cell<Option<i32>>,
    flush: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Station {
    pub fn new(
        edrys: Edrys,
        config: StationConfig,
        notice: impl Fn(&str) + 'static,
        redeliver: impl Fn(Deferred) + 'static,
    ) -> Rc<Station> {
        let core = room::Station::new(config.clone(), &edrys.username(), now_ms());
        let st = Rc::new(Station {
            edrys,
            config,
            core: RefCell::new(core),
            busy: Cell::new(false),
            deferred: RefCell::new(VecDeque::new()),
            redeliver: Box::new(redeliver),
            notice: Box::new(notice),
            timer: Cell::new(None),
            flush: RefCell::new(None),
        });
        let weak = Rc::downgrade(&st);
        *st.flush.borrow_mut() = Some(Closure::<dyn FnMut()>::new(move || {
            if let Some(st) = weak.upgrade() {
                st.timer.set(None);
                st.with_core(|c| c.handle_timeout(now_ms()));
            }
        }));
        st
    }

    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    /// True while a call into the core runs (then events go to [`Station::defer`]).
    pub fn busy(&self) -> bool {
        self.busy.get()
    }

    pub fn defer(&self, d: Deferred) {
        self.deferred.borrow_mut().push_back(d);
    }

    fn with_core<R>(&self, f: impl FnOnce(&mut room::Station) -> R) -> R {
        self.busy.set(true);
        let r = f(&mut self.core.borrow_mut());
        self.busy.set(false);
        self.carry_out();
        loop {
            let next = self.deferred.borrow_mut().pop_front();
            let Some(d) = next else { break };
            (self.redeliver)(d);
        }
        r
    }

    /// Does what the core asked for, then arms the output timer.
    fn carry_out(&self) {
        loop {
            let next = self.core.borrow_mut().poll_output();
            let Some(o) = next else { break };
            match o {
                StationOutput::Send(m) => {
                    let _ = wire::send(&self.edrys, &m);
                }
                StationOutput::SetState(s) => {
                    let value = match &s {
                        RoomState::Status(st) => wire::status_value(st),
                        RoomState::Transfer(t) => wire::transfer_value(t),
                    };
                    let _ = self.edrys.set_state(s.key(), &value);
                }
                StationOutput::Notice(text) => (self.notice)(&text),
            }
        }
        self.arm();
    }

    fn arm(&self) {
        if self.timer.get().is_some() {
            return;
        }
        let Some(due) = self.core.borrow().poll_timeout() else {
            return;
        };
        let delay = due.saturating_sub(now_ms()).min(i32::MAX as u64) as i32;
        let (Some(w), Some(cb)) = (
            web_sys::window(),
            self.flush.borrow().as_ref().map(|c| c.as_ref().clone()),
        ) else {
            return;
        };
        if let Ok(id) =
            w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), delay)
        {
            self.timer.set(Some(id));
        }
    }

    /// Terminal output of the station, shared with the room.
    pub fn output(&self, text: &str) {
        self.with_core(|c| c.output(now_ms(), text));
    }

    /// Publishes the connection state to the room.
    pub fn status(&self, s: Status) {
        if self.busy() {
            return self.defer(Deferred::Status(s));
        }
        self.with_core(|c| c.status(s));
    }

    /// A message from the room.
    pub fn on_message(&self, board: &mut dyn Board, m: Message) {
        if self.busy() {
            return self.defer(Deferred::Message(m));
        }
        let role = self.edrys.role_of(&m.from);
        if m.subject == self.config.execute {
            let body = m.body_kind();
            self.with_core(|c| c.handle_execute(now_ms(), &m.from, role, &body, board));
        } else if wire::is_room_subject(&m.subject) {
            let decoded = wire::decode(&m.subject, &m.body);
            self.with_core(|c| {
                c.handle_message(now_ms(), &m.from, role, &m.subject, decoded, board)
            });
        }
    }

    /// A session event: `None` when it was someone else's in the room (or deferred), else the
    /// event back for the page.
    pub fn on_event(&self, board: &mut dyn Board, e: Event) -> Option<Event> {
        if self.busy() {
            self.defer(Deferred::Event(e));
            return None;
        }
        let theirs = self.with_core(|c| c.handle_event(now_ms(), &e, board));
        (!theirs).then_some(e)
    }
}

/// A student's or teacher's view of the station's terminal and files.
pub struct Viewer {
    pub edrys: Edrys,
    core: RefCell<room::Viewer>,
}

impl Viewer {
    pub fn new(edrys: Edrys, role: Role, policy: InputPolicy) -> Rc<Viewer> {
        let core = room::Viewer::new(&edrys.username(), role, policy);
        Rc::new(Viewer {
            edrys,
            core: RefCell::new(core),
        })
    }

    pub fn role(&self) -> Role {
        self.core.borrow().role()
    }

    fn events(&self) -> Vec<ViewerEvent> {
        let mut c = self.core.borrow_mut();
        std::iter::from_fn(|| c.poll_event()).collect()
    }

    fn send(&self, m: Result<room::RoomMessage, String>) -> Result<(), String> {
        wire::send(&self.edrys, &m?)
    }

    /// Asks the station for the recent output and reads its status from the room state.
    pub fn join(&self) -> Vec<ViewerEvent> {
        let hello = self.core.borrow().join();
        let mut out = vec![];
        if let Err(e) = wire::send(&self.edrys, &hello) {
            out.push(ViewerEvent::Message(format!(
                "could not reach the station: {e}"
            )));
        }
        if let Some(s) = self
            .edrys
            .state(schema::STATUS_KEY)
            .and_then(wire::read_status)
        {
            self.core.borrow_mut().status(&s);
        }
        out.extend(self.events());
        out
    }

    /// See [`room::Viewer::retry`]: true while more calls are wanted.
    pub fn retry(&self, attempt: u32) -> (bool, Vec<ViewerEvent>) {
        let again = self.core.borrow_mut().retry(attempt);
        if let Some(m) = &again {
            let _ = wire::send(&self.edrys, m);
        }
        (again.is_some(), self.events())
    }

    /// A message from the room: what to show.
    pub fn on_message(&self, m: &Message) -> Vec<ViewerEvent> {
        if !wire::is_room_subject(&m.subject) {
            return vec![];
        }
        match wire::decode(&m.subject, &m.body) {
            Ok(msg) => self.core.borrow_mut().handle_message(msg),
            Err(e) => web_sys::console::warn_1(
                &format!(
                    "webrepl: a {} message from {} was not understood: {e}",
                    m.subject, m.from
                )
                .into(),
            ),
        }
        self.events()
    }

    pub fn input(&self, text: &str) -> Result<(), String> {
        let m = self.core.borrow().input(text);
        self.send(m)
    }

    pub fn key(&self, key: Key) -> Result<(), String> {
        let m = self.core.borrow().key(key);
        self.send(m)
    }

    /// Code for the station to run (a paste, a file's ▶), as this user's run.
    pub fn run(&self, code: &str) -> Result<(), String> {
        let m = self.core.borrow().run(code);
        self.send(m)
    }

    pub fn fs(&self, op: &FsOp) -> Result<RelayId, String> {
        let (id, m) = self.core.borrow_mut().fs(op)?;
        wire::send(&self.edrys, &m)?;
        Ok(id)
    }

    pub fn cancel_fs(&self) -> Result<(), String> {
        let m = self.core.borrow().cancel_fs();
        wire::send(&self.edrys, &m)
    }

    fn send_parts(
        &self,
        made: Result<(RelayId, Vec<room::RoomMessage>), String>,
    ) -> Result<RelayId, String> {
        let (id, parts) = made?;
        for p in &parts {
            wire::send(&self.edrys, p)?;
        }
        Ok(id)
    }

    /// A safe upload from the file panel through the station.
    pub fn upload(&self, path: &str, data: &[u8]) -> Result<RelayId, String> {
        let made = self.core.borrow_mut().upload(path, data);
        self.send_parts(made)
    }

    /// A teacher's file to the board through the station.
    pub fn put(&self, name: &str, data: &[u8]) -> Result<RelayId, String> {
        let made = self.core.borrow_mut().put(name, data);
        self.send_parts(made)
    }

    pub fn get(&self, name: &str) -> Result<RelayId, String> {
        let (id, m) = self.core.borrow_mut().get(name);
        wire::send(&self.edrys, &m)?;
        Ok(id)
    }
}
