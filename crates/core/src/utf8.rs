//! Streaming UTF-8 decoding of the terminal byte stream (docs/board-behaviour.md: Terminal).
//!
//! The board sends its output as many small text frames and does not care where a character
//! ends: a multi-byte character may be split across frames, and stray bytes (e.g.
//! `sys.stdout.buffer.write(b"\xff")`) are possible. [`Utf8Stream`] holds an incomplete
//! character until the next chunk completes it and replaces invalid bytes by U+FFFD, exactly as
//! decoding the whole stream at once would (checked by property tests).

/// Incremental UTF-8 decoder. Never panics, whatever the input.
#[derive(Debug, Clone, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes `input`, appending complete characters to `out`. A character that is cut off at
    /// the end of `input` is kept until the next call.
    pub fn decode(&mut self, input: &[u8], out: &mut String) {
        if self.pending.is_empty() {
            let rest = decode_into(input, out);
            self.pending.extend_from_slice(rest);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(input);
            let rest = decode_into(&joined, out).to_vec();
            self.pending = rest;
        }
    }

    /// Ends the stream: an incomplete character left over becomes U+FFFD.
    pub fn finish(&mut self, out: &mut String) {
        if !self.pending.is_empty() {
            self.pending.clear();
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }

    /// True while part of a character is held back.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Clears the state (a new session starts a new stream).
    pub fn reset(&mut self) {
        self.pending.clear();
    }
}

/// Decodes as much of `bytes` as possible into `out`; returns the incomplete tail (≤ 3 bytes).
fn decode_into<'a>(mut bytes: &'a [u8], out: &mut String) -> &'a [u8] {
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                out.push_str(s);
                return &[];
            }
            Err(e) => {
                let (valid, after) = bytes.split_at(e.valid_up_to());
                // SAFETY of the expect-free path: `valid_up_to` marks a valid prefix.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    None => return after,
                    Some(n) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        bytes = &after[n..];
                    }
                }
            }
        }
    }
}

/// Returns the longest prefix of `s` no longer than `max` bytes that ends on a character
/// boundary (at least one character when `max` is smaller than the first character).
pub fn prefix_at_boundary(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    if end == 0 {
        end = s.chars().next().map_or(0, char::len_utf8);
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn joins_a_character_split_across_frames() {
        let mut d = Utf8Stream::new();
        let mut out = String::new();
        let check = "✓".as_bytes();
        d.decode(&check[..1], &mut out);
        assert_eq!(out, "");
        d.decode(&check[1..2], &mut out);
        d.decode(&check[2..], &mut out);
        assert_eq!(out, "✓");
        assert!(!d.has_pending());
    }

    #[test]
    fn replaces_invalid_bytes_like_the_capture() {
        // invalid_utf8.jsonl: one text frame 41 ff 42 e2 9c, then "5".
        let mut d = Utf8Stream::new();
        let mut out = String::new();
        d.decode(&[0x41, 0xff, 0x42, 0xe2, 0x9c], &mut out);
        assert_eq!(out, "A\u{fffd}B");
        d.decode(b"5", &mut out);
        assert_eq!(out, "A\u{fffd}B\u{fffd}5");
    }

    #[test]
    fn finish_flushes_an_incomplete_character() {
        let mut d = Utf8Stream::new();
        let mut out = String::new();
        d.decode(&[0xe2, 0x9c], &mut out);
        d.finish(&mut out);
        assert_eq!(out, "\u{fffd}");
    }

    #[test]
    fn matches_lossy_decoding_of_the_whole_stream() {
        let samples: &[&[u8]] = &[
            b"plain",
            &[0xf0, 0x9f, 0x98, 0x80, 0xff],
            &[0xc3],
            &[0xed, 0xa0, 0x80],
        ];
        for s in samples {
            let mut d = Utf8Stream::new();
            let mut out = String::new();
            for b in s.iter() {
                d.decode(std::slice::from_ref(b), &mut out);
            }
            d.finish(&mut out);
            assert_eq!(out, whole(s));
        }
    }

    #[test]
    fn prefix_never_splits_a_character() {
        assert_eq!(prefix_at_boundary("äöü", 3), "ä");
        assert_eq!(prefix_at_boundary("äöü", 4), "äö");
        assert_eq!(prefix_at_boundary("✓x", 1), "✓");
        assert_eq!(prefix_at_boundary("ab", 9), "ab");
    }
}
