//! `webrepl proxy`: the Edrys station's localhost proxy (replaces proxy.py).
//!
//! A page served over HTTPS may open `ws://` only to localhost, so the station's page connects to
//! `ws://localhost:8765/ws://BOARD:8266` and the proxy forwards to the board named in the path.
//! Frames keep their type and are forwarded at once (TCP_NODELAY, no delays); messages over
//! 65535 bytes are split for the board; board text is re-framed as whole UTF-8 (a browser drops
//! the connection on an invalid text frame) and merged: the many tiny text frames a board
//! writes that arrive together go to the browser as one message (≤ 64 KB, in order with binary
//! frames), since a browser pays per message. The board link is [`crate::link`]'s: cancel-safe
//! reads, and stalls (a header without its payload, held by the board's Nagle until our ACK)
//! answered with a nudge. A close on either side closes the other (towards
//! the board with an empty close frame; a board that drops TCP is passed on as a dropped
//! connection, which the page reads exactly as a direct link). A get is read ahead: the proxy
//! acks each chunk to the board itself (`webrepl_core::readahead`), so the board is paced by the
//! proxy's round trip, not the browser's. Not an open relay: only pages that should use it (Edrys,
//! localhost, `--origin`; see [`PageOrigins`]), only local targets unless allowed, never the
//! proxy itself; one session per board; a cap on sessions; a log line per session.

mod forwarding;
mod origins;
mod targets;
mod tls;

pub use origins::{normalize_origin, PageOrigins, EDRYS_ORIGIN};
pub use tls::tls_acceptor;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use webrepl_core::parse_board_url;
use webrepl_core::utf8::prefix_at_boundary;

use crate::link::{self, LinkError};
use forwarding::forward;
use origins::page_refusal;
use targets::{allowed, is_self};

/// Close codes the proxy sends to the browser, with reasons the page shows as they are.
pub mod codes {
    pub const BAD_TARGET: u16 = 4000;
    /// The page's origin is not accepted (`--origin`, `--any-origin`).
    pub const PAGE_NOT_ALLOWED: u16 = 4001;
    pub const NOT_ALLOWED: u16 = 4003;
    pub const UNREACHABLE: u16 = 4004;
    pub const BUSY: u16 = 4009;
    pub const TOO_MANY: u16 = 4029;
}

#[derive(Clone)]
pub struct ProxyConfig {
    pub allow: Vec<(String, Option<u16>)>,
    /// Serve `wss://` with this certificate and key (`--tls-cert`, `--tls-key`).
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub allow_any: bool,
    /// Which pages may use the proxy.
    pub origins: PageOrigins,
    pub max_sessions: usize,
    pub connect_timeout: Duration,
    pub quiet: bool,
    /// Get chunks the proxy acks to the board ahead of the browser (0: off).
    pub read_ahead: usize,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            allow: vec![],
            tls: None,
            allow_any: false,
            origins: PageOrigins::default(),
            max_sessions: 64,
            connect_timeout: Duration::from_secs(5),
            quiet: false,
            read_ahead: 256,
        }
    }
}

struct Shared {
    cfg: ProxyConfig,
    /// Where the proxy listens: a target there is a loop.
    listen: Option<SocketAddr>,
    boards: Mutex<HashSet<String>>,
    slots: Arc<Semaphore>,
    next: AtomicU64,
}

/// Serves until the listener fails.
pub async fn serve(listener: TcpListener, cfg: ProxyConfig) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        listen: listener.local_addr().ok(),
        slots: Arc::new(Semaphore::new(cfg.max_sessions)),
        cfg,
        boards: Mutex::new(HashSet::new()),
        next: AtomicU64::new(1),
    });
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        match shared.cfg.tls.clone() {
            None => {
                tokio::spawn(async move { session(stream, peer, shared).await });
            }
            Some(tls) => {
                tokio::spawn(async move {
                    let handshake =
                        tokio::time::timeout(Duration::from_secs(10), tls.accept(stream));
                    match handshake.await {
                        Ok(Ok(stream)) => session(stream, peer, shared).await,
                        Ok(Err(e)) => log(&shared, format!("{peer}: TLS handshake failed ({e})")),
                        Err(_) => log(&shared, format!("{peer}: TLS handshake timed out")),
                    }
                });
            }
        }
    }
}

fn log(shared: &Shared, line: String) {
    if !shared.cfg.quiet {
        eprintln!("webrepl proxy: {line}");
    }
}

