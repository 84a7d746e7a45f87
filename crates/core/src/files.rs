//! Board file operations beyond put and get (docs/board-behaviour.md: Resets: list, delete, rename, mkdir), done as
//! short Python scripts in the raw REPL, and the board paths they work on.
//!
//! This module owns the scripts and the parsing of their replies; [`crate::rawrepl`] owns the
//! raw-REPL exchange that carries them, and [`crate::session`] queues them beside the user's
//! terminal. Scripts are kept under [`MAX_SCRIPT`] bytes: a board keeps only ~256 bytes of
//! pending input and the raw REPL has no echo to pace a longer send. Each script defines and
//! deletes one function, so nothing is left in the user's REPL namespace. Names travel back
//! hex-encoded, so any file name (spaces, quotes, non-ASCII) parses exactly.

use thiserror::Error;

mod paths;

pub use paths::{base_name, join, normalize, normalize_transferable, parent};

/// Identifies one requested file operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FsId(pub u32);

/// Longest script sent in one piece (boards keep ~256 bytes of input).
pub const MAX_SCRIPT: usize = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    Dir,
    File,
}

/// One file or folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name in its folder ([`FsOp::List`]) or the full path ([`FsOp::Tree`]).
    pub name: String,
    pub kind: EntryKind,
    pub size: u64,
}

/// An operation on the board's filesystem. Paths are absolute (see [`normalize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsOp {
    /// The entries of a folder, folders first, then by name.
    List { dir: String },
    /// Every file and folder below `dir`, with full paths (for folder downloads).
    Tree { dir: String },
    /// Deletes a file, or a folder with everything in it.
    Remove { path: String },
    /// Renames or moves; refuses to replace an existing target.
    Rename { from: String, to: String },
    /// Makes a folder; with `parents`, also the missing folders above it and no error if it
    /// exists.
    Mkdir { path: String, parents: bool },
    /// The last step of a safe upload: checks that `temp` holds `size` bytes, makes the folders
    /// above `path`, then renames `temp` over `path`. On a size mismatch `temp` is removed and
    /// `path` is untouched.
    Commit {
        temp: String,
        path: String,
        size: u64,
    },
    /// Removes a file if it exists (cleanup of an upload's temporary file).
    Discard { path: String },
    /// The size and SHA-256 of each file that exists (to skip rewriting unchanged files).
    /// [`digest_ops`] packs paths into operations whose script fits a board's input buffer.
    Digest { paths: Vec<String> },
}

impl FsOp {
    /// The path the operation is about (for messages).
    pub fn path(&self) -> &str {
        match self {
            FsOp::List { dir } | FsOp::Tree { dir } => dir,
            FsOp::Remove { path } | FsOp::Mkdir { path, .. } | FsOp::Discard { path } => path,
            FsOp::Digest { paths } => paths.first().map(String::as_str).unwrap_or("/"),
            FsOp::Rename { from, .. } => from,
            FsOp::Commit { path, .. } => path,
        }
    }

    /// The same operation with every path normalized (see [`normalize`]).
    pub fn normalized(self) -> Result<FsOp, FsError> {
        let n = normalize;
        Ok(match self {
            FsOp::List { dir } => FsOp::List { dir: n(&dir)? },
            FsOp::Tree { dir } => FsOp::Tree { dir: n(&dir)? },
            FsOp::Remove { path } => FsOp::Remove { path: n(&path)? },
            FsOp::Rename { from, to } => FsOp::Rename {
                from: n(&from)?,
                to: n(&to)?,
            },
            FsOp::Mkdir { path, parents } => FsOp::Mkdir {
                path: n(&path)?,
                parents,
            },
            FsOp::Commit { temp, path, size } => FsOp::Commit {
                temp: n(&temp)?,
                path: n(&path)?,
                size,
            },
            FsOp::Discard { path } => FsOp::Discard { path: n(&path)? },
            FsOp::Digest { paths } => FsOp::Digest {
                paths: paths.iter().map(|p| n(p)).collect::<Result<_, _>>()?,
            },
        })
    }

