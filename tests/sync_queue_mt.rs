//! The `sync_queue` suite (`tests/suites/sync_queue.rs`) on a runtime with two worker
//! threads.

#[path = "suites/two_workers.rs"]
mod two_workers;
use two_workers::run;

#[path = "suites/sync_queue.rs"]
mod suite;
