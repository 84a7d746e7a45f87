//! Unit tests of [`super`] (`files.rs`).

use super::*;

#[test]
fn run_file_code_reads_then_runs_the_file() {
    let code = run_file_code("lib//it's.py").unwrap_or_default();
    assert_eq!(code, "exec(open('/lib/it\\'s.py').read())\n");
    assert!(matches!(
        run_file_code("/a/../b.py"),
        Err(FsError::BadPath(..))
    ));
}

#[test]
fn paths_are_normalized_and_checked() {
    assert_eq!(normalize("").unwrap(), "/");
    assert_eq!(normalize("a//b/").unwrap(), "/a/b");
    assert_eq!(normalize("/lib/x.py").unwrap(), "/lib/x.py");
    assert!(matches!(normalize("/a/../b"), Err(FsError::BadPath(..))));
    assert!(matches!(normalize("a\nb"), Err(FsError::BadPath(..))));
    assert!(matches!(normalize("a\\b"), Err(FsError::BadPath(..))));
    let n62 = "x".repeat(62);
    assert_eq!(normalize_transferable(&n62).unwrap().len(), 63);
    let n63 = "x".repeat(63);
    assert!(matches!(
        normalize_transferable(&n63),
        Err(FsError::NameTooLong(_, 64))
    ));
    assert_eq!(parent("/a/b"), "/a");
    assert_eq!(parent("/a"), "/");
    assert_eq!(base_name("/a/b.py"), "b.py");
    assert_eq!(join("/", "x"), "/x");
    assert_eq!(join("/a", "x"), "/a/x");
}

#[test]
fn literals_escape_what_python_needs() {
    assert_eq!(py_str("a'b\\c"), "'a\\'b\\\\c'");
    assert_eq!(py_str("ä\t"), "'ä\\x09'");
}

#[test]
fn every_script_fits_a_board_input_buffer() {
    // The longest transferable path, in two-byte characters and with quotes to escape.
    let long = format!("/{}", "ä".repeat(31));
    let quotes = format!("/{}", "'".repeat(31));
    for p in [long.as_str(), quotes.as_str()] {
        let ops = [
            FsOp::List { dir: p.into() },
            FsOp::Tree { dir: p.into() },
            FsOp::Remove { path: p.into() },
            FsOp::Rename {
                from: p.into(),
                to: p.into(),
            },
            FsOp::Mkdir {
                path: p.into(),
                parents: true,
            },
            FsOp::Commit {
                temp: "/.webrepl-4294967295.part".into(),
                path: p.into(),
                size: u64::from(u32::MAX),
            },
            FsOp::Discard { path: p.into() },
            FsOp::Digest {
                paths: vec![p.into()],
            },
        ];
        for op in ops {
            for s in script_parts(&op) {
                assert!(s.len() <= MAX_SCRIPT, "{op:?}: {} bytes", s.len());
                assert!(!s.bytes().any(|b| b < 0x20 && b != b'\n'), "{op:?}");
            }
        }
    }
}

#[test]
fn listings_parse_any_name() {
    let out = b"F 12 6d61696e2e7079\r\nD 0 6c6962\r\nF 3 c3a4202763\r\n";
    let r = parse_reply(&FsOp::List { dir: "/".into() }, out, b"").unwrap();
    assert_eq!(
        r,
        FsReply::Listing(vec![
            Entry {
                name: "lib".into(),
                kind: EntryKind::Dir,
                size: 0
            },
            Entry {
                name: "main.py".into(),
                kind: EntryKind::File,
                size: 12
            },
            Entry {
                name: "ä 'c".into(),
                kind: EntryKind::File,
                size: 3
            },
        ])
    );
    let bytes_repr = b"F 1 b'78'\r\n";
    assert!(parse_reply(&FsOp::List { dir: "/".into() }, bytes_repr, b"").is_ok());
    let garbage = b"F x zz\r\n";
    assert!(matches!(
        parse_reply(&FsOp::List { dir: "/".into() }, garbage, b""),
        Err(FsError::Protocol(_))
    ));
}

#[test]
fn digests_parse_or_say_missing() {
    let op = FsOp::Digest {
        paths: vec!["/lib.py".into(), "/gone.py".into()],
    };
    let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(
        parse_reply(&op, format!("3 {hex}\r\n-\r\n").as_bytes(), b""),
        Ok(FsReply::Digests(vec![Some((3, hex.into())), None]))
    );
    assert!(matches!(
        parse_reply(&op, b"3 abc\r\n-\r\n", b""),
        Err(FsError::Protocol(_))
    ));
    assert!(matches!(
        parse_reply(&op, b"-\r\n", b""),
        Err(FsError::Protocol(_))
    ));
    let err = parse_reply(&op, b"", b"ImportError: no module named 'hashlib'\r\n");
    assert!(matches!(err, Err(FsError::Board { .. })), "{err:?}");
}

#[test]
fn digests_are_packed_into_scripts_that_fit() {
    let short: Vec<String> = (0..3).map(|i| format!("/lib{i}.py")).collect();
    assert_eq!(digest_ops(&short).len(), 1, "three short names: one script");
    let long: Vec<String> = (0..6)
        .map(|i| format!("/{}{i}.py", "ä".repeat(28)))
        .collect();
    let ops = digest_ops(&long);
    assert!(ops.len() > 1);
    let back: Vec<String> = ops
        .iter()
        .flat_map(|op| match op {
            FsOp::Digest { paths } => paths.clone(),
            _ => vec![],
        })
        .collect();
    assert_eq!(back, long, "every path once, in order");
    for op in &ops {
        for s in script_parts(op) {
            assert!(s.len() <= MAX_SCRIPT, "{} bytes", s.len());
        }
    }
}

#[test]
fn board_errors_read_as_messages() {
    let op = FsOp::Remove {
        path: "/nope".into(),
    };
    let err = parse_reply(
        &op,
        b"",
        b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 9\r\nOSError: [Errno 2] ENOENT\r\n",
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "/nope: no such file or folder");
    let op = FsOp::Rename {
        from: "/a".into(),
        to: "/b".into(),
    };
    let err = parse_reply(&op, b"", b"OSError: 17\r\n").unwrap_err();
    assert_eq!(err.to_string(), "/a: already exists");
    let err = parse_reply(&op, b"EXISTS\r\n", b"").unwrap_err();
    assert_eq!(
        err.to_string(),
        "/b: already exists; delete it first or choose another name"
    );
    let commit = FsOp::Commit {
        temp: "/.t".into(),
        path: "/main.py".into(),
        size: 10,
    };
    assert_eq!(
        parse_reply(&commit, b"SIZE 4\r\n", b""),
        Err(FsError::SizeMismatch {
            path: "/main.py".into(),
            got: 4,
            want: 10
        })
    );
    assert_eq!(parse_reply(&commit, b"", b""), Ok(FsReply::Done));
}