    /// Every path the operation changes (to check them against protected paths).
    pub fn changed_paths(&self) -> Vec<&str> {
        match self {
            FsOp::List { .. } | FsOp::Tree { .. } | FsOp::Digest { .. } => vec![],
            FsOp::Remove { path } | FsOp::Mkdir { path, .. } | FsOp::Discard { path } => {
                vec![path]
            }
            FsOp::Rename { from, to } => vec![from, to],
            FsOp::Commit { path, .. } => vec![path],
        }
    }
}

/// What a finished operation returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsReply {
    Listing(Vec<Entry>),
    /// [`FsOp::Digest`]: each file's size and SHA-256 (lowercase hex), or `None` when it does
    /// not exist, in the order of the paths.
    Digests(Vec<Option<(u64, String)>>),
    Done,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FsError {
    #[error("not connected to a board")]
    NotConnected,
    #[error("\"{0}\" is not a usable board path ({1})")]
    BadPath(String, &'static str),
    #[error("the path \"{0}\" is {1} bytes in UTF-8; WebREPL file transfer allows at most 63 — use a shorter name or folder")]
    NameTooLong(String, usize),
    #[error("{path}: {message}")]
    Board { path: String, message: String },
    #[error("{path}: the board stored {got} of {want} bytes (full filesystem?); the upload was discarded and the old file kept")]
    SizeMismatch { path: String, got: u64, want: u64 },
    #[error("the board did not answer a file command within {0} s; it was interrupted")]
    Timeout(u64),
    #[error("the board's reply to a file command was not understood: {0}")]
    Protocol(String),
    #[error("{0} file operations are already waiting; try again when they are done")]
    QueueFull(usize),
    #[error("cancelled")]
    Cancelled,
    #[error("the connection closed before the file operation finished")]
    ConnectionLost,
    #[error("upload of {path} failed: {message}")]
    Upload { path: String, message: String },
    /// Refused or failed at the Edrys station, with its message.
    #[error("{0}")]
    Station(String),
}

/// A Python string literal for `s`: UTF-8 as it is (the raw REPL takes bytes as they are),
/// quotes, backslashes and control characters escaped.
pub fn py_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

// Each script: `def _w(…)` with the work, then `_w(args)` guarded so `_w` is deleted even when
// it raises. Listings print `D|F SIZE HEXNAME` per line.
const LIST: &str = "def _w(p):
 import os,binascii as h
 for e in os.ilistdir(p):
  try:s=os.stat(p.rstrip('/')+'/'+e[0])[6]
  except:s=0
  print('FD'[e[1]>>14&1],s,h.hexlify(e[0]))
";

const TREE: &str = "def _w(p):
 import os,binascii as h
 def r(d):
  for e in os.ilistdir(d):
   f=d.rstrip('/')+'/'+e[0];t=e[1]>>14&1
   print('FD'[t],t or os.stat(f)[6],h.hexlify(f))
   if t:r(f)
 r(p)
";

const REMOVE: &str = "def _w(p):
 import os
 def r(f):
  if os.stat(f)[0]>>14&1:
   for n in os.listdir(f):r(f+'/'+n)
   os.rmdir(f)
  else:os.remove(f)
 r(p)
";

const RENAME: &str = "def _w(a,b):
 import os
 try:os.stat(b)
 except:return os.rename(a,b)
 print('EXISTS')
";

const MKDIR: &str = "def _w(p):
 import os
 os.mkdir(p)
";

const MKDIRS: &str = "def _w(p):
 import os
 q=''
 for s in p.split('/')[1:]:
  q+='/'+s
  try:os.stat(q)
  except:os.mkdir(q)
";

const COMMIT: &str = "def _w(t,p,n):
 import os
 s=os.stat(t)[6]
 if s!=n:os.remove(t);return print('SIZE',s)
 q=''
 for d in p.split('/')[1:-1]:
  q+='/'+d
  try:os.mkdir(q)
  except:pass
 try:os.rename(t,p)
 except:os.remove(p);os.rename(t,p)
";

const DIGEST: &str = "def _w(*P):
 import hashlib,binascii
 for p in P:
  try:f=open(p,'rb')
  except:print('-');continue
  d=hashlib.sha256();n=0
  while c:=f.read(512):d.update(c);n+=len(c)
  f.close();print(n,binascii.hexlify(d.digest()).decode())
";

const DISCARD: &str = "def _w(p):
 import os
 try:os.remove(p)
 except:pass
";

/// The Python source for `op`, in pieces of at most [`MAX_SCRIPT`] bytes, each sent as one
/// raw-REPL command: the definition and the call go apart when together they are too long.
pub fn script_parts(op: &FsOp) -> Vec<String> {
    let (body, call) = script_pieces(op);
    if body.len() + call.len() <= MAX_SCRIPT {
        vec![format!("{body}{call}")]
    } else {
        vec![body.to_owned(), call]
    }
}

/// The code that runs a Python file of the board at the REPL, as its own `main.py` would run
/// (its names stay in the REPL's namespace, to look at afterwards). Sent as a run (paste mode).
pub fn run_file_code(path: &str) -> Result<String, FsError> {
    let path = normalize(path)?;
    Ok(format!("exec(open({}).read())\n", py_str(&path)))
}

/// The whole Python source for `op` (for reading; the session sends [`script_parts`]).
pub fn script(op: &FsOp) -> String {
    script_parts(op).concat()
}

fn script_pieces(op: &FsOp) -> (&'static str, String) {
    let (body, args) = match op {
        FsOp::List { dir } => (LIST, py_str(dir)),
        FsOp::Tree { dir } => (TREE, py_str(dir)),
        FsOp::Remove { path } => (REMOVE, py_str(path)),
        FsOp::Rename { from, to } => (RENAME, format!("{},{}", py_str(from), py_str(to))),
        FsOp::Mkdir { path, parents } => (if *parents { MKDIRS } else { MKDIR }, py_str(path)),
        FsOp::Commit { temp, path, size } => {
            (COMMIT, format!("{},{},{size}", py_str(temp), py_str(path)))
        }
        FsOp::Discard { path } => (DISCARD, py_str(path)),
        FsOp::Digest { paths } => (
            DIGEST,
            paths
                .iter()
                .map(|p| py_str(p))
                .collect::<Vec<_>>()
                .join(","),
        ),
    };
    (body, format!("try:_w({args})\nfinally:del _w\n"))
}

/// Reads a finished script's output (`stdout`) and exception text (`stderr`), both as the
/// raw REPL returned them (between `OK` and the `04` markers).
pub fn parse_reply(op: &FsOp, stdout: &[u8], stderr: &[u8]) -> Result<FsReply, FsError> {
    if !stderr.is_empty() {
        return Err(board_error(op, stderr));
    }
    match op {
        FsOp::List { .. } | FsOp::Tree { .. } => {
            let mut entries = Vec::new();
            for line in stdout.split(|&b| b == b'\n') {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                if line.is_empty() {
                    continue;
                }
                entries.push(parse_entry(line).ok_or_else(|| {
                    FsError::Protocol(format!(
                        "listing line {:?}",
                        String::from_utf8_lossy(&line[..line.len().min(80)])
                    ))
                })?);
            }
            entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
            if matches!(op, FsOp::Tree { .. }) {
                entries.sort_by(|a, b| a.name.cmp(&b.name));
            }
            Ok(FsReply::Listing(entries))
        }
        FsOp::Commit { path, size, .. } => {
            let text = String::from_utf8_lossy(stdout);
            if let Some(got) = text.trim().strip_prefix("SIZE ") {
                let got = got.trim().parse().unwrap_or(0);
                return Err(FsError::SizeMismatch {
                    path: path.clone(),
                    got,
                    want: *size,
                });
            }
            Ok(FsReply::Done)
        }
        FsOp::Digest { paths } => {
            let text = String::from_utf8_lossy(stdout);
            let digests = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(parse_digest)
                .collect::<Result<Vec<_>, _>>()?;
            if digests.len() != paths.len() {
                return Err(FsError::Protocol(format!(
                    "{} digests for {} files",
                    digests.len(),
                    paths.len()
                )));
            }
            Ok(FsReply::Digests(digests))
        }
        FsOp::Rename { to, .. } if String::from_utf8_lossy(stdout).trim() == "EXISTS" => {
            Err(FsError::Board {
                path: to.clone(),
                message: "already exists; delete it first or choose another name".into(),
            })
        }
        _ => Ok(FsReply::Done),
    }
}

/// `SIZE HEX` or `-` (no such file).
fn parse_digest(line: &str) -> Result<Option<(u64, String)>, FsError> {
    if line == "-" {
        return Ok(None);
    }
    let mut parts = line.split(' ');
    let size = parts.next().and_then(|n| n.parse().ok());
    let hex = parts.next().filter(|h| {
        h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) && parts.next().is_none()
    });
    match (size, hex) {
        (Some(n), Some(h)) => Ok(Some((n, h.to_ascii_lowercase()))),
        _ => Err(FsError::Protocol(format!(
            "digest line {:?}",
            line.chars().take(80).collect::<String>()
        ))),
    }
}

