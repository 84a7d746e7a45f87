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

use futures_util::{SinkExt, StreamExt};
use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use webrepl_core::readahead::ReadAhead;
use webrepl_core::utf8::{prefix_at_boundary, Utf8Stream};
use webrepl_core::{parse_board_url, BoardUrl};

use crate::link::{self, Frame, Incoming, LinkError};

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

/// A TLS acceptor from PEM files: the certificate chain and its private key.
pub fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "--tls-cert {}: no certificate (PEM \"BEGIN CERTIFICATE\") in the file",
            cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("--tls-key {}: no usable private key ({e})", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("--tls-cert/--tls-key: {e}"))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
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

/// Most bytes of one text message to the browser (merged board frames).
const MAX_MESSAGE: usize = 64 * 1024;

/// While a get streams, its chunks (read ahead, one per proxy round trip) are gathered for at
/// most this long before they go to the browser as one message: a browser pays per message, and
/// a get of 1 MB is 4,096 chunks. The page parses the binary stream as a stream.
const GET_MERGE: Duration = Duration::from_millis(3);
/// The most get bytes gathered into one browser message.
const GET_MESSAGE: usize = 32 * 1024;

/// Board text that arrives within this long of the last text message to the browser waits
/// until this long after it, gathered into one message: while a board prints (tens of
/// thousands of frames a second) the browser gets one message per interval; text after a
/// quiet spell — a keystroke's echo — goes at once.
const TEXT_MERGE: Duration = Duration::from_millis(3);

