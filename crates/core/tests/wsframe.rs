//! Property tests of the WebSocket frame decoder: any stream of frames, cut at every boundary or
//! at random ones, decodes to the same frames; a stall is reported only inside a payload.

use proptest::prelude::*;
use webrepl_core::wsframe::{encode, Decoder, Frame, Outgoing};

/// A frame as a server (board) or a client may write it: masked or not, any length form.
fn wire(frame: &Frame, mask: Option<[u8; 4]>, long_form: bool) -> Vec<u8> {
    let (op, payload) = match frame {
        Frame::Text(p) => (0x1, p.clone()),
        Frame::Binary(p) => (0x2, p.clone()),
        Frame::Close { code, reason } => {
            let mut p = code.map(|c| c.to_be_bytes().to_vec()).unwrap_or_default();
            p.extend_from_slice(reason.as_bytes());
            (0x8, p)
        }
        Frame::Ping(p) => (0x9, p.clone()),
        Frame::Pong(p) => (0xA, p.clone()),
    };
    let mut out = vec![0x80 | op];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if long_form && op < 8 {
        out.push(m | 127);
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
    } else if payload.len() < 126 {
        out.push(m | payload.len() as u8);
    } else {
        out.push(m | 126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    match mask {
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
        None => out.extend_from_slice(&payload),
    }
    out
}

fn frame() -> impl Strategy<Value = Frame> {
    let bytes = prop::collection::vec(any::<u8>(), 0..400);
    let small = prop::collection::vec(any::<u8>(), 0..125);
    prop_oneof![
        4 => bytes.clone().prop_map(Frame::Text),
        4 => bytes.prop_map(Frame::Binary),
        1 => (prop::option::of(any::<u16>()), "[a-z✓]{0,20}").prop_map(|(code, reason)| Frame::Close {
            reason: if code.is_some() { reason } else { String::new() },
            code,
        }),
        1 => small.clone().prop_map(Frame::Ping),
        1 => small.prop_map(Frame::Pong),
    ]
}

fn stream() -> impl Strategy<Value = (Vec<Frame>, Vec<u8>)> {
    prop::collection::vec(
        (frame(), prop::option::of(any::<[u8; 4]>()), any::<bool>()),
        0..12,
    )
    .prop_map(|fs| {
        let bytes = fs.iter().flat_map(|(f, m, l)| wire(f, *m, *l)).collect();
        (fs.into_iter().map(|(f, _, _)| f).collect(), bytes)
    })
}

/// Decodes `bytes` pushed in the given pieces.
fn decode(pieces: &[&[u8]]) -> Vec<Frame> {
    let mut d = Decoder::new();
    let mut out = vec![];
    for p in pieces {
        d.push(p);
        while let Some(f) = d.next_frame().expect("a valid stream") {
            out.push(f);
        }
    }
    assert_eq!(d.buffered(), 0);
    out
}

proptest! {
    #[test]
    fn random_cuts_decode_identically((frames, bytes) in stream(), cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..20)) {
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(bytes.len() + 1)).collect();
        at.sort_unstable();
        let mut pieces = vec![];
        let mut last = 0;
        for a in at {
            pieces.push(&bytes[last..a]);
            last = a;
        }
        pieces.push(&bytes[last..]);
        prop_assert_eq!(decode(&pieces), frames);
    }

    #[test]
    fn one_byte_at_a_time_decodes_identically_and_stalls_only_in_payloads((frames, bytes) in stream()) {
        let mut d = Decoder::new();
        let mut out = vec![];
        for b in &bytes {
            d.push(std::slice::from_ref(b));
            while let Some(f) = d.next_frame().expect("a valid stream") {
                out.push(f);
            }
            if let Some(n) = d.stalled() {
                prop_assert_eq!(n, out.len() as u64, "the stalled frame is the next one");
            }
        }
        prop_assert_eq!(d.stalled(), None);
        prop_assert_eq!(out, frames);
    }

    #[test]
    fn hostile_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), cut in any::<prop::sample::Index>()) {
        let at = cut.index(bytes.len() + 1);
        let mut d = Decoder::new();
        for p in [&bytes[..at], &bytes[at..]] {
            d.push(p);
            let _ = d.stalled();
            while let Ok(Some(_)) = d.next_frame() {}
        }
    }
}

#[test]
fn every_cut_of_a_board_stream_decodes_identically() {
    let frames = vec![
        Frame::Text(b"Password: ".to_vec()),
        Frame::Binary(b"WB\0\0".to_vec()),
        Frame::Binary(vec![0xab; 258]),
        Frame::Text("✓".as_bytes().to_vec()),
        Frame::Close {
            code: None,
            reason: String::new(),
        },
    ];
    let bytes: Vec<u8> = frames.iter().flat_map(|f| wire(f, None, false)).collect();
    for a in 0..=bytes.len() {
        for b in a..=bytes.len() {
            let got = decode(&[&bytes[..a], &bytes[a..b], &bytes[b..]]);
            assert_eq!(got, frames, "cut at {a} and {b}");
        }
    }
}

#[test]
fn client_frames_decode_to_what_was_sent() {
    let mut bytes = vec![];
    encode(Outgoing::Text(b"print(1)\r"), [9, 8, 7, 6], &mut bytes).unwrap();
    encode(Outgoing::Binary(&[0; 1024]), [1, 2, 3, 4], &mut bytes).unwrap();
    encode(Outgoing::Nudge, [5, 5, 5, 5], &mut bytes).unwrap();
    encode(Outgoing::Close, [0; 4], &mut bytes).unwrap();
    let close = Frame::Close {
        code: None,
        reason: String::new(),
    };
    assert_eq!(
        decode(&[&bytes]),
        vec![
            Frame::Text(b"print(1)\r".to_vec()),
            Frame::Binary(vec![0; 1024]),
            Frame::Ping(vec![]),
            close
        ]
    );
}
