//! The file panel's model: the folder shown, what each file operation and transfer in flight is
//! for (one [`Owners`] table: a local session's ids apart from ones relayed through an Edrys
//! room), the rows of uploads and downloads, the batch's progress, folder downloads as zip.
//! Requests go to a [`FilesBackend`]; what to show comes out as [`Show`] (the page renders it).
//! Sans-I/O: the browser reads picked files and hands their bytes in.

pub mod jobs;
mod transfers;
pub mod zip;

use std::collections::{HashMap, VecDeque};

use crate::files::{base_name, join, parent};
use crate::owners::{FsRef, Owners, TransferRef};
use crate::{Entry, FsError, FsOp, FsReply, FsState};
use jobs::{Batch, JobId, JobKind, Overall, RowState};
use zip::ZipWriter;

/// Text files up to this size open in the viewer; bigger ones download.
pub const VIEW_MAX: u64 = 64 * 1024;

/// Where the panel's requests go: the page's own session, or (in an Edrys room) the station,
/// which checks who may do what. Errors are messages for the user.
pub trait FilesBackend {
    /// True when requests can go out now.
    fn ready(&self) -> bool;
    fn fs(&mut self, op: FsOp) -> Result<FsRef, String>;
    /// A safe upload: the id of its end (an fs event) and of its data (progress).
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String>;
    fn get(&mut self, path: &str) -> Result<TransferRef, String>;
}

/// What the page shows, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// A message for the user.
    Say(String),
    /// The listing replaced by one line of text.
    Placeholder(String),
    /// A listing was asked for and has not come yet.
    ListBusy(bool),
    /// The folder's entries (the path bar shows `dir`).
    Listing {
        dir: String,
        entries: Vec<Entry>,
    },
    /// A program runs on the board: file commands wait for the prompt.
    WaitingForPrompt(bool),
    /// A new row for an upload or a download.
    NewRow {
        job: JobId,
        kind: JobKind,
        name: String,
        size: Option<u64>,
    },
    /// A row moved on; `done` of `total` bytes for its progress bar.
    Row {
        job: JobId,
        state: RowState,
        text: String,
        done: Option<u64>,
        total: Option<u64>,
    },
    /// The rows of the last batch of uploads go (a new batch starts).
    ClearUploads,
    Overall(Overall),
    /// The line beside the progress bar alone (downloads, zips).
    Note(Option<String>),
    /// The Cancel button for waiting uploads.
    Cancel(bool),
    /// A small text file in the viewer.
    View {
        path: String,
        data: Vec<u8>,
    },
    /// Bytes for the browser to save as a file.
    Save {
        name: String,
        data: Vec<u8>,
    },
}

/// What a file operation in flight is for.
#[derive(Debug)]
enum FsWhat {
    List(String),
    /// A change (delete, rename, mkdir); the text says what, for messages.
    Change(String),
    Upload(JobId),
    /// A folder's tree, for a zip download.
    Tree(String),
}

/// What a transfer in flight is for.
#[derive(Debug)]
enum TransferWhat {
    Upload(JobId),
    View(String),
    Download { path: String, job: JobId },
    Zip,
}

#[derive(Debug)]
struct UploadJob {
    target: String,
    size: u64,
    /// The file's bytes, read and waiting for the batch's earlier files to be sent first.
    read: Option<Vec<u8>>,
    /// Its transfer, once sent.
    data: Option<TransferRef>,
}

#[derive(Debug)]
struct ZipJob {
    /// The folder being zipped (paths in the archive are relative to its parent).
    base: String,
    /// The archive's file name.
    name: String,
    writer: ZipWriter,
    left: usize,
    failed: Vec<String>,
}

/// The file panel's state.
#[derive(Debug)]
pub struct PanelModel {
    dir: String,
    /// A folder made (if missing) and shown first: a student's own folder.
    home: Option<String>,
    listing: bool,
    /// A folder asked for while a listing was in flight (the user's click, or a refresh after a
    /// change): listed when that one ends, never dropped.
    list_next: Option<String>,
    owners: Owners<FsWhat, TransferWhat>,
    uploads: HashMap<JobId, UploadJob>,
    open_rows: HashMap<JobId, JobKind>,
    batch: Batch,
    zip: Option<ZipJob>,
    /// A folder's tree was asked for, for a zip.
    tree_pending: bool,
    next_job: u32,
    out: VecDeque<Show>,
}

impl Default for PanelModel {
    fn default() -> Self {
        PanelModel::new()
    }
}

