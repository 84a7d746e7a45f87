//! The panel's uploads and downloads: rows for each, the batch's progress, a get's bytes
//! viewed, saved or added to a folder's zip, and the transfer events that move them on.

use super::jobs::{human_size, progress_text, Batch, JobId, JobKind, RowState};
use super::zip::ZipWriter;
use super::{FilesBackend, FsWhat, PanelModel, Show, TransferWhat, UploadJob, ZipJob};
use crate::files::{base_name, join, normalize, parent};
use crate::owners::TransferRef;
use crate::{Entry, EntryKind, TransferOutcome};

impl PanelModel {
    /// Downloads a file of the board, with a row showing its progress.
    pub fn download(&mut self, b: &mut dyn FilesBackend, path: &str) {
        let job = self.new_row(JobKind::Download, path, None);
        self.row(job, RowState::Queued, "waiting…".into(), None);
        self.fetch(
            b,
            path,
            TransferWhat::Download {
                path: path.into(),
                job,
            },
        );
    }

    pub(super) fn fetch(&mut self, b: &mut dyn FilesBackend, path: &str, why: TransferWhat) {
        match b.get(path) {
            Ok(id) => self.owners.insert_transfer(id, why),
            Err(e) => {
                if let TransferWhat::Download { job, .. } = why {
                    self.row(job, RowState::Failed, e.clone(), None);
                }
                self.say(format!("Getting {path} failed: {e}"));
            }
        }
    }

    /// Files picked or dropped for `dir` (paths relative to it, folders made as needed), one
    /// batch: a row each; the page reads each file whose job comes back and hands its bytes to
    /// [`Self::upload_read`]. `None` for a file that failed already (bad name, not connected).
    pub fn add_uploads(
        &mut self,
        b: &dyn FilesBackend,
        dir: &str,
        files: &[(String, u64)],
    ) -> Vec<Option<JobId>> {
        if files.is_empty() {
            return Vec::new();
        }
        if !b.ready() {
            self.say("Not connected: connect to a board first.".into());
            return vec![None; files.len()];
        }
        if self.batch.is_over() {
            self.batch = Batch::default();
            self.show(Show::ClearUploads);
        }
        self.batch
            .add(files.len(), files.iter().map(|(_, s)| *s).sum());
        self.show(Show::Cancel(true));
        self.show(Show::Overall(self.batch.overall()));
        let mut jobs = Vec::new();
        for (rel, size) in files {
            match normalize(&join(dir, rel)) {
                Ok(target) => {
                    let job = self.new_row(JobKind::Upload, &target, Some(*size));
                    self.row(job, RowState::Reading, "reading…".into(), None);
                    self.uploads.insert(
                        job,
                        UploadJob {
                            target,
                            size: *size,
                            read: None,
                            data: None,
                        },
                    );
                    jobs.push(Some(job));
                }
                Err(e) => {
                    let job = self.new_row(JobKind::Upload, rel, Some(*size));
                    self.upload_ended(None, job, 0, Err(e.to_string()));
                    jobs.push(None);
                }
            }
        }
        jobs
    }

    /// The bytes of an upload's file were read: it goes to the board once the files picked
    /// before it have gone (the browser reads them in parallel and may finish in any order; the
    /// board gets them in the user's order, so a Cancel stops the later ones).
    pub fn upload_read(&mut self, b: &mut dyn FilesBackend, job: JobId, data: Vec<u8>) {
        let Some(u) = self.uploads.get_mut(&job) else {
            return;
        };
        u.read = Some(data);
        self.send_read_uploads(b);
    }

    /// Sends the read uploads, oldest first, up to the first one still being read.
    pub(super) fn send_read_uploads(&mut self, b: &mut dyn FilesBackend) {
        for job in self.unsent_uploads() {
            let Some(u) = self.uploads.get_mut(&job) else {
                continue;
            };
            let Some(data) = u.read.take() else {
                return;
            };
            let target = u.target.clone();
            self.send_upload(b, job, &target, data);
        }
    }

    /// The uploads not yet handed to the backend, oldest first.
    fn unsent_uploads(&self) -> Vec<JobId> {
        let mut jobs: Vec<JobId> = self
            .uploads
            .iter()
            .filter(|(_, u)| u.data.is_none())
            .map(|(job, _)| *job)
            .collect();
        jobs.sort();
        jobs
    }

