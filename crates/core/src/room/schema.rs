//! The one description of the room's messages: subject, direction and body fields of every
//! [`RoomMessage`], and the room state keys. The README's table is [`markdown_table`] (a test
//! checks it), and a test checks every variant's serialized body against its row.
//!
//! [`RoomMessage`]: super::RoomMessage

/// One message subject.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub subject: &'static str,
    pub direction: &'static str,
    /// The body's fields, in the order shown.
    pub fields: &'static [&'static str],
    pub note: &'static str,
}

/// The room state value holding the station's status (same body as `webrepl:status`).
pub const STATUS_KEY: &str = "webrepl.status";
/// The room state value holding the station's transfer in progress (or null).
pub const TRANSFER_KEY: &str = "webrepl.transfer";

/// Every room message, in the README's order.
#[rustfmt::skip]
pub const SCHEMA: &[Row] = &[
    Row { subject: "webrepl:output", direction: "station → room", fields: &["seq", "text"], note: "batched terminal output" },
    Row { subject: "webrepl:hello", direction: "newcomer → station", fields: &[], note: "asks for the backlog" },
    Row { subject: "webrepl:backlog", direction: "station → newcomer", fields: &["seq", "text", "to"], note: "the last 64 KB" },
    Row { subject: "webrepl:input", direction: "user → station", fields: &["text"], note: "keystrokes" },
    Row { subject: "webrepl:key", direction: "user → station", fields: &["key"], note: "`key`: `stop` or `reset`" },
    Row { subject: "webrepl:run", direction: "user → station", fields: &["code"], note: "a pasted block" },
    Row { subject: "webrepl:refused", direction: "station → user", fields: &["reason", "to"], note: "" },
    Row { subject: "webrepl:status", direction: "station → room", fields: &["state", "text", "url", "version", "problem"], note: "also the room state `webrepl.status`; `problem`: why the board connection failed" },
    Row { subject: "webrepl:fs", direction: "user → station", fields: &["id", "op", "path", "to", "parents"], note: "`op`: `list`, `tree`, `remove`, `rename`, `mkdir`" },
    Row { subject: "webrepl:fscancel", direction: "user → station", fields: &[], note: "cancel my waiting file commands and uploads" },
    Row { subject: "webrepl:fsr", direction: "station → user", fields: &["id", "to", "state", "text", "listing", "entries"], note: "`state`: `waiting`, `done`, `failed`; `entries`: `[[name, \"d\" or \"f\", size], …]`" },
    Row { subject: "webrepl:put", direction: "user → station", fields: &["id", "name", "index", "last", "chunk", "safe"], note: "a file in 16 KB parts (`chunk`: bytes), at most 4 MB" },
    Row { subject: "webrepl:get", direction: "user → station", fields: &["id", "name"], note: "" },
    Row { subject: "webrepl:xfer", direction: "station → user", fields: &["id", "to", "state", "text", "done", "total"], note: "`state`: `queued`, `active`, `done`, `failed`" },
    Row { subject: "webrepl:file", direction: "station → user", fields: &["id", "to", "name", "index", "last", "chunk"], note: "a got file in 16 KB parts" },
];

/// The row of `subject`, if it is one of the room's messages.
pub fn row(subject: &str) -> Option<&'static Row> {
    SCHEMA.iter().find(|r| r.subject == subject)
}

