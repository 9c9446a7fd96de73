//! Semantics of `corio::pipe`: close and throw propagation, broadcast,
//! batches, sources, XML sources, independent pipelines, errors; a
//! followed file in `pipe/follow.rs`, the threaded stage in
//! `pipe/thread.rs`, the process stage in `pipe/process.rs`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use corio::pipe::bus::{generate_feed, Bus};
use corio::pipe::xml::{self, Event, XmlError};
use corio::pipe::{self, Consumer, Error, FileError, Inbox, Shared, Sink, StageError};
use corio::Interrupt;

#[path = "pipe/follow.rs"]
mod follow; // a followed file, also inside a runtime
#[path = "pipe/process.rs"]
mod process; // the process stage
#[path = "pipe/thread.rs"]
mod thread; // the threaded stage

// The process stage's children are this test binary, started again.
corio::procpool_test_worker!();
type Log = Rc<RefCell<Vec<String>>>;

/// A sink that logs what happens to it, and on close says goodbye.
fn recorder<'a>(name: &'a str, log: Log) -> Consumer<'a, String> {
    Consumer::new(move |inbox: &mut Inbox<'_, String>| loop {
        match inbox.recv() {
            Ok(item) => log.borrow_mut().push(format!("{name} got {item}")),
            Err(Interrupt::Closed) => {
                log.borrow_mut().push(format!("{name} closed"));
                return Ok(());
            }
            Err(Interrupt::Thrown(e)) => {
                log.borrow_mut().push(format!("{name} caught {e}"));
            }
        }
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn source_end_closes_the_chain() {
    let log = Log::default();
    let sink = recorder("sink", log.clone());
    let chain = pipe::filter(|s: &String| s != "b", pipe::map(|s: String| s + "!", sink));
    pipe::from_iter(strings(&["a", "b", "c"]), chain).unwrap();
    assert_eq!(*log.borrow(), ["sink got a!", "sink got c!", "sink closed"]);
}

#[test]
fn throw_travels_downstream_and_can_be_handled() {
    let log = Log::default();
    let mut chain = pipe::filter(|_: &String| true, recorder("sink", log.clone()));
    chain.send("x".into()).unwrap();
    // The recorder handles the error, so the filter goes on.
    chain.throw(Error::msg("boom")).unwrap();
    chain.send("y".into()).unwrap();
    chain.close().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "sink got x",
            "sink caught boom",
            "sink got y",
            "sink closed"
        ]
    );
}

#[test]
fn unhandled_throw_comes_back_and_finishes_the_chain() {
    let mut got = Vec::new();
    let mut chain = pipe::map(|s: String| s.len(), &mut got);
    chain.send("abc".into()).unwrap();
    // A Vec does not handle errors: it comes back out of the filter.
    let err = chain.throw(Error::msg("boom")).unwrap_err();
    assert_eq!(err.to_string(), "boom");
    assert!(chain.is_finished());
    let err = chain.send("more".into()).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
    drop(chain);
    assert_eq!(got, [3]);
}

#[test]
fn stage_error_stops_the_source() {
    let failing = Consumer::<i32>::new(|inbox| loop {
        let x = inbox.recv()?;
        if x == 3 {
            return Err(Error::msg("three is too many").into());
        }
    });
    let err = pipe::from_iter(1..10, failing).unwrap_err();
    assert_eq!(err.to_string(), "three is too many");
}

#[test]
fn dropping_a_stage_closes_its_target() {
    let log = Log::default();
    {
        let mut chain = pipe::filter(|_: &String| true, recorder("sink", log.clone()));
        chain.send("a".into()).unwrap();
    }
    assert_eq!(*log.borrow(), ["sink got a", "sink closed"]);
}

#[test]
fn broadcast_sends_closes_and_throws_to_all() {
    let log = Log::default();
    let mut b = pipe::broadcast(vec![
        recorder("one", log.clone()),
        recorder("two", log.clone()),
    ]);
    b.send("x".into()).unwrap();
    b.throw(Error::msg("e")).unwrap();
    b.close().unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "one got x",
            "two got x",
            "one caught e",
            "two caught e",
            "one closed",
            "two closed"
        ]
    );
}

