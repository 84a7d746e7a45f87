//! The panel model against a recording backend: local and relayed ids, rows, batches, zips.

use super::*;
use crate::room::message::RelayId;
use crate::{EntryKind, FsError, FsId, TransferId, TransferOutcome};

/// A backend that records requests and numbers them, locally or as a room viewer would.
struct Fake {
    ready: bool,
    relay: bool,
    next: u32,
    ops: Vec<FsOp>,
    uploads: Vec<(String, Vec<u8>)>,
    gets: Vec<String>,
}

impl Fake {
    fn new(relay: bool) -> Fake {
        Fake {
            ready: true,
            relay,
            next: 0,
            ops: Vec::new(),
            uploads: Vec::new(),
            gets: Vec::new(),
        }
    }
    fn id(&mut self) -> u32 {
        self.next += 1;
        self.next
    }
    fn fs_ref(&self, n: u32) -> FsRef {
        if self.relay {
            FsRef::Relay(RelayId(n))
        } else {
            FsRef::Local(FsId(n))
        }
    }
    fn transfer_ref(&self, n: u32) -> TransferRef {
        if self.relay {
            TransferRef::Relay(RelayId(n))
        } else {
            TransferRef::Local(TransferId(n))
        }
    }
}

impl FilesBackend for Fake {
    fn ready(&self) -> bool {
        self.ready
    }
    fn fs(&mut self, op: FsOp) -> Result<FsRef, String> {
        self.ops.push(op);
        let n = self.id();
        Ok(self.fs_ref(n))
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<(FsRef, TransferRef), String> {
        self.uploads.push((path.into(), data));
        if self.relay {
            // One relay id for both halves, as the room's viewer gives it.
            let n = self.id();
            Ok((self.fs_ref(n), self.transfer_ref(n)))
        } else {
            let (a, b) = (self.id(), self.id());
            Ok((self.fs_ref(a), self.transfer_ref(b)))
        }
    }
    fn get(&mut self, path: &str) -> Result<TransferRef, String> {
        if path.contains("missing") {
            return Err(format!("{path}: not found"));
        }
        self.gets.push(path.into());
        let n = self.id();
        Ok(self.transfer_ref(n))
    }
}

fn shows(m: &mut PanelModel) -> Vec<Show> {
    std::iter::from_fn(|| m.poll_show()).collect()
}

fn file(name: &str, size: u64) -> Entry {
    Entry {
        name: name.into(),
        kind: EntryKind::File,
        size,
    }
}

fn rows(s: &[Show]) -> Vec<(JobId, RowState, String)> {
    s.iter()
        .filter_map(|s| match s {
            Show::Row {
                job, state, text, ..
            } => Some((*job, *state, text.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn connecting_lists_the_folder_and_the_listing_is_shown() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    shows(&mut m);
    m.connected(&mut b);
    m.refresh(&mut b); // a second listing waits for the first
    m.list_dir(&mut b, "/lib"); // and a click meanwhile replaces it (the last one wins)
    assert_eq!(b.ops, vec![FsOp::List { dir: "/".into() }]);
    let entries = vec![file("main.py", 12)];
    assert!(m.on_fs(
        &mut b,
        FsRef::Local(FsId(1)),
        FsState::Done(FsReply::Listing(entries.clone()))
    ));
    let s = shows(&mut m);
    assert!(s.contains(&Show::Listing {
        dir: "/".into(),
        entries
    }));
    // The folder clicked while the first listing was in flight is listed now, not dropped.
    assert_eq!(b.ops[1..], [FsOp::List { dir: "/lib".into() }]);
    assert!(m.on_fs(
        &mut b,
        FsRef::Local(FsId(2)),
        FsState::Done(FsReply::Listing(vec![]))
    ));
    assert_eq!(m.dir(), "/lib");
    assert_eq!(b.ops.len(), 2, "nothing more queued");
    // Someone else's operation (another id space, the same number) is not the panel's.
    assert!(!m.on_fs(
        &mut b,
        FsRef::Relay(RelayId(1)),
        FsState::Done(FsReply::Done)
    ));
}

#[test]
fn a_relayed_upload_uses_one_relay_id_for_its_data_and_its_end() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(true);
    let jobs = m.add_uploads(&b, "/lib", &[("a.py".into(), 4)]);
    let job = jobs[0].expect("a job");
    m.upload_read(&mut b, job, b"abcd".to_vec());
    assert_eq!(b.uploads, vec![("/lib/a.py".to_owned(), b"abcd".to_vec())]);
    let id = RelayId(1);
    assert!(m.on_progress(TransferRef::Relay(id), 2, Some(4)));
    assert!(!m.on_progress(TransferRef::Local(TransferId(1)), 2, Some(4)));
    let put = TransferOutcome::Put {
        name: String::new(),
        size: 4,
    };
    assert!(m.on_transfer_done(TransferRef::Relay(id), &put));
    assert!(m.on_fs(&mut b, FsRef::Relay(id), FsState::Done(FsReply::Done)));
    let s = shows(&mut m);
    let states: Vec<RowState> = rows(&s).into_iter().map(|r| r.1).collect();
    assert_eq!(
        states,
        vec![
            RowState::Reading,
            RowState::Queued,
            RowState::Active,
            RowState::Active,
            RowState::Done
        ]
    );
    assert!(s.contains(&Show::Cancel(false)));
    let last_overall = s.iter().rev().find_map(|s| match s {
        Show::Overall(o) => Some(o.text.clone()),
        _ => None,
    });
    assert_eq!(last_overall.as_deref(), Some("1 of 1 files uploaded"));
    // The batch's end lists the folder again.
    assert_eq!(b.ops, vec![FsOp::List { dir: "/".into() }]);
    assert!(!m.owns_transfer(TransferRef::Relay(id)));
}

#[test]
fn a_bad_name_fails_its_row_and_the_rest_of_the_batch_goes_on() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    let jobs = m.add_uploads(&b, "/", &[("bad\\name".into(), 1), ("ok.txt".into(), 1)]);
    assert!(jobs[0].is_none());
    let job = jobs[1].expect("a job");
    m.upload_read(&mut b, job, b"x".to_vec());
    m.on_fs(&mut b, FsRef::Local(FsId(1)), FsState::Done(FsReply::Done));
    let s = shows(&mut m);
    let r = rows(&s);
    assert_eq!(r[0].1, RowState::Failed);
    assert!(r[0].2.contains("use / to separate folders"), "{}", r[0].2);
    assert!(s
        .iter()
        .any(|s| matches!(s, Show::Overall(o) if o.text == "1 of 2 files uploaded, 1 failed")));
}

#[test]
fn files_read_out_of_order_go_to_the_board_in_the_order_picked() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    let picked: Vec<(String, u64)> = ["a", "b", "c", "d"]
        .iter()
        .map(|n| (n.to_string(), 1))
        .collect();
    let jobs: Vec<JobId> = m
        .add_uploads(&b, "/", &picked)
        .into_iter()
        .map(|j| j.expect("a job"))
        .collect();
    // The browser finishes reading d, then b, then a, then c.
    m.upload_read(&mut b, jobs[3], b"d".to_vec());
    m.upload_read(&mut b, jobs[1], b"b".to_vec());
    assert!(b.uploads.is_empty(), "a is still being read");
    m.upload_read(&mut b, jobs[0], b"a".to_vec());
    let sent: Vec<&str> = b.uploads.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(sent, vec!["/a", "/b"]);
    m.upload_read(&mut b, jobs[2], b"c".to_vec());
    let sent: Vec<&str> = b.uploads.iter().map(|u| u.0.as_str()).collect();
    assert_eq!(sent, vec!["/a", "/b", "/c", "/d"]);
    assert_eq!(b.uploads[3].1, b"d".to_vec());
}

#[test]
fn an_unreadable_file_lets_the_later_ones_go() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    let jobs = m.add_uploads(&b, "/", &[("a".into(), 1), ("b".into(), 1)]);
    let (a, bj) = (jobs[0].expect("a job"), jobs[1].expect("a job"));
    m.upload_read(&mut b, bj, b"b".to_vec());
    assert!(b.uploads.is_empty());
    m.upload_unreadable(&mut b, a, "NotReadableError");
    assert_eq!(b.uploads, vec![("/b".to_owned(), b"b".to_vec())]);
    let s = shows(&mut m);
    assert!(rows(&s)
        .iter()
        .any(|r| r.1 == RowState::Failed && r.2.contains("NotReadableError")));
}

#[test]
fn cancel_ends_the_uploads_not_yet_sent_and_they_never_go() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    let jobs = m.add_uploads(
        &b,
        "/",
        &[("a".into(), 1), ("b".into(), 1), ("c".into(), 1)],
    );
    let j: Vec<JobId> = jobs.into_iter().map(|j| j.expect("a job")).collect();
    m.upload_read(&mut b, j[0], b"a".to_vec());
    m.upload_read(&mut b, j[2], b"c".to_vec()); // waits for b
    shows(&mut m);
    m.cancel_unsent(&mut b);
    // b (still being read) and c (waiting for it) end as cancelled; a is the backend's.
    let s = shows(&mut m);
    let ended: Vec<(JobId, RowState)> = rows(&s).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(
        ended,
        vec![(j[1], RowState::Failed), (j[2], RowState::Failed)]
    );
    m.upload_read(&mut b, j[1], b"b".to_vec());
    assert_eq!(b.uploads.len(), 1, "only a went");
    // a's end closes the batch: one failed… two cancelled, and the folder is listed again.
    m.on_fs(&mut b, FsRef::Local(FsId(1)), FsState::Done(FsReply::Done));
    let s = shows(&mut m);
    assert!(
        s.iter()
            .any(|s| matches!(s, Show::Overall(o) if o.text == "1 of 3 files uploaded, 2 failed")),
        "{s:?}"
    );
    assert_eq!(b.ops, vec![FsOp::List { dir: "/".into() }]);
}

