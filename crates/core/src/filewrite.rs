//! Writing a board file through the raw REPL, for links without WebREPL's binary channel (a
//! USB serial port): open, then the data as bytes literals in large raw-paste scripts, then close.
//!
//! A script is `_w(b'…')` (`_w` is the open file's write) with the file's bytes as they are,
//! except the few a raw REPL or Python's lexer would take otherwise (`00`–`04`, CR, LF, `\`,
//! `'`), which get the shortest escape that survives: random data grows by ~4 %, text hardly at
//! all. Boards without raw-paste get the same scripts cut to
//! fit their ~256-byte input buffer ([`MAX_SCRIPT`]). The file is written to the name given;
//! [`crate::session::Session::upload`] writes to a temporary name and renames it after a size
//! check, as over WebREPL.

use crate::files::{py_str, MAX_SCRIPT};
use crate::transfer::TransferId;

/// What to send next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// A short script for the plain raw REPL.
    Plain(String),
    /// A script of any length for raw-paste mode (not valid UTF-8 in general).
    Paste(Vec<u8>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Open,
    Data,
    Close,
    Done,
}

/// One file being written.
#[derive(Debug, Clone)]
pub struct FileWrite {
    pub transfer: TransferId,
    pub path: String,
    data: Vec<u8>,
    /// Data bytes the board has written.
    done: usize,
    /// Data bytes in the script sent and not yet answered.
    pending: usize,
    stage: Stage,
    /// Most data bytes per raw-paste script.
    chunk: usize,
}

impl FileWrite {
    /// A write of `data` to `path` (checked by the caller), `chunk` data bytes per script.
    pub fn new(transfer: TransferId, path: String, data: Vec<u8>, chunk: usize) -> Self {
        FileWrite {
            transfer,
            path,
            data,
            done: 0,
            pending: 0,
            stage: Stage::Open,
            chunk: chunk.max(1),
        }
    }

    pub fn size(&self) -> u64 {
        self.data.len() as u64
    }

    /// Bytes written so far and the total.
    pub fn progress(&self) -> (u64, u64) {
        (self.done as u64, self.data.len() as u64)
    }

    pub fn is_done(&self) -> bool {
        self.stage == Stage::Done
    }

    /// The next script, in raw-paste form when `paste` (the board has raw-paste mode); `None`
    /// when the file is written. The same part comes again until [`Self::answered`].
    pub fn next_part(&mut self, paste: bool) -> Option<Part> {
        match self.stage {
            Stage::Open => Some(Part::Plain(format!(
                "_f=open({},'wb')\n_w=_f.write\n",
                py_str(&self.path)
            ))),
            Stage::Data => {
                let rest = &self.data[self.done..];
                let (script, used) = if paste {
                    data_script(rest, self.chunk, usize::MAX)
                } else {
                    data_script(rest, usize::MAX, MAX_SCRIPT)
                };
                self.pending = used;
                Some(if paste {
                    Part::Paste(script)
                } else {
                    // Only ASCII escapes and the data's own bytes: a plain part must be text,
                    // so bytes ≥ 0x80 are escaped too in this form.
                    Part::Plain(String::from_utf8_lossy(&script).into_owned())
                })
            }
            Stage::Close => Some(Part::Plain("_f.close()\ndel _f,_w\n".into())),
            Stage::Done => None,
        }
    }

    /// The board ran the last part without an error.
    pub fn answered(&mut self) {
        match self.stage {
            Stage::Open => {
                self.stage = if self.data.is_empty() {
                    Stage::Close
                } else {
                    Stage::Data
                }
            }
            Stage::Data => {
                self.done += std::mem::take(&mut self.pending);
                if self.done >= self.data.len() {
                    self.stage = Stage::Close;
                }
            }
            Stage::Close => self.stage = Stage::Done,
            Stage::Done => {}
        }
    }

    /// The script to run after a failure: close the file if it was opened (errors ignored).
    pub fn cleanup(&self) -> Option<String> {
        (self.stage != Stage::Open && self.stage != Stage::Done)
            .then(|| "try:\n _f.close()\n del _f,_w\nexcept:pass\n".to_owned())
    }
}

/// `_w(b'…')` for as much of `data` as fits `max_data` data bytes and `max_len` script bytes
/// (at least one byte); returns the script and the data bytes it holds. With a finite
/// `max_len` (plain raw REPL, which must be text) bytes ≥ 0x80 are escaped too.
fn data_script(data: &[u8], max_data: usize, max_len: usize) -> (Vec<u8>, usize) {
    let text_only = max_len != usize::MAX;
    let mut out = Vec::with_capacity(data.len().min(max_data) * 11 / 10 + 16);
    out.extend_from_slice(b"_w(b'");
    let budget = max_len.saturating_sub(out.len() + 2);
    let mut used = 0;
    let mut esc = [0u8; 4];
    let data = &data[..data.len().min(max_data)];
    for (i, &b) in data.iter().enumerate() {
        let e = escape(b, data.get(i + 1).copied(), text_only, &mut esc);
        if out.len() - 5 + e.len() > budget && used > 0 {
            break;
        }
        out.extend_from_slice(e);
        used += 1;
    }
    out.extend_from_slice(b"')");
    (out, used)
}

