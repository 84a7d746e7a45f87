//! Code runs through a session: queueing, the bound on waiting runs, and never leaving the board
//! in paste mode.

mod common;
use common::*;
use webrepl_core::{Event, RunError, RunState, Transmit};

fn texts(s: &mut webrepl_core::Session) -> Vec<String> {
    std::iter::from_fn(|| s.poll_transmit())
        .filter_map(|t| {
            if let Transmit::Text(t) = t {
                Some(t)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn runs_wait_in_a_bounded_queue_and_a_full_queue_says_so() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    let first = s.run_code("print(1)", "alice").unwrap();
    assert_eq!(
        texts(&mut s),
        vec!["\x03"],
        "a run starts by interrupting what runs"
    );
    for i in 0..8 {
        s.run_code(&format!("print({i})"), "bob").unwrap();
    }
    assert_eq!(s.run_code("print(9)", "carol"), Err(RunError::QueueFull(8)));
    assert!(RunError::QueueFull(8)
        .to_string()
        .contains("already waiting"));
    let events = drain(&mut s);
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(
                e,
                Event::Run {
                    state: RunState::Queued,
                    ..
                }
            ))
            .count(),
        8
    );
    // The first run proceeds: prompt, paste banner, echo, Ctrl-D.
    s.handle_text(b"\r\n>>> ", 10);
    assert_eq!(texts(&mut s), vec!["\x05"]);
    s.handle_text(
        b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ",
        11,
    );
    assert_eq!(texts(&mut s), vec!["print(1)\r"]);
    s.handle_text(b"print(1)\r\n=== ", 12);
    let sent = texts(&mut s);
    assert_eq!(sent[0], "\x04", "runs once everything was echoed");
    assert_eq!(sent[1], "\x03", "and the next queued run interrupts it");
    let events = drain(&mut s);
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Run { id, state: RunState::Running, .. } if *id == first)));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Output(o) if o.contains("run from alice"))));
}

#[test]
fn a_timeout_in_paste_mode_cancels_with_ctrl_c() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.run_code("print(1)", "alice").unwrap();
    texts(&mut s);
    s.handle_text(b"\r\n>>> ", 10);
    s.handle_text(
        b"\r\npaste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== ",
        11,
    );
    texts(&mut s);
    // No echo arrives: after the run timeout the session leaves paste mode.
    let due = s.poll_timeout().unwrap();
    s.handle_timeout(due);
    assert_eq!(texts(&mut s), vec!["\x03"]);
    assert!(drain(&mut s).iter().any(|e| matches!(
        e,
        Event::Run {
            state: RunState::Failed(RunError::EchoTimeout(_)),
            ..
        }
    )));
}

#[test]
fn typing_ctrl_c_cancels_a_run_being_sent_and_other_keys_wait() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.run_code("print(1)", "alice").unwrap();
    texts(&mut s);
    s.handle_text(b"\r\n>>> ", 10);
    texts(&mut s);
    s.send_input("x");
    assert!(
        texts(&mut s).is_empty(),
        "keystrokes wait while the code is sent"
    );
    s.send_input("\x03");
    assert_eq!(texts(&mut s), vec!["\x03"]);
    assert!(drain(&mut s).iter().any(|e| matches!(
        e,
        Event::Run {
            state: RunState::Failed(RunError::Cancelled),
            ..
        }
    )));
}

#[test]
fn commands_after_a_quiet_spell_get_fresh_deadlines() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    // 60 s without any frame, then a run and a get.
    s.set_now(60_000);
    s.run_code("print(1)", "alice").unwrap();
    s.get("main.py").unwrap();
    texts(&mut s);
    let due = s.poll_timeout().unwrap();
    assert!(
        due >= 63_000,
        "deadline {due} must start from now, not from the last frame"
    );
    s.handle_timeout(60_500);
    let events = drain(&mut s);
    assert!(
        !events.iter().any(|e| matches!(
            e,
            Event::Run {
                state: RunState::Failed(_),
                ..
            } | Event::Closed(_)
        )),
        "{events:?}"
    );
}