#[test]
fn a_download_shows_progress_then_saves_under_its_name() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    m.download(&mut b, "/lib/big.bin");
    let id = TransferRef::Local(TransferId(1));
    assert!(m.on_progress(id, 100, Some(400)));
    let got = TransferOutcome::Get {
        name: "/lib/big.bin".into(),
        data: vec![7; 400],
    };
    assert!(m.on_transfer_done(id, &got));
    let s = shows(&mut m);
    let r = rows(&s);
    assert_eq!(
        r[1],
        (r[1].0, RowState::Active, "100 B / 400 B (25 %)".into())
    );
    assert_eq!(r[2].1, RowState::Done);
    assert!(s.contains(&Show::Save {
        name: "big.bin".into(),
        data: vec![7; 400]
    }));
    // Done: the same id again is no longer the panel's.
    assert!(!m.on_transfer_done(id, &got));
}

#[test]
fn a_relayed_get_waits_for_its_bytes_and_a_failed_get_says_why() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(true);
    m.open_file(&mut b, "/notes.txt", 10);
    let id = TransferRef::Relay(RelayId(1));
    let put_like = TransferOutcome::Put {
        name: String::new(),
        size: 10,
    };
    assert!(m.on_transfer_done(id, &put_like));
    assert!(m.owns_transfer(id), "still waiting for the bytes");
    let got = TransferOutcome::Get {
        name: "/notes.txt".into(),
        data: b"hello".to_vec(),
    };
    assert!(m.on_transfer_done(id, &got));
    assert!(shows(&mut m).contains(&Show::View {
        path: "/notes.txt".into(),
        data: b"hello".to_vec()
    }));
    m.download(&mut b, "/big.bin");
    assert!(m.on_transfer_failed(TransferRef::Relay(RelayId(2)), "big.bin: not found"));
    m.download(&mut b, "/missing.bin");
    let s = shows(&mut m);
    let failed: Vec<String> = rows(&s)
        .into_iter()
        .filter(|r| r.1 == RowState::Failed)
        .map(|r| r.2)
        .collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|t| t.contains("not found")));
}

