//! Browser tests of the WebSocket adapter (`connection`) in headless Chromium against the virtual
//! board (wasm-bindgen-test; `tools/dev.sh test` starts the board and sets WEBREPL_TEST_BOARD).
//! The page itself (xterm.js, DOM) is tested end to end in tests/e2e.
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use webrepl_core::{CloseReason, Event, Password, SessionConfig, TransferOutcome};
use webrepl_web::connection::{ConnectError, Connection};

wasm_bindgen_test_configure!(run_in_browser);

const BOARD: Option<&str> = option_env!("WEBREPL_TEST_BOARD");
const PASSWORD: Option<&str> = option_env!("WEBREPL_TEST_PASSWORD");
const CLOSED_PORT: Option<&str> = option_env!("WEBREPL_TEST_CLOSED_PORT");

fn board() -> &'static str {
    BOARD.expect(
        "WEBREPL_TEST_BOARD is not set: run through tools/with-board.mjs (tools/dev.sh test does)",
    )
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        let w = web_sys::window().unwrap();
        w.set_timeout_with_callback_and_timeout_and_arguments_0(resolve.unchecked_ref(), ms)
            .unwrap();
    });
    JsFuture::from(p).await.unwrap();
}

type Log = Rc<RefCell<Vec<Event>>>;

fn open(url: &str, password: &str) -> (Result<Connection, ConnectError>, Log) {
    let log: Log = Rc::default();
    let l = log.clone();
    let conn = Connection::open(
        url,
        Password::new(password).ok(),
        SessionConfig::default(),
        Rc::new(move |e| l.borrow_mut().push(e)),
    );
    (conn, log)
}

/// Waits until an event matches (up to `ms`).
async fn wait_for(log: &Log, ms: i32, what: &str, f: impl Fn(&Event) -> bool) -> Event {
    for _ in 0..ms / 10 {
        if let Some(e) = log.borrow().iter().find(|e| f(e)) {
            return e.clone();
        }
        sleep(10).await;
    }
    panic!("timed out waiting for {what}; events: {:?}", log.borrow());
}

fn output(log: &Log) -> String {
    log.borrow()
        .iter()
        .filter_map(|e| {
            if let Event::Output(s) = e {
                Some(s.as_str())
            } else {
                None
            }
        })
        .collect()
}

#[wasm_bindgen_test]
async fn logs_in_runs_a_line_and_reports_the_version() {
    let (conn, log) = open(board(), PASSWORD.unwrap_or("secret123"));
    let conn = conn.unwrap();
    wait_for(&log, 5000, "login", |e| *e == Event::LoggedIn).await;
    conn.version().unwrap();
    let v = wait_for(&log, 5000, "version", |e| {
        matches!(
            e,
            Event::TransferDone {
                outcome: TransferOutcome::Version(_),
                ..
            }
        )
    })
    .await;
    assert!(
        matches!(v, Event::TransferDone { outcome: TransferOutcome::Version(v), .. } if v.major == 1)
    );
    conn.send_input("print(1+1)\r");
    for _ in 0..300 {
        if output(&log).contains("\r\n2\r\n") {
            break;
        }
        sleep(10).await;
    }
    assert!(output(&log).contains("\r\n2\r\n"), "{:?}", output(&log));
    conn.close();
    wait_for(&log, 1000, "close", |e| {
        *e == Event::Closed(CloseReason::ByUser)
    })
    .await;
    // The empty close frame frees the board at once: the next session logs in straight away.
    sleep(50).await;
    let (again, log2) = open(board(), PASSWORD.unwrap_or("secret123"));
    let again = again.unwrap();
    wait_for(&log2, 5000, "second login", |e| *e == Event::LoggedIn).await;
    again.close();
    sleep(50).await;
}

#[wasm_bindgen_test]
async fn put_then_get_is_byte_identical() {
    let (conn, log) = open(board(), PASSWORD.unwrap_or("secret123"));
    let conn = conn.unwrap();
    wait_for(&log, 5000, "login", |e| *e == Event::LoggedIn).await;
    let data: Vec<u8> = (0..70_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let put = conn.put("wbt.bin", data.clone()).unwrap();
    wait_for(
        &log,
        10_000,
        "put",
        |e| matches!(e, Event::TransferDone { id, .. } if *id == put),
    )
    .await;
    let get = conn.get("wbt.bin").unwrap();
    let done = wait_for(
        &log,
        10_000,
        "get",
        |e| matches!(e, Event::TransferDone { id, .. } if *id == get),
    )
    .await;
    match done {
        Event::TransferDone {
            outcome: TransferOutcome::Get { data: got, .. },
            ..
        } => assert!(got == data, "get differs from put"),
        other => panic!("{other:?}"),
    }
    conn.close();
    sleep(50).await;
}

/// A wrong password is a final verdict from the board (not a dropped link the page would retry),
/// and it leaves the board usable: the right password logs in right after.
#[wasm_bindgen_test]
async fn wrong_password_is_denied_and_the_board_stays_usable() {
    let (conn, log) = open(board(), "wrong");
    let conn = conn.unwrap();
    let e = wait_for(&log, 5000, "a close", |e| matches!(e, Event::Closed(_))).await;
    assert_eq!(e, Event::Closed(CloseReason::AccessDenied));
    assert!(conn.is_closed());
    assert!(
        !log.borrow().contains(&Event::LoggedIn),
        "{:?}",
        log.borrow()
    );
    let (conn, log) = open(board(), PASSWORD.unwrap_or("secret123"));
    let conn = conn.unwrap();
    wait_for(&log, 5000, "login after a denied one", |e| {
        *e == Event::LoggedIn
    })
    .await;
    conn.close();
    sleep(50).await;
}

#[wasm_bindgen_test]
async fn malformed_url_is_refused_before_connecting() {
    let (conn, _) = open("ws://exa mple:8266", "secret123");
    let err = conn
        .err()
        .expect("a malformed URL must be refused")
        .to_string();
    assert!(err.contains("spaces"), "{err}");
    let (conn, _) = open("ftp://board", "secret123");
    assert!(conn.err().unwrap().to_string().contains("ws://"));
}

#[wasm_bindgen_test]
async fn nothing_listening_is_explained() {
    let port =
        CLOSED_PORT.expect("WEBREPL_TEST_CLOSED_PORT is not set: run through tools/with-board.mjs");
    let (conn, log) = open(&format!("ws://127.0.0.1:{port}/"), "secret123");
    let _conn = conn.unwrap();
    let e = wait_for(&log, 5000, "connect failure", |e| {
        matches!(e, Event::Closed(_))
    })
    .await;
    assert_eq!(e, Event::Closed(CloseReason::ConnectFailed));
}
