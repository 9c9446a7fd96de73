//! Arbitrary bytes through both XML sources (`sax`, on xml-rs, and
//! `Document`/`parse_str`, on quick-xml) into the bus stages of the
//! examples (`buses_to_dicts` → `filter_on_field` → `bus_info_printer`).
//!
//! Nothing may panic, and every error must be one a user can act on: an
//! `XmlError` whose line and column lie inside the document, exactly at
//! the first undecodable character when the document's encoding is what is
//! wrong, or the printer's own "a bus has no <field>".
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../examples/common/mod.rs"]
mod common;

use std::io::Write as _;

use corio::pipe::xml::{self, Document, XmlError};
use corio::pipe::{Consumer, Error};
use libfuzzer_sys::fuzz_target;

fn bus_stages<'a, 'd: 'a>() -> Consumer<'a, xml::Event<'d>> {
    let printer = common::bus_info_printer(std::io::sink());
    let direction = common::filter_on_field("direction", "North Bound", printer);
    common::buses_to_dicts(common::filter_on_field("route", "22", direction))
}

/// 1-based line and column (in characters) of where `prefix` ends.
fn end_of(prefix: impl Iterator<Item = char>) -> (u64, u64) {
    let (mut line, mut column) = (1, 1);
    for c in prefix {
        if c == '\n' {
            (line, column) = (line + 1, 1);
        } else {
            column += 1;
        }
    }
    (line, column)
}

/// How the document decodes: its characters up to the first that cannot
/// be decoded, and whether there is one. With `bom`, a UTF-16 byte order
/// mark selects UTF-16, as xml-rs (the `sax` source) does; `Document`
/// reads UTF-8 only.
fn decode(data: &[u8], bom: bool) -> (Vec<char>, bool) {
    let utf16 = match data {
        [0xFE, 0xFF, ..] if bom => Some(u16::from_be_bytes as fn([u8; 2]) -> u16),
        [0xFF, 0xFE, ..] if bom => Some(u16::from_le_bytes as fn([u8; 2]) -> u16),
        _ => None,
    };
    if let Some(unit) = utf16 {
        let body = &data[2..];
        let units = body.chunks_exact(2).map(|p| unit([p[0], p[1]]));
        let mut chars = Vec::new();
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => chars.push(c),
                Err(_) => return (chars, true),
            }
        }
        return (chars, body.len() % 2 != 0);
    }
    match std::str::from_utf8(data) {
        Ok(s) => (s.chars().collect(), false),
        Err(e) => {
            let valid = std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid prefix");
            (valid.chars().collect(), true)
        }
    }
}

/// Whether an XML declaration may have switched the decoder to another
/// encoding (then only the looser checks apply).
fn declares_encoding(data: &[u8]) -> bool {
    data.windows(8).any(|w| w.eq_ignore_ascii_case(b"encoding"))
}

fn check(source: &str, data: &[u8], result: Result<(), Error>) {
    let Err(error) = result else { return };
    if error.to_string().starts_with("a bus has no <") {
        return;
    }
    let Some(e) = error.downcast_ref::<XmlError>() else {
        panic!("{source}: an error without a position: {error:?}");
    };
    let XmlError { line, column, .. } = *e;
    let (chars, undecodable) = decode(data, source == "sax");
    // Inside the document: at most one past its last character (counted in
    // bytes too, for documents in another encoding).
    // A lone '\r' ends a line too (XML normalizes it to '\n').
    let lines = data
        .iter()
        .zip(data.iter().skip(1).map(Some).chain([None]))
        .filter(|&(&b, next)| b == b'\n' || (b == b'\r' && next != Some(&b'\n')))
        .count() as u64
        + 1;
    assert!(
        line >= 1 && column >= 1 && line <= lines,
        "{source}: {error} is outside the document"
    );
    let utf16 = source == "sax" && matches!(data, [0xFE, 0xFF, ..] | [0xFF, 0xFE, ..]);
    let longest = if utf16 {
        // A line of UTF-16 has fewer characters than the document has
        // code units; its bytes say nothing of where its lines end.
        data.len() / 2
    } else {
        data.split(|&b| b == b'\n')
            .map(<[u8]>::len)
            .max()
            .unwrap_or(0)
    };
    assert!(
        column <= longest as u64 + 2,
        "{source}: {error} is past the end of every line"
    );
    if undecodable && !declares_encoding(data) && is_about_encoding(e) {
        let at = end_of(chars.iter().copied());
        assert_eq!(
            (line, column),
            at,
            "{source}: {error} is not where the first undecodable character is"
        );
    }
}

/// Whether the error says the document cannot be decoded (the messages
/// of the sources, and of the decoders, which begin with no document
/// text, unlike a syntax error's).
fn is_about_encoding(e: &XmlError) -> bool {
    let m = e.message.to_ascii_lowercase();
    [
        "the document is not",
        "the document cannot be decoded",
        "invalid utf-8",
        "incomplete utf-8",
        "unpaired surrogate",
    ]
    .iter()
    .any(|w| m.starts_with(w))
}

fuzz_target!(|data: &[u8]| {
    check("sax", data, xml::sax(data, bus_stages()));
    match std::str::from_utf8(data) {
        Ok(text) => check("parse_str", data, xml::parse_str(text, bus_stages())),
        Err(_) => {
            // `Document::open` reports where the text stops being UTF-8.
            let mut file = tempfile();
            file.as_file_mut()
                .write_all(data)
                .expect("write the document");
            let result = Document::open(file.path()).map(drop);
            let error = result.expect_err("a document that is not UTF-8");
            check("Document::open", data, Err(error));
        }
    }
});

/// A file that is removed when dropped.
struct TempFile(std::path::PathBuf, std::fs::File);

impl TempFile {
    fn as_file_mut(&mut self) -> &mut std::fs::File {
        &mut self.1
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile() -> TempFile {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("corio-fuzz-{}.xml", std::process::id()));
    let file = std::fs::File::create(&path).expect("create a temporary file");
    TempFile(path, file)
}
