//! Room messages between JavaScript and Rust: a body read field by field into the core's
//! [`Fields`] (checked into a typed [`RoomMessage`] there), and a message written from its
//! [`RoomMessage::fields`]; file parts stay `Uint8Array`s. By hand rather than through
//! serde-wasm-bindgen, which added about 100 KB to the page's wasm (measured).

use js_sys::Reflect;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use webrepl_core::room::message::{Fields, Row, RowKind, Status, TransferState, Value};
use webrepl_core::room::{schema, RoomMessage};

use super::api::Edrys;

/// A plain object from a body's fields.
fn object(fields: Vec<(&str, Value)>) -> JsValue {
    let o = js_sys::Object::new();
    for (k, v) in fields {
        let v = match v {
            Value::Text(t) => JsValue::from_str(t),
            Value::Number(n) => JsValue::from_f64(n as f64),
            Value::Bool(b) => JsValue::from_bool(b),
            Value::Bytes(b) => js_sys::Uint8Array::from(b).into(),
            Value::Rows(rows) => rows
                .iter()
                .map(|Row(name, kind, size)| {
                    let kind = if *kind == RowKind::Dir { "d" } else { "f" };
                    js_sys::Array::of3(&name.into(), &kind.into(), &(*size as f64).into())
                })
                .collect::<js_sys::Array>()
                .into(),
            Value::Null => JsValue::NULL,
        };
        let _ = Reflect::set(&o, &k.into(), &v);
    }
    o.into()
}

/// Whether `subject` is one of the room's messages.
pub fn is_room_subject(subject: &str) -> bool {
    schema::row(subject).is_some()
}

/// Reads a message of the room; `Err` says what is wrong with its body. A body that is a JSON
/// string (classic Edrys sends bodies as text) is read as the object it holds.
pub fn decode(subject: &str, body: &JsValue) -> Result<RoomMessage, String> {
    let parsed = body
        .as_string()
        .and_then(|t| js_sys::JSON::parse(&t).ok())
        .filter(JsValue::is_object);
    RoomMessage::from_fields(subject, fields(parsed.as_ref().unwrap_or(body))?)
}

/// The fields of a body object (`undefined` and `null` fields count as absent).
fn fields(body: &JsValue) -> Result<Fields, String> {
    if body.is_undefined() || body.is_null() {
        return Ok(Fields::default());
    }
    if !body.is_object() {
        return Err("the body is not an object".into());
    }
    let get = |k: &str| {
        Reflect::get(body, &k.into())
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    };
    let text = |k: &str| match get(k) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| format!("the field \"{k}\" should be text")),
    };
    let flag = |k: &str| match get(k) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| format!("the field \"{k}\" should be true or false")),
    };
    let whole = |k: &str| match get(k) {
        None => Ok(None),
        Some(v) => whole_number(&v)
            .map(Some)
            .ok_or_else(|| format!("the field \"{k}\" should be a whole number ≥ 0")),
    };
    let small = |k: &str| {
        whole(k)?
            .map(|n| u32::try_from(n).map_err(|_| format!("the field \"{k}\" is too large")))
            .transpose()
    };
    let chunk = match get("chunk") {
        None => None,
        Some(v) => Some(
            v.dyn_ref::<js_sys::Uint8Array>()
                .map(|a| a.to_vec())
                .ok_or("the field \"chunk\" should be bytes (a Uint8Array)")?,
        ),
    };
    let entries = match get("entries") {
        None => None,
        Some(v) => Some(
            rows(&v).ok_or("the field \"entries\" should be [[name, \"d\" or \"f\", size], …]")?,
        ),
    };
    Ok(Fields {
        seq: whole("seq")?,
        text: text("text")?,
        to: text("to")?,
        key: text("key")?,
        code: text("code")?,
        reason: text("reason")?,
        state: text("state")?,
        url: text("url")?,
        version: text("version")?,
        problem: text("problem")?,
        id: small("id")?.map(webrepl_core::room::RelayId),
        op: text("op")?,
        path: text("path")?,
        parents: flag("parents")?,
        listing: flag("listing")?,
        entries,
        name: text("name")?,
        index: small("index")?,
        last: flag("last")?,
        chunk,
        safe: flag("safe")?,
        done: whole("done")?,
        total: whole("total")?,
    })
}

/// A JavaScript number that is a whole number a `u64` holds exactly.
fn whole_number(v: &JsValue) -> Option<u64> {
    let n = v.as_f64()?;
    (n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0)
        .then_some(n as u64)
}

fn rows(v: &JsValue) -> Option<Vec<Row>> {
    let arr = v.dyn_ref::<js_sys::Array>()?;
    arr.iter()
        .map(|r| {
            let r = r.dyn_ref::<js_sys::Array>()?.clone();
            let kind = match r.get(1).as_string()?.as_str() {
                "d" => RowKind::Dir,
                "f" => RowKind::File,
                _ => return None,
            };
            Some(Row(r.get(0).as_string()?, kind, whole_number(&r.get(2))?))
        })
        .collect()
}

/// Sends a message to the room, or to the one user it is for.
pub fn send(edrys: &Edrys, m: &RoomMessage) -> Result<(), String> {
    edrys.send(m.subject(), &object(m.fields()), m.to())
}

/// The room state value of the station's status.
pub fn status_value(s: &Status) -> JsValue {
    object(RoomMessage::Status(s.clone()).fields())
}

/// The room state value of the station's transfer (null when there is none).
pub fn transfer_value(t: &Option<TransferState>) -> JsValue {
    t.as_ref().map_or(JsValue::NULL, |t| object(t.fields()))
}

/// The station's status from the room state, if it is one.
pub fn read_status(v: JsValue) -> Option<Status> {
    match RoomMessage::from_fields("webrepl:status", fields(&v).ok()?) {
        Ok(RoomMessage::Status(s)) => Some(s),
        _ => None,
    }
}
