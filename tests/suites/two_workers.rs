//! The runtime of the `*_mt.rs` test files: two worker threads.

/// Runs `main` on a new runtime with two worker threads.
#[track_caller]
pub fn run<T>(main: impl FnOnce() -> T) -> T {
    corio::Runtime::builder()
        .workers(2)
        .build()
        .expect("a two-worker runtime")
        .run(main)
}
