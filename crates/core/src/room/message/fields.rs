//! Room messages field by field: [`Value`] and [`Fields`], what the page's glue writes to and
//! reads from a JavaScript object (serde-wasm-bindgen would add tens of KB to the page), and the
//! checks that turn a body's fields into a [`RoomMessage`].

use serde::Deserialize;

use super::{FsKind, FsrState, Key, RelayId, RoomMessage, Row, Status, TransferState, XferState};

/// A body field's value, for writing a message field by field (the page's glue builds a
/// JavaScript object from these; serde-wasm-bindgen would add tens of KB to the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    Text(&'a str),
    Number(u64),
    Bool(bool),
    Bytes(&'a [u8]),
    Rows(&'a [Row]),
    Null,
}

impl TransferState {
    /// The value's fields, as [`RoomMessage::fields`].
    pub fn fields(&self) -> Vec<(&'static str, Value<'_>)> {
        vec![
            ("name", Value::Text(&self.name)),
            ("done", Value::Number(self.done)),
            ("total", self.total.map_or(Value::Null, Value::Number)),
            ("by", Value::Text(&self.by)),
        ]
    }
}

impl RoomMessage {
    /// A message from its subject and its body's fields (read by the glue from a JavaScript
    /// object, or by [`RoomMessage::decode`]); `Err` names a missing or wrong field.
    pub fn from_fields(subject: &str, b: Fields) -> Result<RoomMessage, String> {
        fn need<T>(v: Option<T>, field: &str) -> Result<T, String> {
            v.ok_or_else(|| format!("the field \"{field}\" is missing"))
        }
        fn one_of<T: Copy>(
            v: Option<String>,
            field: &str,
            names: &[(&str, T)],
        ) -> Result<T, String> {
            let v = need(v, field)?;
            names
                .iter()
                .find(|(n, _)| *n == v)
                .map(|(_, t)| *t)
                .ok_or_else(|| {
                    let all: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                    format!("{field} \"{v}\" is not one of {}", all.join(", "))
                })
        }
        let fsr = [
            ("waiting", FsrState::Waiting),
            ("done", FsrState::Done),
            ("failed", FsrState::Failed),
        ];
        let xfer = [
            ("queued", XferState::Queued),
            ("active", XferState::Active),
            ("done", XferState::Done),
            ("failed", XferState::Failed),
        ];
        let ops = [
            ("list", FsKind::List),
            ("tree", FsKind::Tree),
            ("remove", FsKind::Remove),
            ("rename", FsKind::Rename),
            ("mkdir", FsKind::Mkdir),
        ];
        let text = || b.text.clone().unwrap_or_default();
        let to = || b.to.clone().unwrap_or_default();
        Ok(match subject {
            "webrepl:output" => RoomMessage::Output {
                seq: need(b.seq, "seq")?,
                text: need(b.text, "text")?,
            },
            "webrepl:hello" => RoomMessage::Hello {},
            "webrepl:backlog" => RoomMessage::Backlog {
                seq: need(b.seq, "seq")?,
                text: text(),
                to: need(b.to, "to")?,
            },
            "webrepl:input" => RoomMessage::Input {
                text: need(b.text, "text")?,
            },
            "webrepl:key" => RoomMessage::Key {
                key: one_of(b.key, "key", &[("stop", Key::Stop), ("reset", Key::Reset)])?,
            },
            "webrepl:run" => RoomMessage::Run {
                code: need(b.code, "code")?,
            },
            "webrepl:refused" => RoomMessage::Refused {
                reason: need(b.reason, "reason")?,
                to: need(b.to, "to")?,
            },
            "webrepl:status" => RoomMessage::Status(Status {
                state: b.state.clone().unwrap_or_default(),
                text: text(),
                url: b.url.unwrap_or_default(),
                version: b.version.unwrap_or_default(),
                problem: b.problem.unwrap_or_default(),
            }),
            "webrepl:fs" => RoomMessage::Fs {
                id: need(b.id, "id")?,
                op: one_of(b.op, "op", &ops)?,
                path: b.path.unwrap_or_default(),
                to: to(),
                parents: b.parents.unwrap_or(false),
            },
            "webrepl:fscancel" => RoomMessage::FsCancel {},
            "webrepl:fsr" => RoomMessage::Fsr {
                id: need(b.id, "id")?,
                to: to(),
                state: one_of(b.state, "state", &fsr)?,
                text: text(),
                listing: b.listing.unwrap_or(false),
                entries: b.entries.unwrap_or_default(),
            },
            "webrepl:put" => RoomMessage::Put {
                id: need(b.id, "id")?,
                name: need(b.name, "name")?,
                index: need(b.index, "index")?,
                last: need(b.last, "last")?,
                chunk: need(b.chunk, "chunk")?,
                safe: b.safe.unwrap_or(false),
            },
            "webrepl:get" => RoomMessage::Get {
                id: need(b.id, "id")?,
                name: need(b.name, "name")?,
            },
            "webrepl:xfer" => RoomMessage::Xfer {
                id: need(b.id, "id")?,
                to: to(),
                state: one_of(b.state, "state", &xfer)?,
                text: text(),
                done: b.done.unwrap_or(0),
                total: b.total,
            },
            "webrepl:file" => RoomMessage::File {
                id: need(b.id, "id")?,
                to: to(),
                name: need(b.name, "name")?,
                index: need(b.index, "index")?,
                last: need(b.last, "last")?,
                chunk: need(b.chunk, "chunk")?,
            },
            other => return Err(format!("\"{other}\" is not a room message")),
        })
    }

    /// The body's fields in the wire's shape (what serde writes too; a test checks both agree).
    pub fn fields(&self) -> Vec<(&'static str, Value<'_>)> {
        use Value::{Bool, Bytes, Null, Number, Rows, Text};
        let id = |i: &RelayId| Number(u64::from(i.0));
        match self {
            RoomMessage::Output { seq, text } => vec![("seq", Number(*seq)), ("text", Text(text))],
            RoomMessage::Hello {} | RoomMessage::FsCancel {} => vec![],
            RoomMessage::Backlog { seq, text, to } => {
                vec![
                    ("seq", Number(*seq)),
                    ("text", Text(text)),
                    ("to", Text(to)),
                ]
            }
            RoomMessage::Input { text } => vec![("text", Text(text))],
            RoomMessage::Key { key } => vec![("key", Text(key.as_str()))],
            RoomMessage::Run { code } => vec![("code", Text(code))],
            RoomMessage::Refused { reason, to } => vec![("reason", Text(reason)), ("to", Text(to))],
            RoomMessage::Status(s) => vec![
                ("state", Text(&s.state)),
                ("text", Text(&s.text)),
                ("url", Text(&s.url)),
                ("version", Text(&s.version)),
                ("problem", Text(&s.problem)),
            ],
            RoomMessage::Fs {
                id: i,
                op,
                path,
                to,
                parents,
            } => vec![
                ("id", id(i)),
                ("op", Text(op.as_str())),
                ("path", Text(path)),
                ("to", Text(to)),
                ("parents", Bool(*parents)),
            ],
            RoomMessage::Fsr {
                id: i,
                to,
                state,
                text,
                listing,
                entries,
            } => vec![
                ("id", id(i)),
                ("to", Text(to)),
                ("state", Text(state.as_str())),
                ("text", Text(text)),
                ("listing", Bool(*listing)),
                ("entries", Rows(entries)),
            ],
            RoomMessage::Put {
                id: i,
                name,
                index,
                last,
                chunk,
                safe,
            } => vec![
                ("id", id(i)),
                ("name", Text(name)),
                ("index", Number(u64::from(*index))),
                ("last", Bool(*last)),
                ("chunk", Bytes(chunk)),
                ("safe", Bool(*safe)),
            ],
            RoomMessage::Get { id: i, name } => vec![("id", id(i)), ("name", Text(name))],
            RoomMessage::Xfer {
                id: i,
                to,
                state,
                text,
                done,
                total,
            } => vec![
                ("id", id(i)),
                ("to", Text(to)),
                ("state", Text(state.as_str())),
                ("text", Text(text)),
                ("done", Number(*done)),
                ("total", total.map_or(Null, Number)),
            ],
            RoomMessage::File {
                id: i,
                to,
                name,
                index,
                last,
                chunk,
            } => vec![
                ("id", id(i)),
                ("to", Text(to)),
                ("name", Text(name)),
                ("index", Number(u64::from(*index))),
                ("last", Bool(*last)),
                ("chunk", Bytes(chunk)),
            ],
        }
    }
}

/// Every field any body has, all optional: what [`RoomMessage::from_fields`] checks.
#[derive(Debug, Default, Deserialize)]
pub struct Fields {
    pub seq: Option<u64>,
    pub text: Option<String>,
    pub to: Option<String>,
    pub key: Option<String>,
    pub code: Option<String>,
    pub reason: Option<String>,
    pub state: Option<String>,
    pub url: Option<String>,
    pub version: Option<String>,
    pub problem: Option<String>,
    pub id: Option<RelayId>,
    pub op: Option<String>,
    pub path: Option<String>,
    pub parents: Option<bool>,
    pub listing: Option<bool>,
    pub entries: Option<Vec<Row>>,
    pub name: Option<String>,
    pub index: Option<u32>,
    pub last: Option<bool>,
    #[serde(default, with = "opt_bytes")]
    pub chunk: Option<Vec<u8>>,
    pub safe: Option<bool>,
    pub done: Option<u64>,
    pub total: Option<u64>,
}

mod opt_bytes {
    use serde::Deserializer;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        super::super::bytes::deserialize(d).map(Some)
    }
}
