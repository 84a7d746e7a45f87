//! Benchmark of the `webrepl` command (`cargo bench -p webrepl --bench proxy`; `tools/dev.sh
//! bench` runs it): put and get of 1 MB direct and through the proxy, a print loop of 20,000
//! lines through the proxy while the browser sends a text frame every millisecond, keystroke
//! echo through the proxy and direct, memory per idle proxied session, and 1,000 idle sessions
//! held at once. Prints a table; each row names the board it ran on: the Node virtual board
//! as boards write (each frame two writes, Nagle on: the default), the same with `--instant`
//! (one write per frame, Nagle off), or the Rust test boards.

use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[path = "../tests/support/testboard.rs"]
mod testboard;

#[path = "../tests/support/realboard.rs"]
mod realboard;

#[path = "support/browser.rs"]
mod browser;

const BIN: &str = env!("CARGO_BIN_EXE_webrepl");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18_000)
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn timed(args: &[&str]) -> f64 {
    let t = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .env("WEBREPL_PASSWORD", testboard::PASSWORD)
        .output();
    match out {
        Ok(o) if o.status.success() => t.elapsed().as_secs_f64() * 1000.0,
        Ok(o) => panic!("webrepl {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("webrepl: {e}"),
    }
}

fn best(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(f64::INFINITY, f64::min)
}

/// A Node virtual board (real MicroPython) on a free port; `--instant` for one write per frame.
fn node_board(root: &std::path::Path, args: &[&str]) -> (std::process::Child, u16) {
    let port = free_port();
    let mut board = Command::new("node")
        .arg(root.join("tools/virtual-board/board.mjs"))
        .args([
            "--port",
            &port.to_string(),
            "--password",
            testboard::PASSWORD,
        ])
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the virtual board");
    let mut line = String::new();
    let _ = BufReader::new(board.stdout.take().expect("stdout")).read_line(&mut line);
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (board, port)
}

const FAITHFUL: &str = "Node virtual board, as boards write (2 writes/frame, Nagle on)";
const INSTANT: &str = "Node virtual board --instant (1 write/frame, Nagle off)";
const SPLIT: &str = "Rust test board, header and payload in 2 writes, Nagle on";
const HELD: &str =
    "Rust test board, each payload held until the client sends (only the ping nudge helps)";

fn print_row(what: String, board: &str, r: Option<browser::PrintRun>) -> [String; 4] {
    let measured = match r {
        Some(r) => format!(
            "{} received, {} lost, {} reordered, link {}, {:.0} ms, {} browser messages",
            r.received,
            r.lost,
            r.reordered,
            if r.link_up { "up" } else { "DOWN" },
            r.ms,
            r.messages
        ),
        None => "login failed".into(),
    };
    [
        what,
        board.into(),
        measured,
        "all 20,000 in order, link up".into(),
    ]
}

#[tokio::main]
async fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (mut board, board_port) = node_board(&root, &[]);
    let (mut instant, instant_port) = node_board(&root, &["--instant"]);
    let split = realboard::start(realboard::Writes::Split).await;
    let proxy_port = free_port();
    let mut proxy = Command::new(BIN)
        .args([
            "proxy",
            "--listen",
            &format!("127.0.0.1:{proxy_port}"),
            "--max-sessions",
            "2000",
        ])
        .stderr(Stdio::null())
        .spawn()
        .expect("proxy");
    std::thread::sleep(Duration::from_millis(300));
    let file = std::env::temp_dir().join("webrepl-bench-1mb.bin");
    let data: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    let _ = std::fs::write(&file, &data);
    let f = file.to_str().unwrap_or_default();
    let back = std::env::temp_dir().join("webrepl-bench-back.bin");
    let b = back.to_str().unwrap_or_default();
    let pw = testboard::PASSWORD;
    let mut rows: Vec<[String; 4]> = Vec::new();
    let hold = realboard::start(realboard::Writes::HoldUntilHeard).await;
    for (port, name) in [
        (board_port, FAITHFUL),
        (instant_port, INSTANT),
        (split.port, SPLIT),
        (hold.port, HELD),
    ] {
        eprintln!("bench: put/get on {name}");
        let direct = format!("127.0.0.1:{port}");
        let via = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{port}");
        let put_d = best(3, || timed(&["put", f, &format!("{direct}:/d.bin")]));
        let put_p = best(3, || timed(&["put", f, "x:/p.bin", "--url", &via]));
        let get_d = best(3, || timed(&["get", &format!("{direct}:/d.bin"), b]));
        let get_p = best(3, || timed(&["get", "x:/p.bin", b, "--url", &via]));
        let ok = std::fs::read(&back).is_ok_and(|got| got == data);
        rows.push([
            "put 1 MB (whole command, incl. connect + login)".into(),
            name.into(),
            format!("direct {put_d:.0} ms, via proxy {put_p:.0} ms"),
            "≤ 200 ms".into(),
        ]);
        rows.push([
            "get 1 MB (whole command)".into(),
            name.into(),
            format!(
                "direct {get_d:.0} ms, via proxy {get_p:.0} ms{}",
                if ok { "" } else { " (CONTENT DIFFERS)" }
            ),
            "≤ 400 ms".into(),
        ]);
    }
    let direct = format!("127.0.0.1:{board_port}");
    let via = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{board_port}");
    let ver_d = best(3, || timed(&["version", &direct]));
    let ver_p = best(3, || timed(&["version", "x", "--url", &via]));
    rows.push([
        "version (connect + login + request)".into(),
        FAITHFUL.into(),
        format!("direct {ver_d:.0} ms, via proxy {ver_p:.0} ms"),
        String::new(),
    ]);

    eprintln!("bench: print loops");
    // The print loop with the browser typing, through the proxy (a browser direct to a board gets
    // one message per board frame: 40,069 for 1 MB of output, docs/board-behaviour.md: Speed).
    let node_via = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{board_port}");
    let r = browser::print_run(&node_via, pw, 20_000, true).await;
    rows.push(print_row(
        "print 20,000 lines, a browser text frame every 1 ms, via proxy".into(),
        FAITHFUL,
        r,
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let split_via = format!("ws://127.0.0.1:{proxy_port}/ws://{}", split.addr());
    let r = browser::print_run(&split_via, pw, 20_000, false).await;
    rows.push(print_row(
        "print 20,000 lines, a browser text frame every 1 ms, via proxy".into(),
        SPLIT,
        r,
    ));

    eprintln!("bench: keystroke echo");
    // Keystroke echo at the prompt.
    let (echo_d, echo_p) = (
        browser::echo_latency(&format!("ws://127.0.0.1:{board_port}/"), pw, 60).await,
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            browser::echo_latency(&node_via, pw, 60).await
        },
    );
    let show = |e: Option<(f64, f64)>| match e {
        Some((m, p90)) => format!("median {m:.2} ms, p90 {p90:.2} ms"),
        None => "failed".into(),
    };
    rows.push([
        "keystroke echo (60 keys), browser direct".into(),
        FAITHFUL.into(),
        show(echo_d),
        String::new(),
    ]);
    rows.push([
        "keystroke echo (60 keys), browser via proxy".into(),
        FAITHFUL.into(),
        show(echo_p),
        "≤ direct + 5 ms".into(),
    ]);
    let iv = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{instant_port}");
    let (echo_id, echo_ip) = (
        browser::echo_latency(&format!("ws://127.0.0.1:{instant_port}/"), pw, 60).await,
        {
            tokio::time::sleep(Duration::from_millis(500)).await;
            browser::echo_latency(&iv, pw, 60).await
        },
    );
    rows.push([
        "keystroke echo (60 keys), browser direct / via proxy".into(),
        INSTANT.into(),
        format!("direct {}; via proxy {}", show(echo_id), show(echo_ip)),
        "≤ direct + 5 ms".into(),
    ]);

    eprintln!("bench: idle sessions");
    // Idle sessions: 1,000 browsers through the proxy, each to its own (Rust) test board.
    let before = rss_kb(proxy.id());
    let mut held = Vec::new();
    for _ in 0..1000 {
        let port = testboard::test_board().await;
        let url = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{port}");
        if let Ok((mut ws, _)) = tokio_tungstenite::connect_async(url).await {
            // Wait for the board's prompt: the session is through.
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
            let _ = ws
                .send(Message::text(format!("{}\r", testboard::PASSWORD)))
                .await;
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
            held.push(ws);
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kb(proxy.id());
    let per = (after.saturating_sub(before)) as f64 / held.len().max(1) as f64;
    let tb = "Rust test board (tungstenite, 1 write/frame)";
    rows.push([
        "idle proxied sessions held".into(),
        tb.into(),
        format!("{} of 1000", held.len()),
        "1000".into(),
    ]);
    rows.push([
        "proxy memory per idle session".into(),
        tb.into(),
        format!("{per:.1} KB (RSS {before} → {after} KB)"),
        "< 64 KB".into(),
    ]);
    println!("| what | board | measured | target / note |\n|---|---|---|---|");
    for [a, b, c, d] in rows {
        println!("| {a} | {b} | {c} | {d} |");
    }
    drop(held);
    let _ = proxy.kill();
    let _ = board.kill();
    let _ = instant.kill();
    let _ = proxy.wait();
    let _ = board.wait();
    let _ = instant.wait();
}
