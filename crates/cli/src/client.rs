//! The command-line client: one `webrepl_core::Session` over a [`crate::link`] WebSocket or a
//! [`crate::serial`] port, for one operation (put, get, version, run, a file operation, or an
//! interactive REPL).

use std::io::Write;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::io::AsyncReadExt;
use webrepl_core::{
    BoardUrl, CloseReason, Event, FsOp, FsReply, FsState, Password, RunState, Session,
    SessionConfig, TransferOutcome, Transmit,
};

use crate::link::{self, Frame, Incoming, LinkError};
use crate::serial::{self, PortError, PortReader, PortWriter};

/// Where the board is.
pub enum Target {
    /// WebREPL at this URL (a board, or a proxy URL with the board in its path).
    WebRepl { url: BoardUrl, password: Password },
    /// A USB serial port; how its board takes input (`None`: by its USB vendor id).
    Serial {
        port: String,
        baud: u32,
        flow: Option<webrepl_core::InputFlow>,
    },
}

/// The connection's input side, either kind.
enum AnyReader {
    Ws(link::Reader),
    Serial(PortReader),
}

enum AnyWriter {
    Ws(link::Writer),
    Serial(PortWriter),
}

impl AnyReader {
    async fn next(&mut self) -> Result<Incoming, ClientError> {
        match self {
            AnyReader::Ws(r) => Ok(r.next().await?),
            AnyReader::Serial(r) => Ok(match r.next().await {
                Ok(b) => Incoming::Frame(Frame::Text(b)),
                Err(_) => Incoming::Dropped,
            }),
        }
    }
}

impl AnyWriter {
    async fn text(&mut self, b: &[u8]) -> Result<(), ()> {
        match self {
            AnyWriter::Ws(w) => w.text(b).await.map_err(|_| ()),
            AnyWriter::Serial(w) => w.send(b.to_vec()),
        }
    }

    async fn binary(&mut self, b: &[u8]) -> Result<(), ()> {
        match self {
            AnyWriter::Ws(w) => w.binary(b).await.map_err(|_| ()),
            AnyWriter::Serial(w) => w.send(b.to_vec()),
        }
    }

    async fn close(&mut self) -> Result<(), ()> {
        match self {
            AnyWriter::Ws(w) => w.close().await.map_err(|_| ()),
            AnyWriter::Serial(w) => {
                w.close();
                Ok(())
            }
        }
    }

    fn nudge(&mut self) {
        if let AnyWriter::Ws(w) = self {
            let _ = w.nudge();
        }
    }
}

#[derive(Debug)]
pub enum Op {
    Put {
        remote: String,
        data: Vec<u8>,
    },
    Get {
        remote: String,
    },
    Version,
    Run {
        code: String,
        label: String,
    },
    Repl,
    /// A file operation through the raw REPL.
    Fs(FsOp),
    /// A safe upload: temporary name, size check, rename.
    Upload {
        remote: String,
        data: Vec<u8>,
    },
}

/// What to do when a program runs on the board and a file operation needs the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// Stop the program with Ctrl-C.
    Interrupt,
    /// Fail with a message.
    Fail,
}

#[derive(Debug)]
pub enum Done {
    Put { size: u64 },
    Got(Vec<u8>),
    Version(String),
    Ran,
    Left,
    Fs(FsReply),
}

/// How an operation failed; the exit code follows the kind.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("{0}")]
    Link(#[from] LinkError),
    #[error("{0}")]
    Port(#[from] PortError),
    #[error("the board on {0} did not answer (no reply to Enter or Ctrl-B). Check that this is the board's port and that it runs MicroPython, the baud rate (--baud, default 115200), and press the board's reset button")]
    Silent(String),
    #[error("{0}")]
    Closed(CloseReason),
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    /// 1: the operation failed on the board; 3: no connection or no login.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Link(_) | ClientError::Port(_) | ClientError::Silent(_) => 3,
            ClientError::Closed(
                CloseReason::AccessDenied
                | CloseReason::Rejected
                | CloseReason::ConnectFailed
                | CloseReason::ConnectTimeout(_)
                | CloseReason::NoPrompt(_)
                | CloseReason::Proxy { .. },
            ) => 3,
            _ => 1,
        }
    }
}

/// Ctrl-]: leaves the interactive REPL.
pub const QUIT_KEY: u8 = 0x1d;

/// How long a file command waits for a busy board before giving up (without --interrupt).
const BUSY_GRACE: Duration = Duration::from_secs(3);

/// Progress reports: (bytes done, total if known).
pub type Progress<'a> = &'a mut dyn FnMut(u64, Option<u64>);

