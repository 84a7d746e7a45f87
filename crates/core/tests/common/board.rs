//! A model of a board's binary side as MicroPython's WebREPL reads it (docs/board-behaviour.md:
//! Files), byte by byte: 82-byte headers whose op byte alone decides (the signature is never
//! checked), put data, one get chunk for every byte read during a get, the version reply, and
//! any other op opening its file (a name that cannot be opened drops the session; one that can
//! leaves the board ignoring binary input).

use std::collections::HashMap;

enum Mode {
    Header,
    Put {
        name: String,
        left: u64,
        data: Vec<u8>,
    },
    Get {
        data: Vec<u8>,
        off: usize,
    },
    Stuck,
}

pub struct Board {
    pub files: HashMap<String, Vec<u8>>,
    header: Vec<u8>,
    mode: Mode,
    /// Binary bytes sent and not yet taken.
    out: Vec<u8>,
    /// All binary bytes sent so far.
    pub sent: usize,
    /// Offsets in the sent stream where each get chunk (the empty one included) ends.
    pub chunk_ends: Vec<usize>,
    pub versions: usize,
    pub dropped: bool,
}

impl Board {
    pub fn new() -> Board {
        Board {
            files: HashMap::new(),
            header: Vec::new(),
            mode: Mode::Header,
            out: Vec::new(),
            sent: 0,
            chunk_ends: Vec::new(),
            versions: 0,
            dropped: false,
        }
    }

    /// Ready for a new header, with no part of one read.
    pub fn is_idle(&self) -> bool {
        matches!(self.mode, Mode::Header) && self.header.is_empty() && !self.dropped
    }

    /// The binary bytes sent since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn send(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
        self.sent += b.len();
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.dropped {
                return;
            }
            self.byte(b);
        }
    }

    fn byte(&mut self, b: u8) {
        match &mut self.mode {
            Mode::Stuck => {}
            Mode::Put { name, left, data } => {
                data.push(b);
                *left -= 1;
                if *left == 0 {
                    let (name, data) = (std::mem::take(name), std::mem::take(data));
                    self.files.insert(name, data);
                    self.mode = Mode::Header;
                    self.send(b"WB\0\0");
                }
            }
            Mode::Get { data, off } => {
                let end = (*off + 256).min(data.len());
                let chunk = data[*off..end].to_vec();
                *off = end;
                let mut m = (chunk.len() as u16).to_le_bytes().to_vec();
                m.extend_from_slice(&chunk);
                self.send(&m);
                self.chunk_ends.push(self.sent);
                if chunk.is_empty() {
                    self.mode = Mode::Header;
                    self.send(b"WB\0\0");
                }
            }
            Mode::Header => {
                self.header.push(b);
                if self.header.len() == 82 {
                    let h = std::mem::take(&mut self.header);
                    self.op(&h);
                }
            }
        }
    }

    fn op(&mut self, h: &[u8]) {
        let field = &h[18..82];
        let end = field.iter().position(|&c| c == 0).unwrap_or(64);
        let name = String::from_utf8_lossy(&field[..end]).into_owned();
        match h[2] {
            3 => {
                self.versions += 1;
                self.send(&[1, 27, 0]);
            }
            1 => {
                let left = u64::from(u32::from_le_bytes([h[12], h[13], h[14], h[15]]));
                self.send(b"WB\0\0");
                if left == 0 {
                    self.files.insert(name, vec![]);
                    self.send(b"WB\0\0");
                } else {
                    self.mode = Mode::Put {
                        name,
                        left,
                        data: vec![],
                    };
                }
            }
            op => match self.files.get(&name).cloned() {
                None => self.dropped = true,
                Some(data) => {
                    self.mode = if op == 2 {
                        Mode::Get { data, off: 0 }
                    } else {
                        Mode::Stuck
                    };
                    self.send(b"WB\0\0");
                }
            },
        }
    }
}
