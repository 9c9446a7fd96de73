//! XML sources: parse a document and push its events into a pipeline.
//!
//! Two parsers, one event type, so the same stages run behind either:
//!
//! - [`sax`] / [`sax_file`] use the `xml` crate (xml-rs), an event reader
//!   in the style of Python's `xml.sax`. Events own their text
//!   (`Event<'static>`). Text arrives in the pieces in which Python's
//!   expat-based SAX delivers it: each line break is an event of its own, so
//!   a program printing the events prints what the seed's `basicsax.py`
//!   prints.
//! - [`parse_str`] and [`Document`] use `quick-xml`, a lower-level and much
//!   faster parser (the seed's expat example). Events borrow names, text
//!   and attributes from the document (`Event<'doc>`), so no text is copied
//!   (only attribute values that normalization or an entity changes, and
//!   character references); a text run arrives whole.
//!
//! Both report malformed XML as an [`XmlError`] that names the file, line
//! and column.
//!
//! ```
//! use corio::pipe::{self, xml::{self, Event}};
//!
//! let doc = "<buses><bus><id>1</id></bus></buses>";
//! let mut names = Vec::new();
//! let starts = pipe::sink_fn(|ev: Event<'_>| {
//!     if let Event::Start(start) = ev {
//!         names.push(start.name);
//!     }
//!     Ok(())
//! });
//! xml::parse_str(doc, starts).unwrap();
//! assert_eq!(names, ["buses", "bus", "id"]);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use ::xml as xml_rs;
use quick_xml::events::Event as QEvent;

use super::{Error, Sink};

mod decoding;

/// One parsing event, as a SAX content handler sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// An element starts (`startElement(name, attrs)`).
    Start(Start<'a>),
    /// Character data (`characters(content)`); CDATA sections included.
    Text(Text<'a>),
    /// An element ends (`endElement(name)`).
    End(Cow<'a, str>),
}

/// The start of an element: its name and attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Start<'a> {
    /// The element's qualified name (`prefix:local` if it has a prefix).
    pub name: Cow<'a, str>,
    /// The attributes, in document order, with their values unescaped.
    pub attributes: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

/// A piece of character data.
///
/// The low-level parser hands out text as it is in the document, so that
/// nothing is copied; XML's line-end normalization (`"\r\n"` → `"\n"`) is
/// applied when the text is read with [`get`](Text::get) or
/// [`into_cow`](Text::into_cow), and only copies when the text holds a
/// `'\r'`. Text that a stage skips (most whitespace between elements) is
/// never copied.
#[derive(Clone, PartialEq, Eq)]
pub struct Text<'a> {
    raw: Cow<'a, str>,
}

impl<'a> Text<'a> {
    /// Text whose line ends are already normalized (no `'\r'` in it is
    /// treated specially: it is normalized too).
    pub fn new(text: impl Into<Cow<'a, str>>) -> Self {
        Text { raw: text.into() }
    }

    /// The text, with line ends normalized.
    pub fn get(&self) -> Cow<'_, str> {
        normalize_eol(&self.raw)
    }

    /// The text, with line ends normalized; borrowed from the document if
    /// possible.
    pub fn into_cow(self) -> Cow<'a, str> {
        match self.raw {
            Cow::Borrowed(s) => normalize_eol(s),
            Cow::Owned(s) if s.contains('\r') => Cow::Owned(normalize_eol(&s).into_owned()),
            owned => owned,
        }
    }

    /// The text as the document has it (line ends not normalized).
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// Whether the text is only whitespace.
    pub fn is_whitespace(&self) -> bool {
        self.raw.bytes().all(|b| b.is_ascii_whitespace())
    }

    /// Joins the pieces of one text run (Python's `''.join(fragments)`).
    /// One piece is returned as it is (so it still borrows from the
    /// document); several are concatenated.
    pub fn join(fragments: &[Text<'a>]) -> Cow<'a, str> {
        match fragments {
            [] => Cow::Borrowed(""),
            [one] => one.clone().into_cow(),
            many => {
                let mut s = String::new();
                for fragment in many {
                    s.push_str(&fragment.get());
                }
                Cow::Owned(s)
            }
        }
    }
}

impl fmt::Debug for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.get(), f)
    }
}

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.get())
    }
}

