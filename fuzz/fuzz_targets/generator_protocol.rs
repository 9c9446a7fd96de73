//! Random sequences of `send`, `throw`, `close` and drop over generators
//! that delegate to each other with `yield_from`, raise, return, handle or
//! ignore what is thrown in, and panic; every result is checked against a
//! reference model of Python's generator protocol (`model` below), written
//! without corio, and so is the order in which the bodies end.
//!
//! A body is a little program: a list of statements interpreted on the
//! generator's stack. The model interprets the same program as a state
//! machine, with the rules of PEP 342 and PEP 380 in the form corio gives
//! them (its typed errors in place of Python's exceptions).
#![no_main]

#[path = "generator_protocol/model.rs"]
mod model;

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Once;

use arbitrary::Arbitrary;
use corio::generator::{Co, Error, Generator, GeneratorState, Interrupt};
use libfuzzer_sys::fuzz_target;

/// What a body yields: its generator's id, the statement's value, and the
/// last thing the body received (see `model::code`).
pub type Y = (u8, u8, u16);
type Gen = Generator<'static, u8, Y, u8, u8>;
/// The outcome of one operation, as the caller sees it.
pub type Step = Result<GeneratorState<Y, u8>, Error<u8>>;

/// What a body does when a `yield_` (or a `yield_from`) returns an
/// interrupt.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Handler {
    /// `?`: pass it on.
    Propagate,
    /// Handle it and go on with the next statement.
    Continue,
    /// Handle it and return this value.
    Return(u8),
    /// Raise this error instead.
    Raise(u8),
    /// Panic.
    Panic,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Stmt {
    /// `x = yield value`, with what to do on a throw and on a close.
    Yield {
        value: u8,
        on_throw: Handler,
        on_close: Handler,
    },
    /// `x = yield from program[child]`, first sending 0; handlers as above
    /// for an error escaping the child, and for a close.
    YieldFrom {
        child: u8,
        on_throw: Handler,
        on_close: Handler,
    },
    Return(u8),
    Raise(u8),
    /// Returns `Err(Interrupt::Closed)` without having been closed.
    ExitClosed,
    Panic,
}

#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Op {
    Create { slot: u8, program: u8 },
    Send { slot: u8, value: u8 },
    Throw { slot: u8, error: u8 },
    Close { slot: u8 },
    Drop { slot: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    programs: Vec<Vec<Stmt>>,
    ops: Vec<Op>,
}

pub const SLOTS: usize = 3;
const MAX_PROGRAMS: usize = 6;
const MAX_STMTS: usize = 8;
const MAX_OPS: usize = 48;

/// The panic a body raises on purpose: caught and expected, unlike any
/// other, which reaches libFuzzer's hook and counts as a crash.
struct BodyPanic;

/// Programs and the log of bodies ending, shared by every body of a run.
pub struct World {
    pub programs: Vec<Vec<Stmt>>,
    pub next_id: u8,
    pub exits: Vec<u8>,
}

/// The program a `YieldFrom` in `program` runs: always a later one, so
/// delegation cannot recurse. `None` in the last program (the statement
/// then returns at once, in both the model and the body).
pub fn child_of(programs: &[Vec<Stmt>], program: usize, child: u8) -> Option<usize> {
    let later = programs.len() - program - 1;
    (later > 0).then(|| program + 1 + usize::from(child) % later)
}

/// Logs the end of a body, however it ends: returned, raised, panicked or
/// unwound by corio.
struct ExitGuard(Rc<RefCell<World>>, u8);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.borrow_mut().exits.push(self.1);
    }
}

fn new_gen(world: &Rc<RefCell<World>>, program: usize) -> Gen {
    let id = {
        let mut w = world.borrow_mut();
        w.next_id = w.next_id.wrapping_add(1);
        w.next_id
    };
    let world = world.clone();
    Generator::new(move |co, first| run_body(co, &world, program, id, first))
}

/// What a handler makes of an interrupt: the new "last received" value
/// to go on with, or the body's result.
fn handle(h: Handler, i: Interrupt<u8>) -> Result<u16, Result<u8, Interrupt<u8>>> {
    match h {
        Handler::Propagate => Err(Err(i)),
        Handler::Continue => Ok(model::code_of(&i)),
        Handler::Return(r) => Err(Ok(r)),
        Handler::Raise(e) => Err(Err(Interrupt::Thrown(e))),
        Handler::Panic => panic::panic_any(BodyPanic),
    }
}

