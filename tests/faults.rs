//! The `faults` suite (`tests/suites/faults.rs`) on the single-thread
//! runtime.

/// The runtime every test of the suite runs on.
#[track_caller]
fn run<T>(main: impl FnOnce() -> T) -> T {
    corio::run(main)
}

#[path = "suites/faults.rs"]
mod suite;
