//! The `sync_misc` suite (`tests/suites/sync_misc.rs`) on a runtime with two worker
//! threads.

#[path = "suites/two_workers.rs"]
mod two_workers;
use two_workers::run;

#[path = "suites/sync_misc.rs"]
mod suite;
