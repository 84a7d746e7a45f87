//! The Edrys room (sans-I/O): the typed messages between the station and everyone else, their
//! schema, the station's config, and the two sides' state machines.
//!
//! - [`message`]: [`RoomMessage`], one enum for every subject (serde; the wire shape);
//! - [`schema`]: subjects, directions and body fields (the README's table is checked against it);
//! - [`config`]: the station's settings (`stationConfig`, YAML or JSON) and `execute` bodies;
//! - [`station`]: the browser next to the board — policies, relays, projects, the shared terminal;
//! - [`viewer`]: a student's or teacher's browser — the terminal's backlog merge, relayed files;
//! - [`parts`]: files in 16 KB parts, reassembled with a 4 MB cap.
//!
//! Policies themselves (roles, input, files) and the terminal's flood control are in
//! [`crate::station`].

pub mod config;
pub mod message;
pub mod parts;
pub mod schema;
pub mod station;
pub mod viewer;

pub use config::{parse_station_config, Body, StationConfig};
pub use message::{RelayId, RoomMessage};
pub use station::{Board, RoomState, Station, StationOutput};
pub use viewer::{Viewer, ViewerEvent};

#[cfg(test)]
mod tests;
