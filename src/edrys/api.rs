//! `window.Edrys` (the host's client script, loaded at run time) seen from Rust.
//!
//! Every call goes through `Reflect`, so a missing method (classic Edrys has no `getState`), a
//! wrong type or a throwing call (`sendMessage` before ready) becomes an `Err` or `None`, never a
//! crash.

use js_sys::{Function, Reflect};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use webrepl_core::station::Role;

use webrepl_core::room::Body;

use crate::clock::now_ms;
use crate::js::js_error_text;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// A message from the room.
#[derive(Debug, Clone)]
pub struct Message {
    pub from: String,
    pub subject: String,
    pub body: JsValue,
}

impl Message {
    /// The body classified for `execute` ([`webrepl_core::room::config::project_from_body`]).
    pub fn body_kind(&self) -> Body {
        if let Some(s) = self.body.as_string() {
            Body::Text(s)
        } else if self.body.is_object() && !self.body.is_instance_of::<js_sys::Uint8Array>() {
            match js_sys::JSON::stringify(&self.body) {
                Ok(s) => Body::Json(String::from(s)),
                Err(_) => Body::Other("an object that is not JSON".into()),
            }
        } else if self.body.is_undefined() || self.body.is_null() {
            Body::Other("nothing".into())
        } else if self.body.as_f64().is_some() {
            Body::Other("a number".into())
        } else {
            Body::Other(format!(
                "a value of type {}",
                self.body.js_typeof().as_string().unwrap_or_default()
            ))
        }
    }
}

#[derive(Clone)]
pub struct Edrys {
    obj: JsValue,
}

impl Edrys {
    /// `window.Edrys`, if the host script has loaded.
    pub fn get() -> Option<Edrys> {
        let w = web_sys::window()?;
        let obj = Reflect::get(&w, &"Edrys".into()).ok()?;
        (obj.is_object()).then_some(Edrys { obj })
    }

    fn prop(&self, key: &str) -> JsValue {
        Reflect::get(&self.obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
    }

    fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let f = self
            .prop(name)
            .dyn_into::<Function>()
            .map_err(|_| format!("Edrys.{name} is not available"))?;
        let arr = js_sys::Array::new();
        for a in args {
            arr.push(a);
        }
        f.apply(&self.obj, &arr).map_err(|e| js_error_text(&e))
    }

    pub fn ready(&self) -> bool {
        self.prop("ready").as_bool().unwrap_or(false)
    }

    pub fn role(&self) -> Option<Role> {
        Role::parse(&self.prop("role").as_string()?)
    }

    pub fn username(&self) -> String {
        self.prop("username").as_string().unwrap_or_default()
    }

    /// The role of another user of the class (`liveClass.users[name].role`).
    pub fn role_of(&self, user: &str) -> Option<Role> {
        let users = Reflect::get(&self.prop("liveClass"), &"users".into()).ok()?;
        let u = Reflect::get(&users, &user.into()).ok()?;
        let role = Reflect::get(&u, &"role".into()).ok()?.as_string();
        match role {
            Some(r) => Role::parse(&r),
            // Stations are users named "Station …".
            None if user.starts_with("Station ") => Some(Role::Station),
            None => None,
        }
    }

    /// `module.stationConfig` as text: JSON for an object, the string itself for text.
    pub fn station_config(&self) -> String {
        let cfg = Reflect::get(&self.prop("module"), &"stationConfig".into())
            .unwrap_or(JsValue::UNDEFINED);
        if let Some(s) = cfg.as_string() {
            return s;
        }
        if cfg.is_undefined() || cfg.is_null() {
            return String::new();
        }
        js_sys::JSON::stringify(&cfg)
            .map(String::from)
            .unwrap_or_default()
    }

    pub fn on_ready(&self, f: impl FnOnce() + 'static) -> Result<(), String> {
        let cb = Closure::once_into_js(f);
        self.call("onReady", &[cb]).map(|_| ())
    }

    pub fn on_update(&self, f: impl FnMut() + 'static) -> Result<(), String> {
        let cb = Closure::<dyn FnMut()>::new(f);
        let r = self.call("onUpdate", &[cb.as_ref().clone()]).map(|_| ());
        cb.forget(); // lives as long as the page
        r
    }

