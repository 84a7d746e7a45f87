//! Multi-file projects from editor modules (sans-I/O): which files go to the board before a run, which file runs, and the run itself.
//!
//! An editor sends a project as name → source. Every file but the one to run is written to the
//! project's folder on the board with a safe upload — unless the board already holds the same
//! bytes (size and SHA-256 compared on the board, so a second Run writes nothing and spares the
//! flash) — and then the file to run goes through the paced paste path like any other run. The
//! run first puts the project's folder at the front of `sys.path` and forgets the project's
//! modules imported by an earlier run, so `import lib` finds this run's `lib.py`.
//!
//! [`ProjectRun`] is driven by the adapter: it asks a [`ProjectHost`] (the session, at an Edrys
//! station) for digests, uploads and the run, and hears back through [`ProjectRun::on_fs`].

use crate::files::{self, FsError, FsId, FsOp, FsReply};
use crate::session::FsState;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// One source file of a project, by the name the editor gave it (relative, `/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    pub name: String,
    pub source: String,
}

/// Files from an editor, and which of them runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    files: Vec<SourceFile>,
    entry: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProjectError {
    #[error("the project has no files")]
    Empty,
    #[error("the project's file name {0:?} cannot be used on the board: {1}")]
    BadName(String, String),
    #[error("the project has no Python file to run (main.py, or a .py file)")]
    NoEntry,
    #[error("{0}")]
    Refused(String),
    #[error("{path} could not be written to the board: {message}; nothing was run")]
    Write { path: String, message: String },
    #[error("the project could not be prepared on the board: {0}; nothing was run")]
    Board(String),
}

impl Project {
    /// A project from editor files, in the editor's order. The file that runs is `main.py`,
    /// else the only file, else the first `.py` file.
    pub fn new(files: Vec<(String, String)>) -> Result<Project, ProjectError> {
        if files.is_empty() {
            return Err(ProjectError::Empty);
        }
        let mut out = Vec::with_capacity(files.len());
        for (name, source) in files {
            let clean = name.trim().trim_start_matches("./").to_owned();
            if clean.is_empty() || clean.starts_with('/') || clean.split('/').any(|c| c == "..") {
                return Err(ProjectError::BadName(
                    name,
                    "use a name relative to the project, without ..".into(),
                ));
            }
            // The path checks of the board's files (no control characters, backslashes …).
            files::normalize(&clean).map_err(|e| ProjectError::BadName(name, e.to_string()))?;
            out.push(SourceFile {
                name: clean,
                source,
            });
        }
        let entry = out
            .iter()
            .position(|f| f.name == "main.py")
            .or((out.len() == 1).then_some(0))
            .or_else(|| out.iter().position(|f| f.name.ends_with(".py")))
            .ok_or(ProjectError::NoEntry)?;
        Ok(Project { files: out, entry })
    }

    /// One file of code (a plain-text execute message).
    pub fn single(source: &str) -> Project {
        Project {
            files: vec![SourceFile {
                name: "main.py".into(),
                source: source.to_owned(),
            }],
            entry: 0,
        }
    }

    /// The file that runs.
    pub fn entry(&self) -> &SourceFile {
        &self.files[self.entry]
    }

    /// The files written to the board before the run.
    pub fn others(&self) -> impl Iterator<Item = &SourceFile> {
        let entry = self.entry;
        self.files
            .iter()
            .enumerate()
            .filter(move |(i, _)| *i != entry)
            .map(|(_, f)| f)
    }

    /// Board paths of the other files inside `dir` (normalized), with their bytes.
    pub fn targets(&self, dir: &str) -> Result<Vec<(String, &[u8])>, ProjectError> {
        self.others()
            .map(|f| {
                files::normalize_transferable(&files::join(dir, &f.name))
                    .map(|p| (p, f.source.as_bytes()))
                    .map_err(|e| ProjectError::BadName(f.name.clone(), e.to_string()))
            })
            .collect()
    }