/// Digest operations for `paths` (normalized), as few as fit: each operation's call, and so
/// each piece of its script, stays within [`MAX_SCRIPT`].
pub fn digest_ops(paths: &[String]) -> Vec<FsOp> {
    let mut ops = Vec::new();
    let mut group: Vec<String> = Vec::new();
    for p in paths {
        group.push(p.clone());
        let fits = script_parts(&FsOp::Digest {
            paths: group.clone(),
        })
        .iter()
        .all(|s| s.len() <= MAX_SCRIPT);
        if !fits && group.len() > 1 {
            let last = group.pop().unwrap_or_default();
            ops.push(FsOp::Digest {
                paths: std::mem::take(&mut group),
            });
            group.push(last);
        }
    }
    if !group.is_empty() {
        ops.push(FsOp::Digest { paths: group });
    }
    ops
}

fn parse_entry(line: &[u8]) -> Option<Entry> {
    let text = std::str::from_utf8(line).ok()?;
    let mut parts = text.split(' ');
    let kind = match parts.next()? {
        "D" => EntryKind::Dir,
        "F" => EntryKind::File,
        _ => return None,
    };
    let size = parts.next()?.parse().ok()?;
    let hex = parts.next()?;
    // hexlify() prints as b'…' on some ports and as a plain string on none; accept both.
    let hex = hex
        .strip_prefix("b'")
        .and_then(|h| h.strip_suffix('\''))
        .unwrap_or(hex);
    if parts.next().is_some() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(Entry {
        name: String::from_utf8_lossy(&bytes).into_owned(),
        kind,
        size: if kind == EntryKind::Dir { 0 } else { size },
    })
}

