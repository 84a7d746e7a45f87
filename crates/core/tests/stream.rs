//! A session over a byte stream (a serial port) against a small scripted board: a put through
//! raw-paste windows and a get of escaped bytes, byte-identical, with the board's output cut at
//! every size and at random places.

use proptest::prelude::*;

#[path = "common/bytes.rs"]
mod bytes;
use bytes::{noise, unescape};
use webrepl_core::{Event, Session, SessionConfig, TransferOutcome, Transmit};

/// Enough of a MicroPython REPL for puts and gets: friendly prompt, raw REPL, raw-paste with a
/// 128-byte window (a 256-byte buffer), files in memory.
#[derive(Default)]
struct Board {
    mode: u8, // 0 friendly, 1 raw, 2 raw-paste
    line: Vec<u8>,
    remain: usize,
    file: Vec<u8>,
    stored: Option<Vec<u8>>,
    out: Vec<u8>,
}

impl Board {
    fn input(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match self.mode {
                0 => match b {
                    b'\r' => self.out.extend_from_slice(b"\r\n>>> "),
                    1 => {
                        self.mode = 1;
                        self.line.clear();
                        self.out
                            .extend_from_slice(b"\r\nraw REPL; CTRL-B to exit\r\n>");
                    }
                    _ => {}
                },
                1 => match b {
                    1 if self.line == [5, b'A'] => {
                        self.line.clear();
                        self.mode = 2;
                        self.remain = 128;
                        self.out.extend_from_slice(&[b'R', 1, 128, 0, 1]);
                    }
                    2 => {
                        self.mode = 0;
                        self.out
                            .extend_from_slice(b"\r\nMicroPython v1.27.0\r\n>>> ");
                    }
                    3 => self.line.clear(),
                    4 => {
                        self.out.extend_from_slice(b"OK");
                        let script = std::mem::take(&mut self.line);
                        self.run(&script);
                    }
                    _ => self.line.push(b),
                },
                _ => {
                    if b == 4 {
                        self.mode = 1;
                        self.out.push(4);
                        let script = std::mem::take(&mut self.line);
                        self.run(&script);
                        continue;
                    }
                    self.line.push(b);
                    self.remain -= 1;
                    if self.remain == 0 {
                        self.remain = 128;
                        self.out.push(1);
                    }
                }
            }
        }
    }

    fn run(&mut self, script: &[u8]) {
        let text = String::from_utf8_lossy(script);
        let mut stdout = Vec::new();
        if text.starts_with("_f=open(") {
            self.file.clear();
        } else if let Some(body) = script.strip_prefix(b"_w(b'") {
            self.file.extend(unescape(&body[..body.len() - 2]));
        } else if text.starts_with("_f.close()") {
            self.stored = Some(std::mem::take(&mut self.file));
        } else if text.starts_with("try:_w(") {
            let data = self.stored.clone().unwrap_or_default();
            stdout.extend_from_slice(format!("S {}\r\n", data.len()).as_bytes());
            for chunk in data.chunks(4096) {
                for &b in chunk {
                    match b {
                        0x10 => stdout.extend_from_slice(&[0x10, b'0']),
                        b'\n' => stdout.extend_from_slice(&[0x10, b'1']),
                        b'\r' => stdout.extend_from_slice(&[0x10, b'2']),
                        4 => stdout.extend_from_slice(&[0x10, b'3']),
                        _ => stdout.push(b),
                    }
                }
                stdout.extend_from_slice(b"\r\n");
            }
            stdout.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(&stdout);
        self.out.extend_from_slice(b"\x04\x04>");
    }
}

/// Runs the session against the board, handing board output over in pieces cut by `cut`.
fn exchange(data: &[u8], mut cut: impl FnMut() -> usize) -> Vec<u8> {
    let mut board = Board::default();
    let mut s = Session::new_stream(SessionConfig::default(), 0);
    s.handle_open(0);
    let mut put = None;
    let mut got = None;
    let mut pending: Vec<u8> = Vec::new();
    for step in 0..2_000_000u64 {
        while let Some(t) = s.poll_transmit() {
            match t {
                Transmit::Text(t) => board.input(t.as_bytes()),
                Transmit::Binary(b) => board.input(&b),
                Transmit::Close => {}
            }
        }
        pending.append(&mut board.out);
        while let Some(e) = s.poll_event() {
            match e {
                Event::LoggedIn => put = Some(s.put("/d.bin", data.to_vec()).expect("put")),
                Event::TransferDone {
                    outcome: TransferOutcome::Put { size, .. },
                    ..
                } => {
                    assert_eq!(size, data.len() as u64);
                    s.get("/d.bin").expect("get");
                }
                Event::TransferDone {
                    outcome: TransferOutcome::Get { data, .. },
                    ..
                } => got = Some(data),
                Event::TransferFailed { error, .. } => panic!("{error}"),
                _ => {}
            }
        }
        if got.is_some() {
            break;
        }
        if !pending.is_empty() {
            let n = cut().clamp(1, pending.len());
            let piece: Vec<u8> = pending.drain(..n).collect();
            s.handle_text(&piece, step);
        }
    }
    assert!(put.is_some());
    got.expect("the get finished")
}

#[test]
fn put_and_get_survive_every_cut_size() {
    let data = noise(9_000, 0x2545_f491_4f6c_dd1d);
    for size in 1..=40 {
        assert!(exchange(&data, || size) == data, "cut size {size}");
    }
}

#[test]
fn every_byte_value_round_trips() {
    let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    assert!(exchange(&data, || 1) == data);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_cuts(data in proptest::collection::vec(any::<u8>(), 0..6000), cuts in proptest::collection::vec(1usize..300, 1..50)) {
        let mut i = 0;
        let got = exchange(&data, || { i += 1; cuts[i % cuts.len()] });
        prop_assert_eq!(got, data);
    }
}
