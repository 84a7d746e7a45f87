//! Unit tests of [`super`] (`fileread.rs`).

use super::*;

/// What the board prints for `data` (as b2a_base64 does: one padded line per chunk).
fn board_output(data: &[u8], eol: &[u8]) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!("S {}", data.len()).into_bytes();
    out.extend_from_slice(eol);
    for chunk in data.chunks(READ_CHUNK) {
        for g in chunk.chunks(3) {
            let n = (g[0] as u32) << 16
                | (*g.get(1).unwrap_or(&0) as u32) << 8
                | *g.get(2).unwrap_or(&0) as u32;
            for i in 0..4 {
                if i <= g.len() {
                    out.push(A[(n >> (18 - 6 * i) & 63) as usize]);
                } else {
                    out.push(b'=');
                }
            }
        }
        out.extend_from_slice(eol);
    }
    out
}

fn all_bytes(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 256) as u8).collect()
}

fn read(out: &[u8], cuts: &[usize]) -> Result<Vec<u8>, ReadError> {
    let mut r = FileRead::new(TransferId(1), "/f.bin".into(), ReadEncoding::Base64);
    let mut start = 0;
    for &c in cuts {
        r.feed(&out[start..c]);
        start = c;
    }
    r.feed(&out[start..]);
    r.finish(b"")
}

#[test]
fn the_script_fits_a_board_input_buffer() {
    let r = FileRead::new(
        TransferId(1),
        read_path(&"x".repeat(150)).unwrap(),
        ReadEncoding::Hex,
    );
    for part in r.script_parts() {
        assert!(part.len() <= MAX_SCRIPT, "{} bytes:\n{part}", part.len());
        assert!(!part.bytes().any(|b| b < 0x20 && b != b'\n'));
    }
    assert!(read_path(&"x".repeat(200)).is_err());
}

#[test]
fn paths_absolute_stay_absolute_relative_stay_relative() {
    assert_eq!(read_path("lib//a.py").unwrap(), "lib/a.py");
    assert_eq!(read_path("/lib//a.py/").unwrap(), "/lib/a.py");
    assert!(matches!(read_path("/"), Err(ReadError::BadPath(..))));
    assert!(matches!(read_path("a/../b"), Err(ReadError::BadPath(..))));
}

#[test]
fn output_split_at_every_byte_gives_the_file() {
    let data = all_bytes(3 * READ_CHUNK + 100);
    for eol in [&b"\r\n"[..], b"\n"] {
        let out = board_output(&data, eol);
        assert_eq!(read(&out, &[]).unwrap(), data);
        for at in 0..out.len() {
            assert_eq!(read(&out, &[at]).unwrap(), data, "cut at {at}");
        }
    }
}

#[test]
fn every_length_near_the_padding_decodes() {
    for n in 0..10 {
        let data = all_bytes(n);
        let out = board_output(&data, b"\r\n");
        let cuts: Vec<usize> = (1..out.len()).collect();
        assert_eq!(
            read(&out, &cuts).unwrap(),
            data,
            "{n} bytes, one byte per feed"
        );
    }
}

#[test]
fn hex_lines_decode_too() {
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Hex);
    for part in [&b"S 3\r\n00f"[..], b"F7a\r", b"\n\r\n"] {
        r.feed(part);
    }
    assert_eq!(r.finish(b""), Ok(vec![0, 255, 0x7a]));
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Hex);
    r.feed(b"S 1\r\nzz\r\n");
    assert!(matches!(r.finish(b""), Err(ReadError::Protocol { .. })));
}

#[test]
fn a_board_without_binascii_is_told_in_words() {
    let r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    let err = r
        .finish(b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 2, in _w\r\nImportError: no module named 'binascii'\r\n")
        .unwrap_err();
    assert_eq!(err, ReadError::NoBinascii("/f".into()));
    assert!(err.to_string().contains("webrepl proxy"), "{err}");
}

#[test]
fn progress_knows_the_size_from_the_first_line() {
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    assert_eq!(r.progress(), (0, None));
    r.feed(b"S 6\r\nAAEC");
    assert_eq!(r.progress(), (3, Some(6)));
}

#[test]
fn a_size_mismatch_names_both_sizes() {
    let data = all_bytes(10);
    let with_size = |size: &str| {
        let out = board_output(&data, b"\r\n");
        let body = out[out.iter().position(|&b| b == b'\n').unwrap()..].to_vec();
        [format!("S {size}\r").into_bytes(), body].concat()
    };
    let out = with_size("12");
    let err = read(&out, &[]).unwrap_err();
    assert_eq!(
        err,
        ReadError::SizeMismatch {
            path: "/f.bin".into(),
            got: 10,
            want: 12
        }
    );
    assert!(err.to_string().contains("sent 10 bytes") && err.to_string().contains("has 12"));
    // More than announced is a mismatch too, and not kept beyond the size.
    assert!(matches!(
        read(&with_size("9"), &[]),
        Err(ReadError::SizeMismatch {
            got: 10,
            want: 9,
            ..
        })
    ));
}

#[test]
fn errors_missing_file_folder_garbage() {
    let r = FileRead::new(TransferId(1), "/nope".into(), ReadEncoding::Base64);
    let err = r
        .finish(b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 2, in <module>\r\nOSError: [Errno 2] ENOENT\r\n")
        .unwrap_err();
    assert_eq!(err.to_string(), "/nope: no such file or folder");
    let mut r = FileRead::new(TransferId(1), "/lib".into(), ReadEncoding::Base64);
    r.feed(b"D\r\n");
    assert_eq!(r.finish(b""), Err(ReadError::IsDir("/lib".into())));
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    r.feed(b"S 3\r\nAA!A\r\n");
    assert!(matches!(r.finish(b""), Err(ReadError::Protocol { .. })));
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    r.feed(&[b'x'; 100]);
    assert!(matches!(r.finish(b""), Err(ReadError::Protocol { .. })));
    let r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    assert!(matches!(r.finish(b""), Err(ReadError::Protocol { .. })));
    let mut r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    r.feed(b"S 3\r\nAAE");
    assert!(matches!(r.finish(b""), Err(ReadError::Protocol { .. })));
    let r = FileRead::new(TransferId(1), "/f".into(), ReadEncoding::Base64);
    let err = r
        .finish(b"MemoryError: memory allocation failed\r\n")
        .unwrap_err();
    assert!(err.to_string().contains("out of memory"), "{err}");
}

#[test]
fn restart_forgets_what_arrived() {
    let mut r = FileRead::new(TransferId(4), "/f".into(), ReadEncoding::Base64);
    r.feed(b"S 3\r\nAAEC");
    r.restart();
    assert_eq!(r.progress(), (0, None));
    assert_eq!(r.path, "/f");
    r.feed(b"S 3\r\nAAEC\r\n");
    assert_eq!(r.finish(b""), Ok(vec![0, 1, 2]));
}
