//! Recorded vectors for the get read-ahead: byte streams through `webrepl_core::readahead` and
//! what it answered, in `tests/fixtures/readahead-vectors.json`. The page's socket worker
//! (`www/socket-worker.js`, a port of the same state machine) replays them in
//! `tests/e2e/socket-worker.test.mjs`, so both implementations are held to one behaviour.
//!
//! This test regenerates the vectors and checks the file holds exactly them; after a deliberate
//! change, `UPDATE_VECTORS=1 cargo test -p webrepl-core --test readahead_vectors` rewrites it.

use serde_json::{json, Value};
use webrepl_core::readahead::ReadAhead;
use webrepl_core::transfer::encode_header;

const FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/readahead-vectors.json"
);

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A read-ahead that records every call and its answer.
struct Rec {
    ra: ReadAhead,
    window: usize,
    steps: Vec<Value>,
}

impl Rec {
    fn new(window: usize) -> Rec {
        Rec {
            ra: ReadAhead::new(window),
            window,
            steps: vec![],
        }
    }
    fn client(&mut self, b: &[u8]) -> Vec<u8> {
        let out = self.ra.from_client(b);
        self.steps
            .push(json!({"from": "client", "bytes": hex(b), "send": hex(&out)}));
        out
    }
    fn board(&mut self, b: &[u8]) -> usize {
        let mut passed = Vec::new();
        let to_board = self.ra.from_board(b, &mut passed);
        // At depth 1 (the page's worker): every byte passed on, only acks back.
        assert_eq!(passed, b, "depth 1 passes the board's bytes unchanged");
        assert!(to_board.iter().all(|&x| x == 0), "depth 1 sends only acks");
        let acks = to_board.len();
        self.steps
            .push(json!({"from": "board", "bytes": hex(b), "acks": acks}));
        acks
    }
    fn done(self, name: &str) -> Value {
        json!({"name": name, "window": self.window, "steps": self.steps, "in_get": self.ra.in_get()})
    }
}

fn chunks(file: &[u8], size: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = file
        .chunks(size)
        .map(|c| {
            let mut m = (c.len() as u16).to_le_bytes().to_vec();
            m.extend_from_slice(c);
            m
        })
        .collect();
    out.push(vec![0, 0, b'W', b'B', 0, 0]);
    out
}

/// A get where the client acks `lag` chunks late (as the Rust unit test plays it).
fn get_with_lag(window: usize, lag: usize, len: usize) -> Value {
    let file: Vec<u8> = (0..len as u32).map(|i| (i * 31) as u8).collect();
    let mut r = Rec::new(window);
    r.client(&encode_header(2, 0, "f.bin"));
    let mut board_out: std::collections::VecDeque<_> = chunks(&file, 256).into();
    let mut in_flight = vec![b"WB\x00\x00".to_vec()];
    let (mut pending, mut unanswered) = (0usize, 0usize);
    loop {
        for frame in std::mem::take(&mut in_flight) {
            unanswered += r.board(&frame);
            if frame == b"WB\x00\x00" || frame[..2] != [0, 0] {
                pending += 1;
            }
        }
        while pending > lag || (unanswered == 0 && pending > 0) {
            pending -= 1;
            unanswered += r.client(&[0]).len();
        }
        if unanswered > 0 {
            if let Some(c) = board_out.pop_front() {
                unanswered -= 1;
                in_flight.push(c);
                continue;
            }
        }
        if in_flight.is_empty() && (board_out.is_empty() || unanswered == 0) {
            break;
        }
    }
    r.done(&format!(
        "get {len} B, window {window}, page acks {lag} chunks late"
    ))
}

/// A small deterministic generator (xorshift), so the vectors are the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes cut into random pieces (sizes 1..=max).
fn cut(r: &mut Rng, b: &[u8], max: usize) -> Vec<Vec<u8>> {
    let mut out = vec![];
    let mut i = 0;
    while i < b.len() {
        let n = (1 + r.below(max)).min(b.len() - i);
        out.push(b[i..i + n].to_vec());
        i += n;
    }
    out
}

