//! Files through the room in parts: split into ≤ 16 KB parts on one side, reassembled on the
//! other (in order, at most 4 MB per file).

use std::collections::HashMap;
use std::hash::Hash;

use thiserror::Error;

/// Parts of relayed files stay small: room messages travel over peer-to-peer links.
pub const PART: usize = 16 * 1024;
/// The largest file relayed through the room.
pub const MAX_RELAY: usize = 4 * 1024 * 1024;

/// Why a relayed file was not taken.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PartError {
    #[error("files over 4 MB are not relayed through the room; send them at the station")]
    TooLarge,
    #[error("part {got} of the file arrived where part {want} was expected (a part was lost); send the file again")]
    OutOfOrder { got: u32, want: u32 },
}

/// `(index, last, part)` for each part of `data`; an empty file is one empty part.
pub fn split(data: &[u8]) -> impl Iterator<Item = (u32, bool, &[u8])> {
    let n = data.len().div_ceil(PART).max(1);
    (0..n).map(move |i| {
        let end = ((i + 1) * PART).min(data.len());
        (i as u32, i + 1 == n, &data[i * PART..end])
    })
}

/// Files arriving in parts, by key (who sent it and their id).
#[derive(Debug)]
pub struct Reassembly<K> {
    files: HashMap<K, (u32, Vec<u8>)>,
    max: usize,
}

impl<K: Hash + Eq + Clone> Default for Reassembly<K> {
    fn default() -> Self {
        Reassembly::new(MAX_RELAY)
    }
}

impl<K: Hash + Eq + Clone> Reassembly<K> {
    pub fn new(max: usize) -> Self {
        Reassembly {
            files: HashMap::new(),
            max,
        }
    }

    /// Adds part `index`; the whole file once its `last` part arrived. On an error the file is
    /// dropped (later parts of it start a new one and fail as out of order).
    pub fn push(
        &mut self,
        key: &K,
        index: u32,
        last: bool,
        part: &[u8],
    ) -> Result<Option<Vec<u8>>, PartError> {
        let (want, buf) = self.files.entry(key.clone()).or_default();
        if index != *want {
            let want = *want;
            self.files.remove(key);
            return Err(PartError::OutOfOrder { got: index, want });
        }
        if buf.len() + part.len() > self.max {
            self.files.remove(key);
            return Err(PartError::TooLarge);
        }
        buf.extend_from_slice(part);
        *want += 1;
        if !last {
            return Ok(None);
        }
        Ok(self.files.remove(key).map(|(_, b)| b))
    }

    /// Forgets a file being received.
    pub fn drop_file(&mut self, key: &K) {
        self.files.remove(key);
    }

    /// Files still arriving.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_file_is_one_part() {
        let parts: Vec<_> = split(&[]).collect();
        assert_eq!(parts, vec![(0, true, &[][..])]);
        let mut r = Reassembly::<u32>::default();
        assert_eq!(r.push(&1, 0, true, &[]), Ok(Some(vec![])));
    }

    #[test]
    fn cap_is_4_mb() {
        let mut r = Reassembly::<u32>::default();
        let data = vec![7u8; MAX_RELAY];
        let mut got = None;
        for (i, last, p) in split(&data) {
            got = r.push(&1, i, last, p).unwrap();
        }
        assert_eq!(got.map(|d| d.len()), Some(MAX_RELAY), "exactly 4 MB passes");
        let data = vec![7u8; MAX_RELAY + 1];
        let results: Vec<_> = split(&data).map(|(i, l, p)| r.push(&2, i, l, p)).collect();
        assert!(results.contains(&Err(PartError::TooLarge)));
        assert!(r.is_empty() || results.last().unwrap().is_err());
    }

    #[test]
    fn lost_part_is_named() {
        let mut r = Reassembly::<u32>::default();
        assert_eq!(r.push(&1, 0, false, b"a"), Ok(None));
        assert_eq!(
            r.push(&1, 2, true, b"c"),
            Err(PartError::OutOfOrder { got: 2, want: 1 })
        );
        assert!(r.is_empty());
    }

    proptest! {
        #[test]
        fn split_then_reassemble_interleaved(a in proptest::collection::vec(any::<u8>(), 0..70_000),
                                              b in proptest::collection::vec(any::<u8>(), 0..70_000)) {
            let mut r = Reassembly::<(&str, u32)>::default();
            let pa: Vec<_> = split(&a).collect();
            let pb: Vec<_> = split(&b).collect();
            prop_assert!(pa.iter().all(|(_, _, p)| p.len() <= PART));
            let (mut ga, mut gb) = (None, None);
            for i in 0..pa.len().max(pb.len()) {
                if let Some((n, l, p)) = pa.get(i) { if let Some(d) = r.push(&("x", 1), *n, *l, p).unwrap() { ga = Some(d) } }
                if let Some((n, l, p)) = pb.get(i) { if let Some(d) = r.push(&("y", 1), *n, *l, p).unwrap() { gb = Some(d) } }
            }
            prop_assert_eq!(ga, Some(a));
            prop_assert_eq!(gb, Some(b));
            prop_assert!(r.is_empty());
        }
    }
}
