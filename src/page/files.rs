//! The file panel's requests: over this page's own connection ([`LocalFiles`]: the session's
//! ids), or for someone in an Edrys room through the station ([`RelayFiles`]: this viewer's
//! relay ids). Each side names its ids as what they are ([`FsRef`], [`TransferRef`]).

use std::rc::{Rc, Weak};
use webrepl_core::files::{normalize_transferable, run_file_code};
use webrepl_core::owners::{FsRef, TransferRef};
use webrepl_core::room::message::Key;
use webrepl_core::transfer::validate_name;
use webrepl_core::{ControlKey, FsOp};

use super::Page;
use crate::connection::Connection;
use crate::edrys::room::Viewer;
use crate::panel::Backend;

/// Requests over this page's own connection.
pub(super) struct LocalFiles(pub(super) Weak<Page>);

impl LocalFiles {
    fn conn(&self) -> Result<Connection, String> {
        self.0
            .upgrade()
            .and_then(|p| p.live())
            .ok_or_else(|| "not connected: connect to a board first".to_owned())
    }
}

impl Backend for LocalFiles {
    fn ready(&self) -> bool {
        self.conn().is_ok()
    }
    fn fs(&self, op: FsOp) -> Result<FsRef, String> {
        self.conn()?
            .fs(op)
            .map(FsRef::Local)
            .map_err(|e| e.to_string())
    }
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String> {
        let (end, data) = self.conn()?.upload(path, data).map_err(|e| e.to_string())?;
        Ok((FsRef::Local(end), TransferRef::Local(data)))
    }
    fn get(&self, path: &str) -> Result<TransferRef, String> {
        self.conn()?
            .download(path)
            .map(TransferRef::Local)
            .map_err(|e| e.to_string())
    }
    fn cancel(&self) {
        if let Ok(c) = self.conn() {
            c.cancel_fs();
        }
    }
    fn stop(&self) {
        if let Ok(c) = self.conn() {
            c.send_key(ControlKey::Interrupt);
        }
    }
    fn run_file(&self, path: &str) -> Result<(), String> {
        let code = run_file_code(path).map_err(|e| e.to_string())?;
        self.conn()?
            .run_code(&code, webrepl_core::files::base_name(path))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// Requests relayed through the room's station, which checks who may do what.
pub(super) struct RelayFiles(pub(super) Weak<Page>);

impl RelayFiles {
    fn viewer(&self) -> Result<(Rc<Page>, Rc<Viewer>), String> {
        let p = self.0.upgrade().ok_or("the page is gone")?;
        let v = p.viewer().ok_or("not in an Edrys room")?;
        Ok((p, v))
    }
}

impl Backend for RelayFiles {
    fn ready(&self) -> bool {
        self.0.upgrade().is_some_and(|p| p.station_connected.get())
    }
    fn fs(&self, op: FsOp) -> Result<FsRef, String> {
        let (_, v) = self.viewer()?;
        v.fs(&op).map(FsRef::Relay)
    }
    fn upload(&self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String> {
        let (_, v) = self.viewer()?;
        let path = normalize_transferable(path).map_err(|e| e.to_string())?;
        // One relay id names the upload's end and its data.
        let id = v.upload(&path, &data)?;
        Ok((FsRef::Relay(id), TransferRef::Relay(id)))
    }
    fn get(&self, path: &str) -> Result<TransferRef, String> {
        let (_, v) = self.viewer()?;
        validate_name(path).map_err(|e| e.to_string())?;
        v.get(path).map(TransferRef::Relay)
    }
    fn cancel(&self) {
        if let Ok((p, v)) = self.viewer() {
            if let Err(e) = v.cancel_fs() {
                p.show_message(&e, false);
            }
        }
    }
    fn stop(&self) {
        if let Ok((p, v)) = self.viewer() {
            if let Err(e) = v.key(Key::Stop) {
                p.show_message(&e, false);
            }
        }
    }
    fn run_file(&self, path: &str) -> Result<(), String> {
        let (_, v) = self.viewer()?;
        let code = run_file_code(path).map_err(|e| e.to_string())?;
        // As a paste: the station runs it if the room's input policy lets this user type.
        v.run(&code)
    }
}
