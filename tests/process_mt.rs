//! The `process` suite (`tests/suites/process.rs`) on a runtime with two worker
//! threads.

#[path = "suites/two_workers.rs"]
mod two_workers;
use two_workers::run;

#[path = "suites/process.rs"]
mod suite;
