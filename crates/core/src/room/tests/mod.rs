//! The room's station and viewer together against a recording board: policies, relays and the
//! upload cap here; the shared terminal in `terminal.rs`; property tests of the policies in
//! `props.rs`.

use super::message::*;
use super::parts::{MAX_RELAY, PART};
use super::*;
use crate::station::{InputPolicy, Role};
use crate::{Entry, EntryKind, Event, FsId, FsOp, FsReply, FsState, TransferId, TransferOutcome};

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

#[test]
fn teacher_put_in_parts_reaches_the_board_whole() {
    let mut b = Rec::default();
    let mut st = station("");
    let mut v = Viewer::new("tina", Role::Teacher, InputPolicy::Everyone);
    let data: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let (id, parts) = v.put("/lib/x.bin", &data).unwrap();
    assert_eq!(parts.len(), 3);
    for p in parts {
        msg(&mut st, &mut b, "tina", T, p);
    }
    assert_eq!(b.calls, vec!["put /lib/x.bin 40000"]);
    assert_eq!(b.data[0], data);
    let tid = TransferId(1);
    st.handle_event(
        5,
        &Event::TransferProgress {
            id: tid,
            done: 100,
            total: Some(40_000),
        },
        &mut b,
    );
    let done = Event::TransferDone {
        id: tid,
        outcome: TransferOutcome::Put {
            name: "/lib/x.bin".into(),
            size: 40_000,
        },
    };
    assert!(
        st.handle_event(6, &done, &mut b),
        "a relayed transfer is not the station's own"
    );
    let out = all(&mut st);
    assert!(
        out.contains(&StationOutput::SetState(RoomState::Transfer(Some(
            TransferState {
                name: "/lib/x.bin".into(),
                done: 100,
                total: Some(40_000),
                by: "tina".into()
            }
        ))))
    );
    assert!(out.contains(&StationOutput::SetState(RoomState::Transfer(None))));
    let replies: Vec<_> = out
        .into_iter()
        .filter_map(|o| match o {
            StationOutput::Send(m) => Some(m),
            _ => None,
        })
        .collect();
    for m in replies {
        v.handle_message(m);
    }
    let states: Vec<_> = std::iter::from_fn(|| v.poll_event())
        .filter_map(|e| match e {
            ViewerEvent::Transfer {
                id: i,
                state,
                get: false,
                ..
            } if i == id => Some(state),
            _ => None,
        })
        .collect();
    assert_eq!(
        states,
        vec![XferState::Queued, XferState::Active, XferState::Done]
    );
    // The station's own transfers are its own.
    assert!(!st.handle_event(
        7,
        &Event::TransferProgress {
            id: TransferId(99),
            done: 1,
            total: None
        },
        &mut b
    ));
}

