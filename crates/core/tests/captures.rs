//! Replays the byte-exact recordings of a real MicroPython WebREPL (`tests/fixtures/captures`) through
//! a `Session`: what the session sends must be what the recorded client sent, and what it
//! reports must match what the board did.

mod common;
use common::*;
use webrepl_core::{
    CloseInfo, CloseReason, Event, Password, Session, SessionConfig, TransferError,
    TransferOutcome, Transmit,
};

#[test]
fn login_ok_sends_the_recorded_password_line() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    assert!(s.is_logged_in());
    let out = output_of(&mut s);
    assert!(out.ends_with("WebREPL connected\r\n>>> "), "{out:?}");
    assert!(
        !out.contains("Password"),
        "the prompt is answered, not shown"
    );
}

#[test]
fn denied_login_is_final() {
    let frames = capture("login_denied");
    let mut s = Session::new(
        SessionConfig::default(),
        Some(Password::new("nope").unwrap()),
        0,
    );
    s.handle_open(1);
    let tx = replay(&mut s, &frames);
    assert_eq!(tx[0], Transmit::Text("nope\r".into()));
    let events = drain(&mut s);
    let reason = events.iter().find_map(|e| match e {
        Event::Closed(r) => Some(r.clone()),
        _ => None,
    });
    assert_eq!(reason, Some(CloseReason::AccessDenied));
    assert!(reason.unwrap().is_final());
}

#[test]
fn put_small_and_put_3000_match_the_recorded_frames() {
    for (name, file, data) in [
        (
            "put_small",
            "cap_small.bin",
            (0..100u32).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
        ),
        (
            "put_3000",
            "cap_3000.bin",
            (0..3000u32).map(|i| (i % 251) as u8).collect(),
        ),
        ("put_empty", "cap_empty.bin", vec![]),
    ] {
        let frames = capture(name);
        let recorded: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.dir == "tx" && f.op == "binary")
            .collect();
        let header = &recorded[0].bytes;
        let remote = std::str::from_utf8(&header[18..])
            .unwrap()
            .trim_end_matches('\0')
            .to_string();
        assert_eq!(remote, file, "{name}");
        let mut s = logged_in_session(&frames);
        let id = s.put(&remote, data.clone()).unwrap();
        let tx = replay_after_login(&mut s, &frames);
        let sent: Vec<&Vec<u8>> = tx
            .iter()
            .filter_map(|t| {
                if let Transmit::Binary(b) = t {
                    Some(b)
                } else {
                    None
                }
            })
            .collect();
        let want: Vec<&Vec<u8>> = recorded.iter().map(|f| &f.bytes).collect();
        assert_eq!(sent.len(), want.len(), "{name}: frame count");
        // Header identical byte for byte; data frames same sizes (1024, 1024, 952) and contents.
        for (a, b) in sent.iter().zip(&want) {
            assert_eq!(a, b, "{name}");
        }
        let events = drain(&mut s);
        assert!(
            events.contains(&Event::TransferDone {
                id,
                outcome: TransferOutcome::Put {
                    name: remote.clone(),
                    size: data.len() as u64
                }
            }),
            "{name}: {events:?}"
        );
    }
}

#[test]
fn gets_ack_exactly_once_per_chunk() {
    for name in ["get_small", "get_3000", "get_empty"] {
        let frames = capture(name);
        let recorded: Vec<&Frame> = frames
            .iter()
            .filter(|f| f.dir == "tx" && f.op == "binary")
            .collect();
        let remote = std::str::from_utf8(&recorded[0].bytes[18..])
            .unwrap()
            .trim_end_matches('\0')
            .to_string();
        let mut s = logged_in_session(&frames);
        let id = s.get(&remote).unwrap();
        let tx = replay_after_login(&mut s, &frames);
        let sent: Vec<Vec<u8>> = tx
            .iter()
            .filter_map(|t| {
                if let Transmit::Binary(b) = t {
                    Some(b.clone())
                } else {
                    None
                }
            })
            .collect();
        let want: Vec<Vec<u8>> = recorded.iter().map(|f| f.bytes.clone()).collect();
        assert_eq!(sent, want, "{name}: header then one 00 per chunk");
        let data: Vec<u8> = frames
            .iter()
            .filter(|f| {
                f.dir == "rx" && f.op == "binary" && f.bytes.len() > 2 && &f.bytes[..2] != b"WB"
            })
            .flat_map(|f| f.bytes[2..].to_vec())
            .collect();
        let events = drain(&mut s);
        assert!(
            events.contains(&Event::TransferDone {
                id,
                outcome: TransferOutcome::Get {
                    name: remote.clone(),
                    data
                }
            }),
            "{name}"
        );
    }
}

