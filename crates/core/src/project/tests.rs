//! Unit tests of [`super`] (`project.rs`).

use super::*;

/// Records what a run asks of the session; ids count up.
#[derive(Default)]
struct Host {
    next: u32,
    calls: Vec<String>,
    runs: Vec<String>,
}

impl ProjectHost for Host {
    fn fs(&mut self, op: FsOp) -> Result<FsId, String> {
        self.next += 1;
        let FsOp::Digest { paths } = op else {
            return Err(format!("{op:?}"));
        };
        self.calls.push(format!("digest {}", paths.join(" ")));
        Ok(FsId(self.next))
    }
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<FsId, String> {
        self.next += 1;
        self.calls.push(format!("upload {path} {}", data.len()));
        Ok(FsId(self.next))
    }
    fn run(&mut self, code: &str, label: &str) -> Result<(), String> {
        self.calls.push(format!("run {label}"));
        self.runs.push(code.to_owned());
        Ok(())
    }
}

fn three() -> Project {
    Project::new(vec![
        ("lib.py".into(), "def greet(): return 'hi'\n".into()),
        ("main.py".into(), "import lib\nprint(lib.greet())\n".into()),
        ("pkg/util.py".into(), "X = 1\n".into()),
    ])
    .unwrap()
}

fn digest(p: &Project, name: &str) -> Option<(u64, String)> {
    let f = p.others().find(|f| f.name == name)?;
    Some((f.source.len() as u64, sha256_hex(f.source.as_bytes())))
}

fn digests(d: Vec<Option<(u64, String)>>) -> FsState {
    FsState::Done(FsReply::Digests(d))
}

