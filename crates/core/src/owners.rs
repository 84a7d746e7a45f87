//! Who a transfer or file operation belongs to: one table keyed by typed ids, where an id the
//! page's own session gave (`TransferId`, `FsId`) and one a viewer in an Edrys room got for a
//! request relayed through the station (`RelayId`) are different keys, never cast into each other.

use std::collections::HashMap;

use crate::room::message::RelayId;
use crate::{FsId, TransferId};

/// A file operation: of this page's session, or relayed through the room's station.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FsRef {
    Local(FsId),
    Relay(RelayId),
}

/// A transfer (the data of a put, upload or get): of this page's session, or relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransferRef {
    Local(TransferId),
    Relay(RelayId),
}

/// The owner table: what each file operation (`F`) and each transfer (`T`) in flight is for.
/// A relayed upload has one [`RelayId`] for both its end and its data; the two halves of the
/// table keep them apart.
#[derive(Debug)]
pub struct Owners<F, T> {
    fs: HashMap<FsRef, F>,
    transfers: HashMap<TransferRef, T>,
}

impl<F, T> Default for Owners<F, T> {
    fn default() -> Self {
        Owners {
            fs: HashMap::new(),
            transfers: HashMap::new(),
        }
    }
}

impl<F, T> Owners<F, T> {
    pub fn insert_fs(&mut self, id: FsRef, what: F) {
        self.fs.insert(id, what);
    }

    pub fn insert_transfer(&mut self, id: TransferRef, what: T) {
        self.transfers.insert(id, what);
    }

    pub fn fs(&self, id: FsRef) -> Option<&F> {
        self.fs.get(&id)
    }

    pub fn transfer(&self, id: TransferRef) -> Option<&T> {
        self.transfers.get(&id)
    }

    /// The operation's owner, which it leaves (the operation ended).
    pub fn take_fs(&mut self, id: FsRef) -> Option<F> {
        self.fs.remove(&id)
    }

    /// The transfer's owner, which it leaves (the transfer ended).
    pub fn take_transfer(&mut self, id: TransferRef) -> Option<T> {
        self.transfers.remove(&id)
    }

    /// The owners of file operations that match `keep`, the others dropped.
    pub fn retain_fs(&mut self, keep: impl FnMut(&FsRef, &mut F) -> bool) {
        self.fs.retain(keep);
    }

    /// Everything in flight is forgotten (the connection closed).
    pub fn clear(&mut self) {
        self.fs.clear();
        self.transfers.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.fs.is_empty() && self.transfers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_relayed_ids_with_the_same_number_are_different_keys() {
        let mut o: Owners<&str, &str> = Owners::default();
        o.insert_fs(FsRef::Local(FsId(7)), "local op");
        o.insert_fs(FsRef::Relay(RelayId(7)), "relayed op");
        o.insert_transfer(TransferRef::Relay(RelayId(7)), "relayed data");
        assert_eq!(o.fs(FsRef::Local(FsId(7))), Some(&"local op"));
        assert_eq!(o.take_fs(FsRef::Relay(RelayId(7))), Some("relayed op"));
        assert_eq!(o.fs(FsRef::Relay(RelayId(7))), None);
        assert_eq!(o.transfer(TransferRef::Local(TransferId(7))), None);
        assert_eq!(
            o.take_transfer(TransferRef::Relay(RelayId(7))),
            Some("relayed data")
        );
        assert!(!o.is_empty());
        o.clear();
        assert!(o.is_empty());
    }
}