#[test]
fn broadcast_reports_the_first_error_after_closing_all() {
    let log = Log::default();
    let failing_close = Consumer::<String>::new(|inbox| loop {
        if inbox.recv().is_err() {
            return Err(Error::msg("cannot close").into());
        }
    });
    let targets: Vec<Box<dyn Sink<String>>> = vec![
        Box::new(failing_close),
        Box::new(recorder("ok", log.clone())),
    ];
    let mut b = pipe::broadcast(targets);
    let err = b.close().unwrap_err();
    assert_eq!(err.to_string(), "cannot close");
    assert_eq!(*log.borrow(), ["ok closed"]);
}

#[test]
fn shared_sink_closes_after_its_last_upstream() {
    let log = Log::default();
    let shared = Shared::new(recorder("printer", log.clone()));
    let greps = vec![
        pipe::filter(|s: &String| s.contains("python"), shared.clone()),
        pipe::filter(|s: &String| s.contains("swig"), shared.clone()),
        pipe::filter(|s: &String| s.contains("ply"), shared),
    ];
    pipe::from_iter(
        strings(&["python swig", "ply", "none"]),
        pipe::broadcast(greps),
    )
    .unwrap();
    assert_eq!(
        *log.borrow(),
        [
            "printer got python swig",
            "printer got python swig",
            "printer got ply",
            "printer closed"
        ]
    );
}

#[test]
fn shared_sink_reentry_is_an_error() {
    // A sink that sends back into the shared sink it belongs to.
    type Handle = Shared<Box<dyn Sink<i32>>>;
    let cell: Rc<RefCell<Option<Handle>>> = Rc::default();
    let inner = cell.clone();
    let looping: Box<dyn Sink<i32>> = Box::new(pipe::sink_fn(move |x: i32| {
        let mut handle = inner.borrow().clone().expect("set");
        handle.send(x)
    }));
    let mut shared = Shared::new(looping);
    *cell.borrow_mut() = Some(shared.clone());
    let err = shared.send(1).unwrap_err();
    assert!(err.to_string().contains("re-entered"), "{err}");
    cell.borrow_mut().take();
}

#[test]
fn batches_keep_order_and_close_after_the_queue() {
    let log = Log::default();
    let mut sink = recorder("sink", log.clone()).with_batch(4);
    for s in ["a", "b", "c"] {
        sink.send(s.into()).unwrap();
    }
    // Three queued, none handled yet.
    assert!(log.borrow().is_empty());
    sink.send("d".into()).unwrap();
    assert_eq!(log.borrow().len(), 4);
    sink.send("e".into()).unwrap();
    sink.throw(Error::msg("t")).unwrap();
    sink.send("f".into()).unwrap();
    sink.close().unwrap();
    assert_eq!(
        log.borrow()[4..],
        ["sink got e", "sink caught t", "sink got f", "sink closed"]
    );
}

#[test]
fn changing_the_batch_hands_over_what_is_queued() {
    let log = Log::default();
    let mut sink = recorder("sink", log.clone()).with_batch(8);
    sink.send("a".into()).unwrap();
    sink.send("b".into()).unwrap();
    assert!(log.borrow().is_empty());
    // Back to one switch per item: the two queued items go first.
    let mut sink = sink.with_batch(1);
    assert_eq!(*log.borrow(), ["sink got a", "sink got b"]);
    sink.send("c".into()).unwrap();
    assert_eq!(log.borrow().len(), 3);
    drop(sink);
    assert_eq!(log.borrow()[3..], ["sink closed"]);
}

#[test]
fn a_batch_larger_than_what_the_stage_takes_is_dropped_cleanly() {
    // The stage takes two items and returns: the rest of its batch drops
    // with it, and later sends report that it finished.
    let items = Rc::new(RefCell::new(Vec::new()));
    let taken = items.clone();
    let mut two = Consumer::<Rc<i32>>::new(move |inbox| {
        taken.borrow_mut().push(*inbox.recv()?);
        taken.borrow_mut().push(*inbox.recv()?);
        Ok(())
    })
    .with_batch(4);
    let probe = Rc::new(0);
    for i in 0..4 {
        two.send(Rc::new(i)).unwrap();
    }
    assert!(two.is_finished());
    assert_eq!(*items.borrow(), [0, 1]);
    assert_eq!(
        two.send(probe.clone()).unwrap_err().stage_error(),
        Some(StageError::Finished)
    );
    // The refused item was not kept anywhere.
    assert_eq!(Rc::strong_count(&probe), 1);
}