    /// The code of the run: the project's folder first on `sys.path`, the project's modules
    /// forgotten (so this run imports its own), then the entry file's source. The set-up runs
    /// in a namespace of its own: it leaves no names at the REPL.
    pub fn run_code(&self, dir: &str) -> String {
        if self.files.len() == 1 {
            return self.entry().source.clone();
        }
        let modules: Vec<String> = self
            .others()
            .filter_map(|f| module_name(&f.name))
            .map(|m| files::py_str(&m))
            .collect();
        let setup = format!(
            "import sys\nif D not in sys.path:sys.path.insert(0,D)\nfor m in ({}{}):sys.modules.pop(m,None)",
            modules.join(","),
            if modules.len() == 1 { "," } else { "" }
        );
        format!(
            "exec({},{{'D':{}}})\n{}",
            files::py_str(&setup),
            files::py_str(dir),
            self.entry().source
        )
    }
}

/// `pkg/util.py` → `pkg.util`; `pkg/__init__.py` → `pkg`; not Python → `None`.
fn module_name(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".py")?;
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    Some(stem.replace('/', "."))
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a [`ProjectRun`] needs from the session.
pub trait ProjectHost {
    fn fs(&mut self, op: FsOp) -> Result<FsId, String>;
    fn upload(&mut self, path: &str, data: Vec<u8>) -> Result<FsId, String>;
    fn run(&mut self, code: &str, label: &str) -> Result<(), String>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Waiting for digests: each operation's id and the files it covers.
    Checking(Vec<(FsId, Vec<String>)>),
    /// Waiting for these uploads.
    Writing(Vec<(String, FsId)>),
    Done,
}

/// How a project run moved on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Still preparing.
    Working,
    /// The entry file was handed to the session to run; `written` files were (re)written.
    Started {
        written: usize,
        unchanged: usize,
    },
    Failed(ProjectError),
}

/// One project being prepared and started on the board.
#[derive(Debug, Clone)]
pub struct ProjectRun {
    project: Project,
    dir: String,
    label: String,
    stage: Stage,
    /// Files whose digest differed, to write once every digest is in.
    to_write: Vec<String>,
    unchanged: usize,
    written: usize,
}

impl ProjectRun {
    /// Starts `project` in folder `dir` (absolute) for `label` (who asked). A single file runs
    /// at once; otherwise the board is asked for the digests of the other files first.
    pub fn start(
        project: Project,
        dir: &str,
        label: &str,
        host: &mut dyn ProjectHost,
    ) -> (ProjectRun, Progress) {
        let dir = files::normalize(dir).unwrap_or_else(|_| "/".into());
        let mut run = ProjectRun {
            project,
            dir,
            label: label.to_owned(),
            stage: Stage::Done,
            to_write: Vec::new(),
            unchanged: 0,
            written: 0,
        };
        let targets = match run.project.targets(&run.dir) {
            Ok(t) => t,
            Err(e) => return (run, Progress::Failed(e)),
        };
        if targets.is_empty() {
            let p = run.launch(host);
            return (run, p);
        }
        let paths: Vec<String> = targets.into_iter().map(|(p, _)| p).collect();
        let mut checking = Vec::new();
        for op in files::digest_ops(&paths) {
            let FsOp::Digest { paths } = &op else {
                continue;
            };
            let paths = paths.clone();
            match host.fs(op) {
                Ok(id) => checking.push((id, paths)),
                Err(e) => return (run, Progress::Failed(ProjectError::Board(e))),
            }
        }
        run.stage = Stage::Checking(checking);
        (run, Progress::Working)
    }

    /// The board paths this run writes (to check them against the station's file policy).
    pub fn paths(project: &Project, dir: &str) -> Result<Vec<String>, ProjectError> {
        Ok(project.targets(dir)?.into_iter().map(|(p, _)| p).collect())
    }

