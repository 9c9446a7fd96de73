//! The reference model: the protocol of Python's generators (PEP 342's
//! `send`, `throw`, `close`, PEP 380's `yield from`) as a plain state
//! machine over the same programs, with corio's typed errors standing for
//! Python's exceptions:
//!
//! - `StopIteration(r)` is `Complete(r)`; resuming a finished generator is
//!   `Finished`; an exception escaping the body is `Raised`;
//! - `throw` into a generator that has not started or has finished hands
//!   the error back and finishes it, without running the body;
//! - `close` returns the value of a body that returns after the close;
//!   a body that yields after a close is Python's "generator ignored
//!   GeneratorExit" (`IgnoredClose`), and corio then unwinds its stack
//!   (Python would leave the frame suspended): the ends of its body and of
//!   the bodies it delegates to are logged, innermost first;
//! - `yield from` forwards `send` and `throw`, closes the delegate first on
//!   `close`, and a delegate that ignored the close makes the delegating
//!   generator's own close report `IgnoredClose` unless its body raises;
//! - a panic propagates out of the operation and finishes every generator
//!   on the delegation path (`send` then says `Panicked`).

use corio::generator::{Error, GeneratorState, Interrupt};

use super::{child_of, Handler, Step, Stmt, Y};

/// What a body last received, as it yields it: a value sent in, or one of
/// these plus the error or return value.
pub const THROWN: u16 = 256;
pub const RETURNED: u16 = 512;
pub const CLOSED: u16 = 1024;

pub fn code_of(i: &Interrupt<u8>) -> u16 {
    match i {
        Interrupt::Thrown(e) => THROWN + u16::from(*e),
        Interrupt::Closed => CLOSED,
    }
}

/// A panic in flight through the model.
#[derive(Debug)]
pub struct Panicked;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Fresh,
    Suspended,
    Done,
    Panicked,
}

#[derive(Debug)]
pub struct MGen {
    id: u8,
    program: usize,
    state: State,
    /// The statement the body is suspended at.
    pc: usize,
    last: u16,
    /// The generator a suspended `YieldFrom` delegates to.
    sub: Option<Box<MGen>>,
    sub_ignored_close: bool,
}

impl MGen {
    pub fn is_started(&self) -> bool {
        self.state != State::Fresh
    }

    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Done | State::Panicked)
    }
}

enum Resume {
    Send(u8),
    Throw(u8),
    Close,
}

pub struct Model<'p> {
    programs: &'p [Vec<super::Stmt>],
    next_id: u8,
    /// The ids of the bodies that ended, in order.
    pub exits: Vec<u8>,
}

type Received = Result<u16, Interrupt<u8>>;

impl<'p> Model<'p> {
    pub fn new(programs: &'p [Vec<Stmt>]) -> Self {
        Model {
            programs,
            next_id: 0,
            exits: Vec::new(),
        }
    }

    pub fn create(&mut self, program: usize) -> MGen {
        self.next_id = self.next_id.wrapping_add(1);
        MGen {
            id: self.next_id,
            program,
            state: State::Fresh,
            pc: 0,
            last: 0,
            sub: None,
            sub_ignored_close: false,
        }
    }

    pub fn send(&mut self, g: &mut MGen, value: u8) -> Result<Step, Panicked> {
        match g.state {
            State::Fresh => {
                g.state = State::Suspended;
                g.last = u16::from(value);
                g.pc = 0;
                self.exec(g)
            }
            State::Suspended => self.resume(g, Resume::Send(value)),
            State::Done => Ok(Err(Error::Finished)),
            State::Panicked => Ok(Err(Error::Panicked)),
        }
    }

    pub fn throw(&mut self, g: &mut MGen, error: u8) -> Result<Step, Panicked> {
        match g.state {
            State::Suspended => self.resume(g, Resume::Throw(error)),
            State::Panicked => Ok(Err(Error::Raised(error))),
            State::Fresh | State::Done => {
                g.state = State::Done;
                Ok(Err(Error::Raised(error)))
            }
        }
    }

    pub fn close(&mut self, g: &mut MGen) -> Result<Result<Option<u8>, Error<u8>>, Panicked> {
        match g.state {
            State::Suspended => Ok(match self.resume(g, Resume::Close)? {
                Ok(GeneratorState::Yielded(_)) => {
                    self.unwind(g);
                    Err(Error::IgnoredClose)
                }
                Ok(GeneratorState::Complete(r)) => Ok(Some(r)),
                Err(Error::Closed) => Ok(None),
                Err(e) => Err(e),
            }),
            State::Panicked => Ok(Ok(None)),
            State::Fresh | State::Done => {
                g.state = State::Done;
                Ok(Ok(None))
            }
        }
    }

    /// Dropping a generator closes it if it is suspended (discarding what
    /// the close returns, but not a panic).
    pub fn drop(&mut self, mut g: MGen) -> Result<(), Panicked> {
        if g.state == State::Suspended {
            let _ = self.close(&mut g)?;
        }
        Ok(())
    }

    /// The stack of a suspended body is unwound: the bodies it delegates
    /// to first.
    fn unwind(&mut self, g: &mut MGen) {
        if let Some(mut sub) = g.sub.take() {
            self.unwind(&mut sub);
        }
        self.exits.push(g.id);
        g.state = State::Done;
    }

    /// A panic unwinds the body of `g`.
    fn die(&mut self, g: &mut MGen) -> Panicked {
        g.sub = None;
        g.state = State::Panicked;
        self.exits.push(g.id);
        Panicked
    }