#[test]
fn consumer_is_primed_and_may_finish_early() {
    let mut started = false;
    let mut taken = Vec::new();
    {
        let mut two = Consumer::<i32>::new(|inbox| {
            started = true;
            taken.push(inbox.recv()?);
            taken.push(inbox.recv()?);
            Ok(())
        });
        two.send(1).unwrap();
        two.send(2).unwrap();
        assert!(two.is_finished());
        assert_eq!(
            two.send(3).unwrap_err().stage_error(),
            Some(StageError::Finished)
        );
    }
    assert!(started);
    assert_eq!(taken, [1, 2]);
    // A source stops when its target finishes.
    let mut seen = Vec::new();
    let first_two = Consumer::<i32>::new(|inbox| {
        seen.push(inbox.recv()?);
        seen.push(inbox.recv()?);
        Ok(())
    });
    pipe::from_iter(1.., first_two).unwrap();
    assert_eq!(seen, [1, 2]);
}

#[test]
fn an_error_raised_while_priming_comes_back_from_the_next_call_of_any_kind() {
    let failing = || {
        Consumer::<i32>::new(|inbox| {
            let _ = inbox; // fails before its first `recv`
            Err(Error::msg("cannot start").into())
        })
    };
    let mut c = failing();
    assert!(c.is_finished());
    assert_eq!(c.send(1).unwrap_err().to_string(), "cannot start");
    assert_eq!(
        c.send(2).unwrap_err().stage_error(),
        Some(StageError::Finished),
        "reported once"
    );
    let mut c = failing();
    let thrown = c.throw(Error::msg("thrown in")).unwrap_err();
    assert_eq!(
        thrown.to_string(),
        "cannot start",
        "the stage's own failure wins"
    );
    assert_eq!(failing().close().unwrap_err().to_string(), "cannot start");
    assert_eq!(failing().flush().unwrap_err().to_string(), "cannot start");
    // The same with batches: the failure of a handed-over batch is kept by
    // `with_batch` and returned by the next call.
    let mut batched = Consumer::<i32>::new(|inbox| loop {
        if inbox.recv()? == 2 {
            return Err(Error::msg("two").into());
        }
    })
    .with_batch(4);
    for n in 1..=3 {
        batched.send(n).unwrap();
    }
    let mut batched = batched.with_batch(1);
    assert_eq!(batched.close().unwrap_err().to_string(), "two");
}

#[test]
fn two_pipelines_do_not_interfere() {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    {
        let mut pa = pipe::filter(|x: &i32| x % 2 == 0, &mut a);
        let mut pb = pipe::map(|x: i32| x * 10, &mut b);
        // Interleave the two pipelines item by item.
        for i in 0..6 {
            pa.send(i).unwrap();
            pb.send(i).unwrap();
        }
        pa.close().unwrap();
        pb.send(100).unwrap();
        pb.close().unwrap();
    }
    assert_eq!(a, [0, 2, 4]);
    assert_eq!(b, [0, 10, 20, 30, 40, 50, 1000]);
    // And on two threads at once.
    let handles: Vec<_> = (0..2)
        .map(|t| {
            std::thread::spawn(move || {
                let mut out = Vec::new();
                pipe::from_iter(0..1000, pipe::map(move |x: i32| x + t, &mut out)).unwrap();
                out.iter().sum::<i32>()
            })
        })
        .collect();
    let sums: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(sums, [499_500, 500_500]);
}

#[test]
fn lines_are_read_like_python_text_mode() {
    let mut lines = Vec::new();
    let input = std::io::Cursor::new(b"one\r\ntwo\rthree\nlast".to_vec());
    pipe::from_lines(input, &mut lines).unwrap();
    assert_eq!(lines, ["one\n", "two\n", "three\n", "last"]);
}

#[test]
fn read_lines_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.txt");
    let err = pipe::read_lines(&missing, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("missing.txt"), "{err}");
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound));

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"fine\n\xff\xfe\n").unwrap();
    let err = pipe::read_lines(&bad, Vec::new()).unwrap_err();
    let file_error = err.downcast_ref::<FileError>().expect("a FileError");
    assert_eq!(file_error.line, Some(2));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:", bad.display())),
        "{err}"
    );
}

