//! What the CLI's end-to-end tests share: the Node virtual board on a free port, `webrepl proxy`
//! as a process, the `webrepl` command with the test password, a put/get round trip, and
//! WebSocket clients as a browser page makes them (through the proxy or straight to a board).

#![allow(dead_code)]

use crate::nodeboard::{self, NodeBoard, BIN};
use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

pub const PASSWORD: &str = "secret123";

pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Node virtual board (WebREPL on a free port); killed on drop.
pub struct Board {
    _node: NodeBoard,
    pub port: u16,
}

impl Board {
    pub fn start(args: &[&str]) -> Board {
        let port = free_port();
        let port_arg = port.to_string();
        let mut all = vec!["--port", port_arg.as_str(), "--password", PASSWORD];
        all.extend_from_slice(args);
        Board {
            _node: NodeBoard::start(&all),
            port,
        }
    }
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// `webrepl proxy` on a free port; killed on drop. Its log (stderr) is gathered in `log`.
pub struct Proxy {
    child: Child,
    pub port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Proxy {
    pub fn start(args: &[&str]) -> Proxy {
        let port = free_port();
        let mut child = Command::new(BIN)
            .args(["proxy", "--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .expect("proxy starts");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(err) = child.stderr.take() {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    if let Ok(mut l) = log.lock() {
                        l.push_str(&line);
                        l.push('\n');
                    }
                }
            });
        }
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Proxy { child, port, log }
    }
    pub fn url(&self, board: &str) -> String {
        format!("ws://127.0.0.1:{}/ws://{board}", self.port)
    }
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn webrepl(args: &[&str]) -> (i32, String, String) {
    nodeboard::webrepl_with(args, &[("WEBREPL_PASSWORD", PASSWORD)])
}

pub fn tmp(name: &str) -> PathBuf {
    nodeboard::tmp("cli", name)
}

pub fn round_trip(board: &str, via: Option<&str>, remote: &str, data: &[u8]) {
    let local = tmp("up.bin");
    let back = tmp("back.bin");
    std::fs::write(&local, data).expect("write");
    let mut put = vec!["put", local.to_str().unwrap_or_default()];
    let target = format!("{board}:{remote}");
    put.push(&target);
    let mut get = vec!["get", &target, back.to_str().unwrap_or_default()];
    if let Some(u) = via {
        put.extend(["--url", u]);
        get.extend(["--url", u]);
    }
    let (code, _, err) = webrepl(&put);
    assert_eq!(code, 0, "put {remote}: {err}");
    let (code, _, err) = webrepl(&get);
    assert_eq!(code, 0, "get {remote}: {err}");
    assert!(
        std::fs::read(&back).expect("got file") == data,
        "{remote}: round trip differs"
    );
}

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket handshake as a page from `origin` makes it (None: a non-browser client).
pub async fn open_as(url: &str, origin: Option<&str>) -> Ws {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = url.into_client_request().expect("request");
    if let Some(o) = origin {
        req.headers_mut()
            .insert("origin", o.parse().expect("header value"));
    }
    let (ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("the proxy completes the handshake");
    ws
}

/// The close frame the proxy ends the session with: (code, reason).
pub async fn closed_with(ws: &mut Ws) -> (u16, String) {
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(f))))) => (u16::from(f.code), f.reason.to_string()),
        other => panic!("expected a close frame: {other:?}"),
    }
}

/// A browser's view through the proxy: logs in and returns the socket.
pub async fn browser(url: &str) -> Ws {
    browser_as(url, None).await
}

/// Logs in through the proxy as a page from `origin`, then closes and waits until the proxy
/// has let the board go.
pub async fn log_in_and_leave(url: &str, origin: Option<&str>) {
    let mut ws = browser_as(url, origin).await;
    let _ = ws.close(None).await;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {}
    tokio::time::sleep(Duration::from_millis(300)).await;
}

pub async fn browser_as(url: &str, origin: Option<&str>) -> Ws {
    let mut ws = open_as(url, origin).await;
    let mut text = String::new();
    while !text.contains("Password: ") {
        if let Some(Ok(Message::Text(t))) = ws.next().await {
            text.push_str(&t);
        }
    }
    ws.send(Message::text(format!("{PASSWORD}\r")))
        .await
        .expect("send");
    while !text.contains(">>> ") {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => text.push_str(&t),
            other => panic!("login: {other:?}"),
        }
    }
    ws
}