impl<'a> From<&'a str> for Text<'a> {
    fn from(s: &'a str) -> Self {
        Text::new(s)
    }
}

impl From<String> for Text<'_> {
    fn from(s: String) -> Self {
        Text::new(s)
    }
}

impl PartialEq<str> for Text<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.get() == *other
    }
}

impl PartialEq<&str> for Text<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.get() == **other
    }
}

/// XML line-end normalization: `"\r\n"` and a lone `'\r'` become `'\n'`.
fn normalize_eol(s: &str) -> Cow<'_, str> {
    if !s.contains('\r') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Malformed XML: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    /// The file, if the document came from one.
    pub path: Option<PathBuf>,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub column: u64,
    /// What is wrong, as the parser puts it.
    pub message: String,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.path {
            Some(path) => path.display().to_string(),
            None => "<xml>".to_string(),
        };
        write!(
            f,
            "{name}:{}:{}: malformed XML: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for XmlError {}

// ---------------------------------------------------------------------------
// SAX-style source (xml-rs)

/// Parses XML from `input` with the `xml` crate (xml-rs) and sends its
/// events to `target`, then closes it. See the [module docs](self) for how
/// text is split.
///
/// Returns an [`XmlError`] (wrapped in [`Error`]) for malformed XML, or the
/// error the target raised. Stops early if the target finishes.
pub fn sax<R: Read, S: Sink<Event<'static>>>(input: R, target: S) -> Result<(), Error> {
    sax_impl(input, None, target)
}

/// Opens the file at `path` and parses it as [`sax`] does; errors name the
/// file.
pub fn sax_file<S: Sink<Event<'static>>>(path: impl AsRef<Path>, target: S) -> Result<(), Error> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| Error::file(path, e))?;
    sax_impl(BufReader::new(file), Some(path), target)
}

fn sax_impl<R: Read, S: Sink<Event<'static>>>(
    input: R,
    path: Option<&Path>,
    mut target: S,
) -> Result<(), Error> {
    use xml_rs::reader::XmlEvent;

    let config = xml_rs::ParserConfig::new()
        .trim_whitespace(false)
        .whitespace_to_characters(false)
        .cdata_to_characters(false);
    let mut reader = config.create_reader(decoding::DecodePosition::new(input));
    let (mut depth, mut seen_root) = (0usize, false);
    loop {
        let event = match reader.next() {
            Ok(event) => event,
            Err(e) => return Err(sax_error(&mut reader, &e, path)),
        };
        match event {
            XmlEvent::StartElement {
                name, attributes, ..
            } => {
                if depth == 0 && seen_root {
                    // xml-rs accepts a second root element; XML does not.
                    let pos = xml_rs::common::Position::position(&reader);
                    return Err(Error::new(XmlError {
                        path: path.map(Path::to_path_buf),
                        line: pos.row + 1,
                        column: pos.column + 1,
                        message: "junk after document element".to_string(),
                    }));
                }
                depth += 1;
                seen_root = true;
                let attributes = attributes
                    .into_iter()
                    .map(|a| (Cow::Owned(a.name.borrow().to_repr()), Cow::Owned(a.value)))
                    .collect();
                target.send(Event::Start(Start {
                    name: Cow::Owned(name.borrow().to_repr()),
                    attributes,
                }))?;
            }
            XmlEvent::EndElement { name } => {
                depth = depth.saturating_sub(1);
                target.send(Event::End(Cow::Owned(name.borrow().to_repr())))?;
            }
            XmlEvent::Characters(s) | XmlEvent::Whitespace(s) | XmlEvent::CData(s) => {
                send_lines(&s, &mut target)?;
            }
            XmlEvent::EndDocument => break,
            _ => {}
        }
        if target.is_finished() {
            break;
        }
    }
    target.close()
}

