//! Test bytes shared by the core's and the CLI's tests: data that looks random, and a Python
//! bytes literal's body evaluated as Python reads it.
#![allow(dead_code)]

/// Bytes that look random (xorshift: every byte value, in no pattern a literal could hide).
pub fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The bytes of a Python bytes literal's `body` (between its quotes): `\r`, `\n`, `\\`, `\'`,
/// `\xHH`, and octal escapes of one to three digits, as Python reads them.
pub fn unescape(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let c = body[i + 1];
        i += 2;
        out.push(match c {
            b'r' => b'\r',
            b'n' => b'\n',
            b'\\' => b'\\',
            b'\'' => b'\'',
            b'x' => {
                let hex = std::str::from_utf8(&body[i..i + 2]).unwrap_or("zz");
                i += 2;
                u8::from_str_radix(hex, 16).expect("a hex escape")
            }
            b'0'..=b'7' => {
                let mut v = u32::from(c - b'0');
                let mut digits = 1;
                while digits < 3 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    v = v * 8 + u32::from(body[i] - b'0');
                    i += 1;
                    digits += 1;
                }
                v as u8
            }
            other => panic!(
                "an escape Python would not read as we write: \\{}",
                other as char
            ),
        });
    }
    out
}
