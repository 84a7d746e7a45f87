//! A WebREPL test board that writes like MicroPython's: each frame as two TCP writes (header, then payload) with Nagle on — or every byte on its own, or each payload held until the client sends something.
//!
//! It speaks enough of the board to test links against: `Password: ` and login, a REPL that
//! echoes each typed character as its own frame and runs one command, `PRINT n` (n numbered
//! lines `L000000`, each as two frames, like `print('L%06d' % i)`; typed text is dropped while it
//! prints), and the file transfer (put, get with one chunk per ack byte, version, unknown ops as
//! a board treats them). It records what a client must never send a board (a ping with payload,
//! a close with a status code) in `violations`, and counts the empty pings it got.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use webrepl_core::wsframe::{Decoder, Frame};

pub const PASSWORD: &str = "secret123";

/// How the board puts a frame on the wire (its socket always has Nagle on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writes {
    /// Header, then payload, in two writes: MicroPython's websocket_write_raw.
    Split,
    /// Every byte in its own write, with a yield in between.
    Bytewise,
    /// Header, then the payload only once the client has sent anything after the header: a
    /// delayed ACK that never fires, so only a client that sends (a nudge) gets the payload.
    HoldUntilHeard,
}

#[derive(Clone, Default)]
pub struct Shared {
    pub files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    pub violations: Arc<Mutex<Vec<String>>>,
    pub empty_pings: Arc<AtomicU64>,
}

pub struct RealBoard {
    pub port: u16,
    pub shared: Shared,
}

impl RealBoard {
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    pub fn put_file(&self, name: &str, data: Vec<u8>) {
        if let Ok(mut f) = self.shared.files.lock() {
            f.insert(name.trim_start_matches('/').to_owned(), data);
        }
    }
    pub fn file(&self, name: &str) -> Option<Vec<u8>> {
        self.shared
            .files
            .lock()
            .ok()?
            .get(name.trim_start_matches('/'))
            .cloned()
    }
    pub fn violations(&self) -> Vec<String> {
        self.shared
            .violations
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }
    pub fn empty_pings(&self) -> u64 {
        self.shared.empty_pings.load(Ordering::Relaxed)
    }
}

/// Starts a board on a free port (one session at a time, like a board; others wait).
pub async fn start(writes: Writes) -> RealBoard {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let shared = Shared::default();
    let s = shared.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            session(tcp, writes, s.clone()).await;
        }
    });
    RealBoard { port, shared }
}

async fn session(mut tcp: TcpStream, writes: Writes, shared: Shared) {
    let _ = tcp.set_nodelay(false);
    // The handshake.
    let mut head = Vec::new();
    let mut buf = vec![0u8; 4096];
    let rest = loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break head.split_off(end + 4);
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let Some(key) = text
        .lines()
        .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
    else {
        return;
    };
    let accept =
        tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
    let reply = format!("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n");
    if tcp.write_all(reply.as_bytes()).await.is_err() {
        return;
    }
    let (mut rd, wr) = tcp.into_split();
    let (frames_tx, mut frames) = mpsc::unbounded_channel();
    let (heard_tx, heard) = watch::channel(0u64);
    let sh = shared.clone();
    let reader = tokio::spawn(async move {
        let mut d = Decoder::new();
        d.push(&rest);
        let mut buf = vec![0u8; 4096];
        let mut total = 0u64;
        loop {
            while let Ok(Some(f)) = d.next_frame() {
                match &f {
                    Frame::Ping(p) if p.is_empty() => {
                        sh.empty_pings.fetch_add(1, Ordering::Relaxed);
                    }
                    Frame::Ping(p) => push(&sh, format!("a ping with {} payload bytes", p.len())),
                    Frame::Close { code: Some(c), .. } => {
                        push(&sh, format!("a close frame with status code {c}"))
                    }
                    _ => {}
                }
                if frames_tx.send(f).is_err() {
                    return;
                }
            }
            match rd.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    total += n as u64;
                    heard_tx.send_replace(total);
                    d.push(&buf[..n]);
                }
            }
        }
    });
    let mut out = Out { wr, writes, heard };
    let _ = board(&mut out, &mut frames, &shared).await;
    reader.abort();
}

fn push(shared: &Shared, what: String) {
    if let Ok(mut v) = shared.violations.lock() {
        v.push(what);
    }
}

struct Out {
    wr: OwnedWriteHalf,
    writes: Writes,
    heard: watch::Receiver<u64>,
}

impl Out {
    async fn frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        let mut header = vec![0x80 | opcode];
        if payload.len() < 126 {
            header.push(payload.len() as u8);
        } else {
            header.push(126);
            header.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        match self.writes {
            Writes::Split => {
                self.wr.write_all(&header).await?;
                self.wr.write_all(payload).await
            }
            Writes::Bytewise => {
                for b in header.iter().chain(payload) {
                    self.wr.write_all(std::slice::from_ref(b)).await?;
                    self.wr.flush().await?;
                    tokio::task::yield_now().await;
                }
                Ok(())
            }
            Writes::HoldUntilHeard => {
                let seen = *self.heard.borrow_and_update();
                self.wr.write_all(&header).await?;
                if !payload.is_empty() {
                    if self.heard.wait_for(|n| *n > seen).await.is_err() {
                        return Err(std::io::ErrorKind::BrokenPipe.into());
                    }
                    self.wr.write_all(payload).await?;
                }
                Ok(())
            }
        }
    }
    async fn text(&mut self, s: &str) -> std::io::Result<()> {
        self.frame(0x1, s.as_bytes()).await
    }
    async fn binary(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.frame(0x2, b).await
    }
}