/// The error of the SAX source for an error of xml-rs: a read error of
/// the input itself, or malformed XML with its position.
fn sax_error<R: Read>(
    reader: &mut xml_rs::EventReader<decoding::DecodePosition<R>>,
    e: &xml_rs::reader::Error,
    path: Option<&Path>,
) -> Error {
    use xml_rs::reader::ErrorKind;

    if let ErrorKind::Io(io) = e.kind() {
        if reader.source().read_failed() {
            let io = std::io::Error::new(io.kind(), io.to_string());
            return match path {
                Some(path) => Error::file(path, io),
                None => Error::new(io),
            };
        }
    }
    let pos = xml_rs::common::Position::position(e);
    let (mut line, mut column) = (pos.row + 1, pos.column + 1);
    let mut message = None;
    match e.kind() {
        // xml-rs reports a decoding error at 1:1, and one in UTF-16 (or in
        // a declared encoding) as an I/O error without a position: say
        // where the first undecodable character is, as `Document::open`
        // does.
        ErrorKind::Utf8(_) | ErrorKind::UnexpectedEof | ErrorKind::Io(_) => {
            // The parser may stop before the input ends, on a character
            // the end cuts off: read on until the culprit is found.
            let source = reader.source_mut();
            source.find_invalid();
            if let Some(at) = source.first_invalid() {
                (line, column) = at;
                message = Some(format!("the document is not {}", source.encoding()));
            } else if let ErrorKind::Io(io) = e.kind() {
                let at = xml_rs::common::Position::position(reader);
                (line, column) = (at.row + 1, at.column + 1);
                message = Some(format!("the document cannot be decoded: {io}"));
            }
        }
        _ => {}
    }
    Error::new(XmlError {
        path: path.map(Path::to_path_buf),
        line,
        column,
        message: message.unwrap_or_else(|| {
            // The parser's message starts with the position.
            let full = e.to_string();
            let prefix = format!("{pos} ");
            full.strip_prefix(&prefix).unwrap_or(&full).to_string()
        }),
    })
}

/// Sends text as expat reports it: each `'\n'` as a piece of its own, and
/// the runs between them.
fn send_lines<S: Sink<Event<'static>>>(text: &str, target: &mut S) -> Result<(), Error> {
    let mut rest = text;
    while !rest.is_empty() {
        let piece = match rest.find('\n') {
            Some(0) => "\n",
            Some(i) => &rest[..i],
            None => rest,
        };
        rest = &rest[piece.len()..];
        let piece = if piece == "\n" {
            Cow::Borrowed("\n")
        } else {
            Cow::Owned(piece.to_owned())
        };
        target.send(Event::Text(Text::new(piece)))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Low-level source (quick-xml)

/// An XML document read into memory, ready to push its events, borrowed
/// from it, into a pipeline with [`Document::parse`].
///
/// ```no_run
/// use corio::pipe::{self, xml::Document};
///
/// let doc = Document::open("allroutes.xml")?;
/// let mut count = 0;
/// doc.parse(pipe::sink_fn(|_ev| {
///     count += 1;
///     Ok(())
/// }))?;
/// println!("{count} events");
/// # Ok::<(), pipe::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Document {
    path: Option<PathBuf>,
    text: String,
}

impl Document {
    /// Reads the file at `path` (it must be UTF-8; a UTF-8 byte order mark
    /// is skipped). Errors name the file.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::file(path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            // Valid up to here, so this is UTF-8.
            let before = String::from_utf8_lossy(valid);
            let (line, column) = line_column(&before, before.len());
            Error::new(XmlError {
                path: Some(path.to_path_buf()),
                line,
                column,
                message: "the document is not UTF-8".to_string(),
            })
        })?;
        Ok(Document {
            path: Some(path.to_path_buf()),
            text,
        })
    }

    /// A document held in a string.
    pub fn from_string(text: impl Into<String>) -> Self {
        Document {
            path: None,
            text: text.into(),
        }
    }

    /// The document's text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Parses the document with quick-xml and sends its events to `target`,
    /// then closes it. Events borrow from the document. Errors name the file
    /// (if any), line and column.
    pub fn parse<'a, S: Sink<Event<'a>>>(&'a self, target: S) -> Result<(), Error> {
        parse_impl(&self.text, self.path.as_deref(), target)
    }
}

/// Parses `doc` with quick-xml and sends its events, borrowed from `doc`, to
/// `target`, then closes it. A text run arrives whole (an entity or
/// character reference is a piece of its own); text outside the root
/// element, comments, processing instructions and the declaration are
/// skipped, as a SAX handler does not see them either.
///
/// Returns an [`XmlError`] (wrapped in [`Error`]) for malformed XML, or the
/// error the target raised. Stops early if the target finishes.
pub fn parse_str<'a, S: Sink<Event<'a>>>(doc: &'a str, target: S) -> Result<(), Error> {
    parse_impl(doc, None, target)
}

