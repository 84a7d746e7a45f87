//! What the CLI tests and benchmarks share: the Node virtual board (real MicroPython) as a
//! process, the `webrepl` binary run as a command, temporary files, and bytes that look random.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[path = "../../../core/tests/common/bytes.rs"]
mod bytes;
/// Bytes that look random (shared with the core's tests).
#[allow(unused_imports)]
pub use bytes::noise;

pub const BIN: &str = env!("CARGO_BIN_EXE_webrepl");

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file `name` in this process's temporary folder `webrepl-{what}-PID`.
pub fn tmp(what: &str, name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("webrepl-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d.join(name)
}

/// `node tools/virtual-board/board.mjs ARGS`, started (its first line printed); killed on drop.
pub struct NodeBoard {
    child: Child,
    /// The line the board printed when it was ready.
    pub banner: String,
    /// The rest of its stdout.
    out: BufReader<std::process::ChildStdout>,
}

impl NodeBoard {
    pub fn start(args: &[&str]) -> NodeBoard {
        let mut child = Command::new("node")
            .arg(root().join("tools/virtual-board/board.mjs"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the virtual board (npm ci first)");
        let mut banner = String::new();
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        out.read_line(&mut banner).expect("board started");
        assert!(
            banner.contains("virtual board"),
            "board did not start: {banner}"
        );
        NodeBoard { child, banner, out }
    }

    /// Stops the board (SIGTERM) and returns the counters it prints then (a JSON object).
    pub fn stop_for_stats(mut self) -> String {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let mut line = String::new();
        while self.out.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(stats) = line.trim().strip_prefix("virtual board: stats ") {
                return stats.to_owned();
            }
            line.clear();
        }
        panic!("the board printed no stats");
    }

    /// The board as a USB serial board on a pty at `path` (`baud` 0: unthrottled), with a
    /// 256-byte input buffer that loses what overflows.
    pub fn serial(path: &str, baud: u32) -> NodeBoard {
        NodeBoard::serial_with(path, baud, "uart")
    }

    /// The same, taking input as `flow` says: "uart" (what overflows is lost) or "usb" (native
    /// USB: held back).
    pub fn serial_with(path: &str, baud: u32, flow: &str) -> NodeBoard {
        let baud = baud.to_string();
        let args = [
            "--serial",
            path,
            "--baud",
            &baud,
            "--input-buffer",
            "256",
            "--input-flow",
            flow,
        ];
        let node = NodeBoard::start(&args);
        assert!(
            node.banner.contains("virtual board: serial"),
            "{}",
            node.banner
        );
        node
    }
}

impl Drop for NodeBoard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `webrepl ARGS` with `env` set: (exit code, stdout, stderr).
pub fn webrepl_with(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("webrepl runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}