    fn send_upload(&mut self, b: &mut dyn FilesBackend, job: JobId, target: &str, data: Vec<u8>) {
        match b.upload(target, data) {
            Ok((end, data)) => {
                self.row(job, RowState::Queued, "waiting…".into(), None);
                self.owners.insert_fs(end, FsWhat::Upload(job));
                self.owners.insert_transfer(data, TransferWhat::Upload(job));
                if let Some(u) = self.uploads.get_mut(&job) {
                    u.data = Some(data);
                }
            }
            Err(e) => self.upload_ended(Some(b), job, 0, Err(e)),
        }
    }

    /// Cancel: the uploads not yet handed to the backend (still being read, or waiting for an
    /// earlier file) end here; the page cancels the backend's waiting ones itself.
    pub fn cancel_unsent(&mut self, b: &mut dyn FilesBackend) {
        for job in self.unsent_uploads() {
            self.upload_ended(Some(&mut *b), job, 0, Err("cancelled".into()));
        }
    }

    /// The browser could not read an upload's file.
    pub fn upload_unreadable(&mut self, b: &mut dyn FilesBackend, job: JobId, error: &str) {
        if self.uploads.contains_key(&job) {
            let why = format!("could not read the file: {error}");
            self.upload_ended(Some(&mut *b), job, 0, Err(why));
            // The files after it need not wait for it any more.
            self.send_read_uploads(b);
        }
    }

    /// An upload ended (`size` bytes written, or why not); at the batch's end the folder is
    /// listed again.
    pub(super) fn upload_ended(
        &mut self,
        b: Option<&mut dyn FilesBackend>,
        job: JobId,
        size: u64,
        result: Result<(), String>,
    ) {
        if let Some(data) = self.uploads.remove(&job).and_then(|u| u.data) {
            self.owners.take_transfer(data);
        }
        match &result {
            Ok(()) => self.row(
                job,
                RowState::Done,
                format!("{} uploaded", human_size(size)),
                Some(size),
            ),
            Err(e) => self.row(job, RowState::Failed, e.clone(), None),
        }
        let over = self.batch.finish(job, size, result.is_err());
        self.show(Show::Overall(self.batch.overall()));
        if over {
            self.show(Show::Cancel(false));
            if let Some(b) = b {
                self.refresh(b);
            }
        }
    }

    /// Progress of a transfer (`total` when known); false if it is not the panel's.
    pub fn on_progress(&mut self, id: TransferRef, done: u64, total: Option<u64>) -> bool {
        let Some(what) = self.owners.transfer(id) else {
            return false;
        };
        match what {
            TransferWhat::Upload(job) => {
                let job = *job;
                let size = self.uploads.get(&job).map_or(0, |u| u.size);
                let text = format!("{} / {}", human_size(done), human_size(size));
                self.row(job, RowState::Active, text, Some(done));
                self.batch.progress(job, done);
                self.show(Show::Overall(self.batch.overall()));
            }
            TransferWhat::Download { job, .. } => {
                let job = *job;
                self.show(Show::Row {
                    job,
                    state: RowState::Active,
                    text: progress_text(done, total),
                    done: Some(done),
                    total,
                });
            }
            TransferWhat::View(path) => {
                if self.zip.is_none() {
                    let text = format!("Downloading {path}: {}", progress_text(done, total));
                    self.show(Show::Note(Some(text)));
                }
            }
            TransferWhat::Zip => {}
        }
        true
    }