#[test]
fn get_missing_reports_not_found() {
    let frames = capture("get_missing");
    let mut s = logged_in_session(&frames);
    let id = s.get("no_such_file.txt").unwrap();
    replay_after_login(&mut s, &frames);
    s.handle_close(CloseInfo { code: Some(1006) }, 100);
    let events = drain(&mut s);
    assert!(events.iter().any(|e| matches!(e, Event::TransferFailed { id: i, error: TransferError::NotFound(n), .. } if *i == id && n == "no_such_file.txt")));
    let reason = events
        .iter()
        .find_map(|e| {
            if let Event::Closed(r) = e {
                Some(r.clone())
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(reason, CloseReason::FileNotFound("no_such_file.txt".into()));
    assert!(reason.should_reconnect());
}

#[test]
fn version_reply() {
    let frames = capture("version");
    let mut s = logged_in_session(&frames);
    let id = s.version().unwrap();
    replay_after_login(&mut s, &frames);
    let events = drain(&mut s);
    assert!(events.iter().any(|e| matches!(e, Event::TransferDone { id: i, outcome: TransferOutcome::Version(v) } if *i == id && v.to_string() == "1.29.0")));
}

#[test]
fn concurrent_client_is_told_why() {
    let frames = capture("concurrent");
    let mut s = Session::new(
        SessionConfig::default(),
        Some(Password::new("secret123").unwrap()),
        0,
    );
    s.handle_open(1);
    replay(&mut s, &frames);
    let events = drain(&mut s);
    assert!(
        events.contains(&Event::Closed(CloseReason::Rejected)),
        "{events:?}"
    );
}

#[test]
fn invalid_utf8_output_becomes_replacement_characters() {
    let frames = capture("invalid_utf8");
    let mut s = logged_in_session(&frames);
    replay_after_login(&mut s, &frames);
    let out = output_of(&mut s);
    assert!(out.contains("A\u{fffd}B\u{fffd}5"), "{out:?}");
    assert!(out.contains('✓'));
}

#[test]
fn close_sends_an_empty_close_frame() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.close();
    assert_eq!(s.poll_transmit(), Some(Transmit::Close));
    assert!(drain(&mut s).contains(&Event::Closed(CloseReason::ByUser)));
}

#[test]
fn soft_reset_close_is_expected_and_reconnects() {
    let frames = capture("soft_reset");
    let mut s = logged_in_session(&frames);
    s.soft_reset();
    let tx = replay_after_login(&mut s, &frames);
    assert!(tx.contains(&Transmit::Text("\x03\x04".into())));
    s.handle_close(CloseInfo { code: Some(1006) }, 500);
    let events = drain(&mut s);
    assert!(
        events.contains(&Event::Closed(CloseReason::SoftReset)),
        "{events:?}"
    );
}

#[test]
fn a_local_network_block_ends_a_connecting_session_with_its_own_reason() {
    use webrepl_core::lna::{Embedding, PermissionState::*, Permissions};
    let failed = webrepl_core::FailedConnect {
        page_host: "127.0.0.1".into(),
        page_origin: "http://127.0.0.1:8080".into(),
        target_host: "127.0.0.1".into(),
        target_url: "ws://127.0.0.1:8266/".into(),
        embedding: Embedding::TopLevel,
        permissions: Permissions::from_states(&[Denied, Prompt, Denied]),
        elapsed_ms: 6,
    };
    let block = webrepl_core::diagnose(&failed).expect("blocked");
    let mut s = Session::new(
        SessionConfig::default(),
        Some(Password::new("secret").unwrap()),
        0,
    );
    assert!(s.is_connecting());
    s.handle_local_network_blocked(block.clone(), 6);
    let events = drain(&mut s);
    let reason = events
        .iter()
        .find_map(|e| match e {
            Event::Closed(r) => Some(r.clone()),
            _ => None,
        })
        .expect("closed");
    assert_eq!(reason, CloseReason::LocalNetwork(block.clone()));
    assert!(
        !reason.should_reconnect(),
        "a standalone page waits for the user"
    );
    assert!(reason.to_string().contains("Local Network Access"));
    // Once the session is over (or had opened), a late verdict changes nothing.
    s.handle_local_network_blocked(block, 7);
    assert!(drain(&mut s).is_empty());
}
