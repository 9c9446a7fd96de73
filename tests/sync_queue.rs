//! The `sync_queue` suite (`tests/suites/sync_queue.rs`) on the single-thread runtime.

/// The runtime every test of the suite runs on.
#[track_caller]
fn run<T>(main: impl FnOnce() -> T) -> T {
    corio::run(main)
}

#[path = "suites/sync_queue.rs"]
mod suite;
