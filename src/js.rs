//! Small helpers for JavaScript values shared by every browser module.

use wasm_bindgen::{JsCast, JsValue};

/// A readable text for a JavaScript exception.
pub fn js_error_text(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