/// Acks a get keeps in flight: three straight to a board; one through a proxy URL
/// (`ws://HOST/ws://BOARD…`), since `webrepl proxy` reads ahead itself and expects one per chunk.
fn get_depth(url: &BoardUrl) -> usize {
    if url.target.is_some() {
        1
    } else {
        webrepl_core::getahead::MAX_DEPTH
    }
}

/// Connects to the target (logging in over WebREPL) and does `op`.
pub async fn run(
    target: Target,
    op: Op,
    busy: Busy,
    progress: Progress<'_>,
) -> Result<Done, ClientError> {
    let start = Instant::now();
    let now = || start.elapsed().as_millis() as u64;
    let (mut reader, mut writer, mut session, port) = match target {
        Target::WebRepl { url, password } => {
            let path = link::request_path(&url);
            let (r, w) = link::connect(&url, &path, Duration::from_secs(10)).await?;
            let config = SessionConfig {
                get_depth: get_depth(&url),
                ..SessionConfig::default()
            };
            let session = Session::new(config, Some(password), now());
            (AnyReader::Ws(r), AnyWriter::Ws(w), session, None)
        }
        Target::Serial { port, baud, flow } => {
            let (r, w) = serial::open(&port, baud)?;
            let input_flow = flow.unwrap_or_else(|| {
                webrepl_core::InputFlow::for_usb_vendor(serial::usb_vendor(&port))
            });
            let config = SessionConfig {
                input_flow,
                ..SessionConfig::default()
            };
            let session = Session::new_stream(config, now());
            (
                AnyReader::Serial(r),
                AnyWriter::Serial(w),
                session,
                Some(port),
            )
        }
    };
    // Over serial: whether the board has sent anything at all (a silent port is not a board).
    let mut heard = port.is_none();
    session.handle_open(now());
    let mut op = Some(op);
    let mut done: Option<Done> = None;
    let mut stdin = tokio::io::stdin();
    let mut stdin_buf = [0u8; 1024];
    let interactive = matches!(op, Some(Op::Repl));
    let mut stdout = std::io::stdout();
    let mut run_id = None;
    let mut printing = interactive;
    // When a file command started waiting for a running program (it may be a moment's output).
    let mut waiting_since: Option<Instant> = None;
    loop {
        if waiting_since.is_some_and(|t| t.elapsed() >= BUSY_GRACE) {
            if let (false, Some(p)) = (heard, &port) {
                return Err(ClientError::Silent(p.clone()));
            }
            return Err(ClientError::Failed(
                "a program is running on the board; stop it first (add --interrupt to stop it with Ctrl-C)".into(),
            ));
        }
        while let Some(t) = session.poll_transmit() {
            let sent = match t {
                Transmit::Text(s) => writer.text(s.as_bytes()).await,
                Transmit::Binary(b) => writer.binary(&b).await,
                Transmit::Close => writer.close().await.or(Ok(())),
            };
            // A broken link is the session's to explain (e.g. lost during a transfer).
            if sent.is_err() {
                session.handle_close(webrepl_core::CloseInfo { code: Some(1006) }, now());
                break;
            }
        }
        let mut handled = false;
        session.set_now(now());
        while let Some(e) = session.poll_event() {
            handled = true;
            match e {
                Event::LoggedIn => match op.take() {
                    Some(Op::Put { remote, data }) => {
                        session
                            .put(&remote, data)
                            .map_err(|e| ClientError::Failed(e.to_string()))?;
                    }
                    Some(Op::Get { remote }) => {
                        session
                            .get(&remote)
                            .map_err(|e| ClientError::Failed(e.to_string()))?;
                    }
                    Some(Op::Version) => {
                        session
                            .version()
                            .map_err(|e| ClientError::Failed(e.to_string()))?;
                    }
                    Some(Op::Run { code, label }) => {
                        run_id = Some(
                            session
                                .run_code(&code, &label)
                                .map_err(|e| ClientError::Failed(e.to_string()))?,
                        );
                    }
                    Some(Op::Fs(fs)) => {
                        session
                            .fs(fs)
                            .map_err(|e| ClientError::Failed(e.to_string()))?;
                    }
                    Some(Op::Upload { remote, data }) => {
                        session
                            .upload(&remote, data)
                            .map_err(|e| ClientError::Failed(e.to_string()))?;
                    }
                    Some(Op::Repl) | None => {}
                },
                Event::Fs { state, .. } => match state {
                    FsState::WaitingForPrompt if busy == Busy::Interrupt => session.interrupt(),
                    FsState::WaitingForPrompt => {
                        waiting_since.get_or_insert_with(Instant::now);
                    }
                    FsState::Done(reply) => {
                        done = Some(Done::Fs(reply));
                        session.close();
                    }
                    FsState::Failed(e) => return Err(ClientError::Failed(e.to_string())),
                },
                Event::Output(text) if printing => {
                    let _ = stdout.write_all(text.as_bytes());
                    let _ = stdout.flush();
                }
                Event::TransferProgress { done: d, total, .. } => progress(d, total),
                Event::TransferDone { .. } if session.fs_pending() => {}
                Event::TransferDone { outcome, .. } => {
                    done = Some(match outcome {
                        TransferOutcome::Put { size, .. } => Done::Put { size },
                        TransferOutcome::Get { data, .. } => Done::Got(data),
                        TransferOutcome::Version(v) => Done::Version(v.to_string()),
                    });
                    session.close();
                }
                Event::TransferFailed { error, .. } => {
                    return Err(ClientError::Failed(error.to_string()))
                }
                Event::Run { id, state, .. } if Some(id) == run_id => match state {
                    RunState::Running => printing = true,
                    RunState::Finished => {
                        done = Some(Done::Ran);
                        session.close();
                    }
                    RunState::Failed(e) => return Err(ClientError::Failed(e.to_string())),
                    _ => {}
                },
                Event::Closed(reason) => {
                    let mut closing = false;
                    while let Some(Transmit::Close) = session.poll_transmit() {
                        let _ = writer.close().await;
                        closing = true;
                    }
                    if closing && port.is_none() {
                        // Wait (briefly) until the board has let go: it takes one session at a
                        // time, and a script's next command would otherwise be turned away.
                        let drain = async {
                            loop {
                                match reader.next().await {
                                    Ok(Incoming::Stalled) => writer.nudge(),
                                    Ok(Incoming::Frame(_)) => {}
                                    Ok(Incoming::Dropped) | Err(_) => break,
                                }
                            }
                        };
                        let _ = tokio::time::timeout(Duration::from_millis(1500), drain).await;
                    }
                    if let (false, Some(p)) = (heard, &port) {
                        if done.is_none() && !interactive {
                            return Err(ClientError::Silent(p.clone()));
                        }
                    }
                    return match (done.take(), reason) {
                        (Some(d), _) => Ok(d),
                        (None, CloseReason::ByUser) if interactive => Ok(Done::Left),
                        (None, r) => Err(ClientError::Closed(r)),
                    };
                }
                _ => {}
            }
        }
        // Events may have queued frames (a request after login): send them first.
        if handled || session.is_closed() {
            continue;
        }
        let deadline = session
            .poll_timeout()
            .map(|t| start + Duration::from_millis(t));
        let grace = waiting_since.map(|t| t + BUSY_GRACE);
        let deadline = match (deadline, grace) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            incoming = reader.next() => match incoming.unwrap_or(Incoming::Dropped) {
                Incoming::Frame(Frame::Text(b)) => {
                    heard = true;
                    session.handle_text(&b, now())
                }
                Incoming::Frame(Frame::Binary(b)) => session.handle_binary(&b, now()),
                Incoming::Frame(Frame::Close(code, reason)) => {
                    session.handle_close_with_reason(webrepl_core::CloseInfo { code: code.or(Some(1005)) }, &reason, now())
                }
                // The board holds a payload until it sees our ACK: make one leave now.
                Incoming::Stalled => writer.nudge(),
                Incoming::Dropped => session.handle_close(webrepl_core::CloseInfo { code: Some(1006) }, now()),
            },
            _ = sleep => session.handle_timeout(now()),
            n = stdin.read(&mut stdin_buf), if interactive => match n {
                Ok(0) | Err(_) => session.close(),
                Ok(n) => {
                    session.set_now(now());
                    let typed = &stdin_buf[..n];
                    // Ctrl-] leaves (as telnet); everything else, Ctrl-C included, is the board's.
                    match typed.iter().position(|&b| b == QUIT_KEY) {
                        Some(at) => {
                            session.send_input(&String::from_utf8_lossy(&typed[..at]));
                            session.close();
                        }
                        None => session.send_input(&String::from_utf8_lossy(typed)),
                    }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webrepl_core::parse_board_url;

    #[test]
    fn gets_keep_three_acks_in_flight_to_a_board_and_one_through_a_proxy() {
        let direct = parse_board_url("ws://192.168.4.1:8266/").expect("a URL");
        assert_eq!(get_depth(&direct), 3);
        let proxied = parse_board_url("ws://localhost:8765/ws://192.168.4.1:8266").expect("a URL");
        assert_eq!(get_depth(&proxied), 1);
    }
}
