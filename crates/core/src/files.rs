//! Board file operations beyond put and get (docs/board-behaviour.md: Resets: list, delete, rename, mkdir), done as
//! short Python scripts in the raw REPL, and the board paths they work on.
//!
//! This module owns the scripts and the parsing of their replies; [`crate::rawrepl`] owns the
//! raw-REPL exchange that carries them, and [`crate::session`] queues them beside the user's
//! terminal. Scripts are kept under [`MAX_SCRIPT`] bytes: a board keeps only ~256 bytes of
//! pending input and the raw REPL has no echo to pace a longer send. Each script defines and
//! deletes one function, so nothing is left in the user's REPL namespace. Names travel back
//! hex-encoded, so any file name (spaces, quotes, non-ASCII) parses exactly.

use crate::transfer::MAX_NAME_LEN;
use thiserror::Error;

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

/// Makes a board path absolute and canonical: `a//b/` → `/a/b`. Refuses `.`/`..` segments,
/// control characters and backslashes (which MicroPython would take literally).
pub fn normalize(path: &str) -> Result<String, FsError> {
    let bad = |why| FsError::BadPath(path.to_owned(), why);
    if path.chars().any(char::is_control) {
        return Err(bad("it contains a control character"));
    }
    if path.contains('\\') {
        return Err(bad("use / to separate folders"));
    }
    let mut out = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        if seg == "." || seg == ".." {
            return Err(bad("`.` and `..` are not supported"));
        }
        out.push('/');
        out.push_str(seg);
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// `normalize`, and refuses paths WebREPL's put/get cannot name (over 63 bytes).
pub fn normalize_transferable(path: &str) -> Result<String, FsError> {
    let p = normalize(path)?;
    if p == "/" {
        return Err(FsError::BadPath(path.to_owned(), "it names no file"));
    }
    if p.len() > MAX_NAME_LEN {
        let len = p.len();
        return Err(FsError::NameTooLong(p, len));
    }
    Ok(p)
}

/// `dir` + `/` + `name`, for a normalized `dir`.
pub fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The folder above a normalized path (`/` for `/x`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last segment of a path.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
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
mod tests {
    use super::*;

    #[test]
    fn run_file_code_reads_then_runs_the_file() {
        let code = run_file_code("lib//it's.py").unwrap_or_default();
        assert_eq!(code, "exec(open('/lib/it\\'s.py').read())\n");
        assert!(matches!(
            run_file_code("/a/../b.py"),
            Err(FsError::BadPath(..))
        ));
    }

    #[test]
    fn paths_are_normalized_and_checked() {
        assert_eq!(normalize("").unwrap(), "/");
        assert_eq!(normalize("a//b/").unwrap(), "/a/b");
        assert_eq!(normalize("/lib/x.py").unwrap(), "/lib/x.py");
        assert!(matches!(normalize("/a/../b"), Err(FsError::BadPath(..))));
        assert!(matches!(normalize("a\nb"), Err(FsError::BadPath(..))));
        assert!(matches!(normalize("a\\b"), Err(FsError::BadPath(..))));
        let n62 = "x".repeat(62);
        assert_eq!(normalize_transferable(&n62).unwrap().len(), 63);
        let n63 = "x".repeat(63);
        assert!(matches!(
            normalize_transferable(&n63),
            Err(FsError::NameTooLong(_, 64))
        ));
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(base_name("/a/b.py"), "b.py");
        assert_eq!(join("/", "x"), "/x");
        assert_eq!(join("/a", "x"), "/a/x");
    }

    #[test]
    fn literals_escape_what_python_needs() {
        assert_eq!(py_str("a'b\\c"), "'a\\'b\\\\c'");
        assert_eq!(py_str("ä\t"), "'ä\\x09'");
    }

    #[test]
    fn every_script_fits_a_board_input_buffer() {
        // The longest transferable path, in two-byte characters and with quotes to escape.
        let long = format!("/{}", "ä".repeat(31));
        let quotes = format!("/{}", "'".repeat(31));
        for p in [long.as_str(), quotes.as_str()] {
            let ops = [
                FsOp::List { dir: p.into() },
                FsOp::Tree { dir: p.into() },
                FsOp::Remove { path: p.into() },
                FsOp::Rename {
                    from: p.into(),
                    to: p.into(),
                },
                FsOp::Mkdir {
                    path: p.into(),
                    parents: true,
                },
                FsOp::Commit {
                    temp: "/.webrepl-4294967295.part".into(),
                    path: p.into(),
                    size: u64::from(u32::MAX),
                },
                FsOp::Discard { path: p.into() },
                FsOp::Digest {
                    paths: vec![p.into()],
                },
            ];
            for op in ops {
                for s in script_parts(&op) {
                    assert!(s.len() <= MAX_SCRIPT, "{op:?}: {} bytes", s.len());
                    assert!(!s.bytes().any(|b| b < 0x20 && b != b'\n'), "{op:?}");
                }
            }
        }
    }

    #[test]
    fn listings_parse_any_name() {
        let out = b"F 12 6d61696e2e7079\r\nD 0 6c6962\r\nF 3 c3a4202763\r\n";
        let r = parse_reply(&FsOp::List { dir: "/".into() }, out, b"").unwrap();
        assert_eq!(
            r,
            FsReply::Listing(vec![
                Entry {
                    name: "lib".into(),
                    kind: EntryKind::Dir,
                    size: 0
                },
                Entry {
                    name: "main.py".into(),
                    kind: EntryKind::File,
                    size: 12
                },
                Entry {
                    name: "ä 'c".into(),
                    kind: EntryKind::File,
                    size: 3
                },
            ])
        );
        let bytes_repr = b"F 1 b'78'\r\n";
        assert!(parse_reply(&FsOp::List { dir: "/".into() }, bytes_repr, b"").is_ok());
        let garbage = b"F x zz\r\n";
        assert!(matches!(
            parse_reply(&FsOp::List { dir: "/".into() }, garbage, b""),
            Err(FsError::Protocol(_))
        ));
    }

    #[test]
    fn digests_parse_or_say_missing() {
        let op = FsOp::Digest {
            paths: vec!["/lib.py".into(), "/gone.py".into()],
        };
        let hex = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            parse_reply(&op, format!("3 {hex}\r\n-\r\n").as_bytes(), b""),
            Ok(FsReply::Digests(vec![Some((3, hex.into())), None]))
        );
        assert!(matches!(
            parse_reply(&op, b"3 abc\r\n-\r\n", b""),
            Err(FsError::Protocol(_))
        ));
        assert!(matches!(
            parse_reply(&op, b"-\r\n", b""),
            Err(FsError::Protocol(_))
        ));
        let err = parse_reply(&op, b"", b"ImportError: no module named 'hashlib'\r\n");
        assert!(matches!(err, Err(FsError::Board { .. })), "{err:?}");
    }

    #[test]
    fn digests_are_packed_into_scripts_that_fit() {
        let short: Vec<String> = (0..3).map(|i| format!("/lib{i}.py")).collect();
        assert_eq!(digest_ops(&short).len(), 1, "three short names: one script");
        let long: Vec<String> = (0..6)
            .map(|i| format!("/{}{i}.py", "ä".repeat(28)))
            .collect();
        let ops = digest_ops(&long);
        assert!(ops.len() > 1);
        let back: Vec<String> = ops
            .iter()
            .flat_map(|op| match op {
                FsOp::Digest { paths } => paths.clone(),
                _ => vec![],
            })
            .collect();
        assert_eq!(back, long, "every path once, in order");
        for op in &ops {
            for s in script_parts(op) {
                assert!(s.len() <= MAX_SCRIPT, "{} bytes", s.len());
            }
        }
    }

    #[test]
    fn board_errors_read_as_messages() {
        let op = FsOp::Remove {
            path: "/nope".into(),
        };
        let err = parse_reply(
            &op,
            b"",
            b"Traceback (most recent call last):\r\n  File \"<stdin>\", line 9\r\nOSError: [Errno 2] ENOENT\r\n",
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "/nope: no such file or folder");
        let op = FsOp::Rename {
            from: "/a".into(),
            to: "/b".into(),
        };
        let err = parse_reply(&op, b"", b"OSError: 17\r\n").unwrap_err();
        assert_eq!(err.to_string(), "/a: already exists");
        let err = parse_reply(&op, b"EXISTS\r\n", b"").unwrap_err();
        assert_eq!(
            err.to_string(),
            "/b: already exists; delete it first or choose another name"
        );
        let commit = FsOp::Commit {
            temp: "/.t".into(),
            path: "/main.py".into(),
            size: 10,
        };
        assert_eq!(
            parse_reply(&commit, b"SIZE 4\r\n", b""),
            Err(FsError::SizeMismatch {
                path: "/main.py".into(),
                got: 4,
                want: 10
            })
        );
        assert_eq!(parse_reply(&commit, b"", b""), Ok(FsReply::Done));
    }
}
