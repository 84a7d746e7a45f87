//! Unit tests of [`super`] (`lna.rs`).

use super::*;
use AddressSpace::*;
use PermissionState::*;

#[test]
fn classifies_hosts() {
    for h in [
        "127.0.0.1",
        "127.1.2.3",
        "[::1]",
        "::1",
        "localhost",
        "LOCALHOST.",
        "a.localhost",
    ] {
        assert_eq!(address_space(h), Loopback, "{h}");
    }
    for h in [
        "10.0.0.1",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.4.1",
        "169.254.1.1",
        "[fd00::1]",
        "fc00::1",
        "fe80::1",
        "esp32.local",
        "[::ffff:192.168.1.2]",
        "0.0.0.0",
    ] {
        assert_eq!(address_space(h), Private, "{h}");
    }
    for h in [
        "8.8.8.8",
        "172.32.0.1",
        "172.15.0.1",
        "192.169.0.1",
        "[2001:db8::1]",
        "11.0.0.1",
    ] {
        assert_eq!(address_space(h), Public, "{h}");
    }
    for h in ["you.github.io", "edrys-labs.github.io", "board.lan"] {
        assert_eq!(address_space(h), Unknown, "{h}");
    }
}

fn failed(
    page: &str,
    target: &str,
    perms: [PermissionState; 3],
    embedding: Embedding,
) -> FailedConnect {
    FailedConnect {
        page_host: page.into(),
        page_origin: format!("https://{page}"),
        target_host: target.into(),
        target_url: format!("ws://{target}:8266/"),
        embedding,
        permissions: Permissions::from_states(&perms),
        elapsed_ms: 8,
    }
}

#[test]
fn a_denied_permission_is_a_block_whatever_the_page_host_says() {
    // Chromium with --ip-address-space-overrides: the page is on 127.0.0.1 but counts as
    // public; after the failure the permissions read denied.
    let f = failed(
        "127.0.0.1",
        "127.0.0.1",
        [Denied, Prompt, Denied],
        Embedding::TopLevel,
    );
    let b = diagnose(&f).expect("a block");
    assert_eq!(b.certainty, Certainty::Denied);
    let text = b.to_string();
    assert!(text.contains("Local Network Access"), "{text}");
    assert!(
        text.contains("Site settings → Local network access"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("board is on"), "{text}");
}

#[test]
fn the_specific_name_decides_for_private_targets() {
    // Loopback denied, the private one still at prompt: a private target from a loopback
    // page is no LNA case.
    let f = failed(
        "127.0.0.1",
        "192.168.4.1",
        [Prompt, Prompt, Denied],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
    let f = failed(
        "127.0.0.1",
        "192.168.4.1",
        [Denied, Prompt, Denied],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
    let f = failed(
        "127.0.0.1",
        "192.168.4.1",
        [Prompt, Denied, Prompt],
        Embedding::TopLevel,
    );
    assert!(diagnose(&f).is_some());
    // Only the old name known (Chrome 138–141).
    let f = failed(
        "127.0.0.1",
        "192.168.4.1",
        [Denied, Unsupported, Unsupported],
        Embedding::TopLevel,
    );
    assert!(diagnose(&f).is_some());
}

#[test]
fn a_refused_connection_between_equals_is_not_a_block() {
    // The page on loopback, nothing listening on the board's port: states stay "prompt".
    let f = failed(
        "127.0.0.1",
        "127.0.0.1",
        [Prompt, Prompt, Prompt],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
    // Granted: whatever failed, it was not the browser's rule.
    let f = failed(
        "you.github.io",
        "localhost",
        [Granted, Granted, Granted],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
    // A public target never is.
    let f = failed(
        "you.github.io",
        "8.8.8.8",
        [Denied, Denied, Denied],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
    // The board-served page: private to the same private address.
    let f = failed(
        "192.168.4.1",
        "192.168.4.1",
        [Prompt, Prompt, Prompt],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
}

#[test]
fn a_public_page_with_an_unanswered_prompt_is_a_block_when_it_failed_at_once() {
    let mut f = failed(
        "you.github.io",
        "localhost",
        [Prompt, Prompt, Prompt],
        Embedding::TopLevel,
    );
    assert_eq!(
        diagnose(&f).map(|b| b.certainty),
        Some(Certainty::NotGranted)
    );
    f.elapsed_ms = 5000;
    assert_eq!(diagnose(&f), None);
    // The private page reaching loopback needs permission too.
    let f = failed(
        "192.168.1.5",
        "127.0.0.1",
        [Prompt, Prompt, Prompt],
        Embedding::TopLevel,
    );
    assert!(diagnose(&f).is_some());
}

#[test]
fn in_a_frame_it_names_the_policy_and_the_origin_that_asks() {
    let f = FailedConnect {
        page_origin: "https://you.github.io".into(),
        ..failed(
            "you.github.io",
            "localhost",
            [Denied, Denied, Denied],
            Embedding::Frame {
                top_origin: Some("https://edrys-labs.github.io".into()),
            },
        )
    };
    let text = diagnose(&f).expect("a block").to_string();
    assert!(text.contains("LocalNetworkAccessAllowedForUrls"), "{text}");
    assert!(text.contains("[\"https://you.github.io\"]"), "{text}");
    assert!(text.contains("https://edrys-labs.github.io"), "{text}");
    assert!(text.contains("USB"), "{text}");
    assert!(!text.to_lowercase().contains("board is on"), "{text}");
}

#[test]
fn other_browsers_get_both_causes() {
    let f = failed(
        "you.github.io",
        "192.168.4.1",
        [Unsupported; 3],
        Embedding::TopLevel,
    );
    let b = diagnose(&f).expect("possible block");
    assert_eq!(b.certainty, Certainty::Unknown);
    assert!(b.to_string().contains("Local Network Access"));
    // And no verdict at all when the page itself is local.
    let f = failed(
        "192.168.4.1",
        "192.168.4.1",
        [Unsupported; 3],
        Embedding::TopLevel,
    );
    assert_eq!(diagnose(&f), None);
}
