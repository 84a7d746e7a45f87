//! The `webrepl` command: `webrepl proxy` (the Edrys station's localhost proxy) and a
//! command-line WebREPL client (`put`, `get`, `version`, `run`, `repl`, and the file commands
//! `ls`, `rm`, `mkdir`, `mv`, `cat`) that keeps webrepl_cli.py's argument forms. With
//! `--port /dev/ttyACM0` (COM3 on Windows) the same commands go to a USB serial board, and a
//! board path is written `:PATH` as mpremote does.
//!
//! Exit codes: 0 done; 1 the operation failed (file not found, transfer or run failed);
//! 2 bad usage or arguments; 3 no connection or login (unreachable, refused, wrong password).
mod args;
mod client;
mod link;
mod proxy;
mod remote;
mod serial;

use args::{Cli, Cmd, Conn};
use clap::Parser;
use remote::{connect_to, host_arg, port_path, remote_of, split_target};
use std::io::IsTerminal;
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use webrepl_core::transfer::{validate_name, validate_size};
use webrepl_core::{EntryKind, FsOp, FsReply};

fn fail(code: i32, msg: impl std::fmt::Display) -> ! {
    eprintln!("webrepl: {msg}");
    std::process::exit(code)
}

// One thread: the proxy's work is tiny per frame, and a round trip through it (a get waits for one
// per 256-byte chunk) is fastest without cross-thread wake-ups.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Proxy {
            listen,
            allow,
            allow_any,
            origins,
            any_origin,
            max_sessions,
            connect_timeout,
            tls_cert,
            tls_key,
            read_ahead,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(c), Some(k)) => {
                    Some(proxy::tls_acceptor(&c, &k).unwrap_or_else(|e| fail(2, e)))
                }
                _ => None,
            };
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            let allow = allow
                .iter()
                .map(|a| match a.rsplit_once(':') {
                    Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => (
                        h.to_owned(),
                        Some(
                            p.parse()
                                .unwrap_or_else(|_| fail(2, format!("--allow {a}: bad port"))),
                        ),
                    ),
                    _ => (a.clone(), None),
                })
                .collect();
            let origins = proxy::PageOrigins {
                any: any_origin,
                extra: origins
                    .iter()
                    .map(|o| proxy::normalize_origin(o).unwrap_or_else(|e| fail(2, e)))
                    .collect(),
            };
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .unwrap_or_else(|e| fail(3, format!("cannot listen on {listen}: {e}")));
            let addr = listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_else(|_| listen.to_string());
            eprintln!("webrepl proxy: listening on {scheme}://{addr}/ — use {scheme}://{addr}/ws://BOARD:8266 in the page");
            if origins.any {
                eprintln!("webrepl proxy: WARNING: --any-origin: pages from every web site are accepted; any page open in this computer's browser can use the boards (and local services) through this proxy");
            } else {
                let mut pages = vec![proxy::EDRYS_ORIGIN.to_owned()];
                pages.extend(origins.extra.iter().cloned());
                eprintln!(
                    "webrepl proxy: accepting pages from {}, localhost and 127.0.0.1/[::1] (any port), and clients without an Origin; --origin URL adds one",
                    pages.join(", ")
                );
            }
            let cfg = proxy::ProxyConfig {
                tls,
                allow,
                allow_any,
                origins,
                max_sessions,
                connect_timeout: Duration::from_secs(connect_timeout),
                quiet: false,
                read_ahead,
            };
            tokio::select! {
                r = proxy::serve(listener, cfg) => if let Err(e) = r { fail(3, e) },
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Cmd::Put {
            local,
            remote,
            safe,
            conn,
        } => {
            let (host, mut path) = remote_of(&remote, &conn).unwrap_or_else(|e| fail(2, e));
            if path.ends_with('/') {
                let name = local
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_else(|| fail(2, "the local path has no file name"));
                path.push_str(name);
            }
            validate_name(&path).unwrap_or_else(|e| fail(2, e));
            let size = std::fs::metadata(&local)
                .map(|m| m.len())
                .unwrap_or_else(|e| fail(1, format!("{}: {e}", local.display())));
            validate_size(size).unwrap_or_else(|e| fail(2, e));
            let data = std::fs::read(&local)
                .unwrap_or_else(|e| fail(1, format!("{}: {e}", local.display())));
            let to = connect_to(&host, &conn);
            let bar = progress_bar(Some(size));
            let mut report = |d: u64, _t: Option<u64>| bar.set_position(d);
            // Over serial a put is always safe: a rename costs one short script.
            let op = if safe || conn.port.is_some() {
                client::Op::Upload {
                    remote: path.clone(),
                    data,
                }
            } else {
                client::Op::Put {
                    remote: path.clone(),
                    data,
                }
            };
            match client::run(to, op, conn.busy(), &mut report).await {
                Ok(done) => {
                    bar.finish_and_clear();
                    let size = if let client::Done::Put { size } = done {
                        size
                    } else {
                        size
                    };
                    println!("sent {} ({size} bytes) to {path}", local.display());
                }
                Err(e) => {
                    bar.abandon();
                    fail(e.exit_code(), e)
                }
            }
        }
        Cmd::Get {
            remote,
            local,
            conn,
        } => {
            let (host, path) = remote_of(&remote, &conn).unwrap_or_else(|e| fail(2, e));
            validate_name(&path).unwrap_or_else(|e| fail(2, e));
            let local = if local.is_dir() {
                local.join(Path::new(&path).file_name().unwrap_or_default())
            } else {
                local
            };
            let to = connect_to(&host, &conn);
            let bar = progress_bar(None);
            let mut report = |d: u64, _t: Option<u64>| bar.set_position(d);
            match client::run(
                to,
                client::Op::Get {
                    remote: path.clone(),
                },
                conn.busy(),
                &mut report,
            )
            .await
            {
                Ok(client::Done::Got(data)) => {
                    bar.finish_and_clear();
                    std::fs::write(&local, &data)
                        .unwrap_or_else(|e| fail(1, format!("{}: {e}", local.display())));
                    println!("got {path} ({} bytes) into {}", data.len(), local.display());
                }
                Ok(_) => fail(1, "the board sent no file"),
                Err(e) => {
                    bar.abandon();
                    fail(e.exit_code(), e)
                }
            }
        }
        Cmd::Version { host, conn } => {
            let host = host_arg(host, &conn);
            let op = client::Op::Version;
            match client::run(connect_to(&host, &conn), op, conn.busy(), &mut |_, _| {}).await {
                Ok(client::Done::Version(v)) => println!("MicroPython {v}"),
                Ok(_) => fail(1, "no version reply"),
                Err(e) => fail(e.exit_code(), e),
            }
        }
        Cmd::Run { file, host, conn } => {
            let code = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| fail(1, format!("{}: {e}", file.display())));
            let host = host_arg(host, &conn);
            let label = file.display().to_string();
            match client::run(
                connect_to(&host, &conn),
                client::Op::Run { code, label },
                conn.busy(),
                &mut |_, _| {},
            )
            .await
            {
                Ok(_) => println!(),
                Err(e) => fail(e.exit_code(), e),
            }
        }
        Cmd::Repl { host, conn } => {
            let host = host_arg(host, &conn);
            let to = connect_to(&host, &conn);
            let raw = RawTerminal::enter();
            if raw.is_some() {
                let name = match &to {
                    client::Target::WebRepl { url, .. } => url.url.clone(),
                    client::Target::Serial { port, .. } => port.clone(),
                };
                eprint!("webrepl: connecting to {name} — Ctrl-] leaves\r\n");
            }
            let result = client::run(to, client::Op::Repl, conn.busy(), &mut |_, _| {}).await;
            drop(raw);
            if let Err(e) = result {
                eprintln!();
                fail(e.exit_code(), e)
            }
            eprintln!();
        }
        Cmd::Ls { target, conn } => {
            let (host, dir) = match (&target, &conn.port) {
                (None, _) => (String::new(), String::new()),
                (Some(t), Some(_)) => (String::new(), port_path(t).unwrap_or_else(|e| fail(2, e))),
                (Some(t), None) => split_target(t),
            };
            let dir = if dir.is_empty() { "/".to_owned() } else { dir };
            match fs_op(&host, &conn, FsOp::List { dir }).await {
                FsReply::Listing(entries) => {
                    let width = entries
                        .iter()
                        .map(|e| e.size.to_string().len())
                        .max()
                        .unwrap_or(1);
                    for e in entries {
                        match e.kind {
                            EntryKind::Dir => println!("{:>width$}  {}/", "-", e.name),
                            EntryKind::File => println!("{:>width$}  {}", e.size, e.name),
                        }
                    }
                }
                FsReply::Done | FsReply::Digests(_) => {}
            }
        }
        Cmd::Rm { target, conn } => {
            let (host, path) = remote_of(&target, &conn).unwrap_or_else(|e| fail(2, e));
            fs_op(&host, &conn, FsOp::Remove { path: path.clone() }).await;
            println!("deleted {path}");
        }
        Cmd::Mkdir {
            target,
            parents,
            conn,
        } => {
            let (host, path) = remote_of(&target, &conn).unwrap_or_else(|e| fail(2, e));
            fs_op(
                &host,
                &conn,
                FsOp::Mkdir {
                    path: path.clone(),
                    parents,
                },
            )
            .await;
            println!("made {path}");
        }
        Cmd::Mv { from, to, conn } => {
            let (host, from) = remote_of(&from, &conn).unwrap_or_else(|e| fail(2, e));
            // The target may repeat the host (HOST:/new, or :/new with --port) or be just a path.
            let to = match remote_of(&to, &conn) {
                Ok((h, p)) if h == host => p,
                _ => to,
            };
            let op = FsOp::Rename {
                from: from.clone(),
                to: to.clone(),
            };
            fs_op(&host, &conn, op).await;
            println!("moved {from} to {to}");
        }
        Cmd::Cat { target, conn } => {
            let (host, path) = remote_of(&target, &conn).unwrap_or_else(|e| fail(2, e));
            validate_name(&path).unwrap_or_else(|e| fail(2, e));
            let op = client::Op::Get { remote: path };
            match client::run(connect_to(&host, &conn), op, conn.busy(), &mut |_, _| {}).await {
                Ok(client::Done::Got(data)) => {
                    let mut out = std::io::stdout();
                    let _ = out.write_all(&data);
                    let _ = out.flush();
                }
                Ok(_) => fail(1, "the board sent no file"),
                Err(e) => fail(e.exit_code(), e),
            }
        }
    }
}

