//! Property tests: the session reports the same events however the board's byte streams are
//! cut into frames, and never panics on hostile input.

mod common;
use common::*;
use proptest::prelude::*;
use webrepl_core::utf8::Utf8Stream;
use webrepl_core::{Event, Transmit};

/// The board's two byte streams of a capture, after login: (text bytes, binary bytes).
fn streams(name: &str) -> (Vec<u8>, Vec<u8>) {
    let frames = capture(name);
    let at = frames
        .iter()
        .position(|f| f.op == "text" && f.bytes.windows(17).any(|w| w == b"WebREPL connected"))
        .unwrap();
    let mut text = vec![];
    let mut bin = vec![];
    for f in frames[at + 1..].iter().filter(|f| f.dir == "rx") {
        match f.op.as_str() {
            "text" => text.extend_from_slice(&f.bytes),
            "binary" => bin.extend_from_slice(&f.bytes),
            _ => {}
        }
    }
    (text, bin)
}

/// Normalises events for comparison: output joined, progress dropped (its granularity follows
/// the framing by design), everything else in order.
fn normalise(events: Vec<Event>) -> (String, Vec<Event>) {
    let mut out = String::new();
    let mut rest = vec![];
    for e in events {
        match e {
            Event::Output(o) => out.push_str(&o),
            Event::TransferProgress { .. } => {}
            e => rest.push(e),
        }
    }
    (out, rest)
}

/// Runs a get (or version) of the capture with the binary stream cut at `cuts`, and the text
/// stream cut at `text_cuts`; returns the normalised events. (Acks are not compared: replaying a
/// whole reply at once completes the transfer before the acks are polled. Ack discipline is
/// checked against the captures in `captures.rs`.)
fn run(name: &str, cuts: &[usize], text_cuts: &[usize]) -> (String, Vec<Event>) {
    let frames = capture(name);
    let (text, bin) = streams(name);
    let mut s = logged_in_session(&frames);
    let header = frames
        .iter()
        .find(|f| f.dir == "tx" && f.op == "binary")
        .map(|f| f.bytes.clone());
    match header.as_ref().map(|h| h[2]) {
        Some(2) => {
            let remote = std::str::from_utf8(&header.as_ref().unwrap()[18..])
                .unwrap()
                .trim_end_matches('\0')
                .to_string();
            s.get(&remote).unwrap();
        }
        Some(3) => {
            s.version().unwrap();
        }
        _ => {}
    }
    let mut tx: Vec<Transmit> = std::iter::from_fn(|| s.poll_transmit()).collect();
    for part in split(&bin, cuts) {
        s.handle_binary(part, 5);
        tx.extend(std::iter::from_fn(|| s.poll_transmit()));
    }
    for part in split(&text, text_cuts) {
        s.handle_text(part, 6);
    }
    assert!(tx
        .iter()
        .all(|t| !matches!(t, Transmit::Binary(b) if b.len() > 65535)));
    normalise(drain(&mut s))
}

fn split<'a>(bytes: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut parts = vec![];
    let mut start = 0;
    for c in cuts {
        parts.push(&bytes[start..c]);
        start = c;
    }
    parts.push(&bytes[start..]);
    parts
}

#[test]
fn get_3000_split_at_every_boundary() {
    let (_, bin) = streams("get_3000");
    let whole = run("get_3000", &[], &[]);
    for cut in 0..=bin.len() {
        assert_eq!(run("get_3000", &[cut], &[]), whole, "cut at {cut}");
    }
}

#[test]
fn version_and_small_get_split_at_every_boundary() {
    for name in ["version", "get_small", "get_empty"] {
        let (_, bin) = streams(name);
        let whole = run(name, &[], &[]);
        for a in 0..=bin.len() {
            for b in (a..=bin.len()).step_by(7) {
                assert_eq!(run(name, &[a, b], &[]), whole, "{name} cuts {a},{b}");
            }
        }
    }
}

#[test]
fn terminal_text_split_at_every_boundary() {
    for name in ["invalid_utf8", "repl_print", "raw_repl", "concurrent_a"] {
        let (text, _) = streams(name);
        let whole = run(name, &[], &[]);
        for cut in 0..=text.len() {
            assert_eq!(run(name, &[], &[cut]), whole, "{name} text cut at {cut}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn get_3000_random_reframing(cuts in prop::collection::vec(0usize..4000, 0..40)) {
        prop_assert_eq!(run("get_3000", &cuts, &[]), run("get_3000", &[], &[]));
    }

    #[test]
    fn utf8_stream_equals_lossy_decoding(bytes in prop::collection::vec(any::<u8>(), 0..300), cuts in prop::collection::vec(0usize..300, 0..20)) {
        let mut d = Utf8Stream::new();
        let mut out = String::new();
        for part in split(&bytes, &cuts) {
            d.decode(part, &mut out);
        }
        d.finish(&mut out);
        prop_assert_eq!(out, String::from_utf8_lossy(&bytes).into_owned());
    }

    #[test]
    fn hostile_frames_never_panic(frames in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<u8>(), 0..600)), 0..30), get in any::<bool>()) {
        let cap = capture("login_ok");
        let mut s = logged_in_session(&cap);
        if get { s.get("x").unwrap(); } else { s.put("x", vec![1; 5000]).unwrap(); }
        let _ = s.run_code("print(1)\nprint('ä')", "t");
        let mut t = 10;
        for (is_text, bytes) in frames {
            t += 100;
            if is_text { s.handle_text(&bytes, t) } else { s.handle_binary(&bytes, t) }
            while let Some(x) = s.poll_transmit() {
                if let Transmit::Binary(b) = &x {
                    prop_assert!(b.len() <= 65535);
                }
            }
            s.handle_timeout(t);
        }
        s.handle_timeout(u64::MAX / 2);
        drain(&mut s);
    }
}
