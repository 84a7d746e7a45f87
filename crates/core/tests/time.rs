//! The session's time never goes backwards: a caller whose clock steps back (two clocks, a
//! late timer) cannot shorten a deadline.

use webrepl_core::{Event, Password, Session, SessionConfig};

#[test]
fn a_clock_stepping_back_does_not_shorten_the_login_deadline() {
    let cfg = SessionConfig::default();
    let limit = cfg.login_timeout_ms;
    let mut s = Session::new(cfg, Password::new("secret").ok(), 0);
    s.handle_open(10_000);
    // The prompt arrives stamped by a clock that is behind.
    s.handle_text(b"Password: ", 5);
    s.handle_timeout(5 + limit + 1);
    let events: Vec<Event> = std::iter::from_fn(|| s.poll_event()).collect();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Closed(_))),
        "timed out by the stale clock: {events:?}"
    );
    assert_eq!(s.poll_timeout(), Some(10_000 + limit));
}
