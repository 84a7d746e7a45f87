//! Which boards the proxy may connect to: local addresses by default, `--allow`, never the
//! proxy itself.

use std::net::{IpAddr, SocketAddr};
use webrepl_core::BoardUrl;

use super::ProxyConfig;

/// Whether the proxy may connect to `target`: local addresses by default (loopback, private,
/// link-local, `.local` names), plus `--allow`, or anything with `--allow-any`.
pub async fn allowed(cfg: &ProxyConfig, target: &BoardUrl) -> Result<(), String> {
    if cfg.allow_any {
        return Ok(());
    }
    let host = target
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    if cfg
        .allow
        .iter()
        .any(|(h, p)| h.eq_ignore_ascii_case(&host) && p.is_none_or(|p| p == target.port))
    {
        return Ok(());
    }
    if host.ends_with(".local") || host == "localhost" {
        return Ok(());
    }
    let hint = format!(
        "{host} is not on the local network; start the proxy with --allow {host} to permit it"
    );
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host.as_str(), target.port)).await {
            Ok(a) => a.map(|s| s.ip()).collect(),
            Err(_) => return Err(format!("target not allowed: {host} cannot be resolved")),
        },
    };
    if !addrs.is_empty() && addrs.iter().all(is_local) {
        Ok(())
    } else {
        Err(format!("target not allowed: {hint}"))
    }
}

pub fn is_local(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => v.is_loopback() || v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback()
                || (v.segments()[0] & 0xfe00) == 0xfc00
                || (v.segments()[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some_and(|m| is_local(&IpAddr::V4(m)))
        }
    }
}

/// Whether `target` is the proxy's own listening address (which would loop back into it).
pub(super) async fn is_self(target: &BoardUrl, listen: SocketAddr) -> bool {
    if target.port != listen.port() {
        return false;
    }
    let host = target.host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => match tokio::net::lookup_host((host, target.port)).await {
            Ok(a) => a.map(|s| s.ip()).collect(),
            // Not resolvable: the connection will fail with its own message.
            Err(_) => return false,
        },
    };
    addrs
        .iter()
        .any(|ip| reaches(ip.to_canonical(), listen.ip().to_canonical()))
}

/// Whether a connection to `target` (same port) lands on a socket listening on `listen`.
pub(super) fn reaches(target: IpAddr, listen: IpAddr) -> bool {
    if target == listen {
        return true;
    }
    if target.is_unspecified() {
        // Connecting to 0.0.0.0 / :: reaches this computer (its loopback).
        return listen.is_unspecified() || listen.is_loopback();
    }
    // Listening on every address: any address of this computer's is a loop.
    listen.is_unspecified() && (target.is_loopback() || is_own_address(target))
}

/// Whether `ip` is one of this computer's addresses: a UDP socket "connected" to it (nothing
/// is sent) takes that same address as its own, which only happens for local addresses.
pub(super) fn is_own_address(ip: IpAddr) -> bool {
    let any: SocketAddr = match ip {
        IpAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    std::net::UdpSocket::bind(any)
        .and_then(|s| {
            s.connect((ip, 9))?;
            s.local_addr()
        })
        .is_ok_and(|a| a.ip() == ip)
}
