//! What the machine is and what it allows, from `/proc`: cores, kernel,
//! memory of a process, the limits that stop N from growing.

use std::fmt;

/// The machine a run measured.
pub struct Machine {
    pub cores: usize,
    pub kernel: String,
    pub cpu: String,
    pub mem_gib: f64,
    /// The command line as typed, for the table.
    pub command: String,
}

impl Machine {
    pub fn read() -> Machine {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| {
                std::process::Command::new("uname")
                    .arg("-r")
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                    .unwrap_or_else(|_| "unknown".into())
            });
        let cpu = proc_field("/proc/cpuinfo", "model name")
            .map(|s| s.trim_start_matches(':').trim().to_owned())
            .unwrap_or_else(|| "unknown CPU".into());
        let mem_gib = proc_field("/proc/meminfo", "MemTotal:")
            .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
        let args: Vec<String> = std::env::args().skip(1).collect();
        let features = if cfg!(feature = "nightly") {
            " --features nightly"
        } else {
            ""
        };
        let mut command = format!("cargo run --release{features} --example compare");
        if !args.is_empty() {
            command = format!("{command} -- {}", args.join(" "));
        }
        Machine {
            cores,
            kernel,
            cpu,
            mem_gib,
            command,
        }
    }
}

impl fmt::Display for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} cores ({}), {:.1} GiB, Linux {}",
            self.cores, self.cpu, self.mem_gib, self.kernel
        )
    }
}

/// The rest of the first line of `path` that starts with `key`.
fn proc_field(path: &str, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    Some(line[key.len()..].trim().to_owned())
}

/// The proportional set size of a process in KiB (`Pss` of
/// `smaps_rollup`: its private pages plus its share of pages it shares, so
/// that processes started from one binary are not each charged the whole
/// binary); `pid` may be `"self"`.
pub fn pss_kib(pid: &str) -> u64 {
    proc_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:")
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// A number from a one-number file under `/proc/sys`.
pub fn sysctl(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The soft limit of a resource from `/proc/self/limits` (`"Max open
/// files"`, `"Max processes"`); `None` when unlimited.
pub fn soft_limit(name: &str) -> Option<u64> {
    let limits = proc_field("/proc/self/limits", name)?;
    limits.split_whitespace().next()?.parse().ok()
}
