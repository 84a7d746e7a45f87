//! Unit tests of [`super`] (`transfer.rs`).

use super::*;

#[test]
fn header_matches_the_capture() {
    // put_small.jsonl: put of 100 bytes to cap_small.bin
    let h = encode_header(OP_PUT, 100, "cap_small.bin");
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.starts_with("574101000000000000000000640000000d006361705f736d616c6c2e62696e00"));
    assert_eq!(h.len(), 82);
}

#[test]
fn name_limits() {
    assert!(validate_name(&"a".repeat(63)).is_ok());
    let e = validate_name(&"a".repeat(64)).unwrap_err();
    assert!(e.to_string().contains("at most 63"), "{e}");
    // 32 × "ä" = 64 bytes
    assert!(matches!(
        validate_name(&"ä".repeat(32)),
        Err(TransferError::NameTooLong { len: 64, .. })
    ));
    assert_eq!(validate_name(""), Err(TransferError::EmptyName));
    assert_eq!(
        validate_size(1 << 32),
        Err(TransferError::TooLarge(1 << 32))
    );
    assert_eq!(validate_size(u32::MAX as u64), Ok(u32::MAX));
}

#[test]
fn get_acks_one_chunk_at_a_time() {
    let mut t = Transfer::get(TransferId(1), "f").unwrap();
    assert_eq!(t.next_message().map(|m| m.len()), Some(82));
    assert_eq!(t.next_message(), None);
    let mut steps = vec![];
    t.feed(b"WB\0\0", &mut steps);
    assert_eq!(t.next_message(), Some(vec![0]));
    assert_eq!(t.next_message(), None, "never two acks ahead");
    t.feed(&[3, 0, b'a'], &mut steps);
    assert_eq!(
        t.next_message(),
        None,
        "no ack before the chunk is complete"
    );
    t.feed(b"bc", &mut steps);
    assert_eq!(t.next_message(), Some(vec![0]));
    t.feed(&[0, 0, b'W', b'B', 0, 0], &mut steps);
    assert_eq!(t.next_message(), None, "the end chunk is not acked");
    assert_eq!(
        steps.last(),
        Some(&Step::Done(TransferOutcome::Get {
            name: "f".into(),
            data: b"abc".to_vec()
        }))
    );
}

#[test]
fn put_sends_data_after_the_first_wb() {
    let mut t = Transfer::put(TransferId(1), "f", vec![7; 3000]).unwrap();
    t.next_message();
    assert!(!t.has_data());
    let mut steps = vec![];
    t.feed(b"WB\0\0", &mut steps);
    let sizes: Vec<usize> =
        std::iter::from_fn(|| t.next_data(PUT_CHUNK).map(|(c, _)| c.len())).collect();
    assert_eq!(sizes, vec![1024, 1024, 952]);
    t.feed(b"WB\0\0", &mut steps);
    assert_eq!(
        steps.last(),
        Some(&Step::Done(TransferOutcome::Put {
            name: "f".into(),
            size: 3000
        }))
    );
}

#[test]
fn bad_status_and_missing_file() {
    let mut t = Transfer::put(TransferId(1), "f", vec![1]).unwrap();
    t.next_message();
    let mut steps = vec![];
    t.feed(b"WB\x01\0", &mut steps);
    assert_eq!(steps, vec![Step::Failed(TransferError::BoardStatus(1))]);
    let mut g = Transfer::get(TransferId(2), "nope.txt").unwrap();
    g.next_message();
    assert_eq!(
        g.connection_lost(),
        TransferError::NotFound("nope.txt".into())
    );
}
