//! Where a board command goes: `HOST[:PORT]:PATH` and `:PATH` arguments, the board's URL and
//! password, or the serial port.

use std::io::IsTerminal;
use webrepl_core::{parse_board_url, BoardUrl, InputFlow, Password};

use crate::args::{Conn, Flow};
use crate::{client, fail};

/// Splits `HOST[:PORT]:PATH` (webrepl_cli.py's form).
pub(crate) fn split_remote(spec: &str) -> Result<(String, String), String> {
    let parts: Vec<&str> = spec.splitn(3, ':').collect();
    match parts.as_slice() {
        [host, port, path] if port.chars().all(|c| c.is_ascii_digit()) && !port.is_empty() => {
            Ok((format!("{host}:{port}"), (*path).to_owned()))
        }
        [host, rest @ ..] if !rest.is_empty() => Ok(((*host).to_owned(), rest.join(":"))),
        _ => Err(format!(
            "\"{spec}\" has no file on the board: use HOST[:PORT]:PATH, e.g. 192.168.4.1:/main.py"
        )),
    }
}

/// With `--port`: the path of a `:PATH` argument (mpremote's form).
pub(crate) fn port_path(spec: &str) -> Result<String, String> {
    spec.strip_prefix(':').map(str::to_owned).ok_or_else(|| {
        format!("\"{spec}\": with --port, write board paths as :PATH, e.g. :/main.py")
    })
}

/// Splits a remote argument: `HOST[:PORT]:PATH`, or `:PATH` with `--port`.
pub(crate) fn remote_of(spec: &str, conn: &Conn) -> Result<(String, String), String> {
    if conn.port.is_some() {
        return Ok((String::new(), port_path(spec)?));
    }
    split_remote(spec)
}

/// Where to connect: the serial port, or the WebREPL board at `host` (password asked here).
pub(crate) fn connect_to(host: &str, conn: &Conn) -> client::Target {
    if let Some(port) = &conn.port {
        if conn.url.is_some() {
            fail(2, "give either --port or --url, not both");
        }
        let flow = match conn.input_flow {
            Flow::Auto => None,
            Flow::Usb => Some(InputFlow::HeldByUsb),
            Flow::Uart => Some(InputFlow::Windowed),
        };
        return client::Target::Serial {
            port: port.clone(),
            baud: conn.baud,
            flow,
        };
    }
    client::Target::WebRepl {
        url: board(host, conn),
        password: password(conn),
    }
}

/// A positional HOST, which `--port` replaces.
pub(crate) fn host_arg(host: Option<String>, conn: &Conn) -> String {
    match (host, &conn.port) {
        (Some(h), Some(_)) => fail(2, format!("\"{h}\": with --port there is no HOST argument")),
        (Some(h), None) => h,
        (None, _) => String::new(),
    }
}

pub(crate) fn board(host: &str, conn: &Conn) -> BoardUrl {
    let text = conn.url.clone().unwrap_or_else(|| host.to_owned());
    parse_board_url(&text).unwrap_or_else(|e| fail(2, e))
}

pub(crate) fn password(conn: &Conn) -> Password {
    let text = match (&conn.password, std::env::var("WEBREPL_PASSWORD")) {
        (Some(p), _) => p.clone(),
        (None, Ok(p)) => p,
        (None, Err(_)) if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("WebREPL password: ")
                .unwrap_or_else(|e| fail(2, format!("cannot read the password: {e}")))
        }
        (None, Err(_)) => fail(2, "no password: give -p PASSWORD or set WEBREPL_PASSWORD"),
    };
    Password::new(&text).unwrap_or_else(|e| fail(2, e))
}

/// Splits `HOST[:PORT][:PATH]`; the path may be empty.
pub(crate) fn split_target(spec: &str) -> (String, String) {
    if let Some((_, port)) = spec.split_once(':') {
        if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            return (spec.to_owned(), String::new());
        }
    }
    match split_remote(spec) {
        Ok(hp) => hp,
        Err(_) => (spec.to_owned(), String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::split_remote;

    #[test]
    fn ls_targets_may_omit_the_path() {
        use super::split_target;
        assert_eq!(
            split_target("10.0.0.2:8266"),
            ("10.0.0.2:8266".into(), "".into())
        );
        assert_eq!(split_target("10.0.0.2"), ("10.0.0.2".into(), "".into()));
        assert_eq!(
            split_target("10.0.0.2:/lib"),
            ("10.0.0.2".into(), "/lib".into())
        );
        assert_eq!(
            split_target("10.0.0.2:8266:/lib"),
            ("10.0.0.2:8266".into(), "/lib".into())
        );
    }

    #[test]
    fn webrepl_cli_remote_forms() {
        assert_eq!(
            split_remote("192.168.4.1:/main.py").unwrap(),
            ("192.168.4.1".into(), "/main.py".into())
        );
        assert_eq!(
            split_remote("192.168.4.1:8266:main.py").unwrap(),
            ("192.168.4.1:8266".into(), "main.py".into())
        );
        assert_eq!(
            split_remote("esp.local:8000:/lib/").unwrap(),
            ("esp.local:8000".into(), "/lib/".into())
        );
        assert!(split_remote("192.168.4.1").is_err());
    }
}
