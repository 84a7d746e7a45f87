//! Board output on its way into xterm.js: held here, handed over when the core's `Pacer` says.

use crate::clock::now_ms;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use webrepl_core::pacer::{Pacer, Wake, FLOOD_BYTES};
use webrepl_core::utf8::prefix_at_boundary;
use xterm_js_rs::Terminal;

/// Output counts as flooding in from a write of [`FLOOD_BYTES`] until none came for this long
/// (milliseconds): the terminal's cursor stops blinking meanwhile (`term.rs`).
const FLOOD_QUIET_MS: u64 = 300;

/// Largest single `write` call to xterm.js (its parser runs one call without a break).
const WRITE_PIECE: usize = 8 * 1024;

#[wasm_bindgen]
extern "C" {
    /// An xterm.js `Terminal`, seen for its two-argument `write` (not bound by xterm-js-rs).
    type Writable;
    /// `Terminal.write(data, callback)`: the callback runs once xterm.js has parsed `data`.
    #[wasm_bindgen(method, js_name = write)]
    fn write_then(this: &Writable, data: &str, parsed: &js_sys::Function);
}

/// Told whether output floods in (see [`Output::on_flood`]).
type FloodListener = Rc<dyn Fn(bool)>;

/// The output side of one terminal.
pub struct Output {
    term: Rc<Terminal>,
    pending: RefCell<String>,
    pacer: RefCell<Pacer>,
    /// Characters handed to xterm.js, and parsed by it, so far (read by tests and benchmarks).
    handed: Cell<f64>,
    parsed: Cell<f64>,
    /// Lengths of the writes xterm.js has not finished parsing, oldest first.
    unparsed: RefCell<VecDeque<usize>>,
    /// The pacer's wake-up, and xterm.js's parse callback (set once, right after creation).
    wake: RefCell<Option<Closure<dyn FnMut()>>>,
    on_parsed: RefCell<Option<Closure<dyn FnMut()>>>,
    /// Told when output starts and stops flooding in; the last large write's time, and the
    /// timer that looks for the quiet after it.
    on_flood: RefCell<Option<FloodListener>>,
    flood_at: Cell<Option<u64>>,
    flood_check: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl Output {
    pub fn new(term: Rc<Terminal>) -> Rc<Output> {
        let out = Rc::new(Output {
            term,
            pending: RefCell::new(String::new()),
            pacer: RefCell::new(Pacer::new()),
            handed: Cell::new(0.0),
            parsed: Cell::new(0.0),
            unparsed: RefCell::new(VecDeque::new()),
            wake: RefCell::new(None),
            on_parsed: RefCell::new(None),
            on_flood: RefCell::new(None),
            flood_at: Cell::new(None),
            flood_check: RefCell::new(None),
        });
        let weak = Rc::downgrade(&out);
        *out.wake.borrow_mut() = Some(Closure::new(move || {
            if let Some(out) = weak.upgrade() {
                out.due();
            }
        }));
        let weak = Rc::downgrade(&out);
        *out.on_parsed.borrow_mut() = Some(Closure::new(move || {
            if let Some(out) = weak.upgrade() {
                out.parsed_one();
            }
        }));
        let weak = Rc::downgrade(&out);
        *out.flood_check.borrow_mut() = Some(Closure::new(move || {
            if let Some(out) = weak.upgrade() {
                out.check_flood();
            }
        }));
        out
    }

    /// Calls `f(true)` when output starts flooding in (a write of [`FLOOD_BYTES`] or more),
    /// `f(false)` once none came for [`FLOOD_QUIET_MS`].
    pub fn on_flood(&self, f: impl Fn(bool) + 'static) {
        *self.on_flood.borrow_mut() = Some(Rc::new(f));
    }

    /// A write of `bytes` at `now`: starts a flood if it is large.
    fn note_flood(&self, bytes: usize, now: u64) {
        if bytes < FLOOD_BYTES {
            return;
        }
        let was = self.flood_at.replace(Some(now));
        if was.is_none() {
            self.tell_flood(true);
            self.check_flood_in(FLOOD_QUIET_MS);
        }
    }

    /// The flood timer: ends the flood after the quiet, or looks again when it may have.
    fn check_flood(&self) {
        let Some(at) = self.flood_at.get() else {
            return;
        };
        let quiet = now_ms().saturating_sub(at);
        if quiet >= FLOOD_QUIET_MS {
            self.flood_at.set(None);
            self.tell_flood(false);
        } else {
            self.check_flood_in(FLOOD_QUIET_MS - quiet);
        }
    }

    fn check_flood_in(&self, ms: u64) {
        let cb = self.flood_check.borrow();
        if let (Some(w), Some(cb)) = (web_sys::window(), cb.as_ref()) {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                cb.as_ref().unchecked_ref(),
                i32::try_from(ms).unwrap_or(i32::MAX),
            );
        }
    }

