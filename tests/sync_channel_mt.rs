//! The `sync_channel` suite (`tests/suites/sync_channel.rs`) on a runtime with two worker
//! threads.

#[path = "suites/two_workers.rs"]
mod two_workers;
use two_workers::run;

#[path = "suites/sync_channel.rs"]
mod suite;
