//! The Edrys module: settings from the host, the station's shared terminal, and the room.

#[cfg(feature = "ui")]
pub mod api;
pub mod config;
#[cfg(feature = "ui")]
pub mod room;
