//! File operations through the session: the raw-REPL exchange as a board answers it (the
//! capture `raw_repl` shows the framing), kept out of the terminal, with the same events however
//! the board's replies are cut into frames; typing held and Ctrl-C honoured meanwhile; the login
//! banner's prompt probed before use; safe uploads committed only after the put.

mod common;
use common::*;
use proptest::prelude::*;
use webrepl_core::{Entry, EntryKind, Event, FsError, FsOp, FsReply, FsState, Session, Transmit};

fn texts(s: &mut Session) -> Vec<String> {
    std::iter::from_fn(|| s.poll_transmit())
        .filter_map(|t| match t {
            Transmit::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// What a board prints for one listing, from the probe's answer to the final prompt.
fn board_replies(listing: &[u8]) -> Vec<Vec<u8>> {
    let mut reply = b"OK".to_vec();
    reply.extend_from_slice(listing);
    reply.extend_from_slice(b"\x04\x04>");
    vec![
        b"\r\n>>> ".to_vec(),
        b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>".to_vec(),
        reply,
        b"\r\nMicroPython v1.27.0 on 2026-01-01; linux\r\nType \"help()\" for more information.\r\n>>> ".to_vec(),
    ]
}

const LISTING: &[u8] = b"D 0 6c6962\r\nF 12 6d61696e2e7079\r\nF 3 c3a4\r\n";

fn expected() -> FsReply {
    FsReply::Listing(vec![
        Entry {
            name: "lib".into(),
            kind: EntryKind::Dir,
            size: 0,
        },
        Entry {
            name: "main.py".into(),
            kind: EntryKind::File,
            size: 12,
        },
        Entry {
            name: "ä".into(),
            kind: EntryKind::File,
            size: 3,
        },
    ])
}

/// Logs in, asks for a listing of `/`, and plays the board's side with each reply cut at
/// `cuts` (offsets into the joined replies). Returns the events and what was sent.
fn list_with_cuts(cuts: &[usize]) -> (Vec<Event>, Vec<String>) {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    drain(&mut s);
    let id = s.fs(FsOp::List { dir: "/".into() }).unwrap();
    let mut sent = texts(&mut s);
    let replies = board_replies(LISTING);
    let mut now = 100;
    for reply in replies {
        let mut start = 0;
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (reply.len() + 1)).collect();
        points.push(reply.len());
        points.sort_unstable();
        for p in points {
            if p > start {
                now += 1;
                s.handle_text(&reply[start..p], now);
                start = p;
            }
        }
        sent.extend(texts(&mut s));
    }
    let events = drain(&mut s);
    assert!(events.contains(&Event::Fs {
        id,
        state: FsState::Done(expected())
    }));
    (events, sent)
}

#[test]
fn a_listing_is_hidden_from_the_terminal_and_leaves_the_prompt() {
    let (events, sent) = list_with_cuts(&[]);
    assert_eq!(sent[0], "\r", "the login banner's prompt is probed first");
    assert_eq!(sent[1], "\x03\x01");
    assert!(sent[2].starts_with("def _w(p):") && sent[2].ends_with("\x04"));
    assert!(sent[2].contains("try:_w('/')\nfinally:del _w\n"));
    assert_eq!(sent[3], "\x02");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Output(_))),
        "{events:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn the_same_listing_however_the_replies_are_cut(cuts in proptest::collection::vec(0usize..200, 0..12)) {
        let (events, sent) = list_with_cuts(&cuts);
        let (want_events, want_sent) = list_with_cuts(&[]);
        prop_assert_eq!(events, want_events);
        prop_assert_eq!(sent, want_sent);
    }
}

#[test]
fn every_split_of_the_raw_reply_gives_the_same_result() {
    let whole = list_with_cuts(&[]);
    for at in 0..80 {
        assert_eq!(list_with_cuts(&[at]), whole, "cut at {at}");
    }
}

