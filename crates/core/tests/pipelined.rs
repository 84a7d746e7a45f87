//! Gets with acks in flight (`webrepl_core::getahead`) against a model of the board's binary side
//! (`common/board.rs`), straight from a session and through the proxy's read-ahead: the file
//! arrives whole, at most `depth` acks are ever in flight, the left-over acks are resynced so
//! the board ends ready for the next header, and the next operations work — however the board's
//! stream is cut into frames. Through the read-ahead the client sees exactly a plain get.

mod common;
use common::board::Board;
use common::drain;
use proptest::prelude::*;
use webrepl_core::readahead::ReadAhead;
use webrepl_core::{Event, Password, Session, SessionConfig, TransferOutcome, Transmit};

fn session(depth: usize) -> Session {
    let config = SessionConfig {
        get_depth: depth,
        ..SessionConfig::default()
    };
    let mut s = Session::new(config, Some(Password::new("secret123").unwrap()), 0);
    s.handle_open(1);
    s.handle_text(b"Password: ", 2);
    assert_eq!(
        s.poll_transmit(),
        Some(Transmit::Text("secret123\r".into()))
    );
    s.handle_text(b"\r\nWebREPL connected\r\n>>> ", 3);
    assert!(s.is_logged_in());
    drain(&mut s);
    s
}

