//! The address and password fields: the board address from `?url=`, the board that served the
//! page, the `#` part or the last one used; a demo password from the query (then removed from
//! the address bar) or the one remembered for that address.

use wasm_bindgen::JsValue;

use super::{password_key, storage, Page};

const DEFAULT_URL: &str = "ws://192.168.4.1:8266/";
pub(super) const KEY_URL: &str = "webrepl.url";

impl Page {
    /// Board address from `?url=`, else the board that served the page (`webrepl_content.js`),
    /// else the `#` part (as webrepl.html), else the last one used.
    pub(super) fn init_fields(&self) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let loc = window.location();
        let search = loc.search().unwrap_or_default();
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok();
        let from_query = params
            .as_ref()
            .and_then(|p| p.get("url"))
            .filter(|u| !u.is_empty());
        let from_hash = loc
            .hash()
            .ok()
            .map(|h| h.trim_start_matches('#').to_owned())
            .filter(|h| !h.is_empty());
        let remembered = storage().and_then(|s| s.get_item(KEY_URL).ok().flatten());
        // In the page a board serves (www/webrepl_content.js): that board.
        let from_board = js_sys::Reflect::get(&window, &"webreplBoardUrl".into())
            .ok()
            .and_then(|v| v.as_string())
            .filter(|u| !u.is_empty());
        let url = from_query
            .or(from_board)
            .or(from_hash)
            .or(remembered)
            .unwrap_or_else(|| DEFAULT_URL.to_owned());
        self.els.url.set_value(&url);
        // A demo password in the query (the virtual board's) is taken once and removed from the
        // address bar, so it does not stay in history or get shared with the link.
        if let Some(pw) = params.as_ref().and_then(|p| p.get("password")) {
            self.els.password.set_value(&pw);
            if let Some(p) = params.as_ref() {
                p.delete("password");
                let q = String::from(p.to_string());
                let path = loc.pathname().unwrap_or_default();
                let hash = loc.hash().unwrap_or_default();
                let clean = if q.is_empty() {
                    format!("{path}{hash}")
                } else {
                    format!("{path}?{q}{hash}")
                };
                if let Ok(h) = window.history() {
                    let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
                }
            }
        } else if let Some(pw) =
            storage().and_then(|s| s.get_item(&password_key(&url)).ok().flatten())
        {
            self.els.password.set_value(&pw);
            self.els.remember.set_checked(true);
        }
    }
}
