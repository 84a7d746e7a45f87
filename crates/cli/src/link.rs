//! The WebSocket link to a board (or to a proxy), client side, over tokio: a thin adapter around `webrepl_core::wsframe`.
//!
//! Boards send unmasked, unfragmented frames of at most 65535 bytes, and their text frames may
//! hold invalid UTF-8 (docs/board-behaviour.md: Terminal). WebSocket libraries refuse such frames, so this link reads
//! frames as bytes and leaves decoding to `webrepl_core::utf8`. It masks what it sends, never
//! fragments, never requests a subprotocol, closes with an empty close frame, sets TCP_NODELAY
//! and writes each frame in one write.
//!
//! Boards write every frame as two TCP writes (header, then payload) with Nagle on, so the
//! payload waits on the board until our ACK of the header arrives, and client systems delay
//! ACKs by 40–200 ms (docs/board-behaviour.md: Speed). Two remedies, both here: on Linux the socket's TCP_QUICKACK is
//! re-armed after every read; everywhere, [`Reader::next`] reports [`Incoming::Stalled`] when a
//! read leaves a frame whose header is in but whose payload is not (once per frame), and the
//! caller answers with [`Writer::nudge`]: an empty ping, whose segment carries the ACK (see
//! `webrepl_core::wsframe::Outgoing::Nudge` for why a board ignores it safely).

use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use webrepl_core::wsframe::{self, Decoder, FrameError, Outgoing};
use webrepl_core::BoardUrl;

#[derive(Debug, Error)]
pub enum LinkError {
    #[error("nothing accepted the connection at {0} (connection refused): is the board on, WebREPL enabled, the port right?")]
    Refused(String),
    #[error(
        "no answer from {0} within {1} s: wrong address, board unreachable, or busy running code"
    )]
    Timeout(String, u64),
    #[error("could not reach {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} did not accept the WebSocket handshake: {1}")]
    Handshake(String, String),
    #[error("wss:// needs TLS, which this client does not speak; use ws://")]
    Tls,
    #[error("the link broke: {0}")]
    Broken(#[from] std::io::Error),
    #[error("the peer sent a malformed handshake ({0})")]
    Protocol(&'static str),
    #[error("the link is unusable: {0}")]
    Frame(#[from] FrameError),
}

/// A frame from the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    /// A close frame: its code, if any, and reason.
    Close(Option<u16>, String),
}

/// What [`Reader::next`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Frame(Frame),
    /// A frame's header arrived without its payload: the board may hold the payload until it
    /// sees our ACK. Answer with [`Writer::nudge`]. Reported at most once per frame.
    Stalled,
    /// The peer closed TCP without a close frame (a frame cut off counts as such).
    Dropped,
}

/// Bytes one read may take (the decoder keeps what does not make a whole frame yet).
const READ_SIZE: usize = 4096;

pub struct Reader {
    rd: OwnedReadHalf,
    decoder: Decoder,
    buf: Box<[u8]>,
    /// The frame last reported as stalled.
    nudged: Option<u64>,
    eof: bool,
}

pub struct Writer {
    wr: OwnedWriteHalf,
    seed: u64,
    /// The end of a nudge the socket took only in part: written before the next frame.
    pending: Vec<u8>,
    nudges: u64,
}

/// The request path of `url`: what follows its host and port (`/` if nothing, a proxy's
/// `/ws://board:8266`), for [`connect`].
pub fn request_path(url: &BoardUrl) -> String {
    url.url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into())
}

/// Opens a WebSocket to `url` (path included, e.g. a proxy's `/ws://board:8266`).
pub async fn connect(
    url: &BoardUrl,
    path: &str,
    timeout: Duration,
) -> Result<(Reader, Writer), LinkError> {
    if url.secure {
        return Err(LinkError::Tls);
    }
    let addr = format!(
        "{}:{}",
        url.host.trim_start_matches('[').trim_end_matches(']'),
        url.port
    );
    let shown = format!("{}:{}", url.host, url.port);
    let stream = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Err(_) => return Err(LinkError::Timeout(shown, timeout.as_secs())),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(LinkError::Refused(shown))
        }
        Ok(Err(e)) => return Err(LinkError::Io(shown, e)),
        Ok(Ok(s)) => s,
    };
    stream
        .set_nodelay(true)
        .map_err(|e| LinkError::Io(shown.clone(), e))?;
    let (rd, mut wr) = stream.into_split();
    let mut reader = Reader {
        rd,
        decoder: Decoder::new(),
        buf: vec![0u8; READ_SIZE].into_boxed_slice(),
        nudged: None,
        eof: false,
    };
    quickack(&reader.rd);
    let seed = seed();
    let key = base64(
        &seed
            .to_le_bytes()
            .iter()
            .chain(&(!seed).to_le_bytes())
            .copied()
            .collect::<Vec<u8>>(),
    );
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {shown}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    wr.write_all(req.as_bytes()).await?;
    // Read the response head up to the blank line (the board writes it in pieces); what follows
    // it is the first frames.
    let mut head = Vec::new();
    let read_head = async {
        loop {
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                reader.decoder.push(&head[end + 4..]);
                head.truncate(end + 4);
                return Ok(());
            }
            if head.len() > 8192 {
                return Err(LinkError::Protocol("handshake reply too long"));
            }
            let n = reader.rd.read(&mut reader.buf).await?;
            if n == 0 {
                return Err(LinkError::Broken(std::io::ErrorKind::UnexpectedEof.into()));
            }
            quickack(&reader.rd);
            head.extend_from_slice(&reader.buf[..n]);
        }
    };
    match tokio::time::timeout(timeout, read_head).await {
        Err(_) => return Err(LinkError::Timeout(shown, timeout.as_secs())),
        Ok(Err(LinkError::Broken(e))) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(LinkError::Handshake(
                shown,
                "the connection closed during the handshake".into(),
            ))
        }
        Ok(r) => r?,
    }
    let text = String::from_utf8_lossy(&head);
    let status = text.lines().next().unwrap_or_default().to_owned();
    if !status.contains(" 101") {
        return Err(LinkError::Handshake(shown, status));
    }
    let writer = Writer {
        wr,
        seed,
        pending: Vec::new(),
        nudges: 0,
    };
    Ok((reader, writer))
}

