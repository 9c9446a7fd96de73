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
//! factor, so the summary compares like with like.

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

fn parse_scale() -> f64 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => 1.0,
        [flag, value] if flag == "--scale" => match value.parse::<f64>() {
            Ok(s) if s.is_finite() && s > 0.0 => s,
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ! {
    eprintln!("usage: comm_via_queue [--scale FACTOR]");
    std::process::exit(2);
}

fn main() {
    let scale = parse_scale();
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
