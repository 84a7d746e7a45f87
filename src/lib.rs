//! MicroPython WebREPL in the browser: thin adapters around the sans-I/O `webrepl-core`.
//!
//! - [`js`], [`dom`] (feature `ui`): helpers for JS values and the DOM, used by the modules below;
//! - [`edrys`]: the Edrys binding (`window.Edrys`) and the glue to `webrepl_core::room`;
//! - [`connection`]: the browser WebSocket driving a `webrepl_core::Session` (timers, backpressure);
//! - [`serial`]: Web Serial, a USB board's port as the session's byte stream;
//! - [`lna`]: the facts for telling a Local Network Access block from a refused connection;
//! - [`term`] (feature `ui`): xterm.js; [`term_output`] paces output into it (core `pacer`);
//! - [`page`] (feature `ui`): the standalone page's DOM (connect, password, status, Edrys);
//! - [`panel`] (feature `ui`): the board's files beside the terminal (the core's panel model drawn).

pub mod clock;
pub mod connection;
#[cfg(feature = "ui")]
pub mod dom;
pub mod edrys;
pub mod js;
pub mod lna;
#[cfg(feature = "ui")]
pub mod page;
#[cfg(feature = "ui")]
pub mod panel;
pub mod serial;
pub mod socket;
#[cfg(feature = "ui")]
pub mod term;
#[cfg(feature = "ui")]
pub mod term_output;

#[cfg(all(feature = "ui", target_arch = "wasm32"))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    page::start();
}