    /// The body returns `outcome`.
    fn end(&mut self, g: &mut MGen, outcome: Result<u8, Interrupt<u8>>) -> Step {
        self.exits.push(g.id);
        g.state = State::Done;
        if g.sub_ignored_close {
            return match outcome {
                Err(Interrupt::Thrown(e)) => Err(Error::Raised(e)),
                Ok(_) | Err(Interrupt::Closed) => Err(Error::IgnoredClose),
            };
        }
        match outcome {
            Ok(r) => Ok(GeneratorState::Complete(r)),
            Err(Interrupt::Thrown(e)) => Err(Error::Raised(e)),
            Err(Interrupt::Closed) => Err(Error::Closed),
        }
    }

    fn stmt(&self, g: &MGen) -> Stmt {
        self.programs[g.program][g.pc]
    }

    fn handlers(&self, g: &MGen) -> (Handler, Handler) {
        match self.stmt(g) {
            Stmt::Yield {
                on_throw, on_close, ..
            }
            | Stmt::YieldFrom {
                on_throw, on_close, ..
            } => (on_throw, on_close),
            _ => unreachable!("suspended at a yield"),
        }
    }

    /// What `yield from` makes of a step of its delegate: `Err` with the
    /// value when the delegate yielded (it goes on up), else what it
    /// returns.
    fn delegated(&mut self, g: &mut MGen, step: Step) -> Result<Received, Y> {
        let received = match step {
            Ok(GeneratorState::Yielded(y)) => return Err(y),
            Ok(GeneratorState::Complete(r)) => Ok(RETURNED + u16::from(r)),
            Err(Error::Raised(e)) => Err(Interrupt::Thrown(e)),
            Err(Error::IgnoredClose) => {
                g.sub_ignored_close = true;
                Err(Interrupt::Closed)
            }
            Err(Error::Closed) => Err(Interrupt::Closed),
            Err(other) => unreachable!("a fresh delegate cannot give {other:?}"),
        };
        Ok(received)
    }

    fn resume(&mut self, g: &mut MGen, input: Resume) -> Result<Step, Panicked> {
        let received = if let Some(mut sub) = g.sub.take() {
            let step = match input {
                Resume::Send(v) => self.send(&mut sub, v),
                Resume::Throw(e) => self.throw(&mut sub, e),
                Resume::Close => match self.close(&mut sub) {
                    Ok(Err(Error::Raised(e))) => Ok(Err(Error::Raised(e))),
                    Ok(Err(Error::IgnoredClose)) => Ok(Err(Error::IgnoredClose)),
                    Ok(_) => Ok(Err(Error::Closed)),
                    Err(p) => Err(p),
                },
            };
            let Ok(step) = step else {
                return Err(self.die(g));
            };
            match self.delegated(g, step) {
                Err(y) => {
                    g.sub = Some(sub);
                    return Ok(Ok(GeneratorState::Yielded(y)));
                }
                Ok(received) => received,
            }
        } else {
            match input {
                Resume::Send(v) => Ok(u16::from(v)),
                Resume::Throw(e) => Err(Interrupt::Thrown(e)),
                Resume::Close => Err(Interrupt::Closed),
            }
        };
        self.go_on(g, received)
    }

    /// The pending yield returned `received`: handle it, and run on.
    fn go_on(&mut self, g: &mut MGen, received: Received) -> Result<Step, Panicked> {
        let (on_throw, on_close) = self.handlers(g);
        let interrupt = match received {
            Ok(x) => {
                g.last = x;
                g.pc += 1;
                return self.exec(g);
            }
            Err(i) => i,
        };
        let handler = match interrupt {
            Interrupt::Thrown(_) => on_throw,
            Interrupt::Closed => on_close,
        };
        match handler {
            Handler::Propagate => Ok(self.end(g, Err(interrupt))),
            Handler::Continue => {
                g.last = code_of(&interrupt);
                g.pc += 1;
                self.exec(g)
            }
            Handler::Return(r) => Ok(self.end(g, Ok(r))),
            Handler::Raise(e) => Ok(self.end(g, Err(Interrupt::Thrown(e)))),
            Handler::Panic => Err(self.die(g)),
        }
    }

    /// Runs the body from statement `pc` to its next yield or its end.
    fn exec(&mut self, g: &mut MGen) -> Result<Step, Panicked> {
        let Some(&stmt) = self.programs[g.program].get(g.pc) else {
            return Ok(self.end(g, Ok(0)));
        };
        match stmt {
            Stmt::Yield { value, .. } => Ok(Ok(GeneratorState::Yielded((g.id, value, g.last)))),
            Stmt::YieldFrom { child, .. } => {
                let Some(child) = child_of(self.programs, g.program, child) else {
                    return Ok(self.end(g, Ok(0)));
                };
                let mut sub = self.create(child);
                let Ok(step) = self.send(&mut sub, 0) else {
                    return Err(self.die(g));
                };
                match self.delegated(g, step) {
                    Err(y) => {
                        g.sub = Some(Box::new(sub));
                        Ok(Ok(GeneratorState::Yielded(y)))
                    }
                    Ok(received) => self.go_on(g, received),
                }
            }
            Stmt::Return(r) => Ok(self.end(g, Ok(r))),
            Stmt::Raise(e) => Ok(self.end(g, Err(Interrupt::Thrown(e)))),
            Stmt::ExitClosed => Ok(self.end(g, Err(Interrupt::Closed))),
            Stmt::Panic => Err(self.die(g)),
        }
    }
}