// tungstenite's handshake callback type fixes the error response's size.
#[allow(clippy::result_large_err)]
async fn session<S>(stream: S, peer: SocketAddr, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut path = String::new();
    let mut origin: Option<String> = None;
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        path = req.uri().path().to_owned();
        if let Some(q) = req.uri().query() {
            path = format!("{path}?{q}");
        }
        // Browsers always send Origin on a WebSocket handshake (pages cannot leave it out or
        // change it); non-browser clients such as `webrepl --url` send none. The page is judged
        // after the handshake, so that a refusal reaches it as a close code with a reason: a
        // failed handshake shows the page only code 1006 and no reason.
        origin = req.headers().get("origin").map(|o| {
            o.to_str()
                .map(str::to_owned)
                .unwrap_or_else(|_| "(not ASCII)".to_owned())
        });
        Ok(resp)
    };
    // Small buffers: an idle session should cost kilobytes (tungstenite reads 128 KiB by default).
    let config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0)
        .max_message_size(Some(16 << 20));
    let mut browser =
        match tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await
        {
            Ok(ws) => ws,
            Err(e) => {
                log(&shared, format!("{peer}: handshake refused ({e})"));
                return;
            }
        };
    let id = shared.next.fetch_add(1, Ordering::Relaxed);
    let refuse = |code: u16, reason: String| async move {
        let reason = prefix_at_boundary(&reason, 123).to_owned();
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.into(),
        };
        (frame.code, frame)
    };
    // The page first: nothing is resolved or connected for a page that is not accepted.
    if let Err(shown) = shared.cfg.origins.check(origin.as_deref()) {
        log(
            &shared,
            format!(
                "session {id}: {peer} refused: a page from {shown} asked for {path} (not an accepted origin; --origin {shown} would allow it)"
            ),
        );
        let (_, f) = refuse(codes::PAGE_NOT_ALLOWED, page_refusal(&shown)).await;
        let _ = browser.close(Some(f)).await;
        return;
    }
    let target_text = path.strip_prefix('/').unwrap_or(&path).to_owned();
    let target = match parse_board_url(&target_text) {
        Ok(t) => t,
        Err(e) => {
            let (_, f) = refuse(
                codes::BAD_TARGET,
                format!("no board address in the proxy URL: {e}"),
            )
            .await;
            let _ = browser.close(Some(f)).await;
            return;
        }
    };
    if let Some(listen) = shared.listen {
        if is_self(&target, listen).await {
            log(
                &shared,
                format!(
                    "session {id}: refused {} (the proxy's own address {listen}: a loop)",
                    target.url
                ),
            );
            let reason = format!(
                "{} is this proxy itself (a loop): put the board's address after the proxy's",
                target.url
            );
            let (_, f) = refuse(codes::BAD_TARGET, reason).await;
            let _ = browser.close(Some(f)).await;
            return;
        }
    }
    if let Err(why) = allowed(&shared.cfg, &target).await {
        log(
            &shared,
            format!("session {id}: refused {} ({why})", target.url),
        );
        let (_, f) = refuse(codes::NOT_ALLOWED, why).await;
        let _ = browser.close(Some(f)).await;
        return;
    }
    let Ok(_slot) = shared.slots.clone().try_acquire_owned() else {
        let (_, f) = refuse(
            codes::TOO_MANY,
            format!(
                "the proxy already holds {} sessions (--max-sessions)",
                shared.cfg.max_sessions
            ),
        )
        .await;
        let _ = browser.close(Some(f)).await;
        return;
    };
    let key = format!("{}:{}", target.host.to_ascii_lowercase(), target.port);
    let inserted = shared
        .boards
        .lock()
        .map(|mut b| b.insert(key.clone()))
        .unwrap_or(false);
    if !inserted {
        let (_, f) = refuse(codes::BUSY, "another client is connected to this board through this proxy; a board allows one session".into()).await;
        let _ = browser.close(Some(f)).await;
        return;
    }
    let started = Instant::now();
    log(
        &shared,
        format!("session {id}: {peer} → {} open", target.url),
    );
    let (up, down, how) = match link::connect(&target, "/", shared.cfg.connect_timeout).await {
        Err(e) => {
            let reason = match &e {
                LinkError::Refused(a) => {
                    format!("board refused the connection at {a}: is WebREPL enabled on it?")
                }
                LinkError::Timeout(a, s) => {
                    format!("board unreachable: no answer from {a} within {s} s")
                }
                other => format!("board unreachable: {other}"),
            };
            let (_, f) = refuse(codes::UNREACHABLE, reason.clone()).await;
            let _ = browser.close(Some(f)).await;
            (0, 0, reason)
        }
        Ok((reader, writer)) => forward(browser, reader, writer, shared.cfg.read_ahead).await,
    };
    if let Ok(mut b) = shared.boards.lock() {
        b.remove(&key);
    }
    log(
        &shared,
        format!(
            "session {id}: {} closed after {:.1} s ({how}); browser→board {up} B, board→browser {down} B",
            target.url,
            started.elapsed().as_secs_f64()
        ),
    );
}

#[cfg(test)]
mod tests;
