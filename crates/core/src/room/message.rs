//! The room's messages as one typed enum (serde): each variant is one Edrys message subject and
//! its body, `{"subject": "webrepl:…", "body": {…}}` on the wire.
//!
//! To add a room message: add a variant here (with its `#[serde(rename)]` subject and an arm
//! in [`RoomMessage::subject`]), an arm in [`RoomMessage::from_fields`] and
//! [`RoomMessage::fields`] (in `message/fields.rs`: a body field by field, as the page's glue
//! reads and writes it), a row in [`super::schema::SCHEMA`], an example in the schema tests,
//! and handle it in [`super::station`] or [`super::viewer`]. The README's table is checked
//! against the schema.

use serde::{Deserialize, Deserializer, Serialize};

use crate::files::{Entry, EntryKind};

mod fields;

pub use fields::{Fields, Value};

/// An id the sender of a request chose (a viewer's row for a transfer or file command); the
/// station echoes it back in its replies. Its own id space: never a [`crate::TransferId`] or
/// [`crate::FsId`] of the station's session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RelayId(pub u32);

/// A key a viewer presses (`webrepl:key`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Key {
    /// Ctrl-C.
    Stop,
    /// Ctrl-D (soft reset).
    Reset,
}

impl Key {
    pub fn as_str(self) -> &'static str {
        match self {
            Key::Stop => "stop",
            Key::Reset => "reset",
        }
    }
}

/// A file-panel command a viewer asks the station for (`webrepl:fs` `op`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsKind {
    List,
    Tree,
    Remove,
    Rename,
    Mkdir,
}

impl FsKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FsKind::List => "list",
            FsKind::Tree => "tree",
            FsKind::Remove => "remove",
            FsKind::Rename => "rename",
            FsKind::Mkdir => "mkdir",
        }
    }
}

/// How a relayed file command went (`webrepl:fsr` `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsrState {
    Waiting,
    Done,
    Failed,
}

impl FsrState {
    pub fn as_str(self) -> &'static str {
        match self {
            FsrState::Waiting => "waiting",
            FsrState::Done => "done",
            FsrState::Failed => "failed",
        }
    }
}

/// How a relayed transfer goes (`webrepl:xfer` `state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XferState {
    Queued,
    Active,
    Done,
    Failed,
}

impl XferState {
    pub fn as_str(self) -> &'static str {
        match self {
            XferState::Queued => "queued",
            XferState::Active => "active",
            XferState::Done => "done",
            XferState::Failed => "failed",
        }
    }
}

/// A folder entry in a `webrepl:fsr` listing: `[name, "d" | "f", size]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row(pub String, pub RowKind, pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RowKind {
    #[serde(rename = "d")]
    Dir,
    #[serde(rename = "f")]
    File,
}

impl From<&Entry> for Row {
    fn from(e: &Entry) -> Row {
        let kind = match e.kind {
            EntryKind::Dir => RowKind::Dir,
            EntryKind::File => RowKind::File,
        };
        Row(e.name.clone(), kind, e.size)
    }
}

impl From<Row> for Entry {
    fn from(r: Row) -> Entry {
        Entry {
            name: r.0,
            kind: match r.1 {
                RowKind::Dir => EntryKind::Dir,
                RowKind::File => EntryKind::File,
            },
            size: r.2,
        }
    }
}

/// The station's connection state (`webrepl:status` and the room state `webrepl.status`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// `connecting`, `connected`, `reconnecting`, `error`, `disconnected`.
    pub state: String,
    pub text: String,
    pub url: String,
    pub version: String,
    /// Why the board connection failed, in words, or empty.
    pub problem: String,
}

/// The room state `webrepl.transfer`: the station's transfer in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferState {
    pub name: String,
    pub done: u64,
    pub total: Option<u64>,
    pub by: String,
}

