//! corio: stackful coroutines for Rust.
//!
//! corio gives Rust what Python programmers get from generators: a
//! [`Generator`](gen::Generator) with the whole protocol (`send`, `throw`,
//! `close`, `yield from`) on a coroutine with its own stack, so that a body
//! can suspend from any depth of its call stack and no function has to be
//! written in a special style.
//!
//! - [`gen`]: generators and the handle their bodies yield through.
//! - [`stack`]: stack sizes, the per-thread stack pool, limits and stack
//!   overflow reports.
//!
//! With the `nightly` feature, `Generator` also implements
//! `core::ops::Coroutine`, so generic code drives corio generators and the
//! compiler's stackless coroutines alike.
#![cfg_attr(feature = "nightly", feature(coroutine_trait))]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod gen;
pub mod stack;

pub use gen::{Co, Generator, GeneratorState, Interrupt};

/// The README's code blocks run as doctests, so it cannot drift from the API.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
