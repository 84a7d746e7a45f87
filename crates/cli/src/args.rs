//! The command line: subcommands and their arguments (clap), and the connection options
//! every board command shares.

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::client;

#[derive(Parser)]
#[command(
    name = "webrepl",
    version,
    about = "MicroPython WebREPL: localhost proxy for browser stations and a command-line client"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) cmd: Cmd,
}

#[derive(clap::Args, Clone)]
pub(crate) struct Conn {
    /// The board's WebREPL password (else $WEBREPL_PASSWORD, else asked without echo).
    #[arg(short = 'p', long)]
    pub(crate) password: Option<String>,
    /// Connect through this URL instead, e.g. a proxy: ws://localhost:8765/ws://192.168.4.1:8266
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// If a program is running, stop it with Ctrl-C (file commands need the REPL prompt).
    #[arg(long)]
    pub(crate) interrupt: bool,
    /// A USB serial board instead of WebREPL: /dev/ttyACM0, /dev/ttyUSB0, COM3 … (board paths
    /// are then written :PATH, e.g. webrepl ls --port /dev/ttyACM0 :/lib).
    #[arg(long, value_name = "PORT")]
    pub(crate) port: Option<String>,
    /// The serial port's baud rate.
    #[arg(long, default_value_t = 115200, requires = "port")]
    pub(crate) baud: u32,
    /// How the board over --port takes input: usb (native USB, e.g. Pico, ESP32-S3: its USB
    /// stack holds back what the REPL has no room for, so puts go as whole scripts), uart
    /// (behind a USB–UART bridge chip: what overflows is lost, so puts go a raw-paste window
    /// at a time), auto (by the port's USB vendor id; a port without ids counts as uart).
    #[arg(long, value_enum, default_value_t = Flow::Auto, requires = "port")]
    pub(crate) input_flow: Flow,
}

/// `--input-flow`: how a serial board takes input.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Auto,
    Usb,
    Uart,
}

impl Conn {
    pub(crate) fn busy(&self) -> client::Busy {
        if self.interrupt {
            client::Busy::Interrupt
        } else {
            client::Busy::Fail
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum Cmd {
    /// Forward ws://localhost:8765/ws://BOARD:PORT to the board (for Edrys stations).
    Proxy {
        #[arg(long, default_value = "127.0.0.1:8765")]
        listen: SocketAddr,
        /// Also allow this target (HOST or HOST:PORT); repeatable.
        #[arg(long = "allow", value_name = "HOST[:PORT]")]
        allow: Vec<String>,
        /// Allow any target (an open relay: only on a trusted network).
        #[arg(long)]
        allow_any: bool,
        /// Also accept pages from this origin, e.g. your module's https://USER.github.io;
        /// repeatable. Always accepted: https://edrys-labs.github.io, pages on localhost /
        /// 127.0.0.1 / [::1] (any port), and clients that send no Origin (not browsers).
        #[arg(long = "origin", value_name = "URL")]
        origins: Vec<String>,
        /// Accept pages from every origin: any web site open in this computer's browser can then
        /// drive the boards (and local services) through the proxy.
        #[arg(long)]
        any_origin: bool,
        #[arg(long, default_value_t = 64)]
        max_sessions: usize,
        /// Seconds to wait for a board to accept the connection.
        #[arg(long, default_value_t = 5)]
        connect_timeout: u64,
        /// Serve wss:// with this certificate chain (PEM), for a page on another machine.
        #[arg(long, requires = "tls_key", value_name = "PEM")]
        tls_cert: Option<PathBuf>,
        /// The certificate's private key (PEM).
        #[arg(long, requires = "tls_cert", value_name = "PEM")]
        tls_key: Option<PathBuf>,
        /// Get chunks the proxy acks to the board ahead of the browser (0 turns read-ahead off).
        #[arg(long, default_value_t = 256, value_name = "CHUNKS")]
        read_ahead: usize,
    },
    /// Send a file: webrepl put main.py 192.168.4.1[:8266]:/main.py (a trailing / keeps the name).
    Put {
        local: PathBuf,
        remote: String,
        /// Upload safely: to a temporary name, check the size, then rename over the target (an
        /// interrupted upload never leaves a truncated file; needs the REPL prompt).
        #[arg(long)]
        safe: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Get a file: webrepl get 192.168.4.1[:8266]:/main.py main.py
    Get {
        remote: String,
        local: PathBuf,
        #[command(flatten)]
        conn: Conn,
    },
    /// Print the board's MicroPython version.
    Version {
        #[arg(required_unless_present = "port")]
        host: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Run a local Python file on the board and print its output.
    Run {
        file: PathBuf,
        #[arg(required_unless_present = "port")]
        host: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// An interactive REPL over WebREPL: keys go to the board as typed (Ctrl-C stops a program,
    /// Tab completes); Ctrl-] leaves. With piped input: lines, and the end of input leaves.
    Repl {
        #[arg(required_unless_present = "port")]
        host: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// List a folder: webrepl ls 192.168.4.1[:8266][:/lib]
    Ls {
        #[arg(required_unless_present = "port")]
        target: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Delete a file, or a folder with everything in it: webrepl rm HOST:/old.py
    Rm {
        target: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Make a folder: webrepl mkdir HOST:/lib/drivers
    Mkdir {
        target: String,
        /// Also make missing folders above it; no error if it exists.
        #[arg(long = "parents")]
        parents: bool,
        #[command(flatten)]
        conn: Conn,
    },
    /// Rename or move on the board: webrepl mv HOST:/a.py /lib/a.py (never replaces a file)
    Mv {
        from: String,
        to: String,
        #[command(flatten)]
        conn: Conn,
    },
    /// Print a file of the board: webrepl cat HOST:/boot.py
    Cat {
        target: String,
        #[command(flatten)]
        conn: Conn,
    },
}
