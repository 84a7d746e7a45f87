//! The Edrys module in the browser: the `window.Edrys` binding ([`api`]), room messages to and
//! from JavaScript ([`wire`]), and the glue that runs the core's station and viewer ([`room`]).
//! What the room decides lives in `webrepl_core::room`.

#[cfg(feature = "ui")]
pub mod api;
#[cfg(feature = "ui")]
pub mod room;
#[cfg(feature = "ui")]
pub mod wire;