    fn tell_flood(&self, flooding: bool) {
        // A clone: the listener must not meet a borrow.
        let f = self.on_flood.borrow().clone();
        if let Some(f) = f {
            f(flooding);
        }
    }

    /// Characters handed to xterm.js so far.
    pub fn handed(&self) -> f64 {
        self.handed.get()
    }

    /// Queues `text`; it is written when the pacer allows.
    pub fn push(&self, text: &str) {
        if text.is_empty() {
            return;
        }
        let at_prompt = {
            let mut pending = self.pending.borrow_mut();
            pending.push_str(text);
            ends_at_prompt(&pending)
        };
        let wake = self.pacer.borrow_mut().arrived(text.len(), now_ms());
        self.arrange(wake);
        if at_prompt {
            let wake = self.pacer.borrow_mut().at_prompt(now_ms());
            self.arrange(wake);
        }
    }

    /// The pacer's wake-up: write what it allows now.
    fn due(&self) {
        let n = self.pacer.borrow_mut().due();
        let text = if n > 0 { self.take(n) } else { String::new() };
        // Accounted before the write: xterm.js parses at once, callback and all, right after
        // user input.
        let wake = self.pacer.borrow_mut().wrote(text.len(), now_ms());
        if !text.is_empty() {
            self.unparsed.borrow_mut().push_back(text.len());
            self.handed.set(self.handed.get() + text.len() as f64);
            publish("rendered", self.handed.get());
            self.note_flood(text.len(), now_ms());
            self.write_out(&text);
        }
        self.arrange(wake);
    }

    fn parsed_one(&self) {
        if let Some(n) = self.unparsed.borrow_mut().pop_front() {
            self.parsed.set(self.parsed.get() + n as f64);
            publish("parsed", self.parsed.get());
        }
        let wake = self.pacer.borrow_mut().parsed(now_ms());
        self.arrange(wake);
    }

    /// Up to `max` pending bytes, ending on a character boundary.
    fn take(&self, max: usize) -> String {
        let mut pending = self.pending.borrow_mut();
        let mut cut = prefix_at_boundary(&pending, max).len();
        if cut == 0 {
            // `max` is inside the first character: take that character whole.
            cut = (1..=pending.len())
                .find(|&i| pending.is_char_boundary(i))
                .unwrap_or(0);
        }
        let rest = pending.split_off(cut);
        std::mem::replace(&mut *pending, rest)
    }

    /// One write of `text`, in pieces (xterm.js yields to the page between calls); the last
    /// piece reports the parse.
    fn write_out(&self, text: &str) {
        let mut rest = text;
        while !rest.is_empty() {
            let piece = prefix_at_boundary(rest, WRITE_PIECE);
            let piece = if piece.is_empty() { rest } else { piece };
            rest = &rest[piece.len()..];
            if rest.is_empty() {
                // A clone: the callback may run inside this call and must not meet a borrow.
                let cb: Option<js_sys::Function> = self
                    .on_parsed
                    .borrow()
                    .as_ref()
                    .map(|c| c.as_ref().unchecked_ref::<js_sys::Function>().clone());
                match cb {
                    Some(cb) => self.term.unchecked_ref::<Writable>().write_then(piece, &cb),
                    None => self.term.write(piece),
                }
            } else {
                self.term.write(piece);
            }
        }
    }

    fn arrange(&self, wake: Wake) {
        let scheduled = {
            let cb = self.wake.borrow();
            let (Some(w), Some(cb)) = (web_sys::window(), cb.as_ref()) else {
                return;
            };
            let f: &js_sys::Function = cb.as_ref().unchecked_ref();
            match wake {
                Wake::Nothing => return,
                Wake::Frame => w.request_animation_frame(f).is_ok(),
                Wake::After(ms) => w
                    .set_timeout_with_callback_and_timeout_and_arguments_0(
                        f,
                        i32::try_from(ms).unwrap_or(i32::MAX),
                    )
                    .is_ok(),
                Wake::Now => false,
            }
        };
        if !scheduled {
            self.due();
        }
    }
}

/// True when `text` ends with the REPL's prompt or its continuation prompt on a line of its
/// own: the board now waits for input.
fn ends_at_prompt(text: &str) -> bool {
    [">>> ", "... "].iter().any(|p| {
        text.ends_with(p) && (text.len() == p.len() || text[..text.len() - p.len()].ends_with('\n'))
    })
}

/// Sets `window.__webrepl[name]` (tests and benchmarks read the terminal's counters there).
fn publish(name: &str, value: f64) {
    if let Some(w) = web_sys::window() {
        if let Ok(hook) = js_sys::Reflect::get(&w, &"__webrepl".into()) {
            let _ = js_sys::Reflect::set(&hook, &name.into(), &JsValue::from_f64(value));
        }
    }
}
