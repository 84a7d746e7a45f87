//! Benchmark of `webrepl --port` (`cargo bench -p webrepl --bench serial`; `tools/dev.sh bench`
//! runs it): put and get of 100 KB of random bytes, and a connect with `ls :/`, against the Node
//! virtual board as a USB serial board (real MicroPython on a socat pty, 256-byte input buffer
//! that loses what overflows) at 115200 baud (10 bits a byte: 11,520 B/s each way) and
//! unthrottled. Each figure is a whole command: process start, port open, prompt probe, the
//! work, and leaving the raw REPL. Prints a table.

use std::process::Command;
use std::time::Instant;

#[path = "../tests/support/nodeboard.rs"]
mod nodeboard;
use nodeboard::{noise, NodeBoard, BIN};

const SIZE: usize = 100_000;

/// The virtual serial board at `baud` on a pty, taking input as `flow` says ("uart": what
/// overflows is lost; "usb": held back); its path.
fn board(baud: u32, flow: &str) -> (NodeBoard, String) {
    let path = nodeboard::tmp("bench-tty", &format!("{baud}-{flow}"))
        .to_string_lossy()
        .into_owned();
    let node = NodeBoard::serial_with(&path, baud, flow);
    (node, path)
}

fn timed(args: &[&str]) -> f64 {
    let t = Instant::now();
    match Command::new(BIN).args(args).output() {
        Ok(o) if o.status.success() => t.elapsed().as_secs_f64(),
        Ok(o) => panic!("webrepl {args:?}: {}", String::from_utf8_lossy(&o.stderr)),
        Err(e) => panic!("webrepl: {e}"),
    }
}

fn best(n: usize, mut f: impl FnMut() -> f64) -> f64 {
    (0..n).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let data = noise(SIZE, 0x9e37_79b9_7f4a_7c15);
    let dir = std::env::temp_dir().join(format!("webrepl-bench-serial-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let up = dir.join("up.bin");
    let back = dir.join("back.bin");
    if let Err(e) = std::fs::write(&up, &data) {
        panic!("{}: {e}", up.display());
    }
    let (up_s, back_s) = (up.to_string_lossy(), back.to_string_lossy());
    println!("\nwebrepl --port: virtual board as a USB serial board (real MicroPython 1.27 on a socat pty, 256-byte input buffer), 100 KB random bytes, best of 3, whole commands");
    println!("| line | operation | time | payload rate | of line rate (11,520 B/s) |");
    println!("|---|---|---|---|---|");
    // A UART board at 115200 and unthrottled (a pty has no USB ids: the CLI keeps to the
    // raw-paste windows), and a native-USB board told so (--input-flow usb: whole scripts).
    for (baud, flow) in [(115_200u32, "uart"), (0, "uart"), (0, "usb")] {
        let (_board, p) = board(baud, flow);
        let p = p.as_str();
        let line = match (baud, flow) {
            (0, "usb") => "unthrottled, native USB (--input-flow usb)".to_owned(),
            (0, _) => "unthrottled, UART".to_owned(),
            _ => format!("{baud} baud, UART"),
        };
        let flow_args: &[&str] = if flow == "usb" {
            &["--input-flow", "usb"]
        } else {
            &[]
        };
        let n = if baud == 0 { 3 } else { 1 };
        let connect = best(3, || timed(&["ls", "--port", p, ":/"]));
        println!(
            "| {line} | connect, probe to `>>> `, ls :/ | {:.0} ms | | |",
            connect * 1000.0
        );
        let put = best(n, || {
            let mut args = vec!["put", "--port", p];
            args.extend_from_slice(flow_args);
            args.extend([&*up_s, ":/b.bin"]);
            timed(&args)
        });
        let get = best(n, || timed(&["get", "--port", p, ":/b.bin", &back_s]));
        if std::fs::read(&back).ok().as_deref() != Some(&data[..]) {
            panic!("the file came back different");
        }
        for (op, s) in [
            ("put 100 KB (safe: temp, size check, rename)", put),
            ("get 100 KB", get),
        ] {
            let rate = SIZE as f64 / s;
            let pct = if baud == 0 {
                String::new()
            } else {
                format!("{:.0} %", rate / (baud as f64 / 10.0) * 100.0)
            };
            println!(
                "| {line} | {op} | {:.2} s | {:.1} KB/s | {pct} |",
                s,
                rate / 1000.0
            );
        }
    }
}
