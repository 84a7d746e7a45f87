//! DOM helpers shared by the page and the file panel: elements by id, listeners, transfer rows,
//! reading picked files, offering downloads.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Document, Element, File, HtmlProgressElement};

use crate::js::js_error_text;

/// The element with this id, as type `T`.
pub fn by_id<T: JsCast>(doc: &Document, id: &str) -> Result<T, String> {
    doc.get_element_by_id(id)
        .ok_or_else(|| format!("#{id} is missing"))?
        .dyn_into::<T>()
        .map_err(|_| format!("#{id} has the wrong element type"))
}

/// Adds an event listener for the life of the page.
pub fn listen<E: wasm_bindgen::convert::FromWasmAbi + 'static>(
    target: &web_sys::EventTarget,
    kind: &str,
    f: impl FnMut(E) + 'static,
) {
    let cb = Closure::<dyn FnMut(E)>::new(f);
    let _ = target.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
    cb.forget(); // page-lifetime handler
}

/// Reads a file's bytes, then calls `then` (or `failed` with the reason).
pub fn read_bytes(
    file: &File,
    then: impl FnOnce(Vec<u8>) + 'static,
    failed: impl FnOnce(String) + 'static,
) {
    let on_data = Closure::<dyn FnMut(JsValue)>::once(move |buf: JsValue| {
        then(js_sys::Uint8Array::new(&buf).to_vec())
    });
    let on_error = Closure::<dyn FnMut(JsValue)>::once(move |e: JsValue| failed(js_error_text(&e)));
    let _ = file.array_buffer().then2(&on_data, &on_error);
    // Each runs at most once; the pair is small and lives until the read settles.
    on_data.forget();
    on_error.forget();
}

/// Sets a transfer row's state (`data-state`) and its text.
pub fn set_row(row: &Element, state: &str, text: &str) {
    let _ = row.set_attribute("data-state", state);
    if let Some(s) = row.query_selector(".state").ok().flatten() {
        s.set_text_content(Some(text));
    }
}

/// Moves a transfer row's progress bar.
pub fn set_progress(row: &Element, value: f64) {
    if let Some(bar) = row
        .query_selector("progress")
        .ok()
        .flatten()
        .and_then(|e| e.dyn_into::<HtmlProgressElement>().ok())
    {
        bar.set_value(value);
    }
}

/// Offers `data` as a download named after the last part of `name`.
pub fn download(doc: &Document, name: &str, data: &[u8]) -> Result<(), String> {
    let arr = js_sys::Uint8Array::from(data);
    let parts = js_sys::Array::of1(&arr);
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
        .map_err(|e| js_error_text(&e))?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(|e| js_error_text(&e))?;
    let a: web_sys::HtmlAnchorElement = doc
        .create_element("a")
        .map_err(|e| js_error_text(&e))?
        .unchecked_into();
    a.set_href(&url);
    a.set_download(
        name.rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("download.bin"),
    );
    a.click();
    // Revoke later: the download starts asynchronously.
    if let Some(w) = web_sys::window() {
        let cb = Closure::once_into_js(move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        });
        let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 60_000);
    }
    Ok(())
}