/// Moves frames both ways until one side closes. Returns (bytes up, bytes down, how it ended).
///
/// Board text is merged: all text decoded from one read of the board's socket, and whatever
/// else has already arrived, goes to the browser as one message (whole UTF-8, at most 64 KB),
/// in order with binary frames; while text keeps coming, at most one message per
/// [`TEXT_MERGE`]. A lone keystroke's echo goes out as soon as it is in.
async fn forward<S>(
    browser: tokio_tungstenite::WebSocketStream<S>,
    mut reader: link::Reader,
    mut writer: link::Writer,
    read_ahead: usize,
) -> (u64, u64, String)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut ahead = ReadAhead::new(read_ahead);
    let (mut to_browser, mut from_browser) = browser.split();
    let mut up = 0u64;
    let mut down = 0u64;
    let mut utf8 = Utf8Stream::new();
    let mut text = String::new();
    // Get chunks gathered for the browser, and when they must go.
    let mut bin: Vec<u8> = Vec::new();
    let mut bin_due: Option<tokio::time::Instant> = None;
    // Text gathered for the browser waits until `text_due`; when the last text message went.
    let mut text_due: Option<tokio::time::Instant> = None;
    let mut text_sent: Option<tokio::time::Instant> = None;
    let how = 'session: loop {
        let due = match (bin_due, text_due) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timer = async {
            match due {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = timer => {
                bin_due = None;
                if send_binary(&mut to_browser, &mut bin).await.is_err() {
                    break 'session "the browser went away".to_owned();
                }
                if text_due.take().is_some() {
                    text_sent = Some(tokio::time::Instant::now());
                    if send_text(&mut to_browser, &mut text).await.is_err() {
                        break 'session "the browser went away".to_owned();
                    }
                }
            },
            msg = from_browser.next() => match msg {
                Some(Ok(Message::Text(t))) => {
                    up += t.len() as u64;
                    let mut rest: &str = t.as_str();
                    while !rest.is_empty() {
                        let part = prefix_at_boundary(rest, 65535);
                        if writer.text(part.as_bytes()).await.is_err() { break; }
                        rest = &rest[part.len()..];
                    }
                }
                Some(Ok(Message::Binary(b))) => {
                    up += b.len() as u64;
                    // Acks the proxy already sent for the browser are dropped here.
                    let out = ahead.from_client(&b);
                    for part in out.chunks(65535) {
                        if writer.binary(part).await.is_err() { break; }
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    let _ = writer.close().await;
                    // Let the board's close reply pass, briefly.
                    let _ = tokio::time::timeout(Duration::from_millis(500), reader.next()).await;
                    break "the browser closed".to_owned();
                }
                Some(Ok(_)) => {}
            },
            incoming = reader.next() => {
                let first = match incoming {
                    Ok(Incoming::Stalled) => {
                        // The board holds a payload until it sees our ACK: make one leave now.
                        let _ = writer.nudge();
                        continue;
                    }
                    Ok(Incoming::Frame(f)) => f,
                    Ok(Incoming::Dropped) | Err(_) => {
                        // The board dropped TCP (soft reset, failed get, …): drop the browser's
                        // link the same way, so the page sees what a direct connection shows.
                        utf8.finish(&mut text);
                        let _ = send_binary(&mut to_browser, &mut bin).await;
                        let _ = send_text(&mut to_browser, &mut text).await;
                        break "the board dropped the connection".to_owned();
                    }
                };
                // This frame and every whole frame already here, text merged. (A malformed
                // frame or the end of the stream comes out of `next()` on the next turn.)
                let mut next = Some(first);
                while let Some(frame) = next.take() {
                    match frame {
                        Frame::Text(bytes) => {
                            down += bytes.len() as u64;
                            // Never reorder: get bytes gathered before this text go first.
                            bin_due = None;
                            if send_binary(&mut to_browser, &mut bin).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                            utf8.decode(&bytes, &mut text);
                            if text.len() >= MAX_MESSAGE {
                                // Enough for one message: let the browser's side have a turn.
                                break;
                            }
                        }
                        Frame::Binary(b) => {
                            down += b.len() as u64;
                            // Never reorder: text gathered before this frame goes first.
                            text_due = None;
                            if send_text(&mut to_browser, &mut text).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                            // Ask for the next get chunk first, so it travels while this one is
                            // passed on.
                            for _ in 0..ahead.from_board(&b) {
                                let _ = writer.binary(&[0]).await;
                            }
                            bin.extend_from_slice(&b);
                            if ahead.in_get() && bin.len() < GET_MESSAGE {
                                bin_due.get_or_insert_with(|| tokio::time::Instant::now() + GET_MERGE);
                            } else {
                                // Not a get, or its end (the final status): at once.
                                bin_due = None;
                                if send_binary(&mut to_browser, &mut bin).await.is_err() {
                                    break 'session "the browser went away".to_owned();
                                }
                            }
                        }
                        Frame::Close(..) => {
                            let _ = send_binary(&mut to_browser, &mut bin).await;
                            let _ = send_text(&mut to_browser, &mut text).await;
                            let _ = to_browser.send(Message::Close(None)).await;
                            break 'session "the board closed".to_owned();
                        }
                    }
                    next = reader.ready().unwrap_or(None);
                }
                if !text.is_empty() && text_due.is_none() {
                    let now = tokio::time::Instant::now();
                    match text_sent.map(|t| t + TEXT_MERGE) {
                        Some(wait) if wait > now && text.len() < MAX_MESSAGE => text_due = Some(wait),
                        _ => {
                            text_sent = Some(now);
                            if send_text(&mut to_browser, &mut text).await.is_err() {
                                break 'session "the browser went away".to_owned();
                            }
                        }
                    }
                } else if text.len() >= MAX_MESSAGE {
                    text_due = None;
                    text_sent = Some(tokio::time::Instant::now());
                    if send_text(&mut to_browser, &mut text).await.is_err() {
                        break 'session "the browser went away".to_owned();
                    }
                }
            },
        }
    };
    let how = match writer.nudges() {
        0 => how,
        n => format!("{how}; {n} ACK nudges to the board"),
    };
    (up, down, how)
}

/// Sends the get bytes gathered for the browser as one binary message, and clears them.
async fn send_binary<W>(to_browser: &mut W, bin: &mut Vec<u8>) -> Result<(), ()>
where
    W: futures_util::Sink<Message> + Unpin,
{
    if bin.is_empty() {
        return Ok(());
    }
    let msg = Message::binary(std::mem::take(bin));
    to_browser.send(msg).await.map_err(|_| ())
}

/// Sends the text gathered for the browser (in parts of at most [`MAX_MESSAGE`] bytes that end
/// on character boundaries) and clears it.
async fn send_text<W>(to_browser: &mut W, text: &mut String) -> Result<(), ()>
where
    W: futures_util::Sink<Message> + Unpin,
{
    let mut rest: &str = text;
    while !rest.is_empty() {
        let part = prefix_at_boundary(rest, MAX_MESSAGE);
        to_browser
            .send(Message::text(part.to_owned()))
            .await
            .map_err(|_| ())?;
        rest = &rest[part.len()..];
    }
    text.clear();
    Ok(())
}