/// Runs one file operation; prints the error and exits on failure.
async fn fs_op(host: &str, conn: &Conn, op: FsOp) -> FsReply {
    // Check paths before connecting: a bad one is a usage error.
    let op = op.normalized().unwrap_or_else(|e| fail(2, e));
    match client::run(
        connect_to(host, conn),
        client::Op::Fs(op),
        conn.busy(),
        &mut |_, _| {},
    )
    .await
    {
        Ok(client::Done::Fs(reply)) => reply,
        Ok(_) => fail(1, "no reply to the file command"),
        Err(e) => fail(e.exit_code(), e),
    }
}

/// The terminal in raw mode (keys as typed, no echo) while it lives; restored on drop.
struct RawTerminal;

impl RawTerminal {
    /// Raw mode when stdin and stdout are a terminal; `None` otherwise (piped input stays lines).
    fn enter() -> Option<RawTerminal> {
        if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
            return None;
        }
        crossterm::terminal::enable_raw_mode()
            .ok()
            .map(|_| RawTerminal)
    }
}

impl Drop for RawTerminal {
    fn drop(&mut self) {
        let _ = crossterm::terminal::disable_raw_mode();
    }
}

/// A progress bar on a terminal; nothing when output is piped.
fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    match total {
        Some(t) => indicatif::ProgressBar::new(t).with_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        ),
        None => indicatif::ProgressBar::new_spinner().with_style(
            indicatif::ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        ),
    }
}
