//! Local Network Access: tells a browser's block of a public page reaching loopback/private
//! addresses apart from a refused connection, and says what to do (docs/local-network-access.md).
//!
//! Pure: the adapter passes in the page's host and origin, the WebSocket's host, whether the
//! page is in a frame, the Permissions API states it read *after* the failure, and how long the
//! socket took to fail; [`diagnose`] answers with an [`LnaBlock`] whose `Display` is the message.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Where an address lives, as Chrome's Local Network Access ranks them (more private last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AddressSpace {
    /// A public IP literal.
    Public,
    /// A DNS name that is not `localhost` or `.local`: only the resolver knows.
    Unknown,
    /// 10/8, 172.16/12, 192.168/16, 169.254/16, 100.64/10, fc00::/7, fe80::/10, `*.local`.
    Private,
    /// 127/8, ::1, `localhost`, `*.localhost`.
    Loopback,
}

impl AddressSpace {
    /// True for the spaces a public page needs permission to reach.
    pub fn is_local(self) -> bool {
        matches!(self, AddressSpace::Private | AddressSpace::Loopback)
    }

    fn words(self) -> &'static str {
        match self {
            AddressSpace::Public | AddressSpace::Unknown => "a public address",
            AddressSpace::Private => "the local network",
            AddressSpace::Loopback => "this computer (loopback)",
        }
    }
}

/// The address space of a host as written in a URL (`[::1]`, `127.0.0.1`, `esp.local`, …).
pub fn address_space(host: &str) -> AddressSpace {
    let h = host
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if h == "localhost" || h.ends_with(".localhost") {
        return AddressSpace::Loopback;
    }
    if h.ends_with(".local") {
        return AddressSpace::Private;
    }
    match h.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => v4_space(a),
        Ok(IpAddr::V6(a)) => v6_space(a),
        Err(_) => AddressSpace::Unknown,
    }
}

fn v4_space(a: Ipv4Addr) -> AddressSpace {
    let [b0, b1, ..] = a.octets();
    if b0 == 127 {
        AddressSpace::Loopback
    } else if b0 == 10
        || (b0 == 172 && (16..32).contains(&b1))
        || (b0 == 192 && b1 == 168)
        || (b0 == 169 && b1 == 254)
        || (b0 == 100 && (64..128).contains(&b1))
        || a.is_unspecified()
    {
        AddressSpace::Private
    } else {
        AddressSpace::Public
    }
}

fn v6_space(a: Ipv6Addr) -> AddressSpace {
    if a.is_loopback() {
        return AddressSpace::Loopback;
    }
    if let Some(v4) = a.to_ipv4_mapped() {
        return v4_space(v4);
    }
    let s0 = a.segments()[0];
    if (s0 & 0xfe00) == 0xfc00 || (s0 & 0xffc0) == 0xfe80 || a.is_unspecified() {
        AddressSpace::Private
    } else {
        AddressSpace::Public
    }
}

/// One permission as `navigator.permissions.query` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PermissionState {
    Granted,
    Denied,
    Prompt,
    /// The browser does not know the name, or the query failed.
    #[default]
    Unsupported,
}

impl PermissionState {
    /// From the `state` string of a `PermissionStatus`.
    pub fn parse(s: &str) -> PermissionState {
        match s {
            "granted" => PermissionState::Granted,
            "denied" => PermissionState::Denied,
            "prompt" => PermissionState::Prompt,
            _ => PermissionState::Unsupported,
        }
    }
}

/// The local-network permissions Chrome knows (names of `navigator.permissions.query`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Permissions {
    /// `local-network-access` (Chrome 138–141; still answered by Chrome 156).
    pub local_network_access: PermissionState,
    /// `local-network`: private addresses (Chrome 142 on).
    pub local_network: PermissionState,
    /// `loopback-network`: this computer (Chrome 142 on).
    pub loopback_network: PermissionState,
}

/// The names to query, in the order of [`Permissions::from_states`].
pub const PERMISSION_NAMES: [&str; 3] =
    ["local-network-access", "local-network", "loopback-network"];

impl Permissions {
    /// From the states of [`PERMISSION_NAMES`], in that order (missing ones unsupported).
    pub fn from_states(states: &[PermissionState]) -> Permissions {
        let at = |i: usize| states.get(i).copied().unwrap_or_default();
        Permissions {
            local_network_access: at(0),
            local_network: at(1),
            loopback_network: at(2),
        }
    }

    /// The state that decides for a target in `space`: the specific name if the browser knows
    /// it (Chrome 156 keeps the old name denied for private targets once loopback was blocked),
    /// else the old name.
    fn for_target(&self, space: AddressSpace) -> PermissionState {
        let specific = match space {
            AddressSpace::Loopback => self.loopback_network,
            AddressSpace::Private => self.local_network,
            // A name: it may resolve to either.
            _ => {
                if self.loopback_network == PermissionState::Denied {
                    PermissionState::Denied
                } else {
                    self.local_network
                }
            }
        };
        match specific {
            PermissionState::Unsupported => self.local_network_access,
            s => s,
        }
    }
}