#[test]
fn the_entry_is_main_py_else_the_only_file_else_the_first_py() {
    assert_eq!(three().entry().name, "main.py");
    let one = Project::new(vec![("blink.py".into(), "x".into())]).unwrap();
    assert_eq!(one.entry().name, "blink.py");
    let two = Project::new(vec![
        ("notes.txt".into(), "n".into()),
        ("app.py".into(), "a".into()),
        ("b.py".into(), "b".into()),
    ])
    .unwrap();
    assert_eq!(two.entry().name, "app.py");
    assert_eq!(
        Project::new(vec![
            ("a.txt".into(), "".into()),
            ("b.txt".into(), "".into())
        ]),
        Err(ProjectError::NoEntry)
    );
    assert_eq!(Project::new(vec![]), Err(ProjectError::Empty));
    for bad in ["../boot.py", "/boot.py", "a/../../b.py", "", "a\nb.py"] {
        assert!(
            matches!(
                Project::new(vec![(bad.into(), "".into()), ("main.py".into(), "".into())]),
                Err(ProjectError::BadName(..))
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn files_go_to_the_project_folder_and_the_run_imports_them_fresh() {
    let p = three();
    let t: Vec<String> = p
        .targets("/students/ann")
        .unwrap()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(t, ["/students/ann/lib.py", "/students/ann/pkg/util.py"]);
    let code = p.run_code("/students/ann");
    assert!(code.starts_with("exec('import sys\\x0aif D not in sys.path:sys.path.insert(0,D)\\x0afor m in (\\'lib\\',\\'pkg.util\\'):sys.modules.pop(m,None)',{'D':'/students/ann'})\n"), "{code}");
    assert!(code.ends_with("import lib\nprint(lib.greet())\n"));
    // One file runs as it is.
    assert_eq!(Project::single("print(1)").run_code("/"), "print(1)");
    let lone = Project::new(vec![
        ("main.py".into(), "import lib".into()),
        ("lib.py".into(), "".into()),
    ])
    .unwrap();
    assert!(lone.run_code("/").contains("for m in (\\'lib\\',):"));
}

#[test]
fn a_first_run_writes_the_other_files_then_runs() {
    let p = three();
    let mut h = Host::default();
    let (mut run, progress) = ProjectRun::start(p.clone(), "/", "ann", &mut h);
    assert_eq!(progress, Progress::Working);
    assert_eq!(h.calls, ["digest /lib.py /pkg/util.py"]);
    // lib.py is missing, pkg/util.py differs.
    let stale = digests(vec![None, Some((6, "0".repeat(64)))]);
    assert_eq!(run.on_fs(FsId(1), &stale, &mut h), Progress::Working);
    assert_eq!(
        &h.calls[1..],
        ["upload /lib.py 25", "upload /pkg/util.py 6"]
    );
    assert!(
        h.runs.is_empty(),
        "nothing runs before the files are written"
    );
    assert_eq!(
        run.on_fs(FsId(2), &FsState::Done(FsReply::Done), &mut h),
        Progress::Working
    );
    assert_eq!(
        run.on_fs(FsId(3), &FsState::Done(FsReply::Done), &mut h),
        Progress::Started {
            written: 2,
            unchanged: 0
        }
    );
    assert_eq!(h.calls.last().map(String::as_str), Some("run ann"));
    assert!(run.is_done());
}

#[test]
fn an_unchanged_project_writes_nothing() {
    let p = three();
    let mut h = Host::default();
    let (mut run, _) = ProjectRun::start(p.clone(), "/", "ann", &mut h);
    let same = digests(vec![digest(&p, "lib.py"), digest(&p, "pkg/util.py")]);
    let done = run.on_fs(FsId(1), &same, &mut h);
    assert_eq!(
        done,
        Progress::Started {
            written: 0,
            unchanged: 2
        }
    );
    assert_eq!(h.calls, ["digest /lib.py /pkg/util.py", "run ann"]);
}

#[test]
fn a_failed_write_runs_nothing_and_says_which_file() {
    let p = three();
    let mut h = Host::default();
    let (mut run, _) = ProjectRun::start(p.clone(), "/", "ann", &mut h);
    run.on_fs(
        FsId(1),
        &digests(vec![None, digest(&p, "pkg/util.py")]),
        &mut h,
    );
    assert_eq!(&h.calls[1..], ["upload /lib.py 25"]);
    let failed = run.on_fs(
        FsId(2),
        &FsState::Failed(FsError::SizeMismatch {
            path: "/lib.py".into(),
            got: 1,
            want: 25,
        }),
        &mut h,
    );
    let Progress::Failed(e) = failed else {
        panic!("{failed:?}")
    };
    assert!(
        e.to_string().starts_with("/lib.py could not be written"),
        "{e}"
    );
    assert!(h.runs.is_empty());
    assert!(run.is_done());
    // Late events of a finished run change nothing.
    assert_eq!(
        run.on_fs(FsId(2), &FsState::Done(FsReply::Done), &mut h),
        Progress::Working
    );
}

#[test]
fn a_board_without_hashlib_gets_every_file_written() {
    let p = three();
    let mut h = Host::default();
    let (mut run, _) = ProjectRun::start(p, "/", "t", &mut h);
    let no_hashlib = FsState::Failed(FsError::Board {
        path: "/lib.py".into(),
        message: "ImportError: no module named 'hashlib'".into(),
    });
    run.on_fs(FsId(1), &no_hashlib, &mut h);
    assert_eq!(
        &h.calls[1..],
        ["upload /lib.py 25", "upload /pkg/util.py 6"]
    );
    let lost = run.on_fs(FsId(2), &FsState::Failed(FsError::ConnectionLost), &mut h);
    assert!(matches!(lost, Progress::Failed(ProjectError::Write { .. })));
}

#[test]
fn a_single_file_runs_at_once() {
    let mut h = Host::default();
    let (run, progress) = ProjectRun::start(Project::single("print(2)"), "/", "bob", &mut h);
    assert_eq!(
        progress,
        Progress::Started {
            written: 0,
            unchanged: 0
        }
    );
    assert!(run.is_done());
    assert_eq!(h.runs, ["print(2)"]);
}
