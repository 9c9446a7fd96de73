//! Where the first undecodable character of a stream is: xml-rs reports a
//! decoding error at `1:1` (or, for UTF-16, as an I/O error with no
//! position) whatever its place, so the SAX source reads through a
//! [`DecodePosition`] that follows the bytes the parser is given, decoded
//! as xml-rs decodes them: UTF-16 after a UTF-16 byte order mark, UTF-8
//! otherwise.

use std::io::{self, Read};

/// The encoding the stream is read in, once its first bytes are known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Encoding {
    /// Fewer than two bytes seen: a UTF-16 byte order mark may follow.
    Unknown,
    Utf8,
    Utf16 {
        big_endian: bool,
    },
}

/// A reader that passes its input through unchanged and notes the line
/// and column (1-based, the column in characters) of the first character
/// that cannot be decoded: a byte sequence that is not UTF-8, an unpaired
/// UTF-16 surrogate, or a character cut off by the end of the input, as
/// `Document::open` reports one. It also notes whether the input itself
/// failed, to tell a read error from a decoding error.
pub(super) struct DecodePosition<R> {
    inner: R,
    encoding: Encoding,
    /// The first bytes, while the encoding is unknown.
    head: Vec<u8>,
    line: u64,
    column: u64,
    /// UTF-8: continuation bytes still expected by the current character.
    need: u8,
    /// UTF-8: the range the next continuation byte must fall in (narrower
    /// after some lead bytes: no overlong forms, no surrogates, nothing
    /// past U+10FFFF).
    next: (u8, u8),
    /// UTF-16: the first byte of a code unit.
    half: Option<u8>,
    /// UTF-16: a high surrogate waiting for its low half.
    high: bool,
    first_invalid: Option<(u64, u64)>,
    read_failed: bool,
}

impl<R> DecodePosition<R> {
    pub(super) fn new(inner: R) -> Self {
        DecodePosition {
            inner,
            encoding: Encoding::Unknown,
            head: Vec::new(),
            line: 1,
            column: 1,
            need: 0,
            next: (0x80, 0xBF),
            half: None,
            high: false,
            first_invalid: None,
            read_failed: false,
        }
    }

    /// The line and column of the first undecodable character read so
    /// far.
    pub(super) fn first_invalid(&self) -> Option<(u64, u64)> {
        self.first_invalid
    }

    /// The name of the encoding the input is decoded in.
    pub(super) fn encoding(&self) -> &'static str {
        match self.encoding {
            Encoding::Utf16 { .. } => "UTF-16",
            _ => "UTF-8",
        }
    }

    /// Whether reading the input itself failed.
    pub(super) fn read_failed(&self) -> bool {
        self.read_failed
    }

    fn scan(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        if self.encoding == Encoding::Unknown {
            let take = bytes.len().min(2 - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.head.len() < 2 {
                return;
            }
            let head = std::mem::take(&mut self.head);
            self.encoding = match head[..] {
                [0xFE, 0xFF] => Encoding::Utf16 { big_endian: true },
                [0xFF, 0xFE] => Encoding::Utf16 { big_endian: false },
                _ => {
                    self.encoding = Encoding::Utf8;
                    self.scan_utf8(&head);
                    Encoding::Utf8
                }
            };
        }
        match self.encoding {
            Encoding::Utf16 { big_endian } => self.scan_utf16(bytes, big_endian),
            _ => self.scan_utf8(bytes),
        }
    }

    /// The input ended: a character it cuts off cannot be decoded.
    fn end(&mut self) {
        if self.encoding == Encoding::Unknown {
            // One byte at most, read as UTF-8.
            let head = std::mem::take(&mut self.head);
            self.encoding = Encoding::Utf8;
            self.scan_utf8(&head);
        }
        let cut = self.need > 0 || self.half.is_some() || self.high;
        if cut && self.first_invalid.is_none() {
            self.first_invalid = Some((self.line, self.column));
        }
    }

    fn scan_utf16(&mut self, bytes: &[u8], big_endian: bool) {
        for &b in bytes {
            if self.first_invalid.is_some() {
                return;
            }
            let Some(first) = self.half.take() else {
                self.half = Some(b);
                continue;
            };
            let pair = [first, b];
            let unit = if big_endian {
                u16::from_be_bytes(pair)
            } else {
                u16::from_le_bytes(pair)
            };
            match (self.high, unit) {
                (false, 0xD800..=0xDBFF) => self.high = true,
                (true, 0xDC00..=0xDFFF) => {
                    self.high = false;
                    self.column += 1;
                }
                // A lone surrogate; `column` is where its character starts.
                (true, _) | (false, 0xDC00..=0xDFFF) => {
                    self.first_invalid = Some((self.line, self.column));
                }
                (false, 0x000A) => {
                    self.line += 1;
                    self.column = 1;
                }
                (false, _) => self.column += 1,
            }
        }
    }

    fn scan_utf8(&mut self, bytes: &[u8]) {
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

impl<R: Read> DecodePosition<R> {
    /// Reads the rest of the input, if needed, until the first
    /// undecodable character is found (the parser may have stopped at a
    /// character cut off by the end before reading the end). A read error
    /// ends the search.
    pub(super) fn find_invalid(&mut self) {
        let mut buf = [0u8; 4096];
        while self.first_invalid.is_none() {
            match self.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }
}

impl<R: Read> Read for DecodePosition<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) => {
                if e.kind() != io::ErrorKind::Interrupted {
                    self.read_failed = true;
                }
                return Err(e);
            }
        };
        if n == 0 && !buf.is_empty() {
            self.end();
        }
        self.scan(&buf[..n]);
        Ok(n)
    }
}