impl PanelModel {
    pub fn new() -> PanelModel {
        let mut m = PanelModel {
            dir: "/".into(),
            home: None,
            listing: false,
            list_next: None,
            owners: Owners::default(),
            uploads: HashMap::new(),
            open_rows: HashMap::new(),
            batch: Batch::default(),
            zip: None,
            tree_pending: false,
            next_job: 0,
            out: VecDeque::new(),
        };
        m.show(Show::Placeholder(
            "Connect to a board to see its files.".into(),
        ));
        m
    }

    /// What to show next, in order.
    pub fn poll_show(&mut self) -> Option<Show> {
        self.out.pop_front()
    }

    /// The folder shown (uploads from the picker go there).
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// A folder made (if missing) and shown on every connect: a student's own folder.
    pub fn set_home(&mut self, dir: &str) {
        self.dir = dir.to_owned();
        self.home = Some(dir.to_owned());
    }

    /// True when the transfer is the panel's.
    pub fn owns_transfer(&self, id: TransferRef) -> bool {
        self.owners.transfer(id).is_some()
    }

    fn show(&mut self, s: Show) {
        self.out.push_back(s);
    }

    fn say(&mut self, text: String) {
        self.show(Show::Say(text));
    }

    fn row(&mut self, job: JobId, state: RowState, text: String, done: Option<u64>) {
        if state.is_final() {
            self.open_rows.remove(&job);
        }
        self.show(Show::Row {
            job,
            state,
            text,
            done,
            total: None,
        });
    }

    fn new_row(&mut self, kind: JobKind, name: &str, size: Option<u64>) -> JobId {
        self.next_job += 1;
        let job = JobId(self.next_job);
        self.open_rows.insert(job, kind);
        self.show(Show::NewRow {
            job,
            kind,
            name: name.to_owned(),
            size,
        });
        job
    }

    // ----- connection life -----

    pub fn connected(&mut self, b: &mut dyn FilesBackend) {
        match self.home.clone() {
            Some(h) => {
                self.dir = h.clone();
                // The change refreshes the listing when done.
                self.change(
                    b,
                    FsOp::Mkdir {
                        path: h.clone(),
                        parents: true,
                    },
                    format!("Making your folder {h}"),
                );
            }
            None => self.refresh(b),
        }
    }

    /// The link closed: nothing in flight will finish.
    pub fn disconnected(&mut self) {
        self.owners.clear();
        self.uploads.clear();
        self.zip = None;
        self.tree_pending = false;
        self.listing = false;
        self.list_next = None;
        let mut open: Vec<JobId> = self.open_rows.keys().copied().collect();
        open.sort();
        for job in open {
            self.row(job, RowState::Failed, "not connected any more".into(), None);
        }
        self.show(Show::WaitingForPrompt(false));
        self.show(Show::Cancel(false));
        self.show(Show::Placeholder("Not connected.".into()));
    }

    // ----- operations -----

    pub fn refresh(&mut self, b: &mut dyn FilesBackend) {
        let dir = self.dir.clone();
        self.list_dir(b, &dir);
    }

    /// Lists `dir` (a click on a folder or on the path bar).
    pub fn list_dir(&mut self, b: &mut dyn FilesBackend, dir: &str) {
        if !b.ready() {
            self.show(Show::Placeholder("Not connected.".into()));
            return;
        }
        if self.listing {
            self.list_next = Some(dir.into());
            return;
        }
        match b.fs(FsOp::List { dir: dir.into() }) {
            Ok(id) => {
                self.listing = true;
                self.show(Show::ListBusy(true));
                self.owners.insert_fs(id, FsWhat::List(dir.into()));
            }
            Err(e) => self.say(format!("Listing {dir} failed: {e}")),
        }
    }

    fn change(&mut self, b: &mut dyn FilesBackend, op: FsOp, what: String) {
        match b.fs(op) {
            Ok(id) => self.owners.insert_fs(id, FsWhat::Change(what)),
            Err(e) => self.say(format!("{what} failed: {e}")),
        }
    }

    /// A new folder `name` in the folder shown.
    pub fn new_folder(&mut self, b: &mut dyn FilesBackend, name: &str) {
        let path = join(&self.dir, name.trim());
        self.change(
            b,
            FsOp::Mkdir {
                path: path.clone(),
                parents: false,
            },
            format!("Making {path}"),
        );
    }

