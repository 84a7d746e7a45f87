//! The panel's rows for uploads and downloads (typed job ids and states) and the overall
//! progress of one batch of uploads, with the words shown for them.

use std::collections::HashMap;

/// A row of the panel: one upload or one download, numbered by the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u32);

/// Whether a row is an upload or a download (they are listed apart).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Upload,
    Download,
}

/// Where a row is (also its `data-state` in the page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    /// The browser reads the picked file.
    Reading,
    Queued,
    Active,
    Done,
    Failed,
}

impl RowState {
    pub fn as_str(self) -> &'static str {
        match self {
            RowState::Reading => "reading",
            RowState::Queued => "queued",
            RowState::Active => "active",
            RowState::Done => "done",
            RowState::Failed => "failed",
        }
    }

    /// True once the row will not change again.
    pub fn is_final(self) -> bool {
        matches!(self, RowState::Done | RowState::Failed)
    }
}

/// `1234` → `1.2 KB`.
pub fn human_size(n: u64) -> String {
    match n {
        0..=999 => format!("{n} B"),
        1000..=999_999 => format!("{:.1} KB", n as f64 / 1000.0),
        _ => format!("{:.1} MB", n as f64 / 1_000_000.0),
    }
}

/// `done` of `total` bytes in words: percent when the total is known.
pub fn progress_text(done: u64, total: Option<u64>) -> String {
    match total {
        Some(t) if t > 0 => format!(
            "{} / {} ({:.0} %)",
            human_size(done),
            human_size(t),
            done as f64 * 100.0 / t as f64
        ),
        _ => human_size(done),
    }
}

/// The overall progress of a batch, as the panel shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overall {
    pub done: u64,
    pub total: u64,
    /// False when there is no batch (the bar is hidden).
    pub shown: bool,
    pub text: String,
}

/// One batch of uploads (a drop, a picker choice): how many files, how far.
#[derive(Debug, Default)]
pub struct Batch {
    files: usize,
    finished: usize,
    failed: usize,
    total: u64,
    done: HashMap<JobId, u64>,
}

impl Batch {
    /// True when every file of the batch finished (a new batch starts afresh).
    pub fn is_over(&self) -> bool {
        self.finished >= self.files
    }

    pub fn add(&mut self, files: usize, bytes: u64) {
        self.files += files;
        self.total += bytes;
    }

    pub fn progress(&mut self, job: JobId, done: u64) {
        self.done.insert(job, done);
    }

    /// One file finished (`size` bytes sent, or it failed); true when the batch is over.
    pub fn finish(&mut self, job: JobId, size: u64, failed: bool) -> bool {
        self.finished += 1;
        if failed {
            self.failed += 1;
            self.done.remove(&job);
        } else {
            self.done.insert(job, size);
        }
        self.is_over()
    }

    pub fn overall(&self) -> Overall {
        let done: u64 = self.done.values().sum();
        let ok = self.finished - self.failed;
        let text = if self.is_over() {
            if self.failed == 0 {
                format!("{ok} of {} files uploaded", self.files)
            } else {
                format!(
                    "{ok} of {} files uploaded, {} failed",
                    self.files, self.failed
                )
            }
        } else {
            format!(
                "Uploading: {} of {} files, {} / {}",
                self.finished,
                self.files,
                human_size(done),
                human_size(self.total)
            )
        };
        Overall {
            done,
            total: self.total,
            shown: self.files > 0,
            text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_counts_files_and_bytes_and_says_how_it_ended() {
        let mut b = Batch::default();
        assert!(!b.overall().shown);
        b.add(2, 3000);
        b.progress(JobId(1), 1000);
        let o = b.overall();
        assert_eq!(
            (o.done, o.total, o.text.as_str()),
            (1000, 3000, "Uploading: 0 of 2 files, 1.0 KB / 3.0 KB")
        );
        assert!(!b.finish(JobId(1), 2000, false));
        assert!(b.finish(JobId(2), 0, true));
        assert_eq!(b.overall().text, "1 of 2 files uploaded, 1 failed");
        assert_eq!(b.overall().done, 2000);
    }

    #[test]
    fn sizes_and_progress_in_words() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1234), "1.2 KB");
        assert_eq!(human_size(2_500_000), "2.5 MB");
        assert_eq!(progress_text(50, Some(200)), "50 B / 200 B (25 %)");
        assert_eq!(progress_text(5000, None), "5.0 KB");
    }
}
