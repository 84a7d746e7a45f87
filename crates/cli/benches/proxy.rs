//! Benchmark of the `webrepl` command (`cargo bench -p webrepl --bench proxy`; `tools/dev.sh
//! bench` runs it): put and get of 1 MB direct and through the proxy against the Node virtual
//! board, memory per idle proxied session, and 1,000 idle sessions held at once. Prints a table.

use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[path = "../tests/support/testboard.rs"]
mod testboard;

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

#[tokio::main]
async fn main() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let board_port = free_port();
    let mut board = Command::new("node")
        .arg(root.join("tools/virtual-board/board.mjs"))
        .args([
            "--port",
            &board_port.to_string(),
            "--password",
            testboard::PASSWORD,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the virtual board");
    let mut line = String::new();
    let _ = BufReader::new(board.stdout.take().expect("stdout")).read_line(&mut line);
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
    let direct = format!("127.0.0.1:{board_port}");
    let via = format!("ws://127.0.0.1:{proxy_port}/ws://127.0.0.1:{board_port}");
    let back = std::env::temp_dir().join("webrepl-bench-back.bin");
    let b = back.to_str().unwrap_or_default();
    let put_d = best(5, || timed(&["put", f, &format!("{direct}:/d.bin")]));
    let put_p = best(5, || timed(&["put", f, "x:/p.bin", "--url", &via]));
    let get_d = best(5, || timed(&["get", &format!("{direct}:/d.bin"), b]));
    let get_p = best(5, || timed(&["get", "x:/p.bin", b, "--url", &via]));
    let ver_d = best(5, || timed(&["version", &direct]));
    let ver_p = best(5, || timed(&["version", "x", "--url", &via]));

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

    let rows = [
        (
            "put 1 MB (whole command, incl. connect + login)",
            format!("direct {put_d:.0} ms, via proxy {put_p:.0} ms"),
            format!("proxy adds {:+.1} %", (put_p / put_d - 1.0) * 100.0),
        ),
        (
            "get 1 MB (whole command)",
            format!("direct {get_d:.0} ms, via proxy {get_p:.0} ms"),
            format!("proxy adds {:+.1} %", (get_p / get_d - 1.0) * 100.0),
        ),
        (
            "version (connect + login + request)",
            format!("direct {ver_d:.0} ms, via proxy {ver_p:.0} ms"),
            String::new(),
        ),
        (
            "idle proxied sessions held",
            format!("{} of 1000", held.len()),
            "1000".into(),
        ),
        (
            "proxy memory per idle session",
            format!("{per:.1} KB (RSS {before} → {after} KB)"),
            "< 64 KB".into(),
        ),
    ];
    println!("| what | measured | target / note |\n|---|---|---|");
    for (a, b, c) in rows {
        println!("| {a} | {b} | {c} |");
    }
    drop(held);
    let _ = proxy.kill();
    let _ = board.kill();
    let _ = proxy.wait();
    let _ = board.wait();
}