    /// Renames `path` to `name`: a plain name stays in its folder; one with a slash is a path
    /// (relative to that folder, or absolute).
    pub fn rename(&mut self, b: &mut dyn FilesBackend, path: &str, name: &str) {
        let name = name.trim();
        if name.is_empty() || name == base_name(path) {
            return;
        }
        let to = if name.starts_with('/') {
            name.to_owned()
        } else {
            join(parent(path), name)
        };
        self.change(
            b,
            FsOp::Rename {
                from: path.into(),
                to: to.clone(),
            },
            format!("Renaming {path} to {to}"),
        );
    }

    /// Deletes `path` (a folder with everything in it); the page asked the user first.
    pub fn delete(&mut self, b: &mut dyn FilesBackend, path: &str) {
        self.change(
            b,
            FsOp::Remove { path: path.into() },
            format!("Deleting {path}"),
        );
    }

    /// A click on a file's name: small files open in the viewer, bigger ones download.
    pub fn open_file(&mut self, b: &mut dyn FilesBackend, path: &str, size: u64) {
        if size <= VIEW_MAX {
            self.fetch(b, path, TransferWhat::View(path.into()));
        } else {
            self.download(b, path);
        }
    }

    /// Downloads a folder as a zip: its tree first, then each file.
    pub fn download_folder(&mut self, b: &mut dyn FilesBackend, dir: &str) {
        if self.zip.is_some() || self.tree_pending {
            self.say("A folder download is already running; wait for it to finish.".into());
            return;
        }
        match b.fs(FsOp::Tree { dir: dir.into() }) {
            Ok(id) => {
                self.owners.insert_fs(id, FsWhat::Tree(dir.into()));
                self.tree_pending = true;
                self.show(Show::Note(Some(format!("Listing {dir} for the zip…"))));
            }
            Err(e) => self.say(format!("Downloading {dir} failed: {e}")),
        }
    }

    // ----- events from the session (or the room) -----

    /// A file operation moved on; false if it is not the panel's.
    pub fn on_fs(&mut self, b: &mut dyn FilesBackend, id: FsRef, state: FsState) -> bool {
        if state == FsState::WaitingForPrompt {
            // Reported while the request is being made (before its id is recorded here): any
            // file command waiting means the panel waits.
            self.show(Show::WaitingForPrompt(true));
            return true;
        }
        let Some(what) = self.owners.take_fs(id) else {
            return false;
        };
        self.show(Show::WaitingForPrompt(false));
        let was_listing = matches!(what, FsWhat::List(_));
        self.on_fs_for(b, what, state);
        if was_listing && !self.listing {
            if let Some(dir) = self.list_next.take() {
                self.list_dir(b, &dir);
            }
        }
        true
    }

    fn on_fs_for(&mut self, b: &mut dyn FilesBackend, what: FsWhat, state: FsState) {
        match (what, state) {
            (FsWhat::List(dir), FsState::Done(FsReply::Listing(entries))) => {
                self.listing = false;
                self.dir = dir.clone();
                self.show(Show::ListBusy(false));
                self.show(Show::Listing { dir, entries });
            }
            (FsWhat::List(dir), FsState::Failed(e)) => {
                self.listing = false;
                self.show(Show::ListBusy(false));
                self.say(format!("Listing {dir} failed: {e}"));
                if dir != "/" && matches!(e, FsError::Board { .. }) {
                    // The folder is gone: show its parent.
                    self.dir = parent(&dir).to_owned();
                    self.refresh(b);
                }
            }
            (FsWhat::Change(_), FsState::Done(_)) => self.refresh(b),
            (FsWhat::Change(what), FsState::Failed(e)) => {
                self.say(format!("{what} failed: {e}"));
                self.refresh(b);
            }
            (FsWhat::Upload(job), FsState::Done(_)) => {
                let size = self.uploads.get(&job).map_or(0, |u| u.size);
                self.upload_ended(Some(b), job, size, Ok(()));
            }
            (FsWhat::Upload(job), FsState::Failed(e)) => {
                self.upload_ended(Some(b), job, 0, Err(e.to_string()))
            }
            (FsWhat::Tree(dir), FsState::Done(FsReply::Listing(entries))) => {
                self.tree_pending = false;
                self.zip_tree(b, &dir, entries)
            }
            (FsWhat::Tree(dir), FsState::Failed(e)) => {
                self.tree_pending = false;
                self.show(Show::Note(None));
                self.say(format!("Downloading {dir} failed: {e}"));
            }
            (FsWhat::List(_), _) => {
                self.listing = false;
                self.show(Show::ListBusy(false));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