/// Whether the proxy may connect to `target`: local addresses by default (loopback, private,
/// link-local, `.local` names), plus `--allow`, or anything with `--allow-any`.
pub async fn allowed(cfg: &ProxyConfig, target: &BoardUrl) -> Result<(), String> {
    if cfg.allow_any {
        return Ok(());
    }
    let host = target
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if cfg
        .allow
        .iter()
        .any(|(h, p)| h.eq_ignore_ascii_case(&host) && p.is_none_or(|p| p == target.port))
    {
        return Ok(());
    }
    if host.ends_with(".local") || host == "localhost" {
        return Ok(());
    }
    let hint = format!(
        "{host} is not on the local network; start the proxy with --allow {host} to permit it"
    );
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host.as_str(), target.port)).await {
            Ok(a) => a.map(|s| s.ip()).collect(),
            Err(_) => return Err(format!("target not allowed: {host} cannot be resolved")),
        },
    };
    if !addrs.is_empty() && addrs.iter().all(is_local) {
        Ok(())
    } else {
        Err(format!("target not allowed: {hint}"))
    }
}

pub fn is_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some_and(|m| is_local(&IpAddr::V4(m)))
        }
    }
}

/// Edrys' own origin: modules published under it (and pages of the Edrys app) are accepted.
pub const EDRYS_ORIGIN: &str = "https://edrys-labs.github.io";

/// The web pages that may use the proxy: by default Edrys' origin, pages served from this
/// computer (localhost and loopback, http or https, any port) and clients that send no
/// `Origin` (not browsers); plus `--origin`; or every page with `--any-origin`.
///
/// This keeps other web sites open in the station's browser from driving boards (or local
/// services) through the proxy. It does not stop programs on this computer, which can send any
/// `Origin` they like, or connect to the boards directly anyway.
#[derive(Clone, Debug, Default)]
pub struct PageOrigins {
    /// Every page (`--any-origin`).
    pub any: bool,
    /// Further origins, as [`normalize_origin`] gives them.
    pub extra: Vec<String>,
}

impl PageOrigins {
    /// `Ok` if a handshake with this `Origin` header may go on; else the origin as the
    /// refusal shows it (normalised when it parses).
    pub fn check(&self, header: Option<&str>) -> Result<(), String> {
        let Some(header) = header else {
            // No Origin: not a browser (they always send one on WebSockets).
            return Ok(());
        };
        if self.any {
            return Ok(());
        }
        let Ok(origin) = parse_origin(header) else {
            return Err(shown(header));
        };
        if origin.is_loopback() || origin.text == EDRYS_ORIGIN || self.extra.contains(&origin.text)
        {
            Ok(())
        } else {
            Err(origin.text)
        }
    }
}

/// Text from outside, safe and short enough for a log line and a close reason.
fn shown(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if clean.is_empty() {
        return "(an empty origin)".to_owned();
    }
    prefix_at_boundary(&clean, 60).to_owned()
}

/// The close reason for a page that is not accepted (at most 123 bytes: the longest a close
/// frame carries), naming the flag that would let it in when there is room.
fn page_refusal(origin: &str) -> String {
    let full = format!(
        "this proxy does not accept pages from {origin}; start it with --origin {origin} to allow it"
    );
    if full.len() <= 123 {
        return full;
    }
    let short = format!("this proxy does not accept pages from {origin} (see its --origin)");
    if short.len() <= 123 {
        return short;
    }
    "this proxy does not accept pages from this page's origin; start it with --origin ORIGIN"
        .to_owned()
}

/// An origin taken apart: `scheme://host[:port]` in lower case, without a default port.
#[derive(Debug, PartialEq, Eq)]
struct Origin {
    text: String,
    host: String,
}