    /// All messages of the room (promiscuous: editor modules send `execute`).
    pub fn on_message(&self, mut f: impl FnMut(Message) + 'static) -> Result<(), String> {
        let cb = Closure::<dyn FnMut(JsValue)>::new(move |m: JsValue| {
            let get = |k: &str| Reflect::get(&m, &k.into()).unwrap_or(JsValue::UNDEFINED);
            f(Message {
                from: get("from").as_string().unwrap_or_default(),
                subject: get("subject").as_string().unwrap_or_default(),
                body: get("body"),
            })
        });
        let r = self
            .call("onMessage", &[cb.as_ref().clone(), JsValue::TRUE])
            .map(|_| ());
        cb.forget();
        r
    }

    /// Sends to the room, or to one user. Fails (never throws) before ready.
    pub fn send(&self, subject: &str, body: &JsValue, user: Option<&str>) -> Result<(), String> {
        let mut args = vec![JsValue::from_str(subject), body.clone()];
        if let Some(u) = user {
            args.push(u.into());
        }
        self.call("sendMessage", &args).map(|_| ())
    }

    /// Sets a shared room value, where the host supports it.
    pub fn set_state(&self, key: &str, value: &JsValue) -> Result<(), String> {
        self.call("getState", &[key.into(), "Value".into(), value.clone()])
            .map(|_| ())
    }

    /// Reads a shared room value (`None` without support or value).
    pub fn state(&self, key: &str) -> Option<JsValue> {
        let v = self.call("getState", &[key.into(), "Value".into()]).ok()?;
        // Edrys-Lite may hand back a wrapper with `.value`; plain values pass through.
        let inner = if v.is_object() {
            Reflect::get(&v, &"value".into())
                .ok()
                .filter(|x| !x.is_undefined())
        } else {
            None
        };
        let v = inner.unwrap_or(v);
        (!v.is_undefined() && !v.is_null()).then_some(v)
    }

    pub fn get_item(&self, key: &str) -> Option<String> {
        self.call("getItem", &[key.into()]).ok()?.as_string()
    }

    pub fn set_item(&self, key: &str, value: &str) {
        let _ = self.call("setItem", &[key.into(), value.into()]);
    }
}

/// Waits for `window.Edrys` to be ready, for up to `wait_ms`; calls `f(Some(edrys))` when it
/// is, or `f(None)` (standalone) when the page is not in a frame or Edrys never became ready.
pub fn detect(wait_ms: u32, f: impl FnOnce(Option<Edrys>) + 'static) {
    let Some(w) = web_sys::window() else {
        return f(None);
    };
    let framed = w
        .parent()
        .ok()
        .flatten()
        .is_some_and(|p| !js_sys::Object::is(&p, &w));
    if !framed {
        return f(None);
    }
    let f = Rc::new(RefCell::new(Some(f)));
    let finish = {
        let f = f.clone();
        move |e: Option<Edrys>| {
            if let Some(cb) = f.borrow_mut().take() {
                cb(e);
            }
        }
    };
    let finish: Rc<dyn Fn(Option<Edrys>)> = Rc::new(finish);
    // The host script loads asynchronously: look for it, then wait for its onReady.
    poll(
        now_ms(),
        wait_ms as u64,
        finish.clone(),
        Rc::new(Cell::new(false)),
    );
    let cb = Closure::once_into_js(move || finish(None));
    let _ =
        w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), wait_ms as i32);
}

fn poll(started: u64, wait_ms: u64, finish: Rc<dyn Fn(Option<Edrys>)>, registered: Rc<Cell<bool>>) {
    if let Some(e) = Edrys::get() {
        if e.ready() {
            return finish(Some(e));
        }
        if !registered.replace(true) {
            let (f2, e2) = (finish.clone(), e.clone());
            let _ = e.on_ready(move || f2(Some(e2)));
        }
    }
    if registered.get() || now_ms().saturating_sub(started) >= wait_ms {
        return;
    }
    let Some(w) = web_sys::window() else { return };
    let cb = Closure::once_into_js(move || poll(started, wait_ms, finish, registered));
    let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), 50);
}