#[test]
fn typing_is_held_during_a_file_command_and_ctrl_c_cancels_it() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"\r\n>>> ", 5); // a prompt after a line break: trusted
    drain(&mut s);
    let id = s.fs(FsOp::Remove { path: "/x".into() }).unwrap();
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
    s.send_input("print(1)\r");
    assert!(texts(&mut s).is_empty(), "typing waits");
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 6);
    assert_eq!(texts(&mut s).len(), 1, "the script");
    s.send_input("\x03");
    assert_eq!(texts(&mut s), vec!["\x03\x02"]);
    assert!(drain(&mut s).contains(&Event::Fs {
        id,
        state: FsState::Failed(FsError::Cancelled)
    }));
    s.handle_text(b"OK\x04Traceback\r\nKeyboardInterrupt: \r\n\x04>", 7);
    s.handle_text(
        b"\r\nMicroPython v1.27.0\r\nType \"help()\" for more information.\r\n>>> ",
        8,
    );
    // Ctrl-C dropped what was typed, as it would at the prompt; nothing reached the terminal.
    assert!(texts(&mut s).is_empty());
    assert!(!drain(&mut s).iter().any(|e| matches!(e, Event::Output(_))));
    // The terminal is the user's again.
    s.send_input("print(2)\r");
    assert_eq!(texts(&mut s), vec!["print(2)\r"]);
}

#[test]
fn a_program_running_at_login_is_not_interrupted() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    drain(&mut s);
    let id = s.fs(FsOp::List { dir: "/".into() }).unwrap();
    assert_eq!(texts(&mut s), vec!["\r"], "a probe, not Ctrl-C");
    s.handle_text(b"tick 1\r\n", 10);
    assert!(drain(&mut s).contains(&Event::Fs {
        id,
        state: FsState::WaitingForPrompt
    }));
    s.handle_text(b"tick 2\r\n", 20);
    assert!(
        texts(&mut s).is_empty(),
        "nothing sent while the program runs"
    );
    // The user stops it; the listing goes ahead.
    s.interrupt();
    assert_eq!(texts(&mut s), vec!["\x03"]);
    s.handle_text(
        b"Traceback (most recent call last):\r\nKeyboardInterrupt: \r\n>>> ",
        30,
    );
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
}

/// Logs in, asks for a listing, and lets the probe's Enter go unanswered: the probe then sends
/// Ctrl-B. Returns the session, the listing's id and the time.
fn probe_met_by_silence() -> (Session, webrepl_core::FsId, u64) {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    drain(&mut s);
    let id = s.fs(FsOp::List { dir: "/".into() }).unwrap();
    assert_eq!(texts(&mut s), vec!["\r"]);
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    assert_eq!(
        texts(&mut s),
        vec!["\x02"],
        "silence: maybe the raw REPL, which Ctrl-B leaves"
    );
    assert!(drain(&mut s).is_empty());
    (s, id, t)
}

/// A program's output (even without a line break) answering the probe's Enter settles it:
/// busy, shown in the terminal, and no second Enter for the program.
#[test]
fn program_output_answering_the_probe_means_busy_once() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    drain(&mut s);
    let id = s.fs(FsOp::List { dir: "/".into() }).unwrap();
    assert_eq!(texts(&mut s), vec!["\r"]);
    s.handle_text(b"waiting", 11);
    s.handle_text(b" more", 12);
    assert!(texts(&mut s).is_empty(), "no second probe");
    let events = drain(&mut s);
    let shown: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Output(t) => Some(t.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(shown, "waiting more");
    assert!(events.contains(&Event::Fs {
        id,
        state: FsState::WaitingForPrompt
    }));
}

#[test]
fn a_silent_program_at_login_is_detected_by_the_probe_timing_out() {
    let (mut s, id, _) = probe_met_by_silence();
    let t = s.poll_timeout().unwrap();
    s.handle_timeout(t);
    assert!(drain(&mut s).contains(&Event::Fs {
        id,
        state: FsState::WaitingForPrompt
    }));
    assert!(texts(&mut s).is_empty());
}

/// An earlier client left the board in the raw REPL (its link was cut mid-listing): the login
/// banner still says `>>> `, the Enter gets no echo, the Ctrl-B brings the friendly banner,
/// and the listing then runs — nothing of it in the terminal.
#[test]
fn a_board_left_in_the_raw_repl_is_found_and_led_back() {
    let (mut s, id, t) = probe_met_by_silence();
    s.handle_text(
        b"\r\nMicroPython v1.27.0 on 2025-12-10; ESP32 module with ESP32\r\n",
        t + 5,
    );
    s.handle_text(b"Type \"help()\" for more information.\r\n>>> ", t + 6);
    assert_eq!(
        texts(&mut s),
        vec!["\x03\x01"],
        "into the raw REPL for the listing"
    );
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", t + 7);
    assert_eq!(texts(&mut s).len(), 1, "the script");
    s.handle_text(b"OKF 9 b'6d61696e2e7079'\r\n\x04\x04>", t + 8);
    assert_eq!(texts(&mut s), vec!["\x02"]);
    s.handle_text(b"\r\nMicroPython v1.27.0 on 2025-12-10; ESP32 module with ESP32\r\nType \"help()\" for more information.\r\n>>> ", t + 9);
    let events = drain(&mut s);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Fs { id: i, state: FsState::Done(_) } if *i == id)),
        "{events:?}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Output(_))),
        "nothing in the terminal: {events:?}"
    );
}