impl Origin {
    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host == "[::1]"
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// `--origin`'s value as the proxy compares it: lower case, no trailing slash, no default
/// port (`https://User.github.io/` → `https://user.github.io`). A value that is not an http(s)
/// origin is an error that says what to give instead.
pub fn normalize_origin(value: &str) -> Result<String, String> {
    if value.trim().eq_ignore_ascii_case("null") {
        return Err("--origin null: \"null\" is the origin of file:// pages and sandboxed frames, which any web site can make; use --any-origin if you really mean every page".into());
    }
    parse_origin(value)
        .map(|o| o.text)
        .map_err(|why| format!("--origin {value}: {why}"))
}

fn parse_origin(value: &str) -> Result<Origin, String> {
    let example = "give scheme://host[:port], e.g. https://user.github.io";
    let lower = value.trim().to_ascii_lowercase();
    let text = lower.trim_end_matches('/');
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!("not an origin: {example}"));
    };
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => {
            return Err(format!(
                "only http:// and https:// pages can be allowed, not {scheme}://"
            ))
        }
    };
    if let Some(cut) = rest.find(['/', '?', '#']) {
        return Err(format!(
            "an origin has no path: use {scheme}://{}",
            &rest[..cut]
        ));
    }
    if rest.contains('@') {
        return Err(format!("an origin has no user name: {example}"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err(format!("unclosed [ in the address: {example}"));
        };
        let ip: std::net::Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("[{addr}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| example.to_owned())?),
        };
        (format!("[{ip}]"), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (rest.to_owned(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => return Err(format!("\"{p}\" is not a port number")),
        },
    };
    if !host.starts_with('[') {
        if !host.is_ascii() {
            return Err(format!(
                "{host}: write a non-ASCII host name in its xn-- (punycode) form, as browsers send it"
            ));
        }
        let ok_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if host.is_empty() || !host.split('.').all(ok_label) {
            return Err(format!("\"{host}\" is not a host name: {example}"));
        }
    }
    let text = match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    Ok(Origin { text, host })
}

/// Whether `target` is the proxy's own listening address (which would loop back into it).
async fn is_self(target: &BoardUrl, listen: SocketAddr) -> bool {
    if target.port != listen.port() {
        return false;
    }
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host, target.port)).await {
            Ok(a) => a.map(|s| s.ip()).collect(),
            // Not resolvable: the connection will fail with its own message.
            Err(_) => return false,
        },
    };
    addrs
        .iter()
        .any(|ip| reaches(ip.to_canonical(), listen.ip().to_canonical()))
}

/// Whether a connection to `target` (same port) lands on a socket listening on `listen`.
fn reaches(target: IpAddr, listen: IpAddr) -> bool {
    if target == listen {
        return true;
    }
    if target.is_unspecified() {
        // Connecting to 0.0.0.0 / :: reaches this computer (its loopback).
        return listen.is_unspecified() || listen.is_loopback();
    }
    // Listening on every address: any address of this computer's is a loop.
    listen.is_unspecified() && (target.is_loopback() || is_own_address(target))
}