/// How byte `b` is written inside `b'…'`, `next` being the data byte after it (if it follows).
///
/// The shortest form that survives: `00`–`04` as one-digit octal escapes (`\0` … `\4`) unless an
/// octal digit follows, which would extend the escape (then `\x00` …). (`01`/`02` would pass
/// raw-paste as they are, but they are keys in the plain raw REPL, and 0.8 % is all they would
/// save.) Random data grows by ~4 % this way (it was ~7 % with `\x` escapes throughout): at
/// 115200 baud that is line time the file's own bytes get.
fn escape(b: u8, next: Option<u8>, text_only: bool, buf: &mut [u8; 4]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let octal_follows = matches!(next, Some(b'0'..=b'7'));
    match b {
        b'\r' => b"\\r",
        b'\n' => b"\\n",
        b'\\' => b"\\\\",
        b'\'' => b"\\'",
        0..=4 if !octal_follows => {
            *buf = [b'\\', b'0' + b, 0, 0];
            &buf[..2]
        }
        0..=4 => {
            *buf = [b'\\', b'x', b'0', HEX[b as usize]];
            &buf[..]
        }
        0x80..=0xff if text_only => {
            *buf = [b'\\', b'x', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]];
            &buf[..]
        }
        _ => {
            buf[0] = b;
            &buf[..1]
        }
    }
}

#[cfg(test)]
#[path = "../tests/common/bytes.rs"]
mod test_bytes;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Evaluates the bytes literal of a data script (`_w(b'…')\n`) as Python would; the
    /// bytes it carries as they are must be none the lexer or the raw REPL would take.
    fn unescape(script: &[u8]) -> Vec<u8> {
        let body = &script[5..script.len() - 2];
        let mut i = 0;
        while i < body.len() {
            if body[i] == b'\\' {
                i += 2; // the escape's first character; the rest are digits
                continue;
            }
            assert!(!matches!(body[i], 0..=4 | b'\r' | b'\n' | b'\''));
            i += 1;
        }
        test_bytes::unescape(body)
    }

    #[test]
    fn a_file_is_open_data_close() {
        let mut w = FileWrite::new(TransferId(1), "/a.bin".into(), vec![0, 1, 200, b'\''], 2);
        assert_eq!(
            w.next_part(true),
            Some(Part::Plain("_f=open('/a.bin','wb')\n_w=_f.write\n".into()))
        );
        w.answered();
        assert_eq!(
            w.next_part(true),
            Some(Part::Paste(b"_w(b'\\0\\1')".to_vec()))
        );
        // Not answered yet: the same part again (a board without raw-paste gets it plain).
        assert_eq!(
            w.next_part(false),
            Some(Part::Plain("_w(b'\\0\\1\\xc8\\'')".into()))
        );
        w.answered();
        assert_eq!(w.progress(), (4, 4));
        assert!(matches!(w.next_part(true), Some(Part::Plain(s)) if s.starts_with("_f.close()")));
        w.answered();
        assert_eq!(w.next_part(true), None);
        assert!(w.is_done());
    }

    #[test]
    fn an_empty_file_is_opened_and_closed() {
        let mut w = FileWrite::new(TransferId(1), "/e".into(), vec![], 4096);
        w.next_part(true);
        w.answered();
        assert!(matches!(w.next_part(true), Some(Part::Plain(s)) if s.starts_with("_f.close()")));
    }

    proptest! {
        #[test]
        fn scripts_carry_every_byte(data in proptest::collection::vec(any::<u8>(), 1..5000), chunk in 1usize..3000, paste: bool) {
            let mut w = FileWrite::new(TransferId(1), "/x".into(), data.clone(), chunk);
            w.next_part(paste);
            w.answered();
            let mut got = Vec::new();
            while let Some(p) = w.next_part(paste) {
                match p {
                    Part::Paste(s) => {
                        prop_assert!(s.len() <= chunk * 4 + 7);
                        if !s.starts_with(b"_f.close") { got.extend(unescape(&s)); }
                    }
                    Part::Plain(s) => {
                        prop_assert!(s.len() <= MAX_SCRIPT);
                        prop_assert!(s.is_ascii());
                        if !s.starts_with("_f.close") { got.extend(unescape(s.as_bytes())); }
                    }
                }
                w.answered();
            }
            prop_assert_eq!(got, data);
        }
    }
}