fn run_body(
    co: &Co<u8, Y, u8>,
    world: &Rc<RefCell<World>>,
    program: usize,
    id: u8,
    first: u8,
) -> Result<u8, Interrupt<u8>> {
    let _exit = ExitGuard(world.clone(), id);
    let stmts = world.borrow().programs[program].clone();
    let mut last = u16::from(first);
    for stmt in stmts {
        let (received, on_throw, on_close) = match stmt {
            Stmt::Yield {
                value,
                on_throw,
                on_close,
            } => (
                co.yield_((id, value, last)).map(u16::from),
                on_throw,
                on_close,
            ),
            Stmt::YieldFrom {
                child,
                on_throw,
                on_close,
            } => {
                let child = child_of(&world.borrow().programs, program, child);
                let Some(child) = child else { return Ok(0) };
                let sub = new_gen(world, child);
                let r = co.yield_from(sub, 0);
                (
                    r.map(|r| model::RETURNED + u16::from(r)),
                    on_throw,
                    on_close,
                )
            }
            Stmt::Return(r) => return Ok(r),
            Stmt::Raise(e) => return Err(Interrupt::Thrown(e)),
            Stmt::ExitClosed => return Err(Interrupt::Closed),
            Stmt::Panic => panic::panic_any(BodyPanic),
        };
        let handled = match received {
            Ok(x) => Ok(x),
            Err(i @ Interrupt::Thrown(_)) => handle(on_throw, i),
            Err(i @ Interrupt::Closed) => handle(on_close, i),
        };
        last = match handled {
            Ok(x) => x,
            Err(result) => return result,
        };
    }
    Ok(0)
}

/// Runs `f`, turning a body's deliberate panic into `Err`.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, model::Panicked> {
    panic::catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        if payload.is::<BodyPanic>() {
            model::Panicked
        } else {
            panic::resume_unwind(payload)
        }
    })
}

/// Keeps libFuzzer's panic hook (which aborts) for every panic but the
/// bodies' own.
fn quiet_body_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<BodyPanic>() {
                previous(info);
            }
        }));
    });
}

fn check<T: PartialEq + std::fmt::Debug>(what: &str, real: T, model: T, input: &Input) {
    assert!(
        real == model,
        "{what}: corio gave {real:?}, the model {model:?}\ninput: {input:#?}"
    );
}

fn run(input: &Input) {
    let programs = &input.programs;
    let world = Rc::new(RefCell::new(World {
        programs: programs.clone(),
        next_id: 0,
        exits: Vec::new(),
    }));
    let mut model = model::Model::new(programs);
    let mut real: [Option<Gen>; SLOTS] = Default::default();
    let mut fake: [Option<model::MGen>; SLOTS] = Default::default();
    let drop_both = |s: usize,
                     real: &mut [Option<Gen>],
                     fake: &mut [Option<model::MGen>],
                     model: &mut model::Model| {
        if let (Some(g), Some(m)) = (real[s].take(), fake[s].take()) {
            check(
                "drop",
                catch(|| drop(g)).is_ok(),
                model.drop(m).is_ok(),
                input,
            );
        }
    };
    for op in &input.ops {
        match *op {
            Op::Create { slot, program } => {
                let s = usize::from(slot) % SLOTS;
                drop_both(s, &mut real, &mut fake, &mut model);
                let p = usize::from(program) % programs.len();
                real[s] = Some(new_gen(&world, p));
                fake[s] = Some(model.create(p));
            }
            Op::Send { slot, value } => {
                let s = usize::from(slot) % SLOTS;
                if let (Some(g), Some(m)) = (&mut real[s], &mut fake[s]) {
                    let got = catch(|| g.send(value));
                    check("send", got.ok(), model.send(m, value).ok(), input);
                }
            }
            Op::Throw { slot, error } => {
                let s = usize::from(slot) % SLOTS;
                if let (Some(g), Some(m)) = (&mut real[s], &mut fake[s]) {
                    let got = catch(|| g.throw(error));
                    check("throw", got.ok(), model.throw(m, error).ok(), input);
                }
            }
            Op::Close { slot } => {
                let s = usize::from(slot) % SLOTS;
                if let (Some(g), Some(m)) = (&mut real[s], &mut fake[s]) {
                    let got = catch(|| g.close());
                    check("close", got.ok(), model.close(m).ok(), input);
                }
            }
            Op::Drop { slot } => {
                drop_both(usize::from(slot) % SLOTS, &mut real, &mut fake, &mut model)
            }
        }
        for (g, m) in real.iter().zip(&fake) {
            if let (Some(g), Some(m)) = (g, m) {
                check("is_started", g.is_started(), m.is_started(), input);
                check("is_finished", g.is_finished(), m.is_finished(), input);
            }
        }
        check("bodies ended", &world.borrow().exits, &model.exits, input);
    }
    for s in 0..SLOTS {
        drop_both(s, &mut real, &mut fake, &mut model);
    }
    check("bodies ended", &world.borrow().exits, &model.exits, input);
    // Every stack went back to the pool.
    check("live stacks", corio::stack::pool_stats().live, 0, input);
}

fuzz_target!(|input: Input| {
    let mut input = input;
    input.programs.truncate(MAX_PROGRAMS);
    for program in &mut input.programs {
        program.truncate(MAX_STMTS);
    }
    input.ops.truncate(MAX_OPS);
    if input.programs.is_empty() {
        return;
    }
    quiet_body_panics();
    run(&input);
});