/// The board's side of one session; returns when the client leaves.
async fn board(
    out: &mut Out,
    frames: &mut mpsc::UnboundedReceiver<Frame>,
    shared: &Shared,
) -> std::io::Result<()> {
    out.text("Password: ").await?;
    let mut typed = Vec::new();
    let mut logged_in = false;
    let mut line = String::new();
    let mut xfer = Transfer::default();
    while let Some(f) = frames.recv().await {
        match f {
            Frame::Text(t) if !logged_in => {
                for &c in &t {
                    if c == b'\r' || c == b'\n' {
                        if typed == PASSWORD.as_bytes() {
                            logged_in = true;
                            out.text("\r\nWebREPL connected\r\n>>> ").await?;
                        } else {
                            out.text("\r\nAccess denied\r\n").await?;
                            return Ok(());
                        }
                    } else if typed.len() < 10 {
                        typed.push(c);
                    }
                }
            }
            Frame::Text(t) => {
                for c in String::from_utf8_lossy(&t).chars() {
                    if c != '\r' {
                        line.push(c);
                        out.text(&c.to_string()).await?;
                        continue;
                    }
                    out.text("\r\n").await?;
                    let cmd = std::mem::take(&mut line);
                    if let Some(n) = cmd.trim().strip_prefix("PRINT ") {
                        let n: u32 = n.trim().parse().unwrap_or(0);
                        for i in 0..n {
                            out.text(&format!("L{i:06}")).await?;
                            out.text("\r\n").await?;
                            // A running program does not read its terminal: typed text waits
                            // (here: is dropped).
                            while let Ok(f) = frames.try_recv() {
                                if let Frame::Close { .. } = f {
                                    return Ok(());
                                }
                            }
                        }
                    }
                    out.text(">>> ").await?;
                }
            }
            Frame::Binary(b) => {
                for &byte in &b {
                    xfer.byte(byte, out, shared).await?;
                }
            }
            Frame::Close { .. } => {
                let _ = out.wr.write_all(&[0x88, 0x00]).await;
                return Ok(());
            }
            Frame::Ping(_) | Frame::Pong(_) => {}
        }
    }
    Ok(())
}

/// The board's file-transfer parser, one byte at a time (as modwebrepl.c reads them).
#[derive(Default)]
struct Transfer {
    header: Vec<u8>,
    name: String,
    /// Put: bytes still to come and what came.
    put_left: u64,
    put_data: Vec<u8>,
    /// Get: what is left to send, once asked.
    get: Option<Vec<u8>>,
    /// An unknown op opened its file: binary input means nothing from then on.
    stuck: bool,
}

impl Transfer {
    async fn byte(&mut self, b: u8, out: &mut Out, shared: &Shared) -> std::io::Result<()> {
        if self.put_left > 0 {
            self.put_data.push(b);
            self.put_left -= 1;
            if self.put_left == 0 {
                let data = std::mem::take(&mut self.put_data);
                if let Ok(mut f) = shared.files.lock() {
                    f.insert(self.name.clone(), data);
                }
                out.binary(b"WB\0\0").await?;
            }
            return Ok(());
        }
        if self.stuck {
            return Ok(());
        }
        if let Some(rest) = self.get.as_mut() {
            // Any byte asks for the next chunk (early ones wait their turn); an empty chunk ends
            // the file, followed by the status, and the bytes after it are the next header's.
            let n = rest.len().min(256);
            let chunk: Vec<u8> = rest.drain(..n).collect();
            let mut m = (n as u16).to_le_bytes().to_vec();
            m.extend_from_slice(&chunk);
            out.binary(&m).await?;
            if n == 0 {
                self.get = None;
                out.binary(b"WB\0\0").await?;
            }
            return Ok(());
        }
        self.header.push(b);
        if self.header.len() < 82 {
            return Ok(());
        }
        let h = std::mem::take(&mut self.header);
        let end = h[18..].iter().position(|&c| c == 0).unwrap_or(64);
        self.name = String::from_utf8_lossy(&h[18..18 + end])
            .trim_start_matches('/')
            .to_owned();
        match h[2] {
            1 => {
                self.put_left = u64::from(u32::from_le_bytes([h[12], h[13], h[14], h[15]]));
                if self.put_left == 0 {
                    if let Ok(mut f) = shared.files.lock() {
                        f.insert(self.name.clone(), vec![]);
                    }
                }
                out.binary(b"WB\0\0").await?;
                if self.put_left == 0 {
                    out.binary(b"WB\0\0").await?;
                }
            }
            // The signature is never checked: the op byte alone decides.
            3 => out.binary(&[1, 27, 0]).await?,
            op => {
                // A get or any other op opens the file for reading (docs/board-behaviour.md:
                // Files); a missing file drops the session.
                let file = shared
                    .files
                    .lock()
                    .ok()
                    .and_then(|f| f.get(&self.name).cloned());
                let Some(data) = file else {
                    return Err(std::io::ErrorKind::NotFound.into());
                };
                if op == 2 {
                    self.get = Some(data);
                } else {
                    self.stuck = true;
                }
                out.binary(b"WB\0\0").await?;
            }
        }
        Ok(())
    }
}