    /// A transfer finished; false if it is not the panel's. An upload's data arrived (its
    /// end, an fs event, follows); a get's bytes are viewed, saved or zipped.
    pub fn on_transfer_done(&mut self, id: TransferRef, outcome: &TransferOutcome) -> bool {
        let Some(what) = self.owners.transfer(id) else {
            return false;
        };
        if let TransferWhat::Upload(job) = what {
            let job = *job;
            self.row(
                job,
                RowState::Active,
                "checking and renaming on the board…".into(),
                None,
            );
            return true;
        }
        let TransferOutcome::Get { name, data } = outcome else {
            // A get is done when its bytes are here.
            return true;
        };
        let Some(what) = self.owners.take_transfer(id) else {
            return true;
        };
        self.show(Show::WaitingForPrompt(false));
        match what {
            TransferWhat::View(path) => {
                self.show(Show::Note(None));
                self.show(Show::View {
                    path,
                    data: data.clone(),
                });
            }
            TransferWhat::Download { path, job } => {
                let size = data.len() as u64;
                self.row(
                    job,
                    RowState::Done,
                    format!("{} downloaded", human_size(size)),
                    Some(size),
                );
                self.show(Show::Note(Some(format!(
                    "{path} downloaded ({})",
                    human_size(size)
                ))));
                self.show(Show::Save {
                    name: base_name(&path).to_owned(),
                    data: data.clone(),
                });
            }
            TransferWhat::Zip => self.zip_add(name, data),
            TransferWhat::Upload(_) => {}
        }
        true
    }

    /// A transfer failed; false if it is not the panel's.
    pub fn on_transfer_failed(&mut self, id: TransferRef, error: &str) -> bool {
        let Some(what) = self.owners.take_transfer(id) else {
            return false;
        };
        match what {
            // The upload's end (an fs event) follows and says it, naming the target.
            TransferWhat::Upload(_) => {}
            TransferWhat::View(p) => {
                self.show(Show::WaitingForPrompt(false));
                self.show(Show::Note(None));
                self.say(format!("Getting {p} failed: {error}"));
            }
            TransferWhat::Download { path, job } => {
                self.show(Show::WaitingForPrompt(false));
                self.row(job, RowState::Failed, error.to_owned(), None);
                self.show(Show::Note(None));
                self.say(format!("Getting {path} failed: {error}"));
            }
            TransferWhat::Zip => {
                if let Some(z) = self.zip.as_mut() {
                    z.left = z.left.saturating_sub(1);
                    z.failed.push(error.to_string());
                }
                self.zip_maybe_finish();
            }
        }
        true
    }

    // ----- zip -----

    pub(super) fn zip_tree(&mut self, b: &mut dyn FilesBackend, dir: &str, entries: Vec<Entry>) {
        let base = parent(dir).to_owned();
        let mut writer = ZipWriter::new();
        writer.add(&format!("{}/", in_archive(&base, dir)), b"");
        let mut files = Vec::new();
        for e in entries {
            match e.kind {
                EntryKind::Dir => writer.add(&format!("{}/", in_archive(&base, &e.name)), b""),
                EntryKind::File => files.push(e.name),
            }
        }
        let name = match base_name(dir) {
            "" => "board.zip".to_owned(),
            n => format!("{n}.zip"),
        };
        self.zip = Some(ZipJob {
            base,
            name,
            writer,
            left: files.len(),
            failed: Vec::new(),
        });
        for f in &files {
            self.fetch(b, f, TransferWhat::Zip);
        }
        self.show(Show::Note(Some(format!(
            "Zipping {dir}: {} files…",
            files.len()
        ))));
        self.zip_maybe_finish();
    }

    pub(super) fn zip_add(&mut self, path: &str, data: &[u8]) {
        if let Some(z) = self.zip.as_mut() {
            z.writer.add(in_archive(&z.base, path), data);
            z.left = z.left.saturating_sub(1);
            let text = format!("Zipping: {} files left…", z.left);
            self.show(Show::Note(Some(text)));
        }
        self.zip_maybe_finish();
    }

    pub(super) fn zip_maybe_finish(&mut self) {
        if self.zip.as_ref().is_none_or(|z| z.left > 0) {
            return;
        }
        let Some(z) = self.zip.take() else { return };
        let note = if z.failed.is_empty() {
            format!("{} downloaded", z.name)
        } else {
            format!(
                "{} downloaded without {} files: {}",
                z.name,
                z.failed.len(),
                z.failed.join("; ")
            )
        };
        self.show(Show::Note(Some(note)));
        self.show(Show::Save {
            name: z.name,
            data: z.writer.finish(),
        });
    }
}

/// A board path's name inside a folder's zip: relative to the folder's parent `base` (the
/// writer drops the leading `/`).
fn in_archive<'a>(base: &str, path: &'a str) -> &'a str {
    path.strip_prefix(base).unwrap_or(path)
}
