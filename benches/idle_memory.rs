//! Memory per idle task: resident memory of N tasks parked in a long
//! sleep, for corio and tokio's current-thread runtime, each measured in a
//! fresh child process.
//!
//! ```text
//! cargo bench --bench idle_memory            # 10,000 and 100,000 tasks
//! cargo bench --bench idle_memory -- 1000000 # choose the counts
//! ```
//!
//! Every corio task has a guard-paged stack, i.e. two memory mappings, and
//! Linux's default `vm.max_map_count` (65530) stops at about 32,700 live
//! stacks. For larger counts this bench raises the limit with
//! `sysctl -w vm.max_map_count=...` when it runs as root (and says so);
//! otherwise it skips those counts for corio. It restores the limit at the
//! end.
#![allow(missing_docs)]

use std::process::Command;
use std::time::Duration;

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn max_map_count() -> u64 {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// Parks `n` corio tasks, then reports the growth of resident memory.
fn corio_child(n: usize) -> u64 {
    corio::run(|| {
        // Warm-up: the runtime's own structures, one task.
        corio::spawn(|| ()).join().unwrap();
        let before = rss_bytes();
        let tasks: Vec<_> = (0..n)
            .map(|_| corio::spawn(|| corio::sleep(Duration::from_secs(3600))))
            .collect();
        corio::yield_now(); // every task runs once and parks
        let after = rss_bytes();
        for t in &tasks {
            t.cancel();
        }
        after - before
    })
}

fn tokio_child(n: usize) -> u64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        tokio::spawn(async {}).await.unwrap();
        let before = rss_bytes();
        let tasks: Vec<_> = (0..n)
            .map(|_| tokio::spawn(tokio::time::sleep(Duration::from_secs(3600))))
            .collect();
        tokio::task::yield_now().await;
        let after = rss_bytes();
        for t in &tasks {
            t.abort();
        }
        after - before
    })
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, runtime, n] = &args[..] {
        if flag == "--child" {
            let n: usize = n.parse().unwrap();
            let grown = match runtime.as_str() {
                "corio" => corio_child(n),
                _ => tokio_child(n),
            };
            println!("{grown}");
            return;
        }
    }
    let mut counts: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    if counts.is_empty() {
        counts = vec![10_000, 100_000];
    }
    let exe = std::env::current_exe().unwrap();
    let original_limit = max_map_count();
    println!("{:>10}  {:>8}  {:>14}", "tasks", "runtime", "KiB per task");
    for n in counts {
        let needed = 2 * n as u64 + 10_000;
        let mut corio_ok = max_map_count() >= needed;
        if !corio_ok {
            let raised = Command::new("sysctl")
                .arg("-w")
                .arg(format!("vm.max_map_count={needed}"))
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if raised {
                println!("(raised vm.max_map_count to {needed} with sysctl -w, as root)");
                corio_ok = true;
            } else {
                println!("(corio at {n} tasks skipped: vm.max_map_count is below {needed}; run as root to raise it)");
            }
        }
        for runtime in ["corio", "tokio"] {
            if runtime == "corio" && !corio_ok {
                continue;
            }
            let out = Command::new(&exe)
                .args(["--child", runtime, &n.to_string()])
                .output()
                .expect("run child");
            if !out.status.success() {
                println!(
                    "{n:>10}  {runtime:>8}  failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                );
                continue;
            }
            let grown: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            println!(
                "{n:>10}  {runtime:>8}  {:>14.2}",
                grown as f64 / n as f64 / 1024.0
            );
        }
    }
    if max_map_count() != original_limit {
        let _ = Command::new("sysctl")
            .arg("-w")
            .arg(format!("vm.max_map_count={original_limit}"))
            .output();
        println!("(restored vm.max_map_count to {original_limit})");
    }
}
