//! The Edrys module: settings from the host, the station's shared terminal, and the room.

pub mod config;
