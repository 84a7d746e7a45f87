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
fn a_get_at_depth_3_acks_ahead_and_completes_the_header_its_left_over_acks_began() {
    let mut t = Transfer::get_with_depth(TransferId(1), "f", 3).unwrap();
    assert_eq!(t.next_message().map(|m| m.len()), Some(82));
    let mut steps = vec![];
    t.feed(b"WB\0\0", &mut steps);
    assert_eq!(t.next_message(), Some(vec![0, 0, 0]), "three acks at once");
    let mut full = vec![0, 1];
    full.extend_from_slice(&[7; 256]);
    t.feed(&full, &mut steps);
    assert_eq!(t.next_message(), Some(vec![0]), "a full chunk: one more");
    t.feed(&[2, 0, 8, 9], &mut steps);
    assert_eq!(
        t.next_message(),
        None,
        "a short chunk: the acks in flight already ask for the end"
    );
    t.feed(&[0, 0], &mut steps);
    // Four acks, three chunks: one left over began a header; 81 bytes complete it, op 3 at
    // the header's offset 2.
    let resync = t.next_message().unwrap();
    assert_eq!(resync.len(), 81);
    assert!(resync
        .iter()
        .enumerate()
        .all(|(i, &b)| b == if i == 1 { 3 } else { 0 }));
    t.feed(b"WB\0\0", &mut steps);
    t.feed(&[1, 27], &mut steps);
    assert!(!t.is_finished(), "the version reply is not in yet");
    let used = t.feed(&[0, b'W', b'B'], &mut steps);
    assert_eq!(
        used, 1,
        "the bytes after the version reply are the next transfer's"
    );
    let mut data = vec![7; 256];
    data.extend_from_slice(&[8, 9]);
    assert_eq!(
        steps.last(),
        Some(&Step::Done(TransferOutcome::Get {
            name: "f".into(),
            data
        }))
    );
    assert_eq!(t.next_message(), None);
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
