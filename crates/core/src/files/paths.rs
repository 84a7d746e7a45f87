//! Board paths: made absolute and canonical, checked for what WebREPL can name, joined and
//! taken apart.

use super::FsError;
use crate::transfer::MAX_NAME_LEN;

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
