//! The `faults` suite (`tests/suites/faults.rs`) on a runtime with two
//! worker threads.

#[path = "suites/two_workers.rs"]
mod two_workers;
use two_workers::run;

#[path = "suites/faults.rs"]
mod suite;
