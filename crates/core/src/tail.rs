//! The last few bytes of the board's terminal output, to recognise prompts (`>>> `, `=== `)
//! however the output was split into frames.

/// A fixed-size window over the end of a byte stream.
#[derive(Debug, Clone, Default)]
pub struct Tail {
    buf: Vec<u8>,
}

const KEEP: usize = 64;

impl Tail {
    pub fn new() -> Self {
        Tail {
            buf: Vec::with_capacity(KEEP * 2),
        }
    }

    /// Appends bytes, keeping only the last 64.
    pub fn push(&mut self, bytes: &[u8]) {
        if bytes.len() >= KEEP {
            self.buf.clear();
            self.buf.extend_from_slice(&bytes[bytes.len() - KEEP..]);
            return;
        }
        self.buf.extend_from_slice(bytes);
        if self.buf.len() > KEEP {
            let cut = self.buf.len() - KEEP;
            self.buf.drain(..cut);
        }
    }

    pub fn ends_with(&self, suffix: &[u8]) -> bool {
        self.buf.ends_with(suffix)
    }

    pub fn contains(&self, needle: &[u8]) -> bool {
        needle.is_empty() || self.buf.windows(needle.len()).any(|w| w == needle)
    }

    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_end() {
        let mut t = Tail::new();
        t.push(&[b'x'; 200]);
        t.push(b">>");
        t.push(b"> ");
        assert!(t.ends_with(b">>> "));
        assert!(!t.ends_with(b"=== "));
        t.push(&[b'y'; 70]);
        assert!(!t.contains(b">>>"));
    }
}
