//! Room messages between JavaScript and Rust: a message's `{subject, body}` read into a typed
//! [`RoomMessage`] and back (serde-wasm-bindgen; file parts stay `Uint8Array`s).

use serde::Serialize;
use wasm_bindgen::JsValue;
use webrepl_core::room::message::{Status, TransferState};
use webrepl_core::room::{schema, RoomMessage};

use super::api::Edrys;

fn serializer() -> serde_wasm_bindgen::Serializer {
    // Objects (not Maps), null for a missing value, bytes as Uint8Array.
    serde_wasm_bindgen::Serializer::new()
        .serialize_missing_as_null(true)
        .serialize_maps_as_objects(true)
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, String> {
    v.serialize(&serializer()).map_err(|e| e.to_string())
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
    let m = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&m, &"subject".into(), &subject.into());
    let _ = js_sys::Reflect::set(&m, &"body".into(), parsed.as_ref().unwrap_or(body));
    serde_wasm_bindgen::from_value(m.into()).map_err(|e| e.to_string())
}

/// Sends a message to the room, or to the one user it is for.
pub fn send(edrys: &Edrys, m: &RoomMessage) -> Result<(), String> {
    let v = to_js(m)?;
    let body = js_sys::Reflect::get(&v, &"body".into()).unwrap_or(JsValue::UNDEFINED);
    edrys.send(m.subject(), &body, m.to())
}

/// The room state value of the station's status.
pub fn status_value(s: &Status) -> JsValue {
    to_js(s).unwrap_or(JsValue::NULL)
}

/// The room state value of the station's transfer (null when there is none).
pub fn transfer_value(t: &Option<TransferState>) -> JsValue {
    t.as_ref()
        .and_then(|t| to_js(t).ok())
        .unwrap_or(JsValue::NULL)
}

/// The station's status from the room state, if it is one.
pub fn read_status(v: JsValue) -> Option<Status> {
    serde_wasm_bindgen::from_value(v).ok()
}
