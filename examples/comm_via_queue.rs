//! Tasks communicating through a work queue (the seed's
//! `comm_via_queue.py`).
//!
//! ```text
//! cargo run --example comm_via_queue [-- --scale FACTOR]
//! ```
//!
//! Main puts 20 random sleep durations (0.05 to 1.0 s) into a
//! [`Queue`]; three workers take them, sleep, and mark them done. Main
//! `join`s the queue, cancels the workers, and prints how long the sleeps
//! would take one after another and how long they took in parallel.
//! `--scale 0.01` shortens every sleep a hundredfold; the printed durations
//! stay the unscaled ones, and the measured parallel time is divided by the
//! factor, so the summary compares like with like. The factor must be more
//! than 0 and at most 1000: a larger one would make sleeps too long to
//! represent, a worker would panic, and `Queue::join` would wait for ever
//! for the item it never marked done (see its docs).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use corio::sync::Queue;

fn worker(name: String, q: Arc<Queue<f64>>, scale: f64) {
    loop {
        let sleep_for = q.get();
        corio::sleep(Duration::from_secs_f64(sleep_for * scale));
        q.task_done().expect("one task_done per item");
        println!("{name} has slept for {sleep_for:.2} seconds");
    }
}

/// Three workers take 20 random sleeps from a queue; prints how long the
/// sleeps would take one after another and how long they took in parallel.
#[derive(clap::Parser)]
#[command(
    name = "comm_via_queue",
    override_usage = "comm_via_queue [--scale FACTOR]"
)]
struct Args {
    /// Multiplies every sleep (more than 0, at most 1000: a sleep stays
    /// under 17 minutes); the summary is given unscaled.
    #[arg(
        long,
        value_name = "FACTOR",
        default_value_t = 1.0,
        value_parser = common::positive_up_to(1000.0)
    )]
    scale: f64,
}

fn main() {
    let Args { scale } = common::parse_args();
    corio::run(|| {
        let q = Arc::new(Queue::new(0));
        // Main is the producer here, putting all the work in one batch.
        let mut total_sleep_time = 0.0;
        for _ in 0..20 {
            let sleep_for = 0.05 + fastrand::f64() * 0.95;
            total_sleep_time += sleep_for;
            q.put_nowait(sleep_for)
                .expect("an unbounded queue has room");
        }

        let workers: Vec<_> = (0..3)
            .map(|i| {
                let q = q.clone();
                corio::spawn(move || worker(format!("Worker-{i}"), q, scale))
            })
            .collect();

        // Wait until every item has been processed.
        let started_at = Instant::now();
        q.join();
        let total_slept_for = started_at.elapsed().as_secs_f64() / scale;

        // The workers loop forever: cancel them, then wait for them to go.
        for w in &workers {
            w.cancel();
        }
        for w in workers {
            let outcome = w.join();
            assert!(outcome.is_err_and(|e| e.is_cancelled()));
        }

        println!("==========");
        println!("Total expected sleep time: {total_sleep_time:.2} seconds");
        println!("3 workers slept in parallel for {total_slept_for:.2} seconds");
    });
}
