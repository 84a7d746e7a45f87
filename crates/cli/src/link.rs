//! The WebSocket link to a board (or to a proxy), client side, over tokio.
//!
//! Boards send unmasked, unfragmented frames of at most 65535 bytes, and their text frames may
//! hold invalid UTF-8 (spec §3). WebSocket libraries refuse such frames, so this small codec reads
//! frames as bytes and leaves decoding to `webrepl_core::utf8`. It masks what it sends, never
//! fragments, never requests a subprotocol, closes with an empty close frame, sets TCP_NODELAY
//! and writes each frame in one write (spec §7).

use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
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
    #[error("the peer sent a malformed frame ({0})")]
    Protocol(&'static str),
}

/// A frame from the board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    /// A close frame: its code, if any, and reason.
    Close(Option<u16>, String),
}

pub struct Reader {
    rd: BufReader<OwnedReadHalf>,
}

pub struct Writer {
    wr: OwnedWriteHalf,
    seed: u64,
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
    let mut rd = BufReader::with_capacity(4096, rd);
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
    // Read the response head byte by byte up to the blank line (the board writes it in pieces).
    let mut head = Vec::new();
    let read_head = async {
        while !head.ends_with(b"\r\n\r\n") {
            let b = rd.read_u8().await?;
            head.push(b);
            if head.len() > 8192 {
                return Err(LinkError::Protocol("handshake reply too long"));
            }
        }
        Ok(())
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
    Ok((Reader { rd }, Writer { wr, seed }))
}

impl Reader {
    /// The next data or close frame; `None` when the peer closed TCP without a close frame.
    /// Pings and pongs are skipped (boards never send them).
    pub async fn next(&mut self) -> Result<Option<Frame>, LinkError> {
        loop {
            let mut h = [0u8; 2];
            match self.rd.read_exact(&mut h).await {
                Ok(_) => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                    ) =>
                {
                    return Ok(None)
                }
                Err(e) => return Err(e.into()),
            }
            let opcode = h[0] & 0x0f;
            let masked = h[1] & 0x80 != 0;
            let len = match h[1] & 0x7f {
                126 => self.rd.read_u16().await? as u64,
                127 => self.rd.read_u64().await?,
                n => n as u64,
            };
            if len > 16 * 1024 * 1024 {
                return Err(LinkError::Protocol("frame larger than 16 MiB"));
            }
            let mut mask = [0u8; 4];
            if masked {
                self.rd.read_exact(&mut mask).await?;
            }
            let mut payload = vec![0u8; len as usize];
            self.rd.read_exact(&mut payload).await?;
            if masked {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= mask[i % 4];
                }
            }
            return Ok(Some(match opcode {
                0x1 => Frame::Text(payload),
                0x2 | 0x0 => Frame::Binary(payload),
                0x8 => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    let reason = payload
                        .get(2..)
                        .map(|r| String::from_utf8_lossy(r).into_owned())
                        .unwrap_or_default();
                    Frame::Close(code, reason)
                }
                0x9 | 0xA => continue,
                _ => return Err(LinkError::Protocol("unknown opcode")),
            }));
        }
    }
}

impl Writer {
    pub async fn text(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        self.frame(0x1, payload).await
    }

    pub async fn binary(&mut self, payload: &[u8]) -> Result<(), LinkError> {
        self.frame(0x2, payload).await
    }

    /// An empty close frame (a status code would keep the board's session open: spec §2).
    pub async fn close(&mut self) -> Result<(), LinkError> {
        self.frame(0x8, &[]).await?;
        let _ = self.wr.shutdown().await;
        Ok(())
    }

    /// One masked, unfragmented frame in one write. Payloads over 65535 bytes are refused: the
    /// caller splits them (a board drops the socket on a 64-bit length).
    async fn frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), LinkError> {
        if payload.len() > 65535 {
            return Err(LinkError::Protocol("frame over 65535 bytes"));
        }
        let mut buf = Vec::with_capacity(payload.len() + 8);
        buf.push(0x80 | opcode);
        if payload.len() < 126 {
            buf.push(0x80 | payload.len() as u8);
        } else {
            buf.push(0x80 | 126);
            buf.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mask = ((self.seed >> 32) as u32).to_be_bytes();
        buf.extend_from_slice(&mask);
        buf.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.wr.write_all(&buf).await?;
        Ok(())
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