/// Whether the page is the browser tab's own document or inside someone's frame (Edrys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Embedding {
    TopLevel,
    /// In a frame; `top_origin` is the embedding page's origin when the browser tells it
    /// (`location.ancestorOrigins`), e.g. the Edrys address.
    Frame {
        top_origin: Option<String>,
    },
}

/// What the adapter knows about a WebSocket that failed before it opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedConnect {
    /// The page's host (`location.hostname`) and origin (`location.origin`).
    pub page_host: String,
    pub page_origin: String,
    /// The WebSocket's host and the URL opened.
    pub target_host: String,
    pub target_url: String,
    pub embedding: Embedding,
    /// Read after the failure (a prompt Chrome answered itself reads `denied` by then).
    pub permissions: Permissions,
    /// From `new WebSocket` to the error.
    pub elapsed_ms: u64,
}

/// How sure the verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Certainty {
    /// The browser says the permission is denied.
    Denied,
    /// The permission was not granted (still "prompt": not answered, dismissed, or not asked),
    /// and the page's address is less private than the target's; the error came at once.
    NotGranted,
    /// This browser has no local-network permissions to ask about; the page is public and the
    /// target local, so a block is possible but not known.
    Unknown,
}

/// A connection the browser (probably) blocked under Local Network Access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LnaBlock {
    pub certainty: Certainty,
    pub page_origin: String,
    pub page_space: AddressSpace,
    pub target_url: String,
    pub target_space: AddressSpace,
    pub embedding: Embedding,
}

/// A socket error later than this after `new WebSocket` is not a block that came at once.
pub const IMMEDIATE_MS: u64 = 1500;

/// Decides whether a connection that failed before opening was blocked by Local Network
/// Access; `None` means it was not (a refused or unreachable connection: say so as usual).
pub fn diagnose(f: &FailedConnect) -> Option<LnaBlock> {
    let target_space = address_space(&f.target_host);
    let page_space = address_space(&f.page_host);
    if target_space == AddressSpace::Public {
        return None;
    }
    let less_private = page_space < target_space && target_space.is_local();
    let certainty = match f.permissions.for_target(target_space) {
        PermissionState::Denied => Certainty::Denied,
        PermissionState::Granted => return None,
        PermissionState::Prompt if less_private && f.elapsed_ms <= IMMEDIATE_MS => {
            Certainty::NotGranted
        }
        PermissionState::Unsupported if less_private && f.elapsed_ms <= IMMEDIATE_MS => {
            Certainty::Unknown
        }
        _ => return None,
    };
    Some(LnaBlock {
        certainty,
        page_origin: f.page_origin.clone(),
        page_space,
        target_url: f.target_url.clone(),
        target_space,
        embedding: f.embedding.clone(),
    })
}

impl fmt::Display for LnaBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = &self.target_url;
        let space = self.target_space.words();
        if self.certainty == Certainty::Unknown {
            return write!(
                f,
                "no connection to {target}. This page comes from {} and {target} is on {space}: browsers with Local Network Access (Chrome, Edge) block that unless the site is allowed (site settings → Local network access). If this browser has no such rule, nothing accepted the connection: the board may be off, WebREPL disabled, or the address wrong. Either way, the page the board serves itself (http://BOARD:8266/ with webrepl_cfg.BASE set to this client) avoids the question",
                self.page_space.words()
            );
        }
        let why = match self.certainty {
            Certainty::Denied => "the permission is set to block",
            _ => "the permission was not given",
        };
        match &self.embedding {
            Embedding::TopLevel => write!(
                f,
                "the browser blocked this page ({}) from reaching {target} on {space}: Local Network Access ({why}), not a board problem — nothing was sent to the board. Allow it: click the icon left of the address bar → Site settings → Local network access → Allow (or accept the prompt when it asks), then connect again. Or open the page the board serves itself (http://BOARD:8266/ with webrepl_cfg.BASE set to this client), which needs no permission",
                self.page_origin
            ),
            Embedding::Frame { top_origin } => {
                let host = top_origin
                    .as_deref()
                    .map(|o| format!(" ({o})"))
                    .unwrap_or_default();
                write!(
                    f,
                    "the browser blocked this module ({}) from reaching {target} on {space}: Local Network Access ({why}), not a board or proxy problem — nothing was sent. The page that embeds it{host} does not pass the local-network permission to its frames, so the browser cannot even ask. Fixes: the lab's admin sets the Chrome policy LocalNetworkAccessAllowedForUrls to [\"{}\"] on the station computer (chrome://policy shows it); or connect the board over USB (Web Serial works in Edrys); or open the page the board serves itself (http://BOARD:8266/ with webrepl_cfg.BASE set to this client)",
                    self.page_origin, self.page_origin
                )
            }
        }
    }
}

#[cfg(test)]
mod tests;