#[test]
fn a_folder_downloads_as_one_zip_even_when_a_file_fails() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    m.download_folder(&mut b, "/lib");
    m.download_folder(&mut b, "/lib");
    let tree = vec![
        file("/lib/a.py", 1),
        Entry {
            name: "/lib/sub".into(),
            kind: EntryKind::Dir,
            size: 0,
        },
        file("/lib/sub/b.py", 1),
    ];
    m.on_fs(
        &mut b,
        FsRef::Local(FsId(1)),
        FsState::Done(FsReply::Listing(tree)),
    );
    assert_eq!(b.gets, vec!["/lib/a.py", "/lib/sub/b.py"]);
    let got = TransferOutcome::Get {
        name: "/lib/a.py".into(),
        data: b"a".to_vec(),
    };
    m.on_transfer_done(TransferRef::Local(TransferId(2)), &got);
    m.on_transfer_failed(TransferRef::Local(TransferId(3)), "gone");
    let s = shows(&mut m);
    assert!(s.contains(&Show::Say(
        "A folder download is already running; wait for it to finish.".into()
    )));
    let zip = s.iter().find_map(|s| match s {
        Show::Save { name, data } => Some((name.clone(), data.clone())),
        _ => None,
    });
    let (name, data) = zip.expect("a zip");
    assert_eq!(name, "lib.zip");
    assert!(data.windows(8).any(|w| w == b"lib/a.py"));
    assert!(s.contains(&Show::Note(Some(
        "lib.zip downloaded without 1 files: gone".into()
    ))));
}