/// Re-arms Linux's TCP_QUICKACK: the next segments are acknowledged at once, not after the
/// delayed-ACK timer (the kernel leaves quick-ACK mode by itself, hence after every read).
#[cfg(target_os = "linux")]
fn quickack(rd: &OwnedReadHalf) {
    let stream: &TcpStream = rd.as_ref();
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

/// Elsewhere the nudge alone prevents the stall (Windows' SIO_TCP_SET_ACK_FREQUENCY and
/// macOS's system-wide setting are not used).
#[cfg(not(target_os = "linux"))]
fn quickack(_rd: &OwnedReadHalf) {}

impl Reader {
    /// The next frame, a stall to answer, or the end of the link. Pings and pongs are skipped
    /// (boards never send them).
    ///
    /// Cancel-safe: the only `.await` is one `read()` into a buffer the reader owns (tokio's
    /// `read` is cancel-safe), and every byte read is handed to the decoder before anything
    /// else happens, so racing this in `select!` loses nothing: a frame cut off by a cancelled
    /// call is completed by the next one.
    pub async fn next(&mut self) -> Result<Incoming, LinkError> {
        loop {
            if let Some(f) = self.decoded()? {
                return Ok(Incoming::Frame(f));
            }
            if self.eof {
                return Ok(Incoming::Dropped);
            }
            if let Some(n) = self.decoder.stalled() {
                if self.nudged != Some(n) {
                    self.nudged = Some(n);
                    return Ok(Incoming::Stalled);
                }
            }
            let n = match self.rd.read(&mut self.buf).await {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => 0,
                Err(e) => return Err(e.into()),
            };
            self.absorb(n);
        }
    }

    /// A frame that has already arrived, without waiting: from the decoder's buffer, else from
    /// what the socket holds right now. `None` when nothing whole is there (then [`Reader::next`]
    /// waits, and reports a stall if there is one).
    pub fn ready(&mut self) -> Result<Option<Frame>, LinkError> {
        loop {
            if let Some(f) = self.decoded()? {
                return Ok(Some(f));
            }
            if self.eof {
                return Ok(None);
            }
            match self.rd.try_read(&mut self.buf) {
                Ok(n) => self.absorb(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => self.absorb(0),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Takes `n` bytes just read into `buf` (0: end of stream).
    fn absorb(&mut self, n: usize) {
        if n == 0 {
            self.eof = true;
            return;
        }
        quickack(&self.rd);
        self.decoder.push(&self.buf[..n]);
    }

    /// The next data or close frame in the decoder.
    fn decoded(&mut self) -> Result<Option<Frame>, LinkError> {
        loop {
            return Ok(Some(match self.decoder.next_frame()? {
                None => return Ok(None),
                Some(wsframe::Frame::Text(t)) => Frame::Text(t),
                Some(wsframe::Frame::Binary(b)) => Frame::Binary(b),
                Some(wsframe::Frame::Close { code, reason }) => Frame::Close(code, reason),
                Some(wsframe::Frame::Ping(_) | wsframe::Frame::Pong(_)) => continue,
            }));
        }
    }
}

impl Writer {
    pub async fn text(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        self.frame(Outgoing::Text(payload)).await
    }

    pub async fn binary(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        self.frame(Outgoing::Binary(payload)).await
    }

    /// An empty close frame (a status code would keep the board's session open: docs/board-behaviour.md: Frames).
    pub async fn close(&mut self) -> Result<(), LinkError> {
        self.frame(Outgoing::Close).await?;
        let _ = self.wr.shutdown().await;
        Ok(())
    }

    /// Answers [`Incoming::Stalled`]: one empty, masked ping, so that a segment (carrying the
    /// ACK the board waits for) leaves now. Never waits: when the socket cannot take it at once
    /// (the board is not reading), there is no point and it is skipped; a part the socket took
    /// only in part is finished before the next frame.
    pub fn nudge(&mut self) -> Result<(), LinkError> {
        if self.pending.is_empty() {
            let mask = self.mask();
            wsframe::encode(Outgoing::Nudge, mask, &mut self.pending)?;
            self.nudges += 1;
        }
        match self.wr.try_write(&self.pending) {
            Ok(n) => {
                self.pending.drain(..n);
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Nudges sent so far.
    pub fn nudges(&self) -> u64 {
        self.nudges
    }

    /// One masked, unfragmented frame in one write. Payloads over 65535 bytes are refused: the
    /// caller splits them (a board drops the socket on a 64-bit length).
    async fn frame(&mut self, frame: Outgoing<'_>) -> Result<(), LinkError> {
        let mask = self.mask();
        let mut buf = Vec::new();
        wsframe::encode(frame, mask, &mut buf)?;
        if !self.pending.is_empty() {
            buf.splice(0..0, std::mem::take(&mut self.pending));
        }
        self.wr.write_all(&buf).await?;
        Ok(())
    }

    fn mask(&mut self) -> [u8; 4] {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.seed >> 32) as u32).to_be_bytes()
    }
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (t as u64) ^ (std::process::id() as u64) << 32 ^ (&t as *const _ as u64)
}

fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_of_the_rfc_sample() {
        assert_eq!(
            super::base64(b"the sample nonce"),
            "dGhlIHNhbXBsZSBub25jZQ=="
        );
    }
}