fn event_names(events: &[Event<'_>]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            Event::Start(s) => format!("<{}>", s.name),
            Event::Text(t) => format!("{:?}", t.get()),
            Event::End(n) => format!("</{n}>"),
        })
        .collect()
}

#[test]
fn sax_splits_text_like_expat_and_quick_xml_keeps_runs() {
    let doc =
        "<?xml version=\"1.0\"?>\r\n<a x=\"1 &amp; 2\">\r\n  <b>t&amp;u</b><![CDATA[<c>]]></a>\r\n";
    let mut sax_events = Vec::new();
    xml::sax(doc.as_bytes(), &mut sax_events).unwrap();
    assert_eq!(
        event_names(&sax_events),
        ["<a>", "\"\\n\"", "\"  \"", "<b>", "\"t&u\"", "</b>", "\"<c>\"", "</a>"]
    );
    let Event::Start(a) = &sax_events[0] else {
        panic!()
    };
    assert_eq!(a.attributes, [("x".into(), "1 & 2".into())]);

    let mut quick_events = Vec::new();
    xml::parse_str(doc, &mut quick_events).unwrap();
    assert_eq!(
        event_names(&quick_events),
        [
            "<a>",
            "\"\\n  \"",
            "<b>",
            "\"t\"",
            "\"&\"",
            "\"u\"",
            "</b>",
            "\"<c>\"",
            "</a>"
        ]
    );
    let Event::Start(a) = &quick_events[0] else {
        panic!()
    };
    assert_eq!(a.attributes, [("x".into(), "1 & 2".into())]);
}

#[test]
fn quick_xml_events_borrow_plain_attributes_from_the_document() {
    let doc = "<a plain=\"v\" entity=\"x &amp; y\"/>";
    let mut events = Vec::new();
    xml::parse_str(doc, &mut events).unwrap();
    let Event::Start(a) = &events[0] else {
        panic!("{events:?}")
    };
    let [(k1, v1), (k2, v2)] = &a.attributes[..] else {
        panic!("{a:?}")
    };
    assert_eq!(
        (&**k1, &**v1, &**k2, &**v2),
        ("plain", "v", "entity", "x & y")
    );
    assert!(matches!(k1, Cow::Borrowed(_)) && matches!(v1, Cow::Borrowed(_)));
    assert!(matches!(k2, Cow::Borrowed(_)), "names are never rewritten");
}

#[test]
fn malformed_xml_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.xml");
    std::fs::write(&path, "<buses>\n  <bus><id>1</bus>\n</buses>\n").unwrap();

    let err = xml::sax_file(&path, Vec::new()).unwrap_err();
    let e = err.downcast_ref::<XmlError>().expect("an XmlError");
    assert_eq!((e.path.as_deref(), e.line), (Some(path.as_path()), 2));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:", path.display())),
        "{err}"
    );

    let doc = xml::Document::open(&path).unwrap();
    let err = doc.parse(Vec::new()).unwrap_err();
    let e = err.downcast_ref::<XmlError>().expect("an XmlError");
    assert_eq!((e.line, e.column), (2, 13));
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:13:", path.display())),
        "{err}"
    );

    for text in ["", "<a>", "<a></a><b/>", "<a>&nope;</a>"] {
        let err = xml::parse_str(text, Vec::new()).unwrap_err();
        assert!(err.downcast_ref::<XmlError>().is_some(), "{text:?}: {err}");
        let err = xml::sax(text.as_bytes(), Vec::new()).unwrap_err();
        assert!(err.downcast_ref::<XmlError>().is_some(), "{text:?}: {err}");
    }
}

/// Line and column of the `XmlError` in `err`.
fn xml_position(err: &pipe::Error) -> (u64, u64) {
    let e = err.downcast_ref::<XmlError>();
    let e = e.unwrap_or_else(|| panic!("an XmlError, not {err:?}"));
    (e.line, e.column)
}

/// UTF-16 (after a byte order mark), little-endian, from code units.
fn utf16le(units: &[u16]) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    bytes
}