/// Every message of the room. Bodies are small objects; `to` names the one user a reply is for.
/// Written with serde as `{subject, body}`; read with [`RoomMessage::decode`] (subject and body
/// apart, as Edrys hands them over).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "subject", content = "body")]
pub enum RoomMessage {
    /// Batched terminal output of the station.
    #[serde(rename = "webrepl:output")]
    Output { seq: u64, text: String },
    /// A newcomer asks for the recent output.
    #[serde(rename = "webrepl:hello")]
    Hello {},
    /// The last 64 KB for a newcomer.
    #[serde(rename = "webrepl:backlog")]
    Backlog { seq: u64, text: String, to: String },
    /// Keystrokes.
    #[serde(rename = "webrepl:input")]
    Input { text: String },
    #[serde(rename = "webrepl:key")]
    Key { key: Key },
    /// A pasted block (or a file's ▶) to run.
    #[serde(rename = "webrepl:run")]
    Run { code: String },
    /// Input or a request refused, with the reason.
    #[serde(rename = "webrepl:refused")]
    Refused { reason: String, to: String },
    #[serde(rename = "webrepl:status")]
    Status(Status),
    /// A file-panel command.
    #[serde(rename = "webrepl:fs")]
    Fs {
        id: RelayId,
        op: FsKind,
        #[serde(default)]
        path: String,
        #[serde(default)]
        to: String,
        #[serde(default)]
        parents: bool,
    },
    /// Cancel my waiting file commands and uploads.
    #[serde(rename = "webrepl:fscancel")]
    FsCancel {},
    /// How a file command went.
    #[serde(rename = "webrepl:fsr")]
    Fsr {
        id: RelayId,
        to: String,
        state: FsrState,
        #[serde(default)]
        text: String,
        #[serde(default)]
        listing: bool,
        #[serde(default)]
        entries: Vec<Row>,
    },
    /// One part (≤ 16 KB) of a file for the board; `safe` puts come from the file panel.
    #[serde(rename = "webrepl:put")]
    Put {
        id: RelayId,
        name: String,
        index: u32,
        last: bool,
        #[serde(with = "bytes")]
        chunk: Vec<u8>,
        #[serde(default)]
        safe: bool,
    },
    /// Get a file from the board.
    #[serde(rename = "webrepl:get")]
    Get { id: RelayId, name: String },
    /// A relayed transfer's progress.
    #[serde(rename = "webrepl:xfer")]
    Xfer {
        id: RelayId,
        to: String,
        state: XferState,
        #[serde(default)]
        text: String,
        #[serde(default)]
        done: u64,
        #[serde(default)]
        total: Option<u64>,
    },
    /// One part of a got file.
    #[serde(rename = "webrepl:file")]
    File {
        id: RelayId,
        to: String,
        name: String,
        index: u32,
        last: bool,
        #[serde(with = "bytes")]
        chunk: Vec<u8>,
    },
}

impl RoomMessage {
    /// The Edrys message subject.
    pub fn subject(&self) -> &'static str {
        match self {
            RoomMessage::Output { .. } => "webrepl:output",
            RoomMessage::Hello {} => "webrepl:hello",
            RoomMessage::Backlog { .. } => "webrepl:backlog",
            RoomMessage::Input { .. } => "webrepl:input",
            RoomMessage::Key { .. } => "webrepl:key",
            RoomMessage::Run { .. } => "webrepl:run",
            RoomMessage::Refused { .. } => "webrepl:refused",
            RoomMessage::Status(_) => "webrepl:status",
            RoomMessage::Fs { .. } => "webrepl:fs",
            RoomMessage::FsCancel {} => "webrepl:fscancel",
            RoomMessage::Fsr { .. } => "webrepl:fsr",
            RoomMessage::Put { .. } => "webrepl:put",
            RoomMessage::Get { .. } => "webrepl:get",
            RoomMessage::Xfer { .. } => "webrepl:xfer",
            RoomMessage::File { .. } => "webrepl:file",
        }
    }

    /// Reads the body of a message with this subject (any serde deserializer: JavaScript values
    /// in the browser, JSON in tests). `Err` says what is wrong, for the sender.
    ///
    /// By hand rather than derived: every body is read as one struct of optional fields and
    /// then checked, which keeps the page's wasm small (a derived reader per body, or one of
    /// `{subject, body}` in either order, adds tens of KB).
    pub fn decode<'de, D: Deserializer<'de>>(
        subject: &str,
        body: D,
    ) -> Result<RoomMessage, String> {
        let b = Fields::deserialize(body).map_err(|e| e.to_string())?;
        RoomMessage::from_fields(subject, b)
    }

    /// The one user this message is for (replies), `None` for everyone.
    pub fn to(&self) -> Option<&str> {
        match self {
            RoomMessage::Backlog { to, .. }
            | RoomMessage::Refused { to, .. }
            | RoomMessage::Fsr { to, .. }
            | RoomMessage::Xfer { to, .. }
            | RoomMessage::File { to, .. } => Some(to),
            _ => None,
        }
    }
}

/// Bytes as bytes (a `Uint8Array` in the browser); read from bytes or a list of numbers.
mod bytes {
    use serde::de::{Error, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("bytes (a Uint8Array)")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}
