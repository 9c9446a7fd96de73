//! The `sync_queue` suite (`tests/suites/sync_queue.rs`) on a runtime with two worker
//! threads.

/// The runtime every test of the suite runs on.
#[track_caller]
fn run<T>(main: impl FnOnce() -> T) -> T {
    corio::Runtime::builder()
        .workers(2)
        .build()
        .expect("a two-worker runtime")
        .run(main)
}

#[path = "suites/sync_queue.rs"]
mod suite;
