//! Which web pages may use the proxy (`Origin` checks): Edrys, this computer's pages, `--origin`.

use webrepl_core::utf8::prefix_at_boundary;

/// Edrys' own origin: modules published under it (and pages of the Edrys app) are accepted.
pub const EDRYS_ORIGIN: &str = "https://edrys-labs.github.io";

/// The web pages that may use the proxy: by default Edrys' origin, pages served from this
/// computer (localhost and loopback, http or https, any port) and clients that send no
/// `Origin` (not browsers); plus `--origin`; or every page with `--any-origin`.
///
/// This keeps other web sites open in the station's browser from driving boards (or local
/// services) through the proxy. It does not stop programs on this computer, which can send any
/// `Origin` they like, or connect to the boards directly anyway.
#[derive(Clone, Debug, Default)]
pub struct PageOrigins {
    /// Every page (`--any-origin`).
    pub any: bool,
    /// Further origins, as [`normalize_origin`] gives them.
    pub extra: Vec<String>,
}

impl PageOrigins {
    /// `Ok` if a handshake with this `Origin` header may go on; else the origin as the
    /// refusal shows it (normalised when it parses).
    pub fn check(&self, header: Option<&str>) -> Result<(), String> {
        let Some(header) = header else {
            // No Origin: not a browser (they always send one on WebSockets).
            return Ok(());
        };
        if self.any {
            return Ok(());
        }
        let Ok(origin) = parse_origin(header) else {
            return Err(shown(header));
        };
        if origin.is_loopback() || origin.text == EDRYS_ORIGIN || self.extra.contains(&origin.text)
        {
            Ok(())
        } else {
            Err(origin.text)
        }
    }
}

/// Text from outside, safe and short enough for a log line and a close reason.
pub(super) fn shown(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if clean.is_empty() {
        return "(an empty origin)".to_owned();
    }
    prefix_at_boundary(&clean, 60).to_owned()
}

/// The close reason for a page that is not accepted (at most 123 bytes: the longest a close
/// frame carries), naming the flag that would let it in when there is room.
pub(super) fn page_refusal(origin: &str) -> String {
    let full = format!(
        "this proxy does not accept pages from {origin}; start it with --origin {origin} to allow it"
    );
    if full.len() <= 123 {
        return full;
    }
    let short = format!("this proxy does not accept pages from {origin} (see its --origin)");
    if short.len() <= 123 {
        return short;
    }
    "this proxy does not accept pages from this page's origin; start it with --origin ORIGIN"
        .to_owned()
}

/// An origin taken apart: `scheme://host[:port]` in lower case, without a default port.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Origin {
    text: String,
    host: String,
}

impl Origin {
    fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self.host == "[::1]"
            || self
                .host
                .parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// `--origin`'s value as the proxy compares it: lower case, no trailing slash, no default
/// port (`https://User.github.io/` → `https://user.github.io`). A value that is not an http(s)
/// origin is an error that says what to give instead.
pub fn normalize_origin(value: &str) -> Result<String, String> {
    if value.trim().eq_ignore_ascii_case("null") {
        return Err("--origin null: \"null\" is the origin of file:// pages and sandboxed frames, which any web site can make; use --any-origin if you really mean every page".into());
    }
    parse_origin(value)
        .map(|o| o.text)
        .map_err(|why| format!("--origin {value}: {why}"))
}

pub(super) fn parse_origin(value: &str) -> Result<Origin, String> {
    let example = "give scheme://host[:port], e.g. https://user.github.io";
    let lower = value.trim().to_ascii_lowercase();
    let text = lower.trim_end_matches('/');
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(format!("not an origin: {example}"));
    };
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => {
            return Err(format!(
                "only http:// and https:// pages can be allowed, not {scheme}://"
            ))
        }
    };
    if let Some(cut) = rest.find(['/', '?', '#']) {
        return Err(format!(
            "an origin has no path: use {scheme}://{}",
            &rest[..cut]
        ));
    }
    if rest.contains('@') {
        return Err(format!("an origin has no user name: {example}"));
    }
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let Some((addr, after)) = v6.split_once(']') else {
            return Err(format!("unclosed [ in the address: {example}"));
        };
        let ip: std::net::Ipv6Addr = addr
            .parse()
            .map_err(|_| format!("[{addr}] is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(|| example.to_owned())?),
        };
        (format!("[{ip}]"), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (rest.to_owned(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => return Err(format!("\"{p}\" is not a port number")),
        },
    };
    if !host.starts_with('[') {
        if !host.is_ascii() {
            return Err(format!(
                "{host}: write a non-ASCII host name in its xn-- (punycode) form, as browsers send it"
            ));
        }
        let ok_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        };
        if host.is_empty() || !host.split('.').all(ok_label) {
            return Err(format!("\"{host}\" is not a host name: {example}"));
        }
    }
    let text = match port {
        Some(p) if p != default_port => format!("{scheme}://{host}:{p}"),
        _ => format!("{scheme}://{host}"),
    };
    Ok(Origin { text, host })
}
