//! Unit tests of [`super`] (`station.rs`).

use super::*;

#[test]
fn students_cannot_touch_protected_paths_teachers_can() {
    let p = FilePolicy::default();
    let s = Some(Role::Student);
    assert!(p.may_change(s, "ann", &["/main.py"], false).is_err());
    assert!(
        p.may_change(s, "ann", &["/"], false).is_err(),
        "a folder holding one"
    );
    assert!(p.may_change(s, "ann", &["/lib/x.py"], false).is_ok());
    assert!(
        p.may_change(s, "ann", &["/x.py", "/boot.py"], false)
            .is_err(),
        "rename onto"
    );
    assert!(p
        .may_change(Some(Role::Teacher), "t", &["/main.py"], false)
        .is_ok());
    assert!(p
        .may_change(Some(Role::Station), "st", &["/"], false)
        .is_ok());
    assert!(p.may_change(None, "x", &["/a"], false).is_err());
    let lib = FilePolicy {
        protect: vec!["/lib".into()],
        student_dir: None,
    };
    assert!(
        lib.may_change(s, "ann", &["/lib/a.py"], false).is_err(),
        "inside"
    );
    assert!(lib.may_change(s, "ann", &["/library.py"], false).is_ok());
}

#[test]
fn students_work_in_their_own_folder() {
    let p = FilePolicy {
        student_dir: Some("/students".into()),
        ..FilePolicy::default()
    };
    let s = Some(Role::Student);
    assert_eq!(
        p.student_folder("Ann Lee").as_deref(),
        Some("/students/Ann_Lee")
    );
    assert_eq!(
        p.student_folder("../..").as_deref(),
        Some("/students/student")
    );
    assert!(p
        .may_change(s, "Ann Lee", &["/students/Ann_Lee"], true)
        .is_ok());
    assert!(p
        .may_change(s, "Ann Lee", &["/students/Ann_Lee"], false)
        .is_err());
    assert!(p
        .may_change(s, "Ann Lee", &["/students/Ann_Lee/a.py"], false)
        .is_ok());
    assert!(p
        .may_change(s, "Ann Lee", &["/students/Bob/a.py"], false)
        .is_err());
    assert!(p.may_change(s, "Ann Lee", &["/a.py"], false).is_err());
    assert!(p.may_read(s, "/students/Bob/a.py").is_ok());
    assert!(p.may_read(s, PASSWORD_FILE).is_err());
    assert!(p.may_read(Some(Role::Teacher), PASSWORD_FILE).is_ok());
}

#[test]
fn policy() {
    assert_eq!(InputPolicy::parse("Teacher"), Ok(InputPolicy::Teacher));
    assert!(InputPolicy::parse("admins")
        .unwrap_err()
        .contains("everyone, teacher or none"));
    assert!(InputPolicy::Teacher.check(Some(Role::Student)).is_err());
    assert!(InputPolicy::Teacher.check(Some(Role::Teacher)).is_ok());
    assert!(InputPolicy::None.check(Some(Role::Teacher)).is_err());
    assert!(InputPolicy::None.check(Some(Role::Station)).is_ok());
    assert!(InputPolicy::Everyone.check(Some(Role::Student)).is_ok());
}

#[test]
fn batches_at_most_one_message_per_interval() {
    let mut b = Broadcast::new(BroadcastConfig::default(), 0);
    for _ in 0..100 {
        b.push("x");
    }
    assert_eq!(b.poll_message(0).as_deref(), Some(&*"x".repeat(100)));
    b.push("y");
    assert_eq!(b.poll_message(10), None, "too soon");
    assert_eq!(b.poll_timeout(), Some(50));
    assert_eq!(b.poll_message(50).as_deref(), Some("y"));
    assert_eq!(b.poll_message(200), None, "nothing waiting");
}

#[test]
fn flood_is_limited_and_announced() {
    let mut b = Broadcast::new(BroadcastConfig::default(), 0);
    let mut sent = 0usize;
    let mut notices = 0;
    let mut produced = 0usize;
    // 10 s of 1 MB/s output, polled every 50 ms.
    for step in 0..200u64 {
        let now = step * 50;
        let chunk = "x".repeat(50 * 1024);
        produced += chunk.len();
        b.push(&chunk);
        if let Some(m) = b.poll_message(now) {
            assert!(m.len() <= 16 * 1024 + 200);
            sent += m.len();
            notices += usize::from(m.contains("bytes of output not shown"));
        }
    }
    assert!(sent < 64 * 1024 * 11, "sent {sent}");
    assert!(notices > 0);
    assert!(produced > sent * 10);
}

#[test]
fn after_a_flood_the_room_sees_the_newest_output() {
    let mut b = Broadcast::new(BroadcastConfig::default(), 0);
    let mut last = String::new();
    for step in 0..100u64 {
        b.push(&"x".repeat(50 * 1024));
        if let Some(m) = b.poll_message(step * 50) {
            last = m;
        }
    }
    b.push("Traceback …\r\nKeyboardInterrupt: \r\n>>> ");
    for step in 100..200u64 {
        if let Some(m) = b.poll_message(step * 50) {
            last = m;
        }
    }
    assert!(
        last.ends_with(">>> "),
        "the prompt reached the room: …{}",
        &last[last.len().saturating_sub(80)..]
    );
    assert!(b.poll_timeout().is_none(), "nothing left waiting");
}

#[test]
fn backlog_keeps_the_last_64_kb_on_char_boundaries() {
    let mut b = Broadcast::new(
        BroadcastConfig {
            budget_per_sec: usize::MAX / 4,
            ..Default::default()
        },
        0,
    );
    for i in 0..100u64 {
        b.push(&"ä".repeat(5000));
        b.poll_message(i * 50);
    }
    let back = b.backlog();
    assert!(
        back.len() <= 64 * 1024 && back.len() > 60 * 1024,
        "{}",
        back.len()
    );
    assert!(back.chars().all(|c| c == 'ä'));
}