#[test]
fn students_put_only_safely_and_where_the_file_policy_allows() {
    let mut b = Rec::default();
    let mut st = station("student_dir: /students");
    let mut v = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
    assert!(v.put("/x.py", b"x").unwrap_err().contains("only teachers"));
    // A plain put from a student (an old client) is refused at the station too.
    msg(
        &mut st,
        &mut b,
        "bob",
        S,
        RoomMessage::Put {
            id: RelayId(1),
            name: "/x.py".into(),
            index: 0,
            last: true,
            chunk: vec![1],
            safe: false,
        },
    );
    // Outside their folder.
    let (_, parts) = v.upload("/main.py", b"x").unwrap();
    for p in parts {
        msg(&mut st, &mut b, "bob", S, p);
    }
    // Inside it.
    let (ok, parts) = v.upload("/students/bob/a.py", b"print(1)").unwrap();
    for p in parts {
        msg(&mut st, &mut b, "bob", S, p);
    }
    assert_eq!(b.calls, vec!["upload /students/bob/a.py 8"]);
    st.handle_event(
        1,
        &Event::Fs {
            id: FsId(1),
            state: FsState::Done(FsReply::Done),
        },
        &mut b,
    );
    for m in sent(&mut st) {
        v.handle_message(m);
    }
    let ev: Vec<_> = std::iter::from_fn(|| v.poll_event()).collect();
    let failed_fs = ev
        .iter()
        .filter(|e| {
            matches!(
                e,
                ViewerEvent::Fs {
                    state: FsState::Failed(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        failed_fs, 1,
        "the refused safe upload fails its file command: {ev:?}"
    );
    assert!(ev.contains(&ViewerEvent::Fs {
        id: ok,
        state: FsState::Done(FsReply::Done)
    }));
    assert!(ev.iter().any(|e| matches!(e, ViewerEvent::Transfer { state: XferState::Failed, text, .. } if text.contains("only teachers"))));
}

#[test]
fn uploads_over_4_mb_are_refused_on_both_sides() {
    let mut b = Rec::default();
    let mut st = station("");
    let mut v = Viewer::new("tina", Role::Teacher, InputPolicy::Everyone);
    assert!(v
        .upload("/big", &vec![0; MAX_RELAY + 1])
        .unwrap_err()
        .contains("4 MB"));
    // A client that does not check: the station stops at the cap.
    let chunk = vec![0u8; PART];
    for i in 0..=(MAX_RELAY / PART) as u32 {
        msg(
            &mut st,
            &mut b,
            "tina",
            T,
            RoomMessage::Put {
                id: RelayId(1),
                name: "/big".into(),
                index: i,
                last: false,
                chunk: chunk.clone(),
                safe: true,
            },
        );
    }
    assert!(b.calls.is_empty());
    let out = sent(&mut st);
    assert!(out.iter().any(|m| matches!(m, RoomMessage::Xfer { state: XferState::Failed, text, .. } if text.contains("4 MB"))));
    assert!(
        out.iter().any(|m| matches!(
            m,
            RoomMessage::Fsr {
                state: FsrState::Failed,
                ..
            }
        )),
        "the panel's upload fails too"
    );
}

#[test]
fn gets_check_who_may_read_and_arrive_in_parts() {
    let mut b = Rec::default();
    let mut st = station("");
    let mut v = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
    let (_, m) = v.get("webrepl_cfg.py");
    msg(&mut st, &mut b, "bob", S, m);
    assert!(
        b.calls.is_empty(),
        "the password file is not read for students"
    );
    let (id, m) = v.get("/data.bin");
    msg(&mut st, &mut b, "bob", S, m);
    assert_eq!(b.calls, vec!["get /data.bin"]);
    let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7) as u8).collect();
    st.handle_event(
        1,
        &Event::TransferDone {
            id: TransferId(1),
            outcome: TransferOutcome::Get {
                name: "/data.bin".into(),
                data: data.clone(),
            },
        },
        &mut b,
    );
    let out = sent(&mut st);
    assert_eq!(
        out.iter().filter(|m| m.subject() == "webrepl:file").count(),
        4
    );
    for m in out {
        v.handle_message(m);
    }
    let ev: Vec<_> = std::iter::from_fn(|| v.poll_event()).collect();
    assert!(ev.iter().any(|e| matches!(e, ViewerEvent::Transfer { state: XferState::Failed, text, .. } if text.contains("password"))));
    assert!(ev.contains(&ViewerEvent::Download {
        id,
        name: "/data.bin".into(),
        data
    }));
    assert!(ev.iter().any(|e| matches!(e, ViewerEvent::Transfer { id: i, get: true, state: XferState::Done, .. } if *i == id)));
    // A board that is not there: said at once.
    b.down = true;
    let (_, m) = v.get("/x");
    msg(&mut st, &mut b, "bob", S, m);
    assert!(sent(&mut st).iter().any(|m| matches!(m, RoomMessage::Xfer { state: XferState::Failed, text, .. } if text.contains("not connected"))));
}

#[test]
fn file_commands_are_checked_relayed_and_cancelled_per_user() {
    let mut b = Rec::default();
    let mut st = station("protect: [boot.py, /lib]");
    let mut bob = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
    let mut tina = Viewer::new("tina", Role::Teacher, InputPolicy::Everyone);
    let (list, m) = bob.fs(&FsOp::List { dir: "/".into() }).unwrap();
    msg(&mut st, &mut b, "bob", S, m);
    let (_, m) = bob
        .fs(&FsOp::Remove {
            path: "/lib/x.py".into(),
        })
        .unwrap();
    msg(&mut st, &mut b, "bob", S, m);
    let (_, m) = bob
        .fs(&FsOp::Rename {
            from: "/a.py".into(),
            to: "/boot.py".into(),
        })
        .unwrap();
    msg(&mut st, &mut b, "bob", S, m);
    let (_, m) = tina
        .fs(&FsOp::Remove {
            path: "/lib/x.py".into(),
        })
        .unwrap();
    msg(&mut st, &mut b, "tina", T, m);
    let (_, m) = bob.fs(&FsOp::List { dir: "/".into() }).unwrap();
    msg(&mut st, &mut b, "nobody", None, m);
    assert_eq!(b.calls.len(), 2, "{:?}", b.calls);
    let entries = vec![
        Entry {
            name: "lib".into(),
            kind: EntryKind::Dir,
            size: 0,
        },
        Entry {
            name: "a.py".into(),
            kind: EntryKind::File,
            size: 12,
        },
    ];
    st.handle_event(
        1,
        &Event::Fs {
            id: FsId(1),
            state: FsState::WaitingForPrompt,
        },
        &mut b,
    );
    st.handle_event(
        1,
        &Event::Fs {
            id: FsId(1),
            state: FsState::Done(FsReply::Listing(entries.clone())),
        },
        &mut b,
    );
    msg(&mut st, &mut b, "bob", S, bob.cancel_fs());
    msg(&mut st, &mut b, "tina", T, tina.cancel_fs());
    assert_eq!(&b.calls[2..], ["cancel []", "cancel [FsId(2)]"]);
    let out = sent(&mut st);
    let refused: Vec<_> = out
        .iter()
        .filter(|m| {
            matches!(
                m,
                RoomMessage::Fsr {
                    state: FsrState::Failed,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(refused.len(), 3, "{out:?}");
    for m in out {
        bob.handle_message(m);
    }
    let ev: Vec<_> = std::iter::from_fn(|| bob.poll_event()).collect();
    assert!(ev.contains(&ViewerEvent::Fs {
        id: list,
        state: FsState::WaitingForPrompt
    }));
    assert!(ev.contains(&ViewerEvent::Fs {
        id: list,
        state: FsState::Done(FsReply::Listing(entries))
    }));
    assert_eq!(ev.len(), 4, "bob sees his own replies only: {ev:?}");
    assert!(bob.fs(&FsOp::Digest { paths: vec![] }).is_err());
}

#[test]
fn execute_projects_follow_the_file_policy() {
    let mut b = Rec::default();
    let mut st = station("student_dir: /students");
    let body = Body::Text(r#"{"file": {"main.py": "import lib", "lib.py": "X=1"}}"#.into());
    st.handle_execute(0, "bob", S, &body, &mut b);
    assert_eq!(b.calls.len(), 1, "digests first: {:?}", b.calls);
    assert!(b.calls[0].contains("/students/bob/lib.py"), "{:?}", b.calls);
    let mut st = station("");
    let body = Body::Text(r#"{"file": {"main.py": "import boot", "boot.py": "X=1"}}"#.into());
    st.handle_execute(0, "bob", S, &body, &mut b);
    assert_eq!(b.calls.len(), 1, "nothing runs");
    let out = all(&mut st);
    assert!(out
        .iter()
        .any(|o| matches!(o, StationOutput::Notice(t) if t.contains("was not run"))));
    st.handle_execute(0, "", None, &Body::Text("print(1)".into()), &mut b);
    assert_eq!(b.calls[1], "run someone: print(1)");
    st.handle_execute(0, "bob", S, &Body::Other("a number".into()), &mut b);
    assert!(sent(&mut st)
        .iter()
        .any(|m| matches!(m, RoomMessage::Refused { reason, .. } if reason.contains("not code"))));
}
