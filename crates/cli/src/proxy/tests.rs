//! Unit tests of the proxy: targets, origins, text merging.

use super::origins::shown;
use super::targets::reaches;
use super::*;
use std::net::IpAddr;

#[tokio::test]
async fn only_local_targets_by_default() {
    let cfg = ProxyConfig::default();
    for ok in [
        "ws://192.168.2.197:8266",
        "ws://10.1.2.3:1",
        "ws://127.0.0.1:8266",
        "ws://esp32.local:8266",
        "ws://[::1]:8266",
        "ws://169.254.1.2:8266",
    ] {
        assert!(
            allowed(&cfg, &parse_board_url(ok).unwrap()).await.is_ok(),
            "{ok}"
        );
    }
    let e = allowed(&cfg, &parse_board_url("ws://8.8.8.8:8266").unwrap())
        .await
        .unwrap_err();
    assert!(e.contains("--allow 8.8.8.8"), "{e}");
    let cfg = ProxyConfig {
        allow: vec![("8.8.8.8".into(), Some(8266))],
        ..Default::default()
    };
    assert!(
        allowed(&cfg, &parse_board_url("ws://8.8.8.8:8266").unwrap())
            .await
            .is_ok()
    );
    assert!(
        allowed(&cfg, &parse_board_url("ws://8.8.8.8:9999").unwrap())
            .await
            .is_err()
    );
    let any = ProxyConfig {
        allow_any: true,
        ..Default::default()
    };
    assert!(allowed(&any, &parse_board_url("ws://8.8.8.8:1").unwrap())
        .await
        .is_ok());
}
#[test]
fn pages_accepted_by_default_and_with_origin() {
    let d = PageOrigins::default();
    for ok in [
        None,
        Some("https://edrys-labs.github.io"),
        Some("https://Edrys-Labs.github.io/"),
        Some("https://edrys-labs.github.io:443"),
        Some("http://localhost:8080"),
        Some("https://localhost"),
        Some("http://127.0.0.1:5173"),
        Some("https://127.0.0.1:8443"),
        Some("http://[::1]:3000"),
        Some("http://[0:0:0:0:0:0:0:1]:3000"),
    ] {
        assert_eq!(d.check(ok), Ok(()), "{ok:?}");
    }
    for (bad, shown) in [
        ("https://evil.example", "https://evil.example"),
        ("https://EVIL.example/", "https://evil.example"),
        ("null", "null"),
        ("", "(an empty origin)"),
        (
            "https://edrys-labs.github.io.evil.example",
            "https://edrys-labs.github.io.evil.example",
        ),
        ("http://edrys-labs.github.io", "http://edrys-labs.github.io"),
        (
            "https://edrys-labs.github.io:8443",
            "https://edrys-labs.github.io:8443",
        ),
        (
            "http://localhost.evil.example",
            "http://localhost.evil.example",
        ),
        ("http://192.168.1.5:8000", "http://192.168.1.5:8000"),
        ("file://", "file://"),
    ] {
        assert_eq!(d.check(Some(bad)), Err(shown.to_owned()), "{bad:?}");
    }
    let extra = PageOrigins {
        any: false,
        extra: vec![normalize_origin("https://User.github.io/").unwrap()],
    };
    assert_eq!(extra.check(Some("https://user.github.io")), Ok(()));
    assert!(extra.check(Some("https://other.github.io")).is_err());
    assert_eq!(extra.check(Some("http://localhost:1")), Ok(()));
    let any = PageOrigins {
        any: true,
        extra: vec![],
    };
    assert_eq!(any.check(Some("https://evil.example")), Ok(()));
    assert_eq!(any.check(Some("null")), Ok(()));
}

#[test]
fn origin_values_are_normalised_or_refused_clearly() {
    for (given, want) in [
        ("https://user.github.io", "https://user.github.io"),
        ("HTTPS://User.GitHub.io/", "https://user.github.io"),
        ("https://user.github.io:443", "https://user.github.io"),
        ("http://lab.example:80/", "http://lab.example"),
        ("http://lab.example:8080", "http://lab.example:8080"),
        ("https://[::1]:8443", "https://[::1]:8443"),
        (
            "  https://xn--bcher-kva.example ",
            "https://xn--bcher-kva.example",
        ),
    ] {
        assert_eq!(normalize_origin(given).as_deref(), Ok(want), "{given}");
    }
    for (given, says) in [
        ("user.github.io", "scheme://host"),
        ("ftp://user.github.io", "only http:// and https://"),
        (
            "https://user.github.io/module/",
            "no path: use https://user.github.io",
        ),
        ("https://user.github.io?x", "no path"),
        ("https://a@user.github.io", "user name"),
        ("https://user.github.io:99999", "not a port"),
        ("https://user.github.io:", "not a port"),
        ("https://", "not an origin"),
        ("https://:8080", "not a host name"),
        ("https://a..b", "not a host name"),
        ("https://bücher.example", "punycode"),
        ("https://[::1", "unclosed"),
        ("https://[nope]", "not an IPv6"),
        ("null", "--any-origin"),
    ] {
        let e = normalize_origin(given).unwrap_err();
        assert!(
            e.contains(says) && e.starts_with("--origin"),
            "{given}: {e}"
        );
    }
}

#[test]
fn refusals_fit_a_close_frame() {
    let r = page_refusal("https://evil.example");
    assert_eq!(r, "this proxy does not accept pages from https://evil.example; start it with --origin https://evil.example to allow it");
    assert!(r.len() <= 123);
    for n in [30, 60] {
        let o = format!("https://{}.example", "a".repeat(n));
        let r = page_refusal(&shown(&o));
        assert!(r.len() <= 123, "{r}");
    }
    assert_eq!(shown("a\u{7}b é"), "a?b??");
}

#[tokio::test]
async fn the_proxy_own_address_is_a_loop() {
    let at = |s: &str| s.parse::<SocketAddr>().unwrap();
    let url = |s: &str| parse_board_url(s).unwrap();
    let lo = at("127.0.0.1:8765");
    assert!(is_self(&url("ws://127.0.0.1:8765"), lo).await);
    assert!(is_self(&url("ws://localhost:8765"), lo).await);
    assert!(is_self(&url("ws://0.0.0.0:8765"), lo).await);
    assert!(!is_self(&url("ws://127.0.0.1:8266"), lo).await);
    assert!(!is_self(&url("ws://192.168.4.1:8765"), lo).await);
    let all = at("0.0.0.0:8765");
    assert!(is_self(&url("ws://127.0.0.1:8765"), all).await);
    assert!(is_self(&url("ws://127.0.0.2:8765"), all).await);
    assert!(!is_self(&url("ws://8.8.8.8:8765"), all).await);
    let v6 = at("[::1]:8765");
    assert!(is_self(&url("ws://[::1]:8765"), v6).await);
    assert!(!is_self(&url("ws://127.0.0.1:8766"), v6).await);
    assert!(reaches(
        "::ffff:127.0.0.1".parse::<IpAddr>().unwrap().to_canonical(),
        lo.ip()
    ));
}
