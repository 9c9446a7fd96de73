//! Where the first invalid UTF-8 byte of a stream is: xml-rs reports a
//! decoding error at `1:1` whatever its place, so the SAX source reads
//! through a [`Utf8Position`] that follows the bytes the parser is given.

use std::io::{self, Read};

/// A reader that passes its input through unchanged and notes the line
/// and column (1-based, the column in characters) of the first byte
/// sequence that is not UTF-8, as `Document::open` reports one.
pub(super) struct Utf8Position<R> {
    inner: R,
    line: u64,
    column: u64,
    /// Continuation bytes still expected by the current character.
    need: u8,
    /// The range the next continuation byte must fall in (narrower after
    /// some lead bytes: no overlong forms, no surrogates, nothing past
    /// U+10FFFF).
    next: (u8, u8),
    first_invalid: Option<(u64, u64)>,
}

impl<R> Utf8Position<R> {
    pub(super) fn new(inner: R) -> Self {
        Utf8Position {
            inner,
            line: 1,
            column: 1,
            need: 0,
            next: (0x80, 0xBF),
            first_invalid: None,
        }
    }

    /// The line and column of the first invalid sequence read so far.
    pub(super) fn first_invalid(&self) -> Option<(u64, u64)> {
        self.first_invalid
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.first_invalid.is_some() {
                return;
            }
            if self.need > 0 {
                if (self.next.0..=self.next.1).contains(&b) {
                    self.need -= 1;
                    self.next = (0x80, 0xBF);
                    if self.need == 0 {
                        // The character is whole: the next one is in the
                        // next column.
                        self.column += 1;
                    }
                    continue;
                }
                // The character that started before this byte is cut
                // short: its first byte is at the current column.
                self.first_invalid = Some((self.line, self.column));
                return;
            }
            // A new character starts here; `column` is its column.
            let (need, next) = match b {
                0x00..=0x7F => (0, (0x80, 0xBF)),
                0xC2..=0xDF => (1, (0x80, 0xBF)),
                0xE0 => (2, (0xA0, 0xBF)),
                0xED => (2, (0x80, 0x9F)),
                0xE1..=0xEF => (2, (0x80, 0xBF)),
                0xF0 => (3, (0x90, 0xBF)),
                0xF1..=0xF3 => (3, (0x80, 0xBF)),
                0xF4 => (3, (0x80, 0x8F)),
                _ => {
                    self.first_invalid = Some((self.line, self.column));
                    return;
                }
            };
            if b == b'\n' {
                self.line += 1;
                self.column = 1;
                continue;
            }
            if need == 0 {
                self.column += 1;
            } else {
                // The column moves on once the character is whole, so an
                // error inside it reports the column where it starts.
                self.need = need;
                self.next = next;
            }
        }
    }
}

impl<R: Read> Read for Utf8Position<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.scan(&buf[..n]);
        Ok(n)
    }
}
