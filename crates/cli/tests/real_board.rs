//! The link against boards that write like MicroPython (header and payload in separate writes,
//! Nagle on; or byte by byte; or payloads held until the client sends): the proxy keeps the
//! session and every line while the browser types, and get/put work direct and through it.

use futures_util::{SinkExt, StreamExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[path = "support/realboard.rs"]
mod realboard;
use realboard::{start, Writes, PASSWORD};

const BIN: &str = env!("CARGO_BIN_EXE_webrepl");

/// `webrepl proxy` on a free port; killed on drop.
struct Proxy {
    child: std::process::Child,
    port: u16,
}

impl Proxy {
    fn start() -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(BIN)
            .args(["proxy", "--listen", &format!("127.0.0.1:{port}")])
            .stderr(Stdio::null())
            .spawn()
            .expect("proxy starts");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Proxy { child, port }
    }
    fn url(&self, board: &str) -> String {
        format!("ws://127.0.0.1:{}/ws://{board}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `webrepl` with a time limit (a stalled link must fail the test, not hang it).
async fn webrepl(args: Vec<String>, limit: Duration) -> (i32, String) {
    let child = tokio::process::Command::new(BIN)
        .args(&args)
        .env("WEBREPL_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("webrepl runs");
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(o)) => (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        ),
        Ok(Err(e)) => (-1, e.to_string()),
        Err(_) => (
            -1,
            format!("webrepl {args:?} did not finish within {limit:?}"),
        ),
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("webrepl-real-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

fn data(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect()
}

/// The next text message into `text`; panics on anything else or after 20 s of silence.
async fn next_text<S, E>(rx: &mut S, text: &mut String, what: &str)
where
    S: futures_util::Stream<Item = Result<Message, E>> + Unpin,
    E: std::fmt::Debug,
{
    match tokio::time::timeout(Duration::from_secs(20), rx.next()).await {
        Ok(Some(Ok(Message::Text(t)))) => text.push_str(&t),
        other => panic!("{what}: after {} bytes: {other:?}", text.len()),
    }
}

/// Logs in as a browser would and has the board print `lines` lines while a text frame goes
/// to the board every millisecond. Returns the printed line numbers in the order they came,
/// once the board's prompt after them has come too (the link stayed up), and how many
/// messages and how long the printing took.
async fn print_while_typing(url: &str, lines: u32) -> (Vec<u32>, usize, Duration) {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("proxy accepts");
    let (mut tx, mut rx) = ws.split();
    let mut text = String::new();
    while !text.contains("Password: ") {
        next_text(&mut rx, &mut text, "login").await;
    }
    tx.send(Message::text(format!("{PASSWORD}\r")))
        .await
        .expect("send");
    while !text.contains(">>> ") {
        next_text(&mut rx, &mut text, "login").await;
    }
    text.clear();
    tx.send(Message::text(format!("PRINT {lines}\r")))
        .await
        .expect("send");
    let started = Instant::now();
    let last = format!("L{:06}\r\n", lines - 1);
    let typing = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        loop {
            tick.tick().await;
            if tx.send(Message::text("x")).await.is_err() {
                return;
            }
        }
    });
    let mut messages = 0;
    while !text.contains(&last) {
        next_text(&mut rx, &mut text, "printing").await;
        messages += 1;
    }
    let took = started.elapsed();
    typing.abort();
    while !text.split(&last).nth(1).is_some_and(|t| t.contains(">>> ")) {
        next_text(&mut rx, &mut text, "the prompt after printing").await;
    }
    let got = text
        .split("\r\n")
        .filter_map(|l| l.strip_prefix('L')?.get(..6)?.parse().ok())
        .collect();
    (got, messages, took)
}

async fn check_print(writes: Writes, lines: u32) {
    let board = start(writes).await;
    let proxy = Proxy::start();
    let started = Instant::now();
    let (got, messages, took) = print_while_typing(&proxy.url(&board.addr()), lines).await;
    let want: Vec<u32> = (0..lines).collect();
    // While text keeps coming the proxy sends at most one message per 3 ms (plus one per
    // 64 KB): the browser pays per message.
    let most = took.as_millis() as usize / 3 + 2 + (lines as usize * 9) / 65536;
    assert!(
        messages <= most,
        "{writes:?}: {messages} messages in {took:?} (at most {most})"
    );
    assert!(
        got == want,
        "{writes:?}: {} of {lines} lines, first wrong at {:?}",
        got.len(),
        got.iter().zip(&want).position(|(a, b)| a != b)
    );
    assert_eq!(board.violations(), Vec::<String>::new());
    eprintln!("{writes:?}: {lines} lines in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_keeps_every_line_while_the_browser_types_header_and_payload_apart() {
    check_print(Writes::Split, 20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_keeps_every_line_while_the_browser_types_byte_by_byte() {
    check_print(Writes::Bytewise, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_keeps_every_line_while_the_browser_types_payloads_held() {
    check_print(Writes::HoldUntilHeard, 2_000).await;
}

/// Put then get of `size` bytes, direct and through the proxy.
async fn round_trips(writes: Writes, size: usize) {
    let board = start(writes).await;
    let proxy = Proxy::start();
    let file = data(size);
    let local = tmp(&format!("{writes:?}.bin"));
    std::fs::write(&local, &file).expect("write");
    let local = local.to_string_lossy().into_owned();
    for via in [None, Some(proxy.url(&board.addr()))] {
        let name = if via.is_some() {
            "via.bin"
        } else {
            "direct.bin"
        };
        let target = format!("{}:/{name}", board.addr());
        let back = tmp(&format!("{writes:?}-{name}"))
            .to_string_lossy()
            .into_owned();
        let mut put = vec!["put".to_owned(), local.clone(), target.clone()];
        let mut get = vec!["get".to_owned(), target.clone(), back.clone()];
        if let Some(u) = &via {
            put.extend(["--url".to_owned(), u.clone()]);
            get.extend(["--url".to_owned(), u.clone()]);
        }
        let limit = Duration::from_secs(30);
        let (code, err) = webrepl(put, limit).await;
        assert_eq!(code, 0, "{writes:?} put {name}: {err}");
        assert!(
            board.file(name) == Some(file.clone()),
            "{writes:?}: put {name} differs"
        );
        let (code, err) = webrepl(get, limit).await;
        assert_eq!(code, 0, "{writes:?} get {name}: {err}");
        assert!(
            std::fs::read(&back).ok() == Some(file.clone()),
            "{writes:?}: get {name} differs"
        );
    }
    assert_eq!(board.violations(), Vec::<String>::new());
    if writes == Writes::HoldUntilHeard {
        assert!(
            board.empty_pings() > 0,
            "the payloads came without a nudge?"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_put_direct_and_through_the_proxy_header_and_payload_apart() {
    round_trips(Writes::Split, 20_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_put_direct_and_through_the_proxy_byte_by_byte() {
    round_trips(Writes::Bytewise, 5_000).await;
}

/// Only a client that sends something when a frame stalls gets the payloads (any system: this
/// does not rely on Linux's TCP_QUICKACK).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_put_direct_and_through_the_proxy_payloads_held_until_nudged() {
    round_trips(Writes::HoldUntilHeard, 100_000).await;
}
