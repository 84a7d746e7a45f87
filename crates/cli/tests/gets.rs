//! Gets with acks in flight, end to end against the Node virtual board as boards write (two
//! writes a frame, Nagle on): `webrepl get` straight to the board (three acks in flight) and
//! through `webrepl proxy` (the client one, the proxy three towards the board) returns every
//! size byte for byte; and on one session, a get is followed by a put, a listing and a second
//! get (the session driven as the `webrepl` command drives it, over its own link module).

use std::time::{Duration, Instant};
use webrepl_core::{
    parse_board_url, Event, FsOp, FsReply, FsState, Password, Session, SessionConfig,
    TransferOutcome, Transmit,
};

#[path = "support/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../src/link.rs"]
mod link;
#[path = "support/nodeboard.rs"]
mod nodeboard;
use harness::*;
use link::{Frame, Incoming};

const SIZES: [usize; 6] = [0, 1, 255, 256, 257, 64 * 1024 + 1];

#[test]
fn gets_of_every_size_are_byte_identical_direct_and_through_the_proxy() {
    let b = Board::start(&[]);
    let p = Proxy::start(&[]);
    let via = p.url(&b.addr());
    for (i, len) in SIZES.into_iter().enumerate() {
        let data = nodeboard::noise(len, 11 + i as u64);
        let remote = format!("/g{len}.bin");
        round_trip(&b.addr(), None, &remote, &data);
        round_trip("x", Some(&via), &remote, &data);
    }
    // The board is fine for the commands after (each its own session).
    let (code, out, err) = webrepl(&["ls", &b.addr()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("g65537.bin"), "{out}");
    let (code, out, err) = webrepl(&["version", "x", "--url", &via]);
    assert_eq!((code, out.trim()), (0, "MicroPython 1.27.0"), "{err}");
}

/// A session over the `webrepl` command's link, with `depth` acks in flight for gets.
struct Driver {
    s: Session,
    r: link::Reader,
    w: link::Writer,
    start: Instant,
}

impl Driver {
    async fn open(url: &str, depth: usize) -> Driver {
        let url = parse_board_url(url).expect("a board URL");
        let path = link::request_path(&url);
        let (r, w) = link::connect(&url, &path, Duration::from_secs(10))
            .await
            .expect("connects");
        let config = SessionConfig {
            get_depth: depth,
            ..SessionConfig::default()
        };
        let password = Password::new(PASSWORD).expect("a password");
        let mut s = Session::new(config, Some(password), 0);
        s.handle_open(0);
        let start = Instant::now();
        let mut d = Driver { s, r, w, start };
        d.until(|e| matches!(e, Event::LoggedIn)).await;
        d
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Moves frames (and time) until an event matches `want`; fails on a failure or a close.
    async fn until(&mut self, want: impl Fn(&Event) -> bool) -> Event {
        loop {
            while let Some(t) = self.s.poll_transmit() {
                let sent = match t {
                    Transmit::Text(s) => self.w.text(s.as_bytes()).await,
                    Transmit::Binary(b) => self.w.binary(&b).await,
                    Transmit::Close => self.w.close().await,
                };
                sent.expect("the link takes it");
            }
            while let Some(e) = self.s.poll_event() {
                match &e {
                    e if want(e) => return e.clone(),
                    Event::Closed(r) => panic!("the session closed: {r}"),
                    Event::TransferFailed { error, .. } => panic!("transfer failed: {error}"),
                    Event::Fs {
                        state: FsState::Failed(error),
                        ..
                    } => panic!("file operation failed: {error}"),
                    _ => {}
                }
            }
            let wait = self
                .s
                .poll_timeout()
                .map(|t| Duration::from_millis(t.saturating_sub(self.now())))
                .unwrap_or(Duration::from_secs(20))
                .min(Duration::from_secs(20));
            let now = self.now();
            match tokio::time::timeout(wait, self.r.next()).await {
                Err(_) => self.s.handle_timeout(self.now()),
                Ok(Ok(Incoming::Frame(Frame::Text(b)))) => self.s.handle_text(&b, now),
                Ok(Ok(Incoming::Frame(Frame::Binary(b)))) => self.s.handle_binary(&b, now),
                Ok(Ok(Incoming::Stalled)) => {
                    let _ = self.w.nudge();
                }
                Ok(other) => panic!("the link ended: {other:?}"),
            }
        }
    }

    async fn put(&mut self, name: &str, data: Vec<u8>) {
        let size = data.len() as u64;
        self.s.put(name, data).expect("a put");
        match self
            .until(|e| matches!(e, Event::TransferDone { .. }))
            .await
        {
            Event::TransferDone {
                outcome: TransferOutcome::Put { size: s, .. },
                ..
            } if s == size => {}
            e => panic!("{e:?}"),
        }
    }

    /// Closes and waits until the board has let the session go (it takes one at a time).
    async fn leave(mut self) {
        let _ = self.w.close().await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Ok(Incoming::Frame(_) | Incoming::Stalled) = self.r.next().await {}
        })
        .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    async fn get(&mut self, name: &str) -> Vec<u8> {
        self.s.get(name).expect("a get");
        match self
            .until(|e| matches!(e, Event::TransferDone { .. }))
            .await
        {
            Event::TransferDone {
                outcome: TransferOutcome::Get { data, .. },
                ..
            } => data,
            e => panic!("{e:?}"),
        }
    }
}

#[tokio::test]
async fn on_one_session_a_get_is_followed_by_a_put_a_listing_and_a_second_get() {
    let b = Board::start(&[]);
    let p = Proxy::start(&[]);
    let files: Vec<(String, Vec<u8>)> = SIZES
        .into_iter()
        .map(|len| (format!("/s{len}.bin"), nodeboard::noise(len, len as u64)))
        .collect();
    let direct = format!("ws://{}/", b.addr());
    let mut d = Driver::open(&direct, 1).await;
    for (name, data) in &files {
        d.put(name, data.clone()).await;
    }
    d.leave().await;
    let via = p.url(&b.addr());
    // As `webrepl` connects: three acks in flight straight to the board, one through the proxy.
    for (url, depth) in [(direct.as_str(), 3), (via.as_str(), 1)] {
        for (name, data) in &files {
            let what = format!("{url} depth {depth}: {name}");
            let mut d = Driver::open(url, depth).await;
            assert!(&d.get(name).await == data, "{what}: first get");
            let put = nodeboard::noise(3000, 7);
            d.put("/after.bin", put.clone()).await;
            d.s.fs(FsOp::List { dir: "/".into() }).expect("a listing");
            let listed = d
                .until(|e| {
                    matches!(
                        e,
                        Event::Fs {
                            state: FsState::Done(_),
                            ..
                        }
                    )
                })
                .await;
            let Event::Fs {
                state: FsState::Done(FsReply::Listing(entries)),
                ..
            } = listed
            else {
                panic!("{what}: {listed:?}")
            };
            assert!(
                entries
                    .iter()
                    .any(|e| e.name == "after.bin" && e.size == 3000),
                "{what}: {entries:?}"
            );
            assert!(&d.get(name).await == data, "{what}: second get");
            assert!(d.get("/after.bin").await == put, "{what}: the put's file");
            d.leave().await;
        }
    }
}
