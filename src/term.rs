//! The terminal on the page: xterm.js (through xterm-js-rs) with batched writes.
//!
//! Board output arrives as thousands of tiny frames; writing each to xterm.js costs ~100× the
//! bytes' worth, so output goes through `term_output` (paced by the core's `pacer`). The
//! terminal follows its container's size (fit addon + ResizeObserver). A multi-line paste is
//! not typed into the friendly REPL (auto-indent, lost bytes) but handed to a paste handler,
//! which runs it as a block.

use crate::term_output::Output;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;
use xterm_js_rs::addons::fit::FitAddon;
use xterm_js_rs::{Terminal, TerminalOptions, Theme};

/// Makes the cursor blink while the terminal has the keyboard focus and output is not flooding
/// in, and only then. xterm.js's DOM renderer blinks with a CSS animation, which costs the page a
/// style recalculation and a frame on every display refresh (about 60 a second, measured with a
/// trace: with a station page left open all day, and during a flood of output, where that CPU
/// is the socket's and the parser's: 1 MB of prints on a direct link, 507 style recalculations
/// with the cursor blinking, 275 without); a steady cursor costs nothing, and nobody watches a
/// flood's cursor.
struct Blink {
    term: Rc<Terminal>,
    focused: Cell<bool>,
    flooding: Cell<bool>,
}

impl Blink {
    fn apply(&self) {
        let on = self.focused.get() && !self.flooding.get();
        let Ok(options) = js_sys::Reflect::get(&self.term, &"options".into()) else {
            return;
        };
        let now =
            js_sys::Reflect::get(&options, &"cursorBlink".into()).is_ok_and(|v| v.is_truthy());
        if now != on {
            let _ = js_sys::Reflect::set(&options, &"cursorBlink".into(), &on.into());
        }
    }
}

fn blink_while_focused(
    term: &Rc<Terminal>,
    out: &Output,
    parent: &HtmlElement,
) -> Vec<Box<dyn std::any::Any>> {
    let blink = Rc::new(Blink {
        term: term.clone(),
        focused: Cell::new(false),
        flooding: Cell::new(false),
    });
    let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
    for (event, focused) in [("focusin", true), ("focusout", false)] {
        let blink = blink.clone();
        let cb = Closure::<dyn FnMut()>::new(move || {
            blink.focused.set(focused);
            blink.apply();
        });
        let _ = parent.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
        keep.push(Box::new(cb));
    }
    out.on_flood(move |flooding| {
        blink.flooding.set(flooding);
        blink.apply();
    });
    keep
}

pub struct Term {
    term: Rc<Terminal>,
    out: Rc<Output>,
    _keep: Vec<Box<dyn std::any::Any>>,
}

impl Term {
    /// Creates the terminal in `parent`.
    pub fn new(parent: &HtmlElement) -> Term {
        let theme = Theme::new();
        theme.set_background("#1b1e23");
        theme.set_foreground("#e6e6e6");
        let opts = TerminalOptions::new();
        opts.set_font_size(14);
        opts.set_font_family("ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace");
        opts.set_scrollback(5000);
        // Blinks only while focused (see `blink_while_focused`).
        opts.set_cursor_blink(false);
        opts.set_theme(&theme);
        let term = Rc::new(Terminal::new(&opts));
        let fit = Rc::new(FitAddon::new());
        term.load_addon((**fit).clone().unchecked_into());
        term.open(parent.clone());
        fit.fit();

        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        // Follow the container's size.
        let on_resize = {
            let fit = fit.clone();
            Closure::<dyn FnMut()>::new(move || fit.fit())
        };
        if let Ok(obs) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            obs.observe(parent);
            keep.push(Box::new(obs));
        }
        keep.push(Box::new(on_resize));
        let out = Output::new(term.clone());
        keep.extend(blink_while_focused(&term, &out, parent));
        // Tests and benchmarks read the terminal and the rendered count from the page; they
        // ask for it with `window.__webreplTest = true` before the page starts (a production
        // page has no such hook).
        let wanted = |w: &web_sys::Window| {
            js_sys::Reflect::get(w, &"__webreplTest".into()).is_ok_and(|v| v.is_truthy())
        };
        if let Some(w) = web_sys::window().filter(wanted) {
            let hook = js_sys::Object::new();
            let _ = js_sys::Reflect::set(&hook, &"term".into(), &term);
            let _ = js_sys::Reflect::set(&w, &"__webrepl".into(), &hook);
        }
        Term {
            term,
            out,
            _keep: keep,
        }
    }

    /// Queues text for the terminal (written on the next animation frame, or paced while
    /// output floods in).
    pub fn write(&self, text: &str) {
        self.out.push(text);
    }

    /// A line from the page itself (not the board), dimmed.
    pub fn notice(&self, text: &str) {
        self.write(&format!(
            "\r\n\x1b[2m{}\x1b[0m\r\n",
            text.replace('\n', "\r\n")
        ));
    }

    /// Calls `f` with what the user types (keys, and single-line pastes).
    pub fn on_data(&mut self, f: impl FnMut(String) + 'static) {
        let cb = Closure::<dyn FnMut(String)>::new(f);
        self.term.on_data(cb.as_ref().unchecked_ref());
        self._keep.push(Box::new(cb));
    }

    /// Calls `f` with pasted text that spans several lines, instead of typing it.
    pub fn on_multiline_paste(
        &mut self,
        parent: &HtmlElement,
        mut f: impl FnMut(String) + 'static,
    ) {
        let cb = Closure::<dyn FnMut(web_sys::ClipboardEvent)>::new(
            move |e: web_sys::ClipboardEvent| {
                let Some(text) = e
                    .clipboard_data()
                    .and_then(|d| d.get_data("text/plain").ok())
                else {
                    return;
                };
                if text.trim_end().contains('\n') {
                    e.prevent_default();
                    e.stop_propagation();
                    f(text);
                }
            },
        );
        // Capture phase: before xterm's own textarea handler.
        let _ = parent.add_event_listener_with_callback_and_bool(
            "paste",
            cb.as_ref().unchecked_ref(),
            true,
        );
        self._keep.push(Box::new(cb));
    }

    pub fn focus(&self) {
        self.term.focus();
    }

    /// Characters handed to xterm.js so far.
    pub fn rendered(&self) -> f64 {
        self.out.handed()
    }
}