#[test]
fn a_safe_upload_commits_only_after_the_put() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"\r\n>>> ", 5);
    drain(&mut s);
    let (id, transfer) = s.upload("main.py", b"print(1)\n".to_vec()).unwrap();
    let header = match s.poll_transmit() {
        Some(Transmit::Binary(h)) => h,
        other => panic!("{other:?}"),
    };
    let name = String::from_utf8_lossy(&header[18..]);
    assert!(name.starts_with("/.webrepl-"), "{name}");
    assert!(
        texts(&mut s).is_empty(),
        "no commit before the data is on the board"
    );
    s.handle_binary(b"WB\x00\x00", 6);
    let _data = s.poll_transmit();
    s.handle_binary(b"WB\x00\x00", 7);
    let events = drain(&mut s);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::TransferDone { id, .. } if *id == transfer)));
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 8);
    // The commit script is long: its definition and its call go as two commands.
    let def = texts(&mut s).concat();
    assert!(def.starts_with("def _w(t,p,n):"), "{def}");
    s.handle_text(b"OK\x04\x04>", 9);
    let call = texts(&mut s).concat();
    assert!(call.contains("'/main.py',9)"), "{call}");
    s.handle_text(b"OK\x04\x04>", 9);
    s.handle_text(b"\r\nMicroPython\r\n>>> ", 10);
    assert!(drain(&mut s).contains(&Event::Fs {
        id,
        state: FsState::Done(FsReply::Done)
    }));
}

#[test]
fn bad_paths_and_long_names_are_refused_before_anything_is_sent() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    drain(&mut s);
    assert!(matches!(
        s.fs(FsOp::Remove {
            path: "/a/../b".into()
        }),
        Err(FsError::BadPath(..))
    ));
    let long = format!("/{}", "ü".repeat(32));
    assert!(matches!(
        s.upload(&long, vec![1]),
        Err(FsError::NameTooLong(_, 65))
    ));
    assert!(texts(&mut s).is_empty());
    assert!(s.poll_transmit().is_none());
}

#[test]
fn cancel_turns_a_waiting_commit_into_removing_its_temporary_file() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"tick\r\n", 5); // a program runs: the commit will wait
    drain(&mut s);
    let (id, _) = s.upload("/main.py", b"x".to_vec()).unwrap();
    let _header = s.poll_transmit();
    s.handle_binary(b"WB\x00\x00", 6);
    let _data = s.poll_transmit();
    s.handle_binary(b"WB\x00\x00", 7);
    drain(&mut s);
    s.cancel_fs();
    assert!(drain(&mut s).contains(&Event::Fs {
        id,
        state: FsState::Failed(FsError::Cancelled)
    }));
    // Once the board is back at its prompt, the temporary file goes.
    s.handle_text(b">>> ", 8);
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 9);
    let script = texts(&mut s).concat();
    assert!(
        script.contains("os.remove(p)") && script.contains("/.webrepl-"),
        "{script}"
    );
    assert!(!script.contains("main.py"), "{script}");
}

#[test]
fn cancelling_by_id_leaves_other_peoples_operations_waiting() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"tick\r\n", 5); // a program runs: both wait
    drain(&mut s);
    let a = s.fs(FsOp::List { dir: "/".into() }).unwrap();
    let b = s.fs(FsOp::Remove { path: "/x".into() }).unwrap();
    drain(&mut s);
    s.cancel_fs_ids(&[b]);
    let events = drain(&mut s);
    assert!(events.contains(&Event::Fs {
        id: b,
        state: FsState::Failed(FsError::Cancelled)
    }));
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Fs { id, .. } if *id == a)));
    s.handle_text(b">>> ", 6);
    assert_eq!(texts(&mut s), vec!["\x03\x01"], "the other one goes ahead");
}

/// Closing in the middle of a file operation leads the board out of the raw REPL first.
#[test]
fn closing_during_a_file_operation_leaves_the_raw_repl() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"\r\n>>> ", 5);
    drain(&mut s);
    s.fs(FsOp::List { dir: "/".into() }).unwrap();
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 6);
    assert_eq!(texts(&mut s).len(), 1, "the script");
    s.close();
    let sent: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
    assert_eq!(sent, vec![Transmit::Text("\x02".into()), Transmit::Close]);
}