/// Whether `ip` is one of this computer's addresses: a UDP socket "connected" to it (nothing
/// is sent) takes that same address as its own, which only happens for local addresses.
fn is_own_address(ip: IpAddr) -> bool {
    let any: SocketAddr = match ip {
        IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    std::net::UdpSocket::bind(any)
        .and_then(|s| {
            s.connect((ip, 9))?;
            s.local_addr()
        })
        .is_ok_and(|a| a.ip() == ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_local_targets_by_default() {
        let cfg = ProxyConfig::default();
        for ok in [
            "ws://192.168.2.197:8266",
            "ws://10.1.2.3:1",
            "ws://127.0.0.1:8266",
            "ws://esp32.local:8266",
            "ws://[::1]:8266",
            "ws://169.254.1.2:8266",
        ] {
            assert!(
                allowed(&cfg, &parse_board_url(ok).unwrap()).await.is_ok(),
                "{ok}"
            );
        }
        let e = allowed(&cfg, &parse_board_url("ws://8.8.8.8:8266").unwrap())
            .await
            .unwrap_err();
        assert!(e.contains("--allow 8.8.8.8"), "{e}");
        let cfg = ProxyConfig {
            allow: vec![("8.8.8.8".into(), Some(8266))],
            ..Default::default()
        };
        assert!(
            allowed(&cfg, &parse_board_url("ws://8.8.8.8:8266").unwrap())
                .await
                .is_ok()
        );
        assert!(
            allowed(&cfg, &parse_board_url("ws://8.8.8.8:9999").unwrap())
                .await
                .is_err()
        );
        let any = ProxyConfig {
            allow_any: true,
            ..Default::default()
        };
        assert!(allowed(&any, &parse_board_url("ws://8.8.8.8:1").unwrap())
            .await
            .is_ok());
    }
    #[test]
    fn pages_accepted_by_default_and_with_origin() {
        let d = PageOrigins::default();
        for ok in [
            None,
            Some("https://edrys-labs.github.io"),
            Some("https://Edrys-Labs.github.io/"),
            Some("https://edrys-labs.github.io:443"),
            Some("http://localhost:8080"),
            Some("https://localhost"),
            Some("http://127.0.0.1:5173"),
            Some("https://127.0.0.1:8443"),
            Some("http://[::1]:3000"),
            Some("http://[0:0:0:0:0:0:0:1]:3000"),
        ] {
            assert_eq!(d.check(ok), Ok(()), "{ok:?}");
        }
        for (bad, shown) in [
            ("https://evil.example", "https://evil.example"),
            ("https://EVIL.example/", "https://evil.example"),
            ("null", "null"),
            ("", "(an empty origin)"),
            (
                "https://edrys-labs.github.io.evil.example",
                "https://edrys-labs.github.io.evil.example",
            ),
            ("http://edrys-labs.github.io", "http://edrys-labs.github.io"),
            (
                "https://edrys-labs.github.io:8443",
                "https://edrys-labs.github.io:8443",
            ),
            (
                "http://localhost.evil.example",
                "http://localhost.evil.example",
            ),
            ("http://192.168.1.5:8000", "http://192.168.1.5:8000"),
            ("file://", "file://"),
        ] {
            assert_eq!(d.check(Some(bad)), Err(shown.to_owned()), "{bad:?}");
        }
        let extra = PageOrigins {
            any: false,
            extra: vec![normalize_origin("https://User.github.io/").unwrap()],
        };
        assert_eq!(extra.check(Some("https://user.github.io")), Ok(()));
        assert!(extra.check(Some("https://other.github.io")).is_err());
        assert_eq!(extra.check(Some("http://localhost:1")), Ok(()));
        let any = PageOrigins {
            any: true,
            extra: vec![],
        };
        assert_eq!(any.check(Some("https://evil.example")), Ok(()));
        assert_eq!(any.check(Some("null")), Ok(()));
    }

    #[test]
    fn origin_values_are_normalised_or_refused_clearly() {
        for (given, want) in [
            ("https://user.github.io", "https://user.github.io"),
            ("HTTPS://User.GitHub.io/", "https://user.github.io"),
            ("https://user.github.io:443", "https://user.github.io"),
            ("http://lab.example:80/", "http://lab.example"),
            ("http://lab.example:8080", "http://lab.example:8080"),
            ("https://[::1]:8443", "https://[::1]:8443"),
            (
                "  https://xn--bcher-kva.example ",
                "https://xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(normalize_origin(given).as_deref(), Ok(want), "{given}");
        }
        for (given, says) in [
            ("user.github.io", "scheme://host"),
            ("ftp://user.github.io", "only http:// and https://"),
            (
                "https://user.github.io/module/",
                "no path: use https://user.github.io",
            ),
            ("https://user.github.io?x", "no path"),
            ("https://a@user.github.io", "user name"),
            ("https://user.github.io:99999", "not a port"),
            ("https://user.github.io:", "not a port"),
            ("https://", "not an origin"),
            ("https://:8080", "not a host name"),
            ("https://a..b", "not a host name"),
            ("https://bücher.example", "punycode"),
            ("https://[::1", "unclosed"),
            ("https://[nope]", "not an IPv6"),
            ("null", "--any-origin"),
        ] {
            let e = normalize_origin(given).unwrap_err();
            assert!(
                e.contains(says) && e.starts_with("--origin"),
                "{given}: {e}"
            );
        }
    }

    #[test]
    fn refusals_fit_a_close_frame() {
        let r = page_refusal("https://evil.example");
        assert_eq!(r, "this proxy does not accept pages from https://evil.example; start it with --origin https://evil.example to allow it");
        assert!(r.len() <= 123);
        for n in [30, 60] {
            let o = format!("https://{}.example", "a".repeat(n));
            let r = page_refusal(&shown(&o));
            assert!(r.len() <= 123, "{r}");
        }
        assert_eq!(shown("a\u{7}b é"), "a?b??");
    }

    #[tokio::test]
    async fn the_proxy_own_address_is_a_loop() {
        let at = |s: &str| s.parse::<SocketAddr>().unwrap();
        let url = |s: &str| parse_board_url(s).unwrap();
        let lo = at("127.0.0.1:8765");
        assert!(is_self(&url("ws://127.0.0.1:8765"), lo).await);
        assert!(is_self(&url("ws://localhost:8765"), lo).await);
        assert!(is_self(&url("ws://0.0.0.0:8765"), lo).await);
        assert!(!is_self(&url("ws://127.0.0.1:8266"), lo).await);
        assert!(!is_self(&url("ws://192.168.4.1:8765"), lo).await);
        let all = at("0.0.0.0:8765");
        assert!(is_self(&url("ws://127.0.0.1:8765"), all).await);
        assert!(is_self(&url("ws://127.0.0.2:8765"), all).await);
        assert!(!is_self(&url("ws://8.8.8.8:8765"), all).await);
        let v6 = at("[::1]:8765");
        assert!(is_self(&url("ws://[::1]:8765"), v6).await);
        assert!(!is_self(&url("ws://127.0.0.1:8766"), v6).await);
        assert!(reaches(
            "::ffff:127.0.0.1".parse::<IpAddr>().unwrap().to_canonical(),
            lo.ip()
        ));
    }
}
