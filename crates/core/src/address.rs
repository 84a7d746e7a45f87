//! Board addresses: what a user may type (`192.168.4.1`, `esp.local:8266`, `ws://…`, a proxied
//! `ws://localhost:8765/ws://192.168.2.197:8266`) turned into a WebSocket URL, or a clear error.

use thiserror::Error;

pub const DEFAULT_PORT: u16 = 8266;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    #[error("no board address given; enter e.g. ws://192.168.4.1:8266/")]
    Empty,
    #[error(
        "\"{0}\" is not a WebSocket address: use ws://HOST:PORT/ (or wss:// through a TLS proxy)"
    )]
    Scheme(String),
    #[error("the address \"{0}\" has no host name")]
    NoHost(String),
    #[error("the host \"{0}\" contains characters a host name cannot have")]
    BadHost(String),
    #[error("the port \"{0}\" is not a number from 1 to 65535")]
    BadPort(String),
    #[error("the address contains spaces or control characters")]
    Whitespace,
    #[error("the board address behind the proxy is malformed: {0}")]
    BadTarget(Box<AddressError>),
}

/// A parsed board address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardUrl {
    /// The URL to open, normalised (`ws://host:port/path`).
    pub url: String,
    pub secure: bool,
    pub host: String,
    pub port: u16,
    /// For a proxy URL (`ws://localhost:8765/ws://board:8266`), the board behind it.
    pub target: Option<Box<BoardUrl>>,
}

impl BoardUrl {
    /// True for hosts a page served over HTTPS may still reach with `ws://` (loopback).
    pub fn is_loopback(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h == "localhost" || h.ends_with(".localhost") || h.starts_with("127.") || h == "::1"
    }

    /// True when a page loaded over HTTPS cannot open this URL (mixed content).
    pub fn blocked_on_https_page(&self) -> bool {
        !self.secure && !self.is_loopback()
    }
}

/// Parses what a user typed into a board URL.
pub fn parse_board_url(input: &str) -> Result<BoardUrl, AddressError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(AddressError::Empty);
    }
    if input.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(AddressError::Whitespace);
    }
    let (secure, rest) = match input.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "ws" | "http" => (false, rest),
            "wss" | "https" => (true, rest),
            _ => return Err(AddressError::Scheme(input.to_owned())),
        },
        None => (false, input),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = split_host_port(authority, input)?;
    let target = match path.strip_prefix('/') {
        Some(inner) if inner.contains("://") => Some(Box::new(
            parse_board_url(inner).map_err(|e| AddressError::BadTarget(Box::new(e)))?,
        )),
        _ => None,
    };
    // The path is kept exactly as typed: a proxy reads the board URL from it.
    let scheme = if secure { "wss" } else { "ws" };
    Ok(BoardUrl {
        url: format!("{scheme}://{host}:{port}{path}"),
        secure,
        host,
        port,
        target,
    })
}

fn split_host_port(authority: &str, input: &str) -> Result<(String, u16), AddressError> {
    if authority.contains('@') {
        return Err(AddressError::BadHost(authority.to_owned()));
    }
    let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| AddressError::BadHost(authority.to_owned()))?;
        let host = &rest[..end];
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(AddressError::BadHost(authority.to_owned()));
        }
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(AddressError::BadHost(authority.to_owned())),
        };
        (format!("[{host}]"), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (authority.to_owned(), None),
        }
    };
    if host.is_empty() {
        return Err(AddressError::NoHost(input.to_owned()));
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(AddressError::BadHost(host));
    }
    let port = match port {
        None => DEFAULT_PORT,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| AddressError::BadPort(p.to_owned()))?,
    };
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_people_type() {
        assert_eq!(
            parse_board_url("192.168.4.1").unwrap().url,
            "ws://192.168.4.1:8266/"
        );
        assert_eq!(
            parse_board_url(" esp32.local:8000 ").unwrap().url,
            "ws://esp32.local:8000/"
        );
        assert_eq!(
            parse_board_url("ws://10.0.0.2:8266").unwrap().url,
            "ws://10.0.0.2:8266/"
        );
        assert_eq!(
            parse_board_url("http://10.0.0.2").unwrap().url,
            "ws://10.0.0.2:8266/"
        );
        assert_eq!(
            parse_board_url("wss://[::1]:9000/").unwrap().url,
            "wss://[::1]:9000/"
        );
    }

    #[test]
    fn keeps_the_proxy_path() {
        let u = parse_board_url("ws://localhost:8765/ws://192.168.2.197:8266").unwrap();
        assert_eq!(u.url, "ws://localhost:8765/ws://192.168.2.197:8266");
        assert!(u.is_loopback() && !u.blocked_on_https_page());
        let t = u.target.unwrap();
        assert_eq!((t.host.as_str(), t.port), ("192.168.2.197", 8266));
        assert!(t.blocked_on_https_page());
    }

    #[test]
    fn rejects_malformed_addresses_clearly() {
        assert_eq!(parse_board_url(""), Err(AddressError::Empty));
        assert!(matches!(
            parse_board_url("ftp://x"),
            Err(AddressError::Scheme(_))
        ));
        assert!(matches!(
            parse_board_url("ws://:8266"),
            Err(AddressError::NoHost(_))
        ));
        assert!(matches!(
            parse_board_url("ws://host:99999"),
            Err(AddressError::BadPort(_))
        ));
        assert!(matches!(
            parse_board_url("ws://host:0"),
            Err(AddressError::BadPort(_))
        ));
        assert!(matches!(
            parse_board_url("ws://ho st"),
            Err(AddressError::Whitespace)
        ));
        assert!(matches!(
            parse_board_url("ws://h<o>st"),
            Err(AddressError::BadHost(_))
        ));
        assert!(matches!(
            parse_board_url("ws://user@host"),
            Err(AddressError::BadHost(_))
        ));
        assert!(matches!(
            parse_board_url("ws://localhost:8765/ws://:1"),
            Err(AddressError::BadTarget(_))
        ));
        assert!(parse_board_url("ws://host:abc")
            .unwrap_err()
            .to_string()
            .contains("1 to 65535"));
    }
}