/// Puts and gets in a row, every stream cut at random places; the client acks in lumps.
fn mixed(seed: u64, window: usize) -> Value {
    let mut rng = Rng(seed);
    let mut r = Rec::new(window);
    for op in 0..4 {
        if rng.below(2) == 0 {
            // A put whose data holds zeros and a get header.
            let mut data = vec![0u8; rng.below(300)];
            data.extend_from_slice(&encode_header(2, 0, "x"));
            let mut stream = encode_header(1, data.len() as u32, &format!("p{op}")).to_vec();
            stream.extend_from_slice(&data);
            for p in cut(&mut rng, &stream, 120) {
                r.client(&p);
            }
            for p in cut(&mut rng, b"WB\x00\x00WB\x00\x00", 3) {
                r.board(&p);
            }
        } else {
            let len = rng.below(1500);
            let file: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            for p in cut(&mut rng, &encode_header(2, 0, &format!("g{op}")), 50) {
                r.client(&p);
            }
            let mut stream = b"WB\x00\x00".to_vec();
            let size = 1 + rng.below(256);
            for c in chunks(&file, size) {
                stream.extend_from_slice(&c);
            }
            let mut acks_owed = 0usize;
            for p in cut(&mut rng, &stream, 400) {
                r.board(&p);
                acks_owed += 1;
                if rng.below(3) == 0 {
                    r.client(&vec![0; acks_owed.min(1 + rng.below(4))]);
                    acks_owed = 0;
                }
            }
            if acks_owed > 0 {
                r.client(&vec![0; acks_owed]);
            }
        }
    }
    r.done(&format!(
        "puts and gets cut at random places, seed {seed}, window {window}"
    ))
}

fn vectors() -> Value {
    let mut v = vec![];
    for (window, lag) in [(0, 0), (1, 0), (4, 0), (4, 3), (4, 50), (64, 10)] {
        v.push(get_with_lag(window, lag, 3000));
    }
    v.push(get_with_lag(8, 2, 0));
    // A board reply split at every byte.
    let mut stream = b"WB\x00\x00".to_vec();
    for i in 0..3u8 {
        stream.extend_from_slice(&[3, 0, i, i, i]);
    }
    stream.extend_from_slice(&[0, 0, b'W', b'B', 0, 0]);
    for cut_at in [0, 1, 3, 4, 5, 6, 9, 12, 19, 21, stream.len()] {
        let mut r = Rec::new(100);
        r.client(&encode_header(2, 0, "f"));
        r.board(&stream[..cut_at]);
        r.board(&stream[cut_at..]);
        v.push(r.done(&format!("a board reply split at byte {cut_at}")));
    }
    // Put data that looks like acks and a get header.
    let mut r = Rec::new(8);
    let mut data = vec![0u8; 100];
    data.extend_from_slice(&encode_header(2, 0, "x"));
    r.client(&encode_header(1, data.len() as u32, "p.bin"));
    r.client(&data[..50]);
    r.client(&data[50..]);
    r.board(b"WB\x00\x00");
    v.push(r.done("put data that looks like acks and a get header"));
    for seed in 1..=12u64 {
        v.push(mixed(seed * 0x9E37_79B9, [0, 1, 2, 256][seed as usize % 4]));
    }
    Value::Array(v)
}

#[test]
fn the_recorded_vectors_are_what_the_rust_read_ahead_does() {
    let mut want = serde_json::to_string_pretty(&vectors()).unwrap();
    want.push('\n');
    if std::env::var_os("UPDATE_VECTORS").is_some() {
        std::fs::write(FILE, &want).unwrap();
    }
    let have = std::fs::read_to_string(FILE).unwrap_or_else(|e| {
        panic!("{FILE}: {e}; make it with UPDATE_VECTORS=1 cargo test -p webrepl-core --test readahead_vectors")
    });
    assert!(
        have == want,
        "{FILE} is not what the read-ahead does now; if the change is meant, rerun with UPDATE_VECTORS=1"
    );
}
