//! `webrepl --port` end to end against the Node virtual board offered as a USB serial board: real
//! MicroPython on a pseudo-terminal (socat), a 256-byte input buffer that loses what overflows,
//! paced to 115200 baud or unthrottled.

use std::process::Command;

#[path = "support/nodeboard.rs"]
mod nodeboard;
use nodeboard::{noise, NodeBoard};

fn tmp(name: &str) -> std::path::PathBuf {
    nodeboard::tmp("serial", name)
}

fn webrepl(args: &[&str]) -> (i32, String, String) {
    nodeboard::webrepl_with(args, &[])
}

/// The virtual board on a pty (socat ends with it: its stdin closes).
struct SerialBoard {
    _node: NodeBoard,
    path: String,
}

impl SerialBoard {
    fn start(name: &str, baud: u32) -> SerialBoard {
        let path = tmp(name).to_string_lossy().into_owned();
        let node = NodeBoard::serial(&path, baud);
        SerialBoard { _node: node, path }
    }
}

#[test]
fn run_and_a_binary_round_trip_unthrottled() {
    let b = SerialBoard::start("tty-fast", 0);
    let p = b.path.as_str();
    let prog = tmp("two.py");
    std::fs::write(&prog, "print(1+1)\n").expect("write");
    let (code, out, err) = webrepl(&["run", "--port", p, prog.to_str().unwrap_or_default()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.lines().any(|l| l.trim() == "2"), "{out}");

    put_and_get_back(p, &noise(200_000, 7), &[], "up");
}

/// `webrepl put --port PORT FLOW… FILE :/NAME.bin` of `data`, then a get of it: both succeed
/// and the bytes come back the same.
fn put_and_get_back(port: &str, data: &[u8], flow: &[&str], name: &str) {
    let up = tmp(&format!("{name}.bin"));
    let back = tmp(&format!("{name}.back"));
    let remote = format!(":/{name}.bin");
    std::fs::write(&up, data).expect("write");
    let mut args = vec!["put", "--port", port];
    args.extend_from_slice(flow);
    args.extend([up.to_str().unwrap_or_default(), remote.as_str()]);
    let (code, out, err) = webrepl(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(&format!("{} bytes", data.len())), "{out}");
    let (code, out, err) = webrepl(&[
        "get",
        "--port",
        port,
        &remote,
        back.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        std::fs::read(&back).expect("read back") == data,
        "the file came back different"
    );
}

/// A counter from the board's stats line (`{"name":N,…}`).
fn stat(stats: &str, name: &str) -> u64 {
    let key = format!("\"{name}\":");
    let at = stats.find(&key).map(|i| i + key.len());
    let digits: String = at
        .map(|i| {
            stats[i..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect()
        })
        .unwrap_or_default();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no {name} in {stats}"))
}

/// A 100 KB put to a native-USB board (its USB stack holds what its 256-byte buffer has no
/// room for) with `flow` args; the board's stats after it.
fn put_to_native_usb_board(name: &str, flow: &[&str]) -> String {
    let path = tmp(name).to_string_lossy().into_owned();
    let node = NodeBoard::serial_with(&path, 0, "usb");
    put_and_get_back(&path, &noise(100_000, 11), flow, name);
    node.stop_for_stats()
}

#[test]
fn input_flow_usb_sends_whole_scripts_to_a_native_usb_board() {
    // --input-flow usb: the scripts go whole, far past the board's 256-byte buffer (its USB
    // stack holds the rest), and nothing is lost.
    let held = put_to_native_usb_board("tty-usb-held", &["--input-flow", "usb"]);
    assert_eq!(stat(&held, "droppedInputBytes"), 0, "{held}");
    assert!(stat(&held, "mostHeldBytes") > 4096, "{held}");
    // A pty has no USB ids: auto takes it for a UART and keeps to the raw-paste windows, which
    // never overfill the buffer.
    let windowed = put_to_native_usb_board("tty-usb-auto", &[]);
    assert_eq!(stat(&windowed, "droppedInputBytes"), 0, "{windowed}");
    assert_eq!(stat(&windowed, "mostHeldBytes"), 0, "{windowed}");
}

#[test]
fn file_commands_over_serial() {
    let b = SerialBoard::start("tty-files", 0);
    let p = b.path.as_str();
    let f = tmp("hello.py");
    std::fs::write(&f, "print('hello')\n").expect("write");
    let (code, _, err) = webrepl(&[
        "put",
        "--port",
        p,
        f.to_str().unwrap_or_default(),
        ":/hello.py",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = webrepl(&["mkdir", "--port", p, ":/lib"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = webrepl(&["mv", "--port", p, ":/hello.py", ":/lib/hello.py"]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = webrepl(&["ls", "--port", p, ":/lib"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("15  hello.py"), "{out}");
    let (code, out, err) = webrepl(&["ls", "--port", p]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("lib/") && !out.contains("hello.py"), "{out}");
    let (code, out, err) = webrepl(&["cat", "--port", p, ":/lib/hello.py"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "print('hello')\n");
    let (code, _, err) = webrepl(&["rm", "--port", p, ":/lib"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = webrepl(&["cat", "--port", p, ":/lib/hello.py"]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("/lib/hello.py"), "{err}");
    // mpremote's path form is required with --port.
    let (code, _, err) = webrepl(&["ls", "--port", p, "/lib"]);
    assert_eq!(code, 2);
    assert!(err.contains(":PATH"), "{err}");
}

#[test]
fn a_20_kb_run_at_115200_baud_loses_nothing_on_a_256_byte_buffer() {
    let b = SerialBoard::start("tty-slow", 115_200);
    let p = b.path.as_str();
    // ~20 KB of code whose output proves every line arrived.
    let mut code = String::from("t=0\n");
    let mut want = 0u64;
    let mut i = 0u64;
    while code.len() < 20_000 {
        code.push_str(&format!("t+={i}  # line {i:05} of padding text\n"));
        want += i;
        i += 1;
    }
    code.push_str("print('total', t)\n");
    let prog = tmp("big.py");
    std::fs::write(&prog, &code).expect("write");
    let (rc, out, err) = webrepl(&["run", "--port", p, prog.to_str().unwrap_or_default()]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(out.contains(&format!("total {want}")), "{out}{err}");
    // A put paced by raw-paste windows at line rate.
    let data = noise(6_000, 3);
    let up = tmp("slow.bin");
    let back = tmp("slow-back.bin");
    std::fs::write(&up, &data).expect("write");
    let (rc, out, err) = webrepl(&[
        "put",
        "--port",
        p,
        up.to_str().unwrap_or_default(),
        ":/s.bin",
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    let (rc, out, err) = webrepl(&[
        "get",
        "--port",
        p,
        ":/s.bin",
        back.to_str().unwrap_or_default(),
    ]);
    assert_eq!(rc, 0, "{out}{err}");
    assert!(
        std::fs::read(&back).expect("read back") == data,
        "the file came back different"
    );
}

#[test]
fn port_errors_name_the_cause() {
    let (code, _, err) = webrepl(&["ls", "--port", "/dev/ttyNOPE9", ":/"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("no such serial port"), "{err}");
    // A pty nobody answers on: not a board.
    let silent = tmp("silent");
    let mut socat = Command::new("socat")
        .arg(format!("pty,rawer,link={}", silent.display()))
        .arg("EXEC:sleep 30")
        .spawn()
        .expect("socat runs");
    for _ in 0..100 {
        if silent.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let (code, _, err) = webrepl(&["ls", "--port", silent.to_str().unwrap_or_default(), ":/"]);
    let _ = socat.kill();
    let _ = socat.wait();
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("did not answer"), "{err}");
}
