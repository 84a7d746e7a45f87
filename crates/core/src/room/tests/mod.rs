//! The room's station and viewer together against a recording board: the recording board and
//! the input policies here; files (relays, the upload cap, projects) in `files.rs`; the shared
//! terminal in `terminal.rs`; property tests of the policies in `props.rs`.

use super::message::*;
use super::parts::{MAX_RELAY, PART};
use super::*;
use crate::station::{InputPolicy, Role};
use crate::{Entry, EntryKind, Event, FsId, FsOp, FsReply, FsState, TransferId, TransferOutcome};

mod files;
mod props;
mod terminal;

/// A board that records the commands it gets.
#[derive(Default)]
struct Rec {
    calls: Vec<String>,
    next: u32,
    data: Vec<Vec<u8>>,
    down: bool,
}

impl Rec {
    fn id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }
}

impl Board for Rec {
    fn send_input(&mut self, text: &str) -> Result<(), String> {
        if self.down {
            return Err("the station is not connected to the board".into());
        }
        self.calls.push(format!("input {text}"));
        Ok(())
    }
    fn interrupt(&mut self) -> Result<(), String> {
        self.calls.push("interrupt".into());
        Ok(())
    }
    fn soft_reset(&mut self) -> Result<(), String> {
        self.calls.push("reset".into());
        Ok(())
    }
    fn run(&mut self, code: &str, label: &str) -> Result<(), String> {
        self.calls.push(format!("run {label}: {code}"));
        Ok(())
    }
    fn put(&mut self, name: &str, data: Vec<u8>) -> Result<TransferId, String> {
        self.calls.push(format!("put {name} {}", data.len()));
        self.data.push(data);
        Ok(TransferId(self.id()))
    }
    fn get(&mut self, name: &str) -> Result<TransferId, String> {
        if self.down {
            return Err("the station is not connected to the board".into());
        }
        self.calls.push(format!("get {name}"));
        Ok(TransferId(self.id()))
    }
    fn fs(&mut self, op: FsOp) -> Result<FsId, String> {
        self.calls.push(format!("fs {op:?}"));
        Ok(FsId(self.id()))
    }
    fn cancel_fs(&mut self, ids: &[FsId]) {
        self.calls.push(format!("cancel {ids:?}"));
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsId, TransferId), String> {
        self.calls.push(format!("upload {path} {}", data.len()));
        let id = self.id();
        Ok((FsId(id), TransferId(id)))
    }
}

fn config(yaml: &str) -> StationConfig {
    parse_station_config(&format!(
        "websocket: ws://localhost:8765/ws://10.0.0.2:8266\n{yaml}"
    ))
}

fn station(yaml: &str) -> Station {
    Station::new(config(yaml), "Station A", 0)
}

/// Everything the station wants sent, drained.
fn sent(st: &mut Station) -> Vec<RoomMessage> {
    let mut out = vec![];
    while let Some(o) = st.poll_output() {
        if let StationOutput::Send(m) = o {
            out.push(m);
        }
    }
    out
}

fn all(st: &mut Station) -> Vec<StationOutput> {
    std::iter::from_fn(|| st.poll_output()).collect()
}

fn msg(st: &mut Station, b: &mut Rec, from: &str, role: Option<Role>, m: RoomMessage) {
    let subject = m.subject();
    st.handle_message(0, from, role, subject, Ok(m), b);
}

const S: Option<Role> = Some(Role::Student);
const T: Option<Role> = Some(Role::Teacher);

#[test]
fn input_policy_decides_who_types() {
    let mut b = Rec::default();
    let mut st = station("input: teacher");
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Input {
            text: "1+1\r".into(),
        },
    );
    msg(
        &mut st,
        &mut b,
        "tina",
        T,
        RoomMessage::Input { text: "2\r".into() },
    );
    msg(
        &mut st,
        &mut b,
        "tina",
        T,
        RoomMessage::Key { key: Key::Stop },
    );
    msg(
        &mut st,
        &mut b,
        "nobody",
        None,
        RoomMessage::Run { code: "x".into() },
    );
    assert_eq!(b.calls, vec!["input 2\r", "interrupt"]);
    let out = sent(&mut st);
    assert_eq!(out.len(), 2);
    assert!(
        matches!(&out[0], RoomMessage::Refused { to, reason } if to == "bob" && reason.contains("teachers"))
    );
    assert!(matches!(&out[1], RoomMessage::Refused { to, .. } if to == "nobody"));
    // View only: nobody but the station types.
    let mut st = station("input: none");
    msg(
        &mut st,
        &mut b,
        "tina",
        T,
        RoomMessage::Key { key: Key::Reset },
    );
    assert!(!b.calls.contains(&"reset".to_owned()));
    let mut st = station("");
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Key { key: Key::Reset },
    );
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Run {
            code: "print(1)".into(),
        },
    );
    assert_eq!(&b.calls[2..], ["reset", "run bob: print(1)"]);
    // Keys for a station that is not connected are not dropped silently.
    sent(&mut st);
    b.down = true;
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Input { text: "x".into() },
    );
    assert!(
        matches!(&sent(&mut st)[..], [RoomMessage::Refused { reason, .. }] if reason.contains("not sent") && reason.contains("not connected"))
    );
}

#[test]
fn own_messages_and_replies_of_others_are_ignored() {
    let mut b = Rec::default();
    let mut st = station("");
    msg(
        &mut st,
        &mut b,
        "Station A",
        Some(Role::Station),
        RoomMessage::Input { text: "x".into() },
    );
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Output {
            seq: 9,
            text: "x".into(),
        },
    );
    assert!(b.calls.is_empty());
    assert!(sent(&mut st).is_empty());
}

#[test]
fn unreadable_requests_are_answered_with_the_cause() {
    let mut b = Rec::default();
    let mut st = station("");
    st.handle_message(
        0,
        "bob",
        S,
        "webrepl:key",
        Err("unknown variant `boom`".into()),
        &mut b,
    );
    st.handle_message(0, "bob", S, "webrepl:output", Err("bad".into()), &mut b);
    let out = sent(&mut st);
    assert_eq!(
        out.len(),
        1,
        "only requests to the station are answered: {out:?}"
    );
    assert!(
        matches!(&out[0], RoomMessage::Refused { reason, .. } if reason.contains("webrepl:key") && reason.contains("boom"))
    );
}