#[test]
fn disconnecting_fails_what_was_in_flight() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    m.download(&mut b, "/big.bin");
    let jobs = m.add_uploads(&b, "/", &[("a".into(), 1)]);
    shows(&mut m);
    m.disconnected();
    let s = shows(&mut m);
    let r = rows(&s);
    assert_eq!(r.len(), 2);
    assert!(r.iter().all(|r| r.1 == RowState::Failed));
    assert!(!m.on_progress(TransferRef::Local(TransferId(1)), 1, None));
    // A read finishing after the close does not send anything.
    m.upload_read(&mut b, jobs[0].expect("a job"), vec![1]);
    assert!(b.uploads.is_empty());
    b.ready = false;
    assert_eq!(m.add_uploads(&b, "/", &[("a".into(), 1)]), vec![None]);
}

#[test]
fn a_student_home_is_made_then_listed() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(true);
    m.set_home("/alice");
    m.connected(&mut b);
    assert_eq!(
        b.ops,
        vec![FsOp::Mkdir {
            path: "/alice".into(),
            parents: true
        }]
    );
    m.on_fs(
        &mut b,
        FsRef::Relay(RelayId(1)),
        FsState::Done(FsReply::Done),
    );
    assert_eq!(
        b.ops[1],
        FsOp::List {
            dir: "/alice".into()
        }
    );
    m.rename(&mut b, "/alice/a.py", "b.py");
    m.rename(&mut b, "/alice/a.py", "a.py");
    assert_eq!(
        b.ops[2],
        FsOp::Rename {
            from: "/alice/a.py".into(),
            to: "/alice/b.py".into()
        }
    );
    assert_eq!(b.ops.len(), 3);
}

#[test]
fn an_upload_that_failed_says_why_with_its_target() {
    let mut m = PanelModel::new();
    let mut b = Fake::new(false);
    let job = m.add_uploads(&b, "/", &[("main.py".into(), 9)])[0].expect("a job");
    m.upload_read(&mut b, job, vec![0; 9]);
    // The data's failure names the temporary file; the upload's end names the target.
    assert!(m.on_transfer_failed(TransferRef::Local(TransferId(2)), "lost: /.webrepl-1.part"));
    let failed = FsError::Upload {
        path: "/main.py".into(),
        message: "the connection was lost".into(),
    };
    m.on_fs(
        &mut b,
        FsRef::Local(FsId(1)),
        FsState::Failed(failed.clone()),
    );
    let s = shows(&mut m);
    assert_eq!(
        rows(&s).last().map(|r| (r.1, r.2.clone())),
        Some((RowState::Failed, failed.to_string()))
    );
    assert!(s
        .iter()
        .any(|s| matches!(s, Show::Overall(o) if o.text == "0 of 1 files uploaded, 1 failed")));
}
