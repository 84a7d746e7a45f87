//! Browser glue for [`webrepl_core::lna`]: reads the page's address, its frame and the
//! Permissions API states after a WebSocket failed before opening, and hands the facts over.

use js_sys::{Array, Promise, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use webrepl_core::lna::{Embedding, PermissionState, Permissions, PERMISSION_NAMES};
use webrepl_core::FailedConnect;

/// The page's place: top-level, or in a frame (with the embedder's origin if the browser says).
fn embedding(w: &web_sys::Window) -> Embedding {
    let framed = w
        .parent()
        .ok()
        .flatten()
        .is_some_and(|p| !js_sys::Object::is(&p, w));
    if !framed {
        return Embedding::TopLevel;
    }
    // Chrome's `location.ancestorOrigins`: the last entry is the top-level page.
    let top_origin = Reflect::get(&w.location(), &"ancestorOrigins".into())
        .ok()
        .filter(|v| !v.is_undefined())
        .and_then(|list| {
            let n = Reflect::get(&list, &"length".into()).ok()?.as_f64()? as u32;
            let last = Reflect::get(&list, &JsValue::from(n.checked_sub(1)?)).ok()?;
            last.as_string()
        });
    Embedding::Frame { top_origin }
}

/// Calls `done` with the states of the local-network permissions (unsupported names, a missing
/// Permissions API or a failed query read as unsupported).
fn query_permissions(done: impl FnOnce(Permissions) + 'static) {
    let perms = web_sys::window()
        .and_then(|w| Reflect::get(&w, &"navigator".into()).ok())
        .and_then(|n| Reflect::get(&n, &"permissions".into()).ok())
        .filter(|p| p.is_object());
    let query = perms.as_ref().and_then(|p| {
        Reflect::get(p, &"query".into())
            .ok()?
            .dyn_into::<js_sys::Function>()
            .ok()
    });
    let (Some(perms), Some(query)) = (perms, query) else {
        return done(Permissions::default());
    };
    let promises = Array::new();
    for name in PERMISSION_NAMES {
        let desc = js_sys::Object::new();
        let _ = Reflect::set(&desc, &"name".into(), &name.into());
        // `query` throws or rejects (TypeError) for names this browser does not know.
        let p = match query.call1(&perms, &desc) {
            Ok(p) => p
                .dyn_into::<Promise>()
                .unwrap_or_else(|_| Promise::resolve(&JsValue::NULL)),
            Err(_) => Promise::resolve(&JsValue::NULL),
        };
        promises.push(&p);
    }
    let done = std::cell::RefCell::new(Some(done));
    let on_settled = Closure::once_into_js(move |results: JsValue| {
        let states: Vec<PermissionState> = Array::from(&results)
            .iter()
            .map(|r| {
                let ok = Reflect::get(&r, &"status".into())
                    .ok()
                    .and_then(|s| s.as_string())
                    .is_some_and(|s| s == "fulfilled");
                let state = Reflect::get(&r, &"value".into())
                    .ok()
                    .filter(|v| ok && v.is_object())
                    .and_then(|v| Reflect::get(&v, &"state".into()).ok())
                    .and_then(|s| s.as_string())
                    .unwrap_or_default();
                PermissionState::parse(&state)
            })
            .collect();
        if let Some(f) = done.borrow_mut().take() {
            f(Permissions::from_states(&states));
        }
    });
    let settled = Promise::all_settled(&promises);
    if let Ok(then) =
        Reflect::get(&settled, &"then".into()).and_then(|t| t.dyn_into::<js_sys::Function>())
    {
        let _ = then.call1(&settled, &on_settled);
    }
}

/// Gathers what [`webrepl_core::diagnose`] needs about a socket to `target_host` (`target_url`)
/// that failed `elapsed_ms` after it was created, then calls `done` with it.
pub fn failed_connect(
    target_host: &str,
    target_url: &str,
    elapsed_ms: u64,
    done: impl FnOnce(FailedConnect) + 'static,
) {
    let Some(w) = web_sys::window() else { return };
    let loc = w.location();
    let mut facts = FailedConnect {
        page_host: loc.hostname().unwrap_or_default(),
        page_origin: loc.origin().unwrap_or_default(),
        target_host: target_host.to_owned(),
        target_url: target_url.to_owned(),
        embedding: embedding(&w),
        permissions: Permissions::default(),
        elapsed_ms,
    };
    query_permissions(move |p| {
        facts.permissions = p;
        done(facts)
    });
}
