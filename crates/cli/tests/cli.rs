//! The `webrepl` binary end to end: against the Node virtual board (real MicroPython) and, for
//! the many-session test, small WebREPL test boards written here.

use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "secret123";
#[path = "support/nodeboard.rs"]
mod nodeboard;
use nodeboard::{NodeBoard, BIN};

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A Node virtual board (WebREPL on a free port); killed on drop.
struct Board {
    _node: NodeBoard,
    port: u16,
}

impl Board {
    fn start(args: &[&str]) -> Board {
        let port = free_port();
        let port_arg = port.to_string();
        let mut all = vec!["--port", port_arg.as_str(), "--password", PASSWORD];
        all.extend_from_slice(args);
        Board {
            _node: NodeBoard::start(&all),
            port,
        }
    }
    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

/// `webrepl proxy` on a free port; killed on drop. Its log (stderr) is gathered in `log`.
struct Proxy {
    child: Child,
    port: u16,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Proxy {
    fn start(args: &[&str]) -> Proxy {
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
    fn url(&self, board: &str) -> String {
        format!("ws://127.0.0.1:{}/ws://{board}", self.port)
    }
    fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn webrepl(args: &[&str]) -> (i32, String, String) {
    nodeboard::webrepl_with(args, &[("WEBREPL_PASSWORD", PASSWORD)])
}

fn tmp(name: &str) -> PathBuf {
    nodeboard::tmp("cli", name)
}

fn round_trip(board: &str, via: Option<&str>, remote: &str, data: &[u8]) {
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

#[test]
fn put_get_round_trips_and_name_limits() {
    let b = Board::start(&[]);
    round_trip(&b.addr(), None, "/empty.bin", b"");
    round_trip(&b.addr(), None, "/one.bin", b"x");
    let long = format!("/{}", "n".repeat(62));
    assert_eq!(long.len(), 63);
    round_trip(&b.addr(), None, &long, b"63-byte name");
    let mb: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 24) as u8)
        .collect();
    round_trip(&b.addr(), None, "/mb.bin", &mb);
    let local = tmp("n.txt");
    std::fs::write(&local, b"n").expect("write");
    let too_long = format!("{}:/{}", b.addr(), "n".repeat(63));
    let (code, _, err) = webrepl(&["put", local.to_str().unwrap_or_default(), &too_long]);
    assert_eq!(code, 2);
    assert!(err.contains("at most 63"), "{err}");
    // webrepl_cli.py's trailing-slash form keeps the local name.
    let (code, out, err) = webrepl(&[
        "put",
        local.to_str().unwrap_or_default(),
        &format!("{}:/", b.addr()),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("to /n.txt"), "{out}");
    let (code, out, _) = webrepl(&["version", &b.addr()]);
    assert_eq!((code, out.trim()), (0, "MicroPython 1.27.0"));
    let (code, _, err) = webrepl(&[
        "get",
        &format!("{}:/missing.txt", b.addr()),
        tmp("m").to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not found"), "{err}");
    std::thread::sleep(Duration::from_millis(300));
    let (code, _, err) = webrepl(&["version", &b.addr(), "-p", "wrong"]);
    assert_eq!(code, 3);
    assert!(err.contains("access denied"), "{err}");
}

#[test]
fn file_commands_list_make_move_print_and_delete() {
    let b = Board::start(&["--input-buffer", "256"]);
    let at = |p: &str| format!("{}:{p}", b.addr());
    let ok = |args: &[&str]| {
        let (code, out, err) = webrepl(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    };
    let out = ok(&["ls", &b.addr()]);
    assert!(
        out.contains("boot.py") && out.contains("webrepl_cfg.py"),
        "{out}"
    );
    ok(&["mkdir", &at("/lib/drivers"), "--parents"]);
    ok(&["mkdir", &at("/lib/drivers"), "--parents"]); // exists: fine with --parents
    let (code, _, err) = webrepl(&["mkdir", &at("/lib")]);
    assert_eq!(code, 1);
    assert!(err.contains("/lib: already exists"), "{err}");
    // A safe upload into a folder with a non-ASCII name of the longest allowed length.
    let name = format!("/lib/drivers/{}.py", "ä".repeat(23));
    assert_eq!(name.len(), 62);
    let local = tmp("drv.py");
    std::fs::write(&local, "print('driver ✓')\n").expect("write");
    ok(&[
        "put",
        "--safe",
        local.to_str().unwrap_or_default(),
        &at(&name),
    ]);
    let out = ok(&["ls", &at("/lib/drivers")]);
    assert!(out.contains(&format!("{}.py", "ä".repeat(23))), "{out}");
    assert!(out.contains("20  "), "size of the file: {out}");
    let out = ok(&["cat", &at(&name)]);
    assert_eq!(out, "print('driver ✓')\n");
    ok(&["mv", &at(&name), "/lib/drv.py"]);
    let out = ok(&["ls", &at("/lib")]);
    assert!(out.contains("drivers/") && out.contains("drv.py"), "{out}");
    // mv never replaces a file; rm of a missing file and bad paths are clear errors.
    let (code, _, err) = webrepl(&["mv", &at("/lib/drv.py"), "/boot.py"]);
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = webrepl(&["rm", &at("/nope.py")]);
    assert_eq!(code, 1);
    assert!(err.contains("no such file or folder"), "{err}");
    let (code, _, err) = webrepl(&["rm", &at("/lib/../boot.py")]);
    assert_eq!(code, 2);
    assert!(err.contains("not supported"), "{err}");
    ok(&["rm", &at("/lib")]);
    let out = ok(&["ls", &b.addr()]);
    assert!(!out.contains("lib/"), "{out}");
    assert!(out.contains("boot.py"), "{out}");
}

#[test]
fn file_commands_wait_for_a_running_program_or_stop_it() {
    let b = Board::start(&[]);
    // A program that never ends, started and left running.
    let prog = tmp("forever.py");
    std::fs::write(&prog, "import time\nwhile True:\n    time.sleep_ms(10)\n").expect("write");
    let mut runner = Command::new(BIN)
        .args(["run", prog.to_str().unwrap_or_default(), &b.addr()])
        .env("WEBREPL_PASSWORD", PASSWORD)
        .stdout(Stdio::null())
        .spawn()
        .expect("run");
    std::thread::sleep(Duration::from_millis(1500));
    let _ = runner.kill();
    let _ = runner.wait();
    std::thread::sleep(Duration::from_millis(500));
    let (code, _, err) = webrepl(&["ls", &b.addr()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a program is running"), "{err}");
    let (code, out, err) = webrepl(&["ls", &b.addr(), "--interrupt"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("boot.py"), "{out}");
}

#[test]
fn repl_sends_keys_as_typed_and_ctrl_bracket_leaves() {
    use std::io::Write;
    let b = Board::start(&[]);
    let mut child = Command::new(BIN)
        .args(["repl", &b.addr()])
        .env("WEBREPL_PASSWORD", PASSWORD)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("repl");
    let mut stdin = child.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(800));
    // A program that runs until Ctrl-C (sent to the board, not to this process). (It prints:
    // the virtual board delivers Ctrl-C when a program prints.)
    stdin
        .write_all(b"import time\rwhile True: print('tick'); time.sleep_ms(20)\r\r")
        .expect("write");
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\x03").expect("write");
    std::thread::sleep(Duration::from_millis(300));
    stdin.write_all(b"print(6*7)\r").expect("write");
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\x1d").expect("write");
    let out = child.wait_with_output().expect("exits");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}\n{err}");
    assert!(text.contains("KeyboardInterrupt"), "{text}");
    assert!(text.contains("42"), "{text}");
}

#[test]
fn run_prints_the_program_output() {
    let b = Board::start(&[]);
    let file = tmp("prog.py");
    std::fs::write(
        &file,
        "for i in range(3):\n    print('line', i, '\u{2713}')\n",
    )
    .expect("write");
    let (code, out, err) = webrepl(&["run", file.to_str().unwrap_or_default(), &b.addr()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("line 0 ✓") && out.contains("line 2 ✓"),
        "{out}"
    );
}

#[test]
fn the_proxy_forwards_both_frame_types_and_refuses_other_networks() {
    let b = Board::start(&[]);
    let p = Proxy::start(&[]);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    round_trip("x", Some(&p.url(&b.addr())), "/via.bin", &data);
    let (code, _, err) = webrepl(&["version", "x", "--url", &p.url("8.8.8.8:8266")]);
    assert_eq!(code, 3);
    assert!(
        err.contains("target not allowed") && err.contains("--allow 8.8.8.8"),
        "{err}"
    );
}

#[tokio::test]
async fn the_proxy_serves_wss_with_a_given_certificate() {
    use tokio_rustls::rustls;
    let b = Board::start(&[]);
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("a certificate");
    let (cert_pem, key_pem) = (tmp("cert.pem"), tmp("key.pem"));
    std::fs::write(&cert_pem, cert.cert.pem()).expect("write");
    std::fs::write(&key_pem, cert.signing_key.serialize_pem()).expect("write");
    // A broken key file is a usage error with the file named.
    let (code, _, err) = webrepl(&[
        "proxy",
        "--tls-cert",
        cert_pem.to_str().unwrap_or_default(),
        "--tls-key",
        cert_pem.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--tls-key") && err.contains("private key"),
        "{err}"
    );
    let p = Proxy::start(&[
        "--tls-cert",
        cert_pem.to_str().unwrap_or_default(),
        "--tls-key",
        key_pem.to_str().unwrap_or_default(),
    ]);
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", p.port))
        .await
        .expect("tcp");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
        .connect(name, tcp)
        .await
        .expect("TLS handshake with the proxy's certificate");
    let url = format!("wss://localhost:{}/ws://{}", p.port, b.addr());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("WebSocket over TLS");
    let mut text = String::new();
    while !text.contains("Password: ") {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => text.push_str(&t),
            other => panic!("{other:?}"),
        }
    }
    ws.send(Message::text(format!("{PASSWORD}\r")))
        .await
        .expect("send");
    while !text.contains("WebREPL connected") {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => text.push_str(&t),
            other => panic!("{other:?}"),
        }
    }
    // A plain ws:// client is not served by a TLS proxy.
    let plain =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/ws://{}", p.port, b.addr()))
            .await;
    assert!(plain.is_err());
}

#[test]
fn a_link_dropped_mid_transfer_fails_clearly() {
    let b = Board::start(&["--drop-after-bytes", "50000"]);
    let local = tmp("drop.bin");
    std::fs::write(&local, vec![7u8; 200_000]).expect("write");
    let (code, _, err) = webrepl(&[
        "put",
        local.to_str().unwrap_or_default(),
        &format!("{}:/drop.bin", b.addr()),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("connection was lost during the transfer"),
        "{err}"
    );
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket handshake as a page from `origin` makes it (None: a non-browser client).
async fn open_as(url: &str, origin: Option<&str>) -> Ws {
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
async fn closed_with(ws: &mut Ws) -> (u16, String) {
    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        Ok(Some(Ok(Message::Close(Some(f))))) => (u16::from(f.code), f.reason.to_string()),
        other => panic!("expected a close frame: {other:?}"),
    }
}

/// A browser's view through the proxy: logs in and returns the socket.
async fn browser(url: &str) -> Ws {
    browser_as(url, None).await
}

/// Logs in through the proxy as a page from `origin`, then closes and waits until the proxy
/// has let the board go.
async fn log_in_and_leave(url: &str, origin: Option<&str>) {
    let mut ws = browser_as(url, origin).await;
    let _ = ws.close(None).await;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {}
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn browser_as(url: &str, origin: Option<&str>) -> Ws {
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

#[tokio::test]
async fn board_text_split_inside_characters_reaches_the_browser_as_valid_text() {
    let b = Board::start(&["--invalid-utf8"]);
    let p = Proxy::start(&[]);
    let mut ws = browser(&p.url(&b.addr())).await;
    ws.send(Message::text(
        "print('\\u00e4\\u00f6\\u00fc\\u2192\\u2713')\r",
    ))
    .await
    .expect("send");
    let mut text = String::new();
    // tungstenite fails on an invalid text frame: every frame here is whole UTF-8.
    while !text.contains("äöü→✓\r\n") {
        match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => text.push_str(&t),
            other => panic!("after {text:?}: {other:?}"),
        }
    }
    // A second browser for the same board gets a reason instead of the board's silent drop.
    let (mut second, _) = tokio_tungstenite::connect_async(p.url(&b.addr()))
        .await
        .expect("handshake");
    match second.next().await {
        Some(Ok(Message::Close(Some(f)))) => {
            assert_eq!(u16::from(f.code), 4009);
            assert!(f.reason.contains("another client"), "{}", f.reason);
        }
        other => panic!("{other:?}"),
    }
    let _ = ws.close(None).await;
}

#[path = "support/testboard.rs"]
mod testboard;
use testboard::test_board;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_proxied_sessions_each_to_its_own_board() {
    let p = Proxy::start(&["--max-sessions", "300"]);
    let mut boards = Vec::new();
    for _ in 0..200 {
        boards.push(test_board().await);
    }
    let mut tasks = Vec::new();
    for (i, port) in boards.into_iter().enumerate() {
        let url = p.url(&format!("127.0.0.1:{port}"));
        tasks.push(tokio::spawn(async move {
            let mut ws = browser(&url).await;
            let probe = format!("session {i}\r");
            ws.send(Message::text(probe.clone())).await.expect("send");
            let mut header = vec![0u8; 82];
            header[0] = b'W';
            header[1] = b'A';
            header[2] = 3;
            ws.send(Message::binary(header)).await.expect("send");
            let (mut echo, mut version) = (String::new(), None);
            while echo != probe || version.is_none() {
                match tokio::time::timeout(Duration::from_secs(20), ws.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => echo.push_str(&t),
                    Ok(Some(Ok(Message::Binary(b)))) => version = Some(b.to_vec()),
                    other => panic!("session {i}: {other:?}"),
                }
            }
            assert_eq!(version, Some(vec![1, 27, 0]));
            let _ = ws.close(None).await;
        }));
    }
    for t in tasks {
        t.await.expect("session task");
    }
}

/// Another client left the board in the raw REPL or in paste mode (its link cut
/// mid-operation): the banner still says `>>> `, but there Enter and Ctrl-C print nothing (raw)
/// or Enter echoes `=== ` (paste). File commands and runs find their way back to the friendly
/// REPL instead of waiting for a program.
#[tokio::test]
async fn a_board_left_in_the_raw_repl_or_paste_mode_still_serves_ls_and_run() {
    let b = Board::start(&[]);
    let url = format!("ws://{}/", b.addr());
    let prog = tmp("mode-left.py");
    std::fs::write(&prog, "print('back', 6*7)\n").expect("write");
    for (key, entered) in [("\x01", "raw REPL; CTRL-B to exit\r\n>"), ("\x05", "=== ")] {
        for cmd in ["ls", "run"] {
            let mut ws = browser(&url).await;
            ws.send(Message::text(key)).await.expect("send");
            let mut text = String::new();
            while !text.ends_with(entered) {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => text.push_str(&t),
                    other => panic!("entering {key:?}: {other:?}"),
                }
            }
            drop(ws); // a cut link: no close frame, nothing else sent
            tokio::time::sleep(Duration::from_millis(300)).await;
            let (code, out, err) = match cmd {
                "ls" => webrepl(&["ls", &b.addr()]),
                _ => webrepl(&["run", prog.to_str().unwrap_or_default(), &b.addr()]),
            };
            assert_eq!(code, 0, "{key:?} {cmd}: {out}\n{err}");
            match cmd {
                "ls" => assert!(out.contains("boot.py"), "{out}"),
                _ => assert!(out.contains("back 42"), "{out}"),
            }
        }
    }
}

const EVIL: &str = "https://evil.example";

#[tokio::test]
async fn the_proxy_lets_only_the_lab_in() {
    let b = Board::start(&[]);
    let p = Proxy::start(&[]);
    let url = p.url(&b.addr());
    let mut ws = open_as(&url, Some(EVIL)).await;
    assert_eq!(
        closed_with(&mut ws).await,
        (
            4001,
            "this proxy does not accept pages from https://evil.example; start it with --origin https://evil.example to allow it".to_owned()
        )
    );
    // Pages on this computer, Edrys' own origin, and clients without an Origin get the board.
    for origin in [
        Some("http://localhost:8080"),
        Some("http://127.0.0.1:5173"),
        Some("https://[::1]:8443"),
        Some("https://edrys-labs.github.io"),
        None,
    ] {
        log_in_and_leave(&url, origin).await;
    }
    let log = p.log();
    assert!(
        log.contains("accepting pages from https://edrys-labs.github.io"),
        "{log}"
    );
    // (The harness's readiness probe shows as a refused handshake: not a page.)
    let refusals: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("refused: a page"))
        .collect();
    assert_eq!(refusals.len(), 1, "{log}");
    assert!(
        refusals[0].contains("from https://evil.example")
            && refusals[0].contains("--origin https://evil.example"),
        "{log}"
    );
}

#[tokio::test]
async fn origin_adds_pages_and_any_origin_opens_the_proxy_to_all() {
    let b = Board::start(&[]);
    let url = |p: &Proxy| p.url(&b.addr());
    {
        let p = Proxy::start(&[
            "--origin",
            "https://User.github.io/",
            "--origin",
            "http://lab.example:8080",
        ]);
        log_in_and_leave(&url(&p), Some("https://user.github.io")).await;
        log_in_and_leave(&url(&p), Some("http://lab.example:8080/")).await;
        // The defaults stay.
        log_in_and_leave(&url(&p), Some("http://localhost:3000")).await;
        for other in [EVIL, "https://other.github.io", "http://lab.example:8081"] {
            let mut ws = open_as(&url(&p), Some(other)).await;
            let (code, reason) = closed_with(&mut ws).await;
            assert_eq!(code, 4001, "{other}: {reason}");
            assert!(reason.contains(other), "{reason}");
        }
    }
    let p = Proxy::start(&["--any-origin"]);
    log_in_and_leave(&url(&p), Some(EVIL)).await;
    assert!(p.log().contains("WARNING: --any-origin"), "{}", p.log());
    // A value that is not an origin stops the proxy at start, saying what to give.
    for (bad, says) in [
        (
            "https://user.github.io/module/",
            "no path: use https://user.github.io",
        ),
        ("user.github.io", "scheme://host"),
        ("null", "--any-origin"),
    ] {
        let (code, _, err) = webrepl(&["proxy", "--listen", "127.0.0.1:0", "--origin", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains(&format!("--origin {bad}")) && err.contains(says),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_proxy_refuses_to_connect_to_itself() {
    let p = Proxy::start(&[]);
    for host in ["127.0.0.1", "localhost", "0.0.0.0"] {
        let mut ws = open_as(&p.url(&format!("{host}:{}", p.port)), None).await;
        let (code, reason) = closed_with(&mut ws).await;
        assert_eq!(code, 4000, "{host}: {reason}");
        assert!(reason.contains("is this proxy itself"), "{reason}");
    }
    // The command-line client shows the reason.
    let (code, _, err) = webrepl(&[
        "version",
        "x",
        "--url",
        &p.url(&format!("localhost:{}", p.port)),
    ]);
    assert_eq!(code, 3);
    assert!(err.contains("is this proxy itself"), "{err}");
    assert!(p.log().contains("a loop"), "{}", p.log());
}

#[tokio::test]
async fn a_refused_page_makes_no_connection_to_its_target() {
    // Any local service (ssh on 127.0.0.1:22, say): here a listener that counts connections.
    let target = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = target.local_addr().expect("addr");
    let p = Proxy::start(&[]);
    let mut ws = open_as(&p.url(&addr.to_string()), Some(EVIL)).await;
    let (code, _) = closed_with(&mut ws).await;
    assert_eq!(code, 4001);
    let connected = tokio::time::timeout(Duration::from_millis(500), target.accept()).await;
    assert!(connected.is_err(), "the proxy connected for a refused page");
    // The same request without an Origin does reach it (so the check above can fail).
    let _ws = open_as(&p.url(&addr.to_string()), None).await;
    let connected = tokio::time::timeout(Duration::from_secs(5), target.accept()).await;
    assert!(matches!(connected, Ok(Ok(_))), "{connected:?}");
}
