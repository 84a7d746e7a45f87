//! Helpers shared by the core's integration tests: capture loading and replay.
#![allow(dead_code)]

pub mod board;

use webrepl_core::{Event, Password, Session, SessionConfig, Transmit};

pub struct Frame {
    pub dir: String,
    pub op: String,
    pub bytes: Vec<u8>,
}

pub fn capture(name: &str) -> Vec<Frame> {
    let path = format!(
        "{}/../../tests/fixtures/captures/{name}.jsonl",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let hex = v["hex"].as_str().unwrap();
            let bytes = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            Frame {
                dir: v["dir"].as_str().unwrap().into(),
                op: v["op"].as_str().unwrap().into(),
                bytes,
            }
        })
        .collect()
}

/// Feeds every received frame; returns every transmit produced along the way.
pub fn replay(s: &mut Session, frames: &[Frame]) -> Vec<Transmit> {
    feed(s, frames.iter())
}

/// Feeds the received frames that come after the login banner.
pub fn replay_after_login(s: &mut Session, frames: &[Frame]) -> Vec<Transmit> {
    let at = frames
        .iter()
        .position(|f| f.op == "text" && f.bytes.windows(17).any(|w| w == b"WebREPL connected"))
        .unwrap();
    feed(s, frames[at + 1..].iter())
}

fn feed<'a>(s: &mut Session, frames: impl Iterator<Item = &'a Frame>) -> Vec<Transmit> {
    let mut tx: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
    let mut now = 10;
    for f in frames.filter(|f| f.dir == "rx") {
        now += 1;
        match f.op.as_str() {
            "text" => s.handle_text(&f.bytes, now),
            "binary" => s.handle_binary(&f.bytes, now),
            // A bare TCP close is what a browser reports as 1006.
            "tcp-close" => s.handle_close(webrepl_core::CloseInfo { code: Some(1006) }, now),
            _ => {}
        }
        tx.extend(std::iter::from_fn(|| s.poll_transmit()));
    }
    tx
}

/// A session logged in with the capture's password (secret123).
pub fn logged_in_session(frames: &[Frame]) -> Session {
    let mut s = Session::new(
        SessionConfig::default(),
        Some(Password::new("secret123").unwrap()),
        0,
    );
    s.handle_open(1);
    for f in frames.iter().filter(|f| f.dir == "rx" && f.op == "text") {
        s.handle_text(&f.bytes, 2);
        if s.is_logged_in() {
            break;
        }
    }
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::Text("secret123\r".into()))
    );
    s
}

pub fn drain(s: &mut Session) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

pub fn output_of(s: &mut Session) -> String {
    drain(s)
        .into_iter()
        .filter_map(|e| {
            if let Event::Output(o) = e {
                Some(o)
            } else {
                None
            }
        })
        .collect()
}