/// The last line of a traceback (`OSError: [Errno 2] ENOENT`) as a message a user can act on.
fn board_error(op: &FsOp, stderr: &[u8]) -> FsError {
    FsError::Board {
        path: op.path().to_owned(),
        message: traceback_message(stderr),
    }
}

/// The last line of a board's traceback in words (`OSError: [Errno 2] ENOENT` → "no such file
/// or folder"), for any script the raw REPL ran.
pub(crate) fn traceback_message(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let last = text
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
        .to_owned();
    let errno = ERRNO
        .iter()
        .find(|(code, name, _)| {
            last.contains(name)
                || last.contains(&format!("[Errno {code}]"))
                || last.ends_with(&format!("OSError: {code}"))
        })
        .map(|(_, _, what)| *what);
    match errno {
        Some(what) => what.to_owned(),
        None if last.contains("KeyboardInterrupt") => "interrupted".to_owned(),
        None if last.contains("MemoryError") => {
            "the board ran out of memory; try a smaller folder or file".to_owned()
        }
        None if last.contains("SyntaxError") || last.contains("NameError") => {
            format!("the board could not run the file command ({last}); input may have been lost")
        }
        None => last,
    }
}

const ERRNO: &[(u32, &str, &str)] = &[
    (2, "ENOENT", "no such file or folder"),
    (17, "EEXIST", "already exists"),
    (20, "ENOTDIR", "not a folder"),
    (21, "EISDIR", "is a folder"),
    (39, "ENOTEMPTY", "the folder is not empty"),
    (13, "EACCES", "permission denied"),
    (30, "EROFS", "the filesystem is read-only"),
    (28, "ENOSPC", "no space left on the board's filesystem"),
    (22, "EINVAL", "invalid name or operation"),
    (5, "EIO", "input/output error on the board's filesystem"),
    (16, "EBUSY", "busy (a file may be open)"),
];

#[cfg(test)]
mod tests;
