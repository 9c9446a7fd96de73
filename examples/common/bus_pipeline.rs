//! The bus pipeline of `coexpat_bus` run whole on a document in memory,
//! into a writer that counts lines: the stages of the examples as corio
//! generators, and the same stages as plain closures (the floor). Shared
//! by the pipeline bench and the `compare` example.

use std::io::Write;

use corio::pipe::bus::Bus;
use corio::pipe::xml::{self, Event, Text};
use corio::pipe::{sink_fn, Error};

/// A writer that counts lines, standing in for standard output.
#[derive(Default)]
pub struct Lines(pub usize);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.iter().filter(|&&b| b == b'\n').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The pipeline with corio generators: the stages of the examples; each
/// stage queues up to `batch` items before it runs.
pub fn run_corio_with(doc: &str, batch: usize) -> usize {
    let mut out = Lines::default();
    {
        let printer = super::bus_info_printer(&mut out).with_batch(batch);
        let direction = super::filter_on_field("direction", "North Bound", printer);
        let route = super::filter_on_field("route", "22", direction.with_batch(batch));
        let to_dicts = super::buses_to_dicts(route.with_batch(batch)).with_batch(batch);
        xml::parse_str(doc, to_dicts).expect("pipeline");
    }
    out.0
}

/// The printer stage's work, shared by the closure and stackless rows so
/// that they do the same: one line per bus.
pub fn write_bus(out: &mut impl Write, bus: &Bus<'_>) -> std::io::Result<()> {
    let f = |name| bus.get(name).unwrap_or("");
    writeln!(
        out,
        "{}, {}, {}, {}, {}",
        f("route"),
        f("id"),
        f("direction"),
        f("latitude"),
        f("longitude")
    )
}

/// The closure stages; with `queue > 1`, the events wait in a queue of that
/// many before the first stage takes them.
pub fn run_closures_with<'d>(doc: &'d str, queue: usize) -> usize {
    let mut out = Lines::default();
    {
        let mut printer = |bus: Bus<'d>| -> Result<(), Error> {
            write_bus(&mut out, &bus)?;
            Ok(())
        };
        let mut direction = |bus: Bus<'d>| -> Result<(), Error> {
            if bus.get("direction") == Some("North Bound") {
                printer(bus)?;
            }
            Ok(())
        };
        let mut route = |bus: Bus<'d>| -> Result<(), Error> {
            if bus.get("route") == Some("22") {
                direction(bus)?;
            }
            Ok(())
        };
        let mut in_bus = false;
        let mut bus = Bus::new();
        let mut fragments: Vec<Text<'d>> = Vec::new();
        let to_dicts = |event: Event<'d>| -> Result<(), Error> {
            if !in_bus {
                if let Event::Start(start) = event {
                    if start.name == "bus" {
                        in_bus = true;
                        bus = Bus::with_capacity(16);
                        fragments.clear();
                    }
                }
                return Ok(());
            }
            match event {
                Event::Start(_) => fragments.clear(),
                Event::Text(text) => fragments.push(text),
                Event::End(name) if name != "bus" => bus.insert(name, Text::join(&fragments)),
                Event::End(_) => {
                    in_bus = false;
                    route(std::mem::take(&mut bus))?;
                }
            }
            Ok(())
        };
        if queue > 1 {
            let mut to_dicts = to_dicts;
            let mut queued = std::collections::VecDeque::with_capacity(queue);
            xml::parse_str(
                doc,
                sink_fn(|event: Event<'d>| {
                    queued.push_back(event);
                    if queued.len() >= queue {
                        queued.drain(..).try_for_each(&mut to_dicts)?;
                    }
                    Ok(())
                }),
            )
            .expect("pipeline");
            queued
                .drain(..)
                .try_for_each(&mut to_dicts)
                .expect("pipeline");
        } else {
            xml::parse_str(doc, sink_fn(to_dicts)).expect("pipeline");
        }
    }
    out.0
}
