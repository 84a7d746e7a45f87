//! The room's file traffic against a recording board: puts in parts, safe uploads, the 4 MB
//! cap, gets, file commands and `execute` projects, each checked against the file policy.

use super::*;

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