fn parse_impl<'a, S: Sink<Event<'a>>>(
    doc: &'a str,
    path: Option<&Path>,
    mut target: S,
) -> Result<(), Error> {
    let doc = doc.strip_prefix('\u{feff}').unwrap_or(doc);
    let mut reader = quick_xml::Reader::from_str(doc);
    {
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
    }
    let fail = |offset: u64, message: String| {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX).min(doc.len());
        let (line, column) = line_column(doc, offset);
        Error::new(XmlError {
            path: path.map(Path::to_path_buf),
            line,
            column,
            message,
        })
    };
    let mut depth = 0usize;
    let mut seen_root = false;
    loop {
        // One match on the result: binding the event first would copy it
        // out of the result, right after the parser wrote it.
        let event = match reader.read_event() {
            Err(e) => return Err(fail(reader.error_position(), e.to_string())),
            Ok(QEvent::Start(start)) => {
                if depth == 0 && seen_root {
                    return Err(fail(
                        reader.buffer_position(),
                        "junk after document element".to_string(),
                    ));
                }
                depth += 1;
                seen_root = true;
                let mut attributes = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| fail(reader.buffer_position(), e.to_string()))?;
                    let value = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| fail(reader.buffer_position(), e.to_string()))?;
                    // Borrowed from the document unless normalizing or
                    // an entity changed the value.
                    let value = match value {
                        Cow::Borrowed(v) => reborrow(doc, v),
                        Cow::Owned(v) => Cow::Owned(v),
                    };
                    attributes.push((reborrow(doc, attr.key.0), value));
                }
                Event::Start(Start {
                    name: reborrow(doc, start.name().0),
                    attributes,
                })
            }
            Ok(QEvent::End(end)) => {
                depth = depth.saturating_sub(1);
                Event::End(reborrow(doc, end.name().0))
            }
            Ok(QEvent::Text(text)) if depth > 0 => Event::Text(Text::new(text.into_inner())),
            Ok(QEvent::CData(cdata)) if depth > 0 => Event::Text(Text::new(cdata.into_inner())),
            Ok(QEvent::GeneralRef(r)) if depth > 0 => {
                let text = match r.resolve_char_ref() {
                    Ok(Some(c)) => Cow::Owned(c.to_string()),
                    Ok(None) => match quick_xml::escape::resolve_xml_entity(&r) {
                        Some(s) => Cow::Borrowed(s),
                        None => {
                            return Err(fail(
                                reader.buffer_position(),
                                format!("undefined entity &{};", &*r),
                            ))
                        }
                    },
                    Err(e) => return Err(fail(reader.buffer_position(), e.to_string())),
                };
                Event::Text(Text::new(text))
            }
            Ok(QEvent::Text(text)) => {
                if !text.bytes().all(|b| b.is_ascii_whitespace()) {
                    let message = if seen_root {
                        "junk after document element"
                    } else {
                        "text before the document element"
                    };
                    return Err(fail(reader.buffer_position(), message.to_string()));
                }
                continue;
            }
            Ok(QEvent::Eof) => {
                if depth > 0 {
                    return Err(fail(
                        doc.len() as u64,
                        "unexpected end of document: an element is not closed".to_string(),
                    ));
                }
                if !seen_root {
                    return Err(fail(doc.len() as u64, "no element found".to_string()));
                }
                break;
            }
            _ => continue,
        };
        target.send(event)?;
        if target.is_finished() {
            break;
        }
    }
    target.close()
}

/// `part`, which the parser cut from `doc`, as a slice of `doc` with its
/// lifetime (or a copy if it is not one).
fn reborrow<'a>(doc: &'a str, part: &str) -> Cow<'a, str> {
    let start = (part.as_ptr() as usize).wrapping_sub(doc.as_ptr() as usize);
    match doc.get(start..start.wrapping_add(part.len())) {
        Some(s) if s.as_ptr() == part.as_ptr() => Cow::Borrowed(s),
        _ => Cow::Owned(part.to_owned()),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `doc`.
fn line_column(doc: &str, offset: usize) -> (u64, u64) {
    let mut offset = offset.min(doc.len());
    while !doc.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &doc[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() as u64 + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() as u64 + 1;
    (line, column)
}