    /// Whether `id` is one of this run's file operations.
    pub fn owns(&self, id: FsId) -> bool {
        match &self.stage {
            Stage::Checking(w) => w.iter().any(|(i, _)| *i == id),
            Stage::Writing(w) => w.iter().any(|(_, i)| *i == id),
            Stage::Done => false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// Who asked for the run.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// A file operation of this run moved on (`WaitingForPrompt` is ignored).
    pub fn on_fs(&mut self, id: FsId, state: &FsState, host: &mut dyn ProjectHost) -> Progress {
        if matches!(state, FsState::WaitingForPrompt) || !self.owns(id) {
            return Progress::Working;
        }
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Checking(mut waiting) => {
                let Some(pos) = waiting.iter().position(|(i, _)| *i == id) else {
                    self.stage = Stage::Checking(waiting);
                    return Progress::Working;
                };
                let (_, paths) = waiting.remove(pos);
                let have: Vec<Option<(u64, String)>> = match state {
                    FsState::Done(FsReply::Digests(d)) => d.clone(),
                    // No hashlib, or another board-side error: write the files anyway.
                    FsState::Failed(FsError::Board { .. } | FsError::Protocol(_)) => vec![],
                    FsState::Failed(e) => return self.fail(ProjectError::Board(e.to_string())),
                    _ => vec![],
                };
                for (i, path) in paths.into_iter().enumerate() {
                    let same = have.get(i).is_some_and(|h| *h == self.wanted(&path));
                    if same {
                        self.unchanged += 1;
                    } else {
                        self.to_write.push(path);
                    }
                }
                if waiting.is_empty() {
                    return self.write_changed(host);
                }
                self.stage = Stage::Checking(waiting);
                Progress::Working
            }
            Stage::Writing(mut waiting) => match state {
                FsState::Failed(e) => {
                    let path = waiting
                        .iter()
                        .find(|(_, i)| *i == id)
                        .map(|(p, _)| p.clone())
                        .unwrap_or_default();
                    self.fail(ProjectError::Write {
                        path,
                        message: e.to_string(),
                    })
                }
                _ => {
                    waiting.retain(|(_, i)| *i != id);
                    if waiting.is_empty() {
                        return self.launch(host);
                    }
                    self.stage = Stage::Writing(waiting);
                    Progress::Working
                }
            },
            Stage::Done => Progress::Working,
        }
    }

    /// The size and SHA-256 the board should hold at `path`.
    fn wanted(&self, path: &str) -> Option<(u64, String)> {
        let targets = self.project.targets(&self.dir).ok()?;
        let (_, data) = targets.into_iter().find(|(p, _)| p == path)?;
        Some((data.len() as u64, sha256_hex(data)))
    }

    fn fail(&mut self, e: ProjectError) -> Progress {
        self.stage = Stage::Done;
        self.to_write.clear();
        Progress::Failed(e)
    }

    fn write_changed(&mut self, host: &mut dyn ProjectHost) -> Progress {
        let paths = std::mem::take(&mut self.to_write);
        self.written = paths.len();
        let targets = match self.project.targets(&self.dir) {
            Ok(t) => t,
            Err(e) => return self.fail(e),
        };
        let mut writing = Vec::new();
        for path in paths {
            let Some((_, data)) = targets.iter().find(|(p, _)| *p == path) else {
                continue;
            };
            match host.upload(&path, data.to_vec()) {
                Ok(id) => writing.push((path, id)),
                Err(message) => return self.fail(ProjectError::Write { path, message }),
            }
        }
        if writing.is_empty() {
            return self.launch(host);
        }
        self.stage = Stage::Writing(writing);
        Progress::Working
    }

    fn launch(&mut self, host: &mut dyn ProjectHost) -> Progress {
        self.stage = Stage::Done;
        match host.run(&self.project.run_code(&self.dir), &self.label) {
            Ok(()) => Progress::Started {
                written: self.written,
                unchanged: self.unchanged,
            },
            Err(e) => Progress::Failed(ProjectError::Board(e)),
        }
    }
}

#[cfg(test)]
mod tests;
