//! File reads through the raw REPL (`Session::read`): the exchange as a board answers it, cut at
//! every byte, kept out of the terminal, typing held meanwhile, progress in percent of the size
//! the board announced, and errors that leave the session logged in.

mod common;
use common::*;
use webrepl_core::{
    Event, ReadError, Session, TransferError, TransferKind, TransferOutcome, Transmit,
};

fn texts(s: &mut Session) -> Vec<String> {
    std::iter::from_fn(|| s.poll_transmit())
        .filter_map(|t| match t {
            Transmit::Text(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// A session at a trusted idle prompt.
fn idle_session() -> Session {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.handle_text(b"\r\n>>> ", 5);
    drain(&mut s);
    s
}

fn b64(data: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for g in data.chunks(3) {
        let n = (g[0] as u32) << 16
            | (*g.get(1).unwrap_or(&0) as u32) << 8
            | *g.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= g.len() {
                A[(n >> (18 - 6 * i) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// What the board prints from Ctrl-C Ctrl-A to the friendly prompt, for a read whose script
/// prints `stdout` and raises `stderr`: entering, the definition's empty reply, the call's.
fn board_replies(stdout: &[u8], stderr: &[u8]) -> Vec<Vec<u8>> {
    let mut call = b"OK".to_vec();
    call.extend_from_slice(stdout);
    call.push(4);
    call.extend_from_slice(stderr);
    call.extend_from_slice(b"\x04>");
    vec![
        b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>".to_vec(),
        b"OK\x04\x04>".to_vec(),
        call,
        b"\r\nMicroPython v1.27.0 on 2026-01-01; linux\r\nType \"help()\" for more information.\r\n>>> ".to_vec(),
    ]
}

fn file_output(data: &[u8], eol: &str) -> Vec<u8> {
    let mut out = format!("S {}{eol}", data.len());
    for chunk in data.chunks(1536) {
        out.push_str(&b64(chunk));
        out.push_str(eol);
    }
    out.push_str(eol);
    out.into_bytes()
}

/// Reads `/f.bin` with the board's replies, the call's reply cut at `cut`; returns the events
/// and what was sent.
fn read_with(stdout: &[u8], stderr: &[u8], cut: Option<usize>) -> (Vec<Event>, Vec<String>) {
    let mut s = idle_session();
    let id = s.read("/f.bin").unwrap();
    let mut sent = texts(&mut s);
    let mut now = 10;
    for (i, reply) in board_replies(stdout, stderr).into_iter().enumerate() {
        let at = cut
            .filter(|_| i == 2)
            .map_or(reply.len(), |c| c.min(reply.len()));
        for part in [&reply[..at], &reply[at..]] {
            if !part.is_empty() {
                now += 1;
                s.handle_text(part, now);
            }
        }
        sent.extend(texts(&mut s));
    }
    let events = drain(&mut s);
    assert!(s.is_logged_in(), "the session stays up");
    assert!(
        !events.iter().any(|e| matches!(e, Event::Output(_))),
        "nothing in the terminal: {events:?}"
    );
    let done_or_failed = events.iter().any(|e| {
        matches!(e, Event::TransferDone { id: i, .. } | Event::TransferFailed { id: i, .. } if *i == id)
    });
    assert!(done_or_failed, "{events:?}");
    (events, sent)
}

fn outcome(events: &[Event]) -> Option<Vec<u8>> {
    events.iter().find_map(|e| match e {
        Event::TransferDone {
            outcome: TransferOutcome::Get { name, data },
            ..
        } => {
            assert_eq!(name, "/f.bin");
            Some(data.clone())
        }
        _ => None,
    })
}

fn failure(events: &[Event]) -> Option<TransferError> {
    events.iter().find_map(|e| match e {
        Event::TransferFailed { kind, error, .. } => {
            assert_eq!(
                kind,
                &TransferKind::Get {
                    name: "/f.bin".into()
                }
            );
            Some(error.clone())
        }
        _ => None,
    })
}

#[test]
fn a_read_is_one_streamed_script_hidden_from_the_terminal() {
    let data: Vec<u8> = (0..5000u32).map(|i| (i % 256) as u8).collect();
    let (events, sent) = read_with(&file_output(&data, "\r\n"), b"", None);
    assert_eq!(outcome(&events), Some(data));
    assert_eq!(sent[0], "\x03\x01");
    assert!(sent[1].starts_with("def _w(p,n,e,t):") && sent[1].ends_with('\x04'));
    assert_eq!(
        sent[2],
        "try:_w('/f.bin',1536,__import__('binascii').b2a_base64,b'')\nfinally:del _w\n\x04"
    );
    assert_eq!(sent[3], "\x02", "back to the friendly REPL");
    assert_eq!(sent.len(), 4, "no acks, no round trip per chunk");
    // Progress counts towards the announced size.
    let last = events.iter().rev().find_map(|e| match e {
        Event::TransferProgress { done, total, .. } => Some((*done, *total)),
        _ => None,
    });
    assert_eq!(last, Some((5000, Some(5000))));
}

#[test]
fn the_same_file_however_the_output_is_cut() {
    let data: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    for eol in ["\r\n", "\n"] {
        let out = file_output(&data, eol);
        let reply_len = out.len() + 6;
        for cut in 0..=reply_len {
            let (events, _) = read_with(&out, b"", Some(cut));
            assert_eq!(outcome(&events).as_deref(), Some(&data[..]), "cut at {cut}");
        }
    }
}

#[test]
fn a_missing_file_is_an_error_and_the_session_stays() {
    let tb = b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 1, in <module>\r\n  File \"<stdin>\", line 4, in _w\r\nOSError: [Errno 2] ENOENT\r\n";
    let (events, _) = read_with(b"", tb, None);
    let err = failure(&events).unwrap();
    assert_eq!(err.to_string(), "/f.bin: no such file or folder");
    assert!(!events.iter().any(|e| matches!(e, Event::Closed(_))));
}

#[test]
fn a_folder_and_a_short_file_are_errors() {
    let (events, _) = read_with(b"D\r\n", b"", None);
    assert_eq!(
        failure(&events),
        Some(TransferError::Read(ReadError::IsDir("/f.bin".into())))
    );
    let mut out = file_output(&[1, 2, 3, 4], "\r\n");
    out[2] = b'9'; // "S 9"
    let (events, _) = read_with(&out, b"", None);
    assert_eq!(
        failure(&events),
        Some(TransferError::Read(ReadError::SizeMismatch {
            path: "/f.bin".into(),
            got: 4,
            want: 9
        }))
    );
}

#[test]
fn typing_waits_for_the_read_and_ctrl_c_cancels_it() {
    let mut s = idle_session();
    let id = s.read("/f.bin").unwrap();
    assert_eq!(texts(&mut s), vec!["\x03\x01"]);
    s.send_input("print(1)\r");
    assert!(texts(&mut s).is_empty(), "typing waits");
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 6);
    s.handle_text(b"OK\x04\x04>", 7);
    assert_eq!(texts(&mut s).len(), 2, "definition and call");
    s.handle_text(b"OKS 100000\r\nAAAA", 8);
    s.send_input("\x03");
    assert_eq!(texts(&mut s), vec!["\x03\x02"]);
    let events = drain(&mut s);
    assert!(events.contains(&Event::TransferFailed {
        id,
        kind: TransferKind::Get {
            name: "/f.bin".into()
        },
        error: TransferError::Cancelled
    }));
    s.handle_text(b"AAAA\x04Traceback\r\nKeyboardInterrupt: \r\n\x04>", 9);
    s.handle_text(
        b"\r\nMicroPython v1.27.0\r\nType \"help()\" for more information.\r\n>>> ",
        10,
    );
    assert!(!drain(&mut s).iter().any(|e| matches!(e, Event::Output(_))));
    s.send_input("print(2)\r");
    assert_eq!(texts(&mut s), vec!["print(2)\r"]);
}

#[test]
fn a_lost_link_fails_the_read_with_what_arrived() {
    let mut s = idle_session();
    let id = s.read("/f.bin").unwrap();
    texts(&mut s);
    s.handle_text(b"\r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>", 6);
    s.handle_text(b"OK\x04\x04>", 6);
    s.handle_text(b"OKS 6\r\nAAEC", 7);
    s.handle_close(webrepl_core::CloseInfo { code: Some(1006) }, 8);
    let events = drain(&mut s);
    assert!(events.contains(&Event::TransferFailed {
        id,
        kind: TransferKind::Get {
            name: "/f.bin".into()
        },
        error: TransferError::ConnectionLost {
            name: "/f.bin".into(),
            done: 3
        }
    }));
}