fn file(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// What a plain get of `data` puts on the wire from the board.
fn plain_get_stream(data: &[u8]) -> Vec<u8> {
    let mut s = b"WB\0\0".to_vec();
    for c in data.chunks(256) {
        s.extend_from_slice(&(c.len() as u16).to_le_bytes());
        s.extend_from_slice(c);
    }
    s.extend_from_slice(&[0, 0, b'W', b'B', 0, 0]);
    s
}

/// A session and a board, straight or through a read-ahead (`window`, depth 3).
struct Rig {
    s: Session,
    board: Board,
    proxy: Option<ReadAhead>,
    /// Board bytes not yet delivered, and how many were.
    pending: Vec<u8>,
    delivered: usize,
    /// What the session received.
    client_saw: Vec<u8>,
    /// Acks sent to the board (messages of up to 3 zeros), and the most ever in flight.
    acks: usize,
    most_in_flight: usize,
    /// The session's binary messages, held back `lag` messages (a slow client).
    held: std::collections::VecDeque<Vec<u8>>,
    lag: usize,
}

impl Rig {
    fn new(depth: usize, proxy_window: Option<usize>, lag: usize) -> Rig {
        let mut board = Board::new();
        board.files.insert("f.bin".into(), vec![]);
        Rig {
            s: session(depth),
            board,
            proxy: proxy_window.map(|w| ReadAhead::with_depth(w, 3)),
            pending: vec![],
            delivered: 0,
            client_saw: vec![],
            acks: 0,
            most_in_flight: 0,
            held: Default::default(),
            lag,
        }
    }

    fn client_sends(&mut self, b: Vec<u8>) {
        let b = match self.proxy.as_mut() {
            Some(p) => p.from_client(&b),
            None => b,
        };
        self.send_to_board(&b);
    }

    fn send_to_board(&mut self, m: &[u8]) {
        if !m.is_empty() && m.len() <= 3 && m.iter().all(|&b| b == 0) {
            self.acks += m.len();
            let answered = self
                .board
                .chunk_ends
                .iter()
                .filter(|&&e| e <= self.delivered)
                .count();
            self.most_in_flight = self.most_in_flight.max(self.acks - answered);
        }
        self.board.feed(m);
    }

    /// Moves bytes both ways until nothing moves; the board's stream is cut at `cuts`
    /// (offsets in everything the board sends from now on). Returns the events.
    fn run(&mut self, cuts: &[usize]) -> Vec<Event> {
        let base = self.board.sent;
        // In flight from here: acks beyond the chunks so far (left-over ones became a header).
        self.acks = self.board.chunk_ends.len();
        self.most_in_flight = 0;
        let mut now = 10;
        loop {
            while let Some(t) = self.s.poll_transmit() {
                if let Transmit::Binary(b) = t {
                    self.held.push_back(b);
                }
            }
            while self.held.len() > self.lag {
                let b = self.held.pop_front().unwrap_or_default();
                self.client_sends(b);
            }
            self.pending.extend(self.board.take());
            if self.pending.is_empty() {
                // Nothing else moves: the slow client catches up.
                match self.held.pop_front() {
                    Some(b) => self.client_sends(b),
                    None => break,
                }
                continue;
            }
            let at = self.delivered - base;
            let n = cuts
                .iter()
                .filter(|&&c| c > at)
                .map(|&c| c - at)
                .min()
                .unwrap_or(usize::MAX)
                .min(self.pending.len());
            let piece: Vec<u8> = self.pending.drain(..n).collect();
            self.delivered += n;
            now += 1;
            let piece = match self.proxy.as_mut() {
                Some(p) => {
                    let mut pass = vec![];
                    let back = p.from_board(&piece, &mut pass);
                    self.send_to_board(&back);
                    pass
                }
                None => piece,
            };
            self.client_saw.extend_from_slice(&piece);
            self.s.handle_binary(&piece, now);
        }
        drain(&mut self.s)
            .into_iter()
            .filter(|e| matches!(e, Event::TransferDone { .. } | Event::TransferFailed { .. }))
            .collect()
    }
}

fn outcome(events: &[Event]) -> Option<&TransferOutcome> {
    match events {
        [Event::TransferDone { outcome, .. }] => Some(outcome),
        _ => None,
    }
}

/// A get of `len` bytes at `depth` (through a read-ahead with `window` if given), the board's
/// stream cut at `cuts`. Checks everything a get must hold and returns the rig for more.
fn get(len: usize, depth: usize, window: Option<usize>, cuts: &[usize]) -> Rig {
    get_lagging(len, depth, window, 0, cuts)
}

/// As [`get`], the client's messages held back `lag` messages.
fn get_lagging(len: usize, depth: usize, window: Option<usize>, lag: usize, cuts: &[usize]) -> Rig {
    let data = file(len);
    let mut r = Rig::new(depth, window, lag);
    r.board.files.insert("f.bin".into(), data.clone());
    r.s.get("f.bin").unwrap();
    let events = r.run(cuts);
    let what = format!("{len} bytes, depth {depth}, window {window:?}, lag {lag}, cuts {cuts:?}");
    match outcome(&events) {
        Some(TransferOutcome::Get { data: got, .. }) => assert!(got == &data, "{what}: data"),
        _ => panic!("{what}: {events:?}"),
    }
    let board_depth = if window.is_some() { 3 } else { depth };
    assert!(
        r.most_in_flight <= board_depth,
        "{what}: {} in flight",
        r.most_in_flight
    );
    assert!(
        r.board.is_idle(),
        "{what}: the board is not ready for a header"
    );
    // Left over: depth − 1 acks after a full last chunk (or an empty file), depth − 2 after a
    // short one; each left-over set is resynced with one version request. (Through the
    // read-ahead a small window can hold acks back until none are left over.)
    if window.is_none() {
        let over = if len.is_multiple_of(256) {
            depth - 1
        } else {
            depth.saturating_sub(2)
        };
        assert_eq!(r.board.versions, usize::from(over > 0), "{what}");
    } else {
        assert!(r.board.versions <= 1, "{what}");
        if window >= Some(256) {
            assert_eq!(r.board.versions, 1, "{what}");
        }
    }
    if window.is_some() {
        assert!(
            r.client_saw == plain_get_stream(&data),
            "{what}: the client saw more than a get"
        );
    }
    r
}

const SIZES: [usize; 10] = [0, 1, 255, 256, 257, 512, 513, 768, 1024, 2560];

#[test]
fn a_get_split_at_every_boundary_is_whole_and_leaves_the_board_ready() {
    for depth in [1, 2, 3] {
        for len in SIZES {
            let whole = get(len, depth, None, &[]).board.sent;
            for cut in 0..=whole {
                get(len, depth, None, &[cut]);
            }
        }
    }
}

#[test]
fn through_the_read_ahead_split_at_every_boundary_the_client_sees_a_plain_get() {
    for window in [1, 3, 256] {
        for len in SIZES {
            let whole = get(len, 1, Some(window), &[]).board.sent;
            for cut in 0..=whole {
                get(len, 1, Some(window), &[cut]);
            }
        }
    }
}

#[test]
fn through_the_read_ahead_a_slow_client_holds_the_board_back_and_its_late_acks_are_dropped() {
    for window in [1, 2, 4, 256] {
        for lag in [1, 3, 50] {
            for len in [0, 255, 256, 3000, 2560] {
                for cut in [0, 4, 7, 300, 1000] {
                    let r = get_lagging(len, 1, Some(window), lag, &[cut]);
                    let what = format!("window {window}, lag {lag}, {len} bytes, cut {cut}");
                    // Never more than three in flight; the client's late acks (some after the
                    // get's end) never reach the board: the next operations work.
                    assert!(r.most_in_flight <= 3, "{what}");
                    next_operations_work(r, &what);
                }
            }
        }
    }
}

#[test]
fn through_the_read_ahead_gets_in_a_row_stay_pipelined() {
    // The acks left over (never matched by the client's) must not count against the window.
    let mut r = Rig::new(1, Some(4), 0);
    r.board.files.insert("f.bin".into(), file(3000));
    for i in 0..8 {
        r.s.get("f.bin").unwrap();
        assert!(matches!(
            outcome(&r.run(&[])),
            Some(TransferOutcome::Get { .. })
        ));
        assert_eq!(r.most_in_flight, 3, "get {i}");
    }
    assert_eq!(r.board.versions, 8);
}

#[test]
fn a_pipelined_get_keeps_three_acks_in_flight_while_chunks_come_full() {
    let r = get(64 * 1024 + 1, 3, None, &[]);
    assert_eq!(r.most_in_flight, 3);
    // 257 chunks and the empty one; the last data chunk is short: one ack left over.
    assert_eq!(r.board.chunk_ends.len(), 258);
    assert_eq!(r.acks, 259);
    let r = get(64 * 1024 + 1, 1, Some(256), &[]);
    assert_eq!(
        r.most_in_flight, 3,
        "the read-ahead keeps three in flight too"
    );
}

/// The operations after a get on the same session: a put, a get, the version, a get again.
fn next_operations_work(mut r: Rig, what: &str) {
    let data = file(700);
    r.s.put("p.bin", data.clone()).unwrap();
    assert!(
        matches!(
            outcome(&r.run(&[])),
            Some(TransferOutcome::Put { size: 700, .. })
        ),
        "{what}: put"
    );
    assert!(
        r.board.files.get("p.bin") == Some(&data),
        "{what}: put data"
    );
    r.s.get("p.bin").unwrap();
    match outcome(&r.run(&[5])) {
        Some(TransferOutcome::Get { data: got, .. }) => assert!(got == &data, "{what}: get"),
        e => panic!("{what}: second get {e:?}"),
    }
    r.s.version().unwrap();
    match outcome(&r.run(&[])) {
        Some(TransferOutcome::Version(v)) => assert_eq!(v.to_string(), "1.27.0", "{what}"),
        e => panic!("{what}: version {e:?}"),
    }
    r.s.get("f.bin").unwrap();
    assert!(
        matches!(outcome(&r.run(&[])), Some(TransferOutcome::Get { .. })),
        "{what}: get again"
    );
    assert!(r.board.is_idle() && !r.board.dropped, "{what}");
}

#[test]
fn the_next_operations_after_a_pipelined_get_work() {
    for len in [0, 100, 256, 3000] {
        for cut in [0, 3, 4, 6, 100] {
            next_operations_work(
                get(len, 3, None, &[cut]),
                &format!("direct {len} cut {cut}"),
            );
            next_operations_work(
                get(len, 1, Some(256), &[cut]),
                &format!("proxied {len} cut {cut}"),
            );
        }
    }
}

#[test]
fn queued_operations_behind_a_pipelined_get_wait_for_its_resync() {
    // Queued at once: the put's header must not go before the version reply is in.
    let mut r = Rig::new(3, None, 0);
    r.board.files.insert("f.bin".into(), file(300));
    r.s.get("f.bin").unwrap();
    r.s.put("q.bin", vec![9; 10]).unwrap();
    r.s.version().unwrap();
    let events = r.run(&[]);
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(
        matches!(&events[0], Event::TransferDone { outcome: TransferOutcome::Get { data, .. }, .. } if data == &file(300))
    );
    assert!(matches!(
        &events[1],
        Event::TransferDone {
            outcome: TransferOutcome::Put { size: 10, .. },
            ..
        }
    ));
    assert!(matches!(
        &events[2],
        Event::TransferDone {
            outcome: TransferOutcome::Version(_),
            ..
        }
    ));
    assert_eq!(r.board.files.get("q.bin"), Some(&vec![9; 10]));
    assert_eq!(r.board.versions, 2, "the resync's and ours");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_size_any_framing(len in 0usize..3000, depth in 1usize..=3, proxied in any::<bool>(), cuts in prop::collection::vec(0usize..3100, 0..30)) {
        // Through the read-ahead the client acks one chunk at a time (it reads ahead itself).
        let (depth, window) = if proxied { (1, Some(256)) } else { (depth, None) };
        next_operations_work(get(len, depth, window, &cuts), &format!("{len} {depth} {window:?} {cuts:?}"));
    }
}
