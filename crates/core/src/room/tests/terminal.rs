//! The shared terminal: flood control, time that only moves forward, the backlog merge, status.

use super::*;
use proptest::prelude::*;

#[test]
fn flood_control_and_monotonic_time() {
    let mut b = Rec::default();
    let mut st = station("");
    let line = "x".repeat(99) + "\n";
    let mut now = 0;
    let mut room = 0usize;
    for _ in 0..10_000 {
        st.output(now, &line); // 1 MB in 5 s
        now += 1;
        if st.poll_timeout().is_some_and(|t| t <= now) {
            st.handle_timeout(now);
        }
        for m in sent(&mut st) {
            if let RoomMessage::Output { text, .. } = m {
                assert!(text.len() <= 16 * 1024 + 200);
                room += text.len();
            }
        }
    }
    assert!(room < 64 * 1024 * 12, "the room got {room} bytes in 10 s");
    // A clock that goes back does not move the station back: no message before 50 ms after the last.
    st.handle_timeout(now + 100);
    sent(&mut st);
    st.output(5, "late");
    st.handle_timeout(10);
    assert!(
        sent(&mut st).is_empty(),
        "time went backwards and a message went out early"
    );
    st.handle_timeout(now + 200);
    let out = sent(&mut st);
    assert!(
        matches!(&out[..], [RoomMessage::Output { text, .. }] if text.ends_with("late")),
        "{out:?}"
    );
    let _ = &mut b;
}

#[test]
fn hello_gets_the_backlog_and_retry_gives_up_after_three() {
    let mut b = Rec::default();
    let mut st = station("");
    st.output(0, "one");
    st.handle_timeout(0);
    let mut v = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
    let live = sent(&mut st);
    msg(&mut st, &mut b, "bob", S, v.join());
    let backlog = sent(&mut st);
    assert_eq!(
        backlog,
        vec![RoomMessage::Backlog {
            seq: 1,
            text: "one".into(),
            to: "bob".into()
        }]
    );
    for m in live.into_iter().chain(backlog) {
        v.handle_message(m);
    }
    assert_eq!(v.poll_event(), Some(ViewerEvent::Write("one".into())));
    assert_eq!(v.poll_event(), None, "shown once");
    // A station that never answers: live output after three tries.
    let mut v = Viewer::new("amy", Role::Student, InputPolicy::Everyone);
    v.handle_message(RoomMessage::Output {
        seq: 4,
        text: "four".into(),
    });
    assert_eq!(v.retry(1), Some(RoomMessage::Hello {}));
    assert_eq!(v.retry(2), Some(RoomMessage::Hello {}));
    assert_eq!(v.poll_event(), None);
    assert_eq!(v.retry(3), None);
    assert_eq!(v.poll_event(), Some(ViewerEvent::Write("four".into())));
    v.handle_message(RoomMessage::Output {
        seq: 4,
        text: "four".into(),
    });
    v.handle_message(RoomMessage::Backlog {
        seq: 9,
        text: "late".into(),
        to: "amy".into(),
    });
    v.handle_message(RoomMessage::Backlog {
        seq: 9,
        text: "not mine".into(),
        to: "bob".into(),
    });
    assert_eq!(v.poll_event(), None);
}

#[test]
fn input_is_checked_before_it_leaves_the_viewer() {
    let v = Viewer::new("bob", Role::Student, InputPolicy::Teacher);
    assert!(v.input("x").unwrap_err().contains("teachers"));
    assert!(v.key(Key::Stop).is_err());
    assert!(v.run("x").is_err());
    let v = Viewer::new("tina", Role::Teacher, InputPolicy::Teacher);
    assert_eq!(v.input("x"), Ok(RoomMessage::Input { text: "x".into() }));
}

#[test]
fn status_reaches_message_state_and_viewer() {
    let mut st = station("");
    let s = Status {
        state: "error".into(),
        text: "Not connected".into(),
        url: "ws://x".into(),
        version: String::new(),
        problem: "the proxy is not running".into(),
    };
    st.status(s.clone());
    let out = all(&mut st);
    assert_eq!(
        out[0],
        StationOutput::SetState(RoomState::Status(s.clone()))
    );
    assert_eq!(RoomState::Status(s.clone()).key(), "webrepl.status");
    let mut v = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
    let StationOutput::Send(m) = out[1].clone() else {
        panic!()
    };
    v.handle_message(m);
    assert_eq!(
        v.poll_event(),
        Some(ViewerEvent::Status {
            state: "error".into(),
            text: "Station: Not connected".into(),
            version: String::new()
        })
    );
    assert_eq!(
        v.poll_event(),
        Some(ViewerEvent::Message(
            "Station: the proxy is not running".into()
        ))
    );
}

proptest! {
    /// However live output and the backlog interleave, a newcomer sees every output once, in order.
    #[test]
    fn backlog_merge_shows_everything_once(n in 1usize..30, join in 0usize..30, late in 0usize..10) {
        let join = join.min(n);
        let mut st = station("");
        let mut b = Rec::default();
        let mut outputs = vec![];
        let mut t = 0;
        let mut backlog = None;
        for i in 1..=n {
            st.output(t, &format!("<{i}>"));
            t += 50;
            st.handle_timeout(t);
            outputs.extend(sent(&mut st));
            if i == join {
                msg(&mut st, &mut b, "bob", S, RoomMessage::Hello {});
                backlog = sent(&mut st).pop();
            }
        }
        if join == 0 {
            // Joined before any output: the backlog is empty.
            backlog = Some(RoomMessage::Backlog { seq: 0, text: String::new(), to: "bob".into() });
        }
        let mut v = Viewer::new("bob", Role::Student, InputPolicy::Everyone);
        // The viewer hears live output from just before it joined; the backlog may arrive `late`
        // messages after it was made.
        let first = join.saturating_sub(2);
        let at = (join + late).min(n);
        for m in &outputs[first..at] {
            v.handle_message(m.clone());
        }
        v.handle_message(backlog.unwrap());
        for m in &outputs[at..] {
            v.handle_message(m.clone());
        }
        let shown: String = std::iter::from_fn(|| v.poll_event()).map(|e| match e { ViewerEvent::Write(t) => t, other => panic!("{other:?}") }).collect();
        let want: String = (1..=n).map(|i| format!("<{i}>")).collect();
        prop_assert_eq!(shown, want);
    }
}
