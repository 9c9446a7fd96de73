//! The bus stages as the compiler's stackless coroutines (feature
//! `nightly`), for the pipeline bench and the `compare` example. In a file of its own because
//! `yield` does not even parse on stable, inside a `cfg`-disabled module.

use std::io::Write;
use std::ops::{Coroutine, CoroutineState};
use std::pin::Pin;

use corio::pipe::bus::Bus;
use corio::pipe::xml::{self, Event, Text};
use corio::pipe::{Error, Sink};

/// A stackless coroutine as a pipeline sink.
pub struct Stackless<C>(pub Pin<Box<C>>);

impl<T, C: Coroutine<T, Yield = (), Return = ()>> Sink<T> for Stackless<C> {
    #[inline]
    fn send(&mut self, item: T) -> Result<(), Error> {
        match self.0.as_mut().resume(item) {
            CoroutineState::Yielded(()) => Ok(()),
            CoroutineState::Complete(()) => Ok(()),
        }
    }
}

fn buses_to_dicts<'d>(
    mut target: impl Sink<Bus<'d>>,
) -> Stackless<impl Coroutine<Event<'d>, Yield = (), Return = ()>> {
    Stackless(Box::pin(
        #[coroutine]
        move |mut event: Event<'d>| {
            let mut fragments: Vec<Text<'d>> = Vec::new();
            loop {
                if let Event::Start(start) = &event {
                    if start.name == "bus" {
                        let mut bus = Bus::with_capacity(16);
                        fragments.clear();
                        loop {
                            event = yield;
                            match event {
                                Event::Start(_) => fragments.clear(),
                                Event::Text(text) => fragments.push(text),
                                Event::End(name) if name != "bus" => {
                                    bus.insert(name, Text::join(&fragments))
                                }
                                Event::End(_) => {
                                    if target.send(bus).is_err() {
                                        return;
                                    }
                                    break;
                                }
                            }
                        }
                    }
                }
                event = yield;
            }
        },
    ))
}

fn filter_on_field<'a, 'd: 'a>(
    field: &'a str,
    value: &'a str,
    mut target: impl Sink<Bus<'d>> + 'a,
) -> Stackless<impl Coroutine<Bus<'d>, Yield = (), Return = ()> + 'a> {
    Stackless(Box::pin(
        #[coroutine]
        move |mut bus: Bus<'d>| loop {
            if bus.get(field) == Some(value) && target.send(bus).is_err() {
                return;
            }
            bus = yield;
        },
    ))
}

fn bus_info_printer<'a, 'd: 'a>(
    mut out: impl Write + 'a,
) -> Stackless<impl Coroutine<Bus<'d>, Yield = (), Return = ()> + 'a> {
    Stackless(Box::pin(
        #[coroutine]
        move |mut bus: Bus<'d>| loop {
            let _ = crate::common::bus_pipeline::write_bus(&mut out, &bus);
            bus = yield;
        },
    ))
}

pub fn run(doc: &str) -> usize {
    let mut out = crate::common::bus_pipeline::Lines::default();
    {
        let direction = filter_on_field("direction", "North Bound", bus_info_printer(&mut out));
        let route = filter_on_field("route", "22", direction);
        xml::parse_str(doc, buses_to_dicts(route)).expect("pipeline");
    }
    out.0
}
