//! The `webrepl` command end to end: transfers, file commands, the REPL and runs against the
//! Node virtual board (real MicroPython), straight and through the proxy (tests/proxy.rs tests
//! the proxy itself).

use futures_util::{SinkExt, StreamExt};
use nodeboard::BIN;
use std::process::{Command, Stdio};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

#[path = "support/harness.rs"]
mod harness;
#[path = "support/nodeboard.rs"]
mod nodeboard;
use harness::*;

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
