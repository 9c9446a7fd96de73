//! Jobs: functions a worker process can run by name, and their registry.
//!
//! A job is declared with [`job!`](crate::job): a typed
//! `static` that the parent submits, and an entry in a registry collected
//! at link time (the `inventory` crate), which a worker searches by name.
//! Parent and workers run the same binary, so both see the same entries
//! and the same types.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::wire::Failure;

/// A job's function with its types erased: serialized arguments in, the
/// serialized result out (or why not). A panic passes through.
pub type ErasedJob = fn(&[u8]) -> Result<Vec<u8>, FailureCause>;

/// Why an erased job produced no result (other than a panic).
#[doc(hidden)]
#[derive(Debug)]
pub struct FailureCause(pub(crate) Failure);

/// A registered job: its name and its erased function. Made by
/// [`job!`](crate::job); not meant to be built by hand.
#[doc(hidden)]
pub struct JobEntry {
    name: &'static str,
    run: ErasedJob,
}

impl JobEntry {
    #[doc(hidden)]
    pub const fn __new(name: &'static str, run: ErasedJob) -> JobEntry {
        JobEntry { name, run }
    }
}

inventory::collect!(JobEntry);

/// Runs `f` on arguments decoded from `args` and encodes its result: the
/// body of every erased job.
#[doc(hidden)]
pub fn __run_erased<A: DeserializeOwned, R: Serialize>(
    f: fn(A) -> R,
    args: &[u8],
) -> Result<Vec<u8>, FailureCause> {
    let args: A =
        postcard::from_bytes(args).map_err(|e| FailureCause(Failure::BadArgs(e.to_string())))?;
    postcard::to_stdvec(&f(args)).map_err(|e| FailureCause(Failure::BadOutput(e.to_string())))
}

/// The registered job called `name`.
pub(super) fn lookup(name: &str) -> Option<ErasedJob> {
    inventory::iter::<JobEntry>
        .into_iter()
        .find(|entry| entry.name == name)
        .map(|entry| entry.run)
}

/// A job that takes an `A` and returns an `R`, run in a worker process by
/// [`Pool::submit`](super::Pool::submit). Declared with
/// [`job!`](crate::job), which also registers it; or named with
/// [`Job::by_name`] to call a job registered under that name.
pub struct Job<A, R> {
    name: &'static str,
    _types: PhantomData<fn(A) -> R>,
}

impl<A, R> Job<A, R> {
    #[doc(hidden)]
    pub const fn __declare(name: &'static str) -> Job<A, R> {
        Job {
            name,
            _types: PhantomData,
        }
    }

    /// The job registered as `name` (the path of its `static`, such as
    /// `"my_crate::jobs::HASH"`), with types the caller asserts. Nothing is
    /// checked here: an unknown name fails the job with
    /// [`JobError::Unregistered`](super::JobError::Unregistered), and
    /// arguments or a result of the wrong type fail it with
    /// [`JobError::BadArgs`](super::JobError::BadArgs) or
    /// [`JobError::BadResult`](super::JobError::BadResult).
    pub const fn by_name(name: &'static str) -> Job<A, R> {
        Job::__declare(name)
    }

    /// The name the job is registered under.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl<A, R> fmt::Debug for Job<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Job").field(&self.name).finish()
    }
}

/// Declares a job: a `static` [`Job`](crate::procpool::Job) that a
/// [`Pool`](crate::procpool::Pool) can run in its worker processes, bound
/// to a function `fn(A) -> R` where `A: DeserializeOwned` and
/// `R: Serialize`. The job is registered under the path of the `static`
/// (`module_path!()` and its name), which is how a worker finds it.
///
/// ```
/// fn square(n: u64) -> u64 {
///     n * n
/// }
///
/// corio::job!(pub static SQUARE: Job<u64, u64> = square);
///
/// assert!(SQUARE.name().ends_with("::SQUARE"));
/// ```
///
/// Several arguments travel as a tuple:
///
/// ```
/// fn add((a, b): (u64, u64)) -> u64 {
///     a + b
/// }
///
/// corio::job!(static ADD: Job<(u64, u64), u64> = add);
/// ```
#[macro_export]
macro_rules! job {
    ($(#[$attr:meta])* $vis:vis static $name:ident: Job<$args:ty, $ret:ty> = $func:path $(;)?) => {
        $(#[$attr])*
        $vis static $name: $crate::procpool::Job<$args, $ret> =
            $crate::procpool::Job::__declare(concat!(module_path!(), "::", stringify!($name)));

        $crate::procpool::__inventory::submit! {
            $crate::procpool::JobEntry::__new(
                concat!(module_path!(), "::", stringify!($name)),
                |args: &[u8]| $crate::procpool::__run_erased::<$args, $ret>($func, args),
            )
        }
    };
}