#[test]
fn sax_reports_an_unpaired_utf16_surrogate_where_it_is() {
    // "<a>\nxy" then a lone high surrogate, then "</a>".
    let mut units: Vec<u16> = "<a>\nxy".encode_utf16().collect();
    units.push(0xD800);
    units.extend("</a>".encode_utf16());
    let err = xml::sax(&utf16le(&units)[..], Vec::new()).unwrap_err();
    assert_eq!(xml_position(&err), (2, 3), "{err}");
    assert!(err.to_string().contains("not UTF-16"), "{err}");

    // A lone low surrogate, and an odd byte at the end.
    let mut units: Vec<u16> = "<a>".encode_utf16().collect();
    units.push(0xDC00);
    let err = xml::sax(&utf16le(&units)[..], Vec::new()).unwrap_err();
    assert_eq!(xml_position(&err), (1, 4), "{err}");
    let mut bytes = utf16le(&"<a>".encode_utf16().collect::<Vec<_>>());
    bytes.push(b'x');
    let err = xml::sax(&bytes[..], Vec::new()).unwrap_err();
    assert_eq!(xml_position(&err), (1, 4), "{err}");
}

#[test]
fn sax_reports_a_utf8_character_cut_off_by_the_end_where_it_starts() {
    // U+FEF9, then the first byte of a three-byte character, then the end.
    let err = xml::sax(&b"\xEF\xBB\xB9\xE2"[..], Vec::new()).unwrap_err();
    assert_eq!(xml_position(&err), (1, 2), "{err}");
    let err = xml::sax(&b"<a>\n\xC3"[..], Vec::new()).unwrap_err();
    assert_eq!(xml_position(&err), (2, 1), "{err}");
}

/// The bus stages, written once, behind both parsers.
fn bus_routes<'a, 'd: 'a>(out: &'a mut Vec<String>) -> Consumer<'a, Event<'d>> {
    let printer = pipe::sink_fn(move |bus: Bus<'d>| {
        out.push(format!(
            "{} {}",
            bus.get("route").unwrap_or("?"),
            bus.get("id").unwrap_or("?")
        ));
        Ok(())
    });
    let route = pipe::filter(|bus: &Bus<'d>| bus.get("route") == Some("22"), printer);
    Consumer::<Event<'d>>::new(move |inbox| {
        let mut route = route;
        loop {
            let Event::Start(start) = inbox.recv()? else {
                continue;
            };
            if start.name != "bus" {
                continue;
            }
            let mut bus = Bus::new();
            let mut text = Vec::new();
            loop {
                match inbox.recv()? {
                    Event::Start(_) => text.clear(),
                    Event::Text(t) => text.push(t),
                    Event::End(name) if name != "bus" => bus.insert(name, xml::Text::join(&text)),
                    Event::End(_) => break,
                }
            }
            route.send(bus)?;
        }
    })
}

#[test]
fn generated_feed_gives_the_same_buses_behind_both_parsers() {
    let feed = generate_feed(200, 7);
    let (mut from_sax, mut from_quick) = (Vec::new(), Vec::new());
    xml::sax(feed.as_bytes(), bus_routes(&mut from_sax)).unwrap();
    xml::parse_str(&feed, bus_routes(&mut from_quick)).unwrap();
    assert!(!from_sax.is_empty());
    assert_eq!(from_sax, from_quick);
    assert!(from_sax.iter().all(|s| s.starts_with("22 ")));
}

#[test]
fn generated_feed_has_the_real_shape() {
    let feed = generate_feed(2, 3);
    assert!(feed.contains("\r\n        \t\t<id>"));
    assert!(feed.contains("<finalStop><![CDATA["));
    let mut buses = Vec::new();
    let mut n = 0;
    xml::parse_str(
        &feed,
        pipe::sink_fn(|e: Event<'_>| {
            if let Event::Start(s) = e {
                if s.name == "bus" {
                    n += 1;
                }
                buses.push(s.name.into_owned());
            }
            Ok(())
        }),
    )
    .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        buses[..14],
        [
            "buses",
            "bus",
            "id",
            "route",
            "color",
            "revenue",
            "direction",
            "latitude",
            "longitude",
            "pattern",
            "patternDirection",
            "run",
            "finalStop",
            "operator"
        ]
    );
}
