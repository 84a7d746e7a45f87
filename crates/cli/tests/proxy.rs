//! `webrepl proxy` end to end: both frame types, TLS, whole UTF-8 towards the browser, 200
//! sessions, and who may connect (origins, targets), against the Node virtual board and small
//! WebREPL test boards written here.

use futures_util::{SinkExt, StreamExt};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/harness.rs"]
mod harness;
#[path = "support/nodeboard.rs"]
mod nodeboard;
#[path = "support/testboard.rs"]
mod testboard;
use harness::*;
use testboard::test_board;

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
