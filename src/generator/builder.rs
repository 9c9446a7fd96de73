//! [`Builder`]: a generator with a name and a stack size.

use std::cell::Cell;
use std::marker::PhantomData;

use corosensei::Coroutine;

use super::co::{park_body, Co};
use super::{Error, GenYielder, Generator, GeneratorState, Interrupt, Resume};
use crate::coro::{self, CoroutineOptions, Frame, Park};
use crate::stack::{self, PooledStack, StackError};

/// Creates generators with a name and a stack size.
///
/// ```
/// use corio::generator::{Builder, Generator};
///
/// let gen: Generator<(), i32> = Builder::new()
///     .name("deep")
///     .stack_size(4 << 20)
///     .build(|co, ()| {
///         co.yield_(1)?;
///         Ok(())
///     })
///     .expect("stack allocation");
/// assert_eq!(gen.collect::<Vec<i32>>(), [1]);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Builder {
    options: CoroutineOptions,
}

impl Builder {
    /// A builder with no name and [`stack::DEFAULT_STACK_SIZE`].
    #[inline]
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the generator; the name appears in stack overflow reports.
    #[inline]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.options.set_name(name);
        self
    }

    /// Sets the usable stack size in bytes (rounded up to whole pages, at
    /// least [`stack::MIN_STACK_SIZE`]).
    #[inline]
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.options.set_stack_size(bytes);
        self
    }

    /// Creates a generator whose body starts at the first `send`.
    #[inline]
    pub fn build<'a, I, Y, R, E, F>(self, body: F) -> Result<Generator<'a, I, Y, R, E>, StackError>
    where
        F: FnOnce(&Co<I, Y, E>, I) -> Result<R, Interrupt<E>> + 'a,
    {
        self.spawn(move |co, first| match first {
            Resume::Send(input) => body(co, input),
            // `Generator` settles throw and close on a fresh generator
            // without starting it, and only primed bodies start with `Start`.
            _ => unreachable!("a fresh generator is always started by send"),
        })
    }

    /// Creates a generator and runs its body to the first `yield_`, like
    /// Python's `@coroutine` decorator. See [`Generator::primed`].
    pub fn build_primed<'a, I, R, E, F>(
        self,
        body: F,
    ) -> Result<Generator<'a, I, (), R, E>, StackError>
    where
        F: FnOnce(&Co<I, (), E>) -> Result<R, Interrupt<E>> + 'a,
    {
        let mut gen = self.spawn(move |co, _start| body(co))?;
        match gen.resume(Resume::Start) {
            Ok(GeneratorState::Yielded(())) => {}
            Ok(GeneratorState::Complete(r)) => gen.outcome = Some(Ok(r)),
            Err(e) => gen.outcome = Some(Err(e)),
        }
        Ok(gen)
    }

    // Inlined so that the generator is built where its caller keeps it: a
    // call would return it through memory, and the caller's wide copy of it
    // out of the `Result` stalls on the callee's narrower stores
    // (store-to-load forwarding fails), which cost a third of
    // `create_finish`.
    #[inline(always)]
    fn spawn<'a, I, Y, R, E, F>(self, body: F) -> Result<Generator<'a, I, Y, R, E>, StackError>
    where
        F: FnOnce(&Co<I, Y, E>, Resume<I, E>) -> Result<R, Interrupt<E>> + 'a,
    {
        coro::ensure_handler();
        let stack = PooledStack::take(self.options.stack_size_or(stack::DEFAULT_STACK_SIZE))?;
        let bounds = Frame::bounds(&stack);
        let name = self.options.name;
        let wrapper = move |yielder: &GenYielder<I, Y, E>, first: Resume<I, E>| {
            let co = Co {
                frame: Frame::new(
                    bounds,
                    name,
                    Park::Relay(
                        park_body::<I, Y, E>,
                        (yielder as *const GenYielder<I, Y, E>).cast(),
                    ),
                ),
                yielder,
                sub_ignored_close: Cell::new(false),
                resumed_panicking: Cell::new(std::thread::panicking()),
            };
            coro::set_current(&co.frame);
            let outcome = body(&co, first);
            if co.sub_ignored_close.get() {
                return co.ignored_close_below(outcome);
            }
            outcome.map_err(Error::from)
        };
        // SAFETY: `with_stack_unchecked` drops the `'static` bounds of
        // `with_stack`. They are upheld by `Generator<'a, ..>` instead: the
        // body and the input, yield and return types may only borrow data
        // that outlives `'a`, and the generator cannot outlive `'a`. If the
        // generator is dropped, its coroutine is unwound (or finished) before
        // the borrows end; if it is leaked with `mem::forget`, its stack is
        // owned by the leaked value and never runs or gets reused again.
        let inner = unsafe { Coroutine::with_stack_unchecked(stack, wrapper) };
        Ok(Generator {
            inner: Some(inner),
            outcome: None,
            _borrows: PhantomData,
        })
    }
}