/// The README's table of room messages (and the execute topic and state keys).
pub fn markdown_table() -> String {
    let mut out =
        String::from("| message subject / state key | direction | body |\n|---|---|---|\n");
    for r in SCHEMA {
        let body = format!("`{{{}}}`", r.fields.join(", "));
        let note = if r.note.is_empty() {
            String::new()
        } else {
            format!(" {}", r.note)
        };
        out.push_str(&format!(
            "| `{}` | {} | {body}{note} |\n",
            r.subject, r.direction
        ));
    }
    out.push_str("| `execute` (stationConfig `execute`) | editor → station | source text, `{\"file\": {\"main.py\": \"…\", …}}` or `{\"main.py\": \"…\", …}` |\n");
    out.push_str(&format!(
        "| state `{TRANSFER_KEY}` | station → room | `{{name, done, total, by}}` the station's transfer in progress, or null |\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::message::*;
    use super::*;

    /// One of every message (a new variant fails `every_variant_has_a_row` until added here).
    fn examples() -> Vec<RoomMessage> {
        let id = RelayId(3);
        let to = "alice".to_owned();
        vec![
            RoomMessage::Output {
                seq: 1,
                text: "x".into(),
            },
            RoomMessage::Hello {},
            RoomMessage::Backlog {
                seq: 1,
                text: "x".into(),
                to: to.clone(),
            },
            RoomMessage::Input { text: "x".into() },
            RoomMessage::Key { key: Key::Stop },
            RoomMessage::Run { code: "x".into() },
            RoomMessage::Refused {
                reason: "x".into(),
                to: to.clone(),
            },
            RoomMessage::Status(Status::default()),
            RoomMessage::Fs {
                id,
                op: FsKind::List,
                path: "/".into(),
                to: String::new(),
                parents: false,
            },
            RoomMessage::FsCancel {},
            RoomMessage::Fsr {
                id,
                to: to.clone(),
                state: FsrState::Done,
                text: String::new(),
                listing: true,
                entries: vec![Row("a".into(), RowKind::File, 1)],
            },
            RoomMessage::Put {
                id,
                name: "a".into(),
                index: 0,
                last: true,
                chunk: vec![1, 2],
                safe: true,
            },
            RoomMessage::Get {
                id,
                name: "a".into(),
            },
            RoomMessage::Xfer {
                id,
                to: to.clone(),
                state: XferState::Active,
                text: String::new(),
                done: 1,
                total: None,
            },
            RoomMessage::File {
                id,
                to,
                name: "a".into(),
                index: 0,
                last: true,
                chunk: vec![],
            },
        ]
    }

    fn json_of(v: Value) -> serde_json::Value {
        match v {
            Value::Text(t) => t.into(),
            Value::Number(n) => n.into(),
            Value::Bool(b) => b.into(),
            Value::Bytes(b) => b.to_vec().into(),
            Value::Rows(r) => serde_json::to_value(r).unwrap(),
            Value::Null => serde_json::Value::Null,
        }
    }

    #[test]
    fn every_variant_has_a_row_with_its_fields() {
        let ex = examples();
        assert_eq!(ex.len(), SCHEMA.len(), "one example per schema row");
        for m in ex {
            let v = serde_json::to_value(&m).unwrap();
            assert_eq!(v["subject"], m.subject(), "{m:?}");
            let row =
                row(m.subject()).unwrap_or_else(|| panic!("{} has no schema row", m.subject()));
            let mut keys: Vec<&str> = v["body"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            let mut want = row.fields.to_vec();
            keys.sort();
            want.sort();
            assert_eq!(keys, want, "{}: body fields", m.subject());
            // The fields the page writes are what serde writes.
            let by_hand: serde_json::Map<String, serde_json::Value> = m
                .fields()
                .into_iter()
                .map(|(k, v)| (k.to_owned(), json_of(v)))
                .collect();
            assert_eq!(
                serde_json::Value::Object(by_hand),
                v["body"],
                "{}",
                m.subject()
            );
            // And it reads back as itself.
            assert_eq!(
                RoomMessage::decode(m.subject(), v["body"].clone()),
                Ok(m.clone())
            );
        }
    }

    #[test]
    fn readme_table_is_the_schema() {
        let readme = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's room message table differs from the schema; put this in README.md:\n{table}"
        );
    }

    #[test]
    fn wire_shapes_are_the_old_ones() {
        // The shapes the end-to-end tests and older stations use.
        let json = |t: &str| serde_json::from_str::<serde_json::Value>(t).unwrap();
        let m = RoomMessage::decode("webrepl:get", json(r#"{"id":1,"name":"webrepl_cfg.py"}"#))
            .unwrap();
        assert_eq!(
            m,
            RoomMessage::Get {
                id: RelayId(1),
                name: "webrepl_cfg.py".into()
            }
        );
        let m = RoomMessage::decode("webrepl:key", json(r#"{"key":"reset"}"#)).unwrap();
        assert_eq!(m, RoomMessage::Key { key: Key::Reset });
        let v = serde_json::to_value(RoomMessage::Xfer {
            id: RelayId(2),
            to: "a".into(),
            state: XferState::Failed,
            text: "t".into(),
            done: 0,
            total: None,
        })
        .unwrap();
        assert_eq!(v["body"]["total"], serde_json::Value::Null);
        assert_eq!(v["body"]["state"], "failed");
        let v = serde_json::to_value(RoomMessage::Fsr {
            id: RelayId(2),
            to: "a".into(),
            state: FsrState::Done,
            text: String::new(),
            listing: true,
            entries: vec![Row("lib".into(), RowKind::Dir, 0)],
        })
        .unwrap();
        assert_eq!(v["body"]["entries"], serde_json::json!([["lib", "d", 0]]));
        // A bad body says what is wrong.
        let e = RoomMessage::decode("webrepl:key", json(r#"{"key":"boom"}"#)).unwrap_err();
        assert!(e.contains("boom"), "{e}");
        assert!(RoomMessage::decode("webrepl:nope", json("{}")).is_err());
    }
}
