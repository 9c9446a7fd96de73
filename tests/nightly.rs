//! `core::ops::Coroutine`: one generic driver for stackful and stackless
//! coroutines (feature `nightly`).
#![cfg_attr(
    feature = "nightly",
    feature(coroutines, coroutine_trait, stmt_expr_attributes)
)]

#[cfg(feature = "nightly")]
#[path = "nightly/coroutine.rs"]
mod coroutine;
