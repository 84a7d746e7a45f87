//! A browser's side of the benchmark: log in over a WebSocket, run a print loop while typing, time keystroke echoes.

use futures_util::{SinkExt, StreamExt};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Logs in at `url` (a board, or a proxy URL); `None` if that fails.
pub async fn login(url: &str, password: &str) -> Option<Ws> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    let mut text = String::new();
    for (want, send) in [
        ("Password: ", Some(format!("{password}\r"))),
        (">>> ", None),
    ] {
        while !text.contains(want) {
            match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => text.push_str(&t),
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
        if let Some(s) = send {
            ws.send(Message::text(s)).await.ok()?;
        }
    }
    Some(ws)
}

/// What a print loop delivered.
pub struct PrintRun {
    pub received: usize,
    pub lost: usize,
    pub reordered: usize,
    pub link_up: bool,
    pub ms: f64,
    /// WebSocket messages the browser got for it.
    pub messages: usize,
}

/// Runs `for i in range(lines): print('L%06d' % i)` (or the Rust board's `PRINT n`) while a
/// text frame (a space) goes to the board every millisecond.
pub async fn print_run(url: &str, password: &str, lines: u32, python: bool) -> Option<PrintRun> {
    let ws = login(url, password).await?;
    let (mut tx, mut rx) = ws.split();
    let mut text = String::new();
    if python {
        // A compound statement: its line, the continuation prompt, then an empty line runs it.
        let cmd = format!("for i in range({lines}): print('L%06d' % i)\r");
        tx.send(Message::text(cmd)).await.ok()?;
        while !text.contains("... ") {
            match tokio::time::timeout(Duration::from_secs(10), rx.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => text.push_str(&t),
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
        text.clear();
        tx.send(Message::text("\r")).await.ok()?;
    } else {
        tx.send(Message::text(format!("PRINT {lines}\r")))
            .await
            .ok()?;
    }
    let started = Instant::now();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let typing = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            tick.tick().await;
            if tx.send(Message::text(" ")).await.is_err() {
                break;
            }
        }
        tx
    });
    let last = format!("L{:06}\r\n", lines - 1);
    let mut messages = 0;
    let mut link_up = true;
    // Whether `last` is in what came (looking only where it can have been completed).
    let done = |text: &str, from: usize| text.get(from..).is_some_and(|t| t.contains(&last));
    let mut from = 0;
    while !done(&text, from) {
        if started.elapsed() > Duration::from_secs(120) {
            link_up = false;
            break;
        }
        match tokio::time::timeout(Duration::from_secs(30), rx.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                messages += 1;
                from = text.len().saturating_sub(last.len());
                while !text.is_char_boundary(from) {
                    from -= 1;
                }
                text.push_str(&t);
            }
            Ok(Some(Ok(_))) => {}
            _ => {
                link_up = false;
                break;
            }
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    // The link is up if the board's prompt follows.
    let end = text.rfind(&last).map_or(text.len(), |at| at + last.len());
    while link_up && !text[end..].contains(">>> ") {
        match tokio::time::timeout(Duration::from_secs(10), rx.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => text.push_str(&t),
            Ok(Some(Ok(_))) => {}
            _ => link_up = false,
        }
    }
    if let Ok(tx) = typing.await {
        if let Ok(mut ws) = tx.reunite(rx) {
            let _ = ws.close(None).await;
        }
    }
    let got: Vec<u32> = text
        .split("\r\n")
        .filter(|l| l.len() == 7)
        .filter_map(|l| l.strip_prefix('L')?.parse().ok())
        .collect();
    let mut seen = std::collections::HashSet::new();
    for n in &got {
        seen.insert(*n);
    }
    Some(PrintRun {
        received: got.len(),
        lost: (0..lines).filter(|n| !seen.contains(n)).count(),
        reordered: got.windows(2).filter(|w| w[1] < w[0]).count(),
        link_up,
        ms,
        messages,
    })
}

/// Median and 90th percentile (ms) of `keys` keystroke echoes at the board's prompt.
pub async fn echo_latency(url: &str, password: &str, keys: usize) -> Option<(f64, f64)> {
    let mut ws = login(url, password).await?;
    let mut times = Vec::new();
    for _ in 0..keys {
        let t = Instant::now();
        ws.send(Message::text("a")).await.ok()?;
        loop {
            match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                Ok(Some(Ok(Message::Text(s)))) if s.contains('a') => break,
                Ok(Some(Ok(_))) => {}
                _ => return None,
            }
        }
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Leave an empty prompt behind.
    let _ = ws.send(Message::text("\x03")).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let _ = ws.close(None).await;
    times.sort_by(f64::total_cmp);
    Some((times[times.len() / 2], times[times.len() * 9 / 10]))
}
