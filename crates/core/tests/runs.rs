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
        due >= 60_000 + webrepl_core::paste::NUDGE_MS,
        "deadline {due} must start from now, not from the last frame"
    );
    s.handle_timeout(60_500);
    // (The run's Ctrl-B nudge went out at 60.4 s; the run itself is still waiting.)
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

/// A board left in the raw REPL by an earlier client still greets with `>>> `, and there a
/// Ctrl-C prints nothing: the run sends Ctrl-B once after a short silence, which brings the
/// friendly REPL's banner and `>>> `, and the code then goes through paste mode as usual.
#[test]
fn a_board_left_in_the_raw_repl_is_led_back_by_one_ctrl_b() {
    use webrepl_core::paste::NUDGE_MS;
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.set_now(1_000);
    s.run_code("print(1)", "alice").unwrap();
    assert_eq!(texts(&mut s), vec!["\x03"]);
    s.handle_timeout(1_000 + NUDGE_MS - 1);
    assert!(texts(&mut s).is_empty(), "no nudge before {NUDGE_MS} ms");
    s.handle_timeout(1_000 + NUDGE_MS);
    assert_eq!(texts(&mut s), vec!["\x02"]);
    s.handle_timeout(1_000 + 2 * NUDGE_MS);
    assert!(texts(&mut s).is_empty(), "Ctrl-B goes once");
    s.handle_text(
        b"\r\nMicroPython v1.27.0 on 2025-12-10; ESP32 module with ESP32\r\nType \"help()\" for more information.\r\n>>> ",
        1_000 + NUDGE_MS + 5,
    );
    assert_eq!(texts(&mut s), vec!["\x05"], "then paste mode");
    assert!(!drain(&mut s).iter().any(|e| matches!(
        e,
        Event::Run {
            state: RunState::Failed(_),
            ..
        }
    )));
}

#[test]
fn a_prompt_in_time_means_no_ctrl_b() {
    use webrepl_core::paste::NUDGE_MS;
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.set_now(1_000);
    s.run_code("print(1)", "alice").unwrap();
    assert_eq!(texts(&mut s), vec!["\x03"]);
    s.handle_text(b"\r\n>>> ", 1_010);
    assert_eq!(texts(&mut s), vec!["\x05"]);
    s.handle_timeout(1_000 + 2 * NUDGE_MS);
    assert!(texts(&mut s).is_empty(), "no Ctrl-B once the prompt came");
}

/// Closing while a run's code is being pasted cancels paste mode first (Ctrl-C), so the next
/// client does not find the board echoing into a paste buffer.
#[test]
fn closing_during_a_paste_leaves_paste_mode() {
    let frames = capture("login_ok");
    let mut s = logged_in_session(&frames);
    s.run_code("print(1)", "alice").unwrap();
    s.handle_text(b"\r\n>>> ", 10);
    assert_eq!(texts(&mut s), vec!["\x03", "\x05"]);
    s.close();
    let sent: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
    assert_eq!(sent, vec![Transmit::Text("\x03".into()), Transmit::Close]);
}
