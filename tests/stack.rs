//! Stacks: overflow reports, allocation limits, and where a failed
//! allocation panics. Each fault is provoked in a child process (this test
//! binary re-run with one test selected), so the test process itself
//! survives.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Output};

use corio::generator::{Builder, Generator};
use corio::stack::StackError;

const CHILD_ENV: &str = "CORIO_TEST_CHILD";

/// Runs one test of this binary in a child process with `CHILD_ENV` set.
fn run_child(test_name: &str) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        // Under AddressSanitizer, leave SIGSEGV to the handlers under test
        // (ASan's own would report a thread stack overflow instead of std).
        .env("ASAN_OPTIONS", "handle_segv=0")
        .output()
        .unwrap()
}

fn in_child() -> bool {
    std::env::var_os(CHILD_ENV).is_some()
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(depth: u64, co: &corio::Co<(), u64>) -> u64 {
    let mut pad = [0u8; 1024];
    pad[0] = depth as u8;
    std::hint::black_box(&mut pad);
    if depth == u64::MAX {
        let _ = co.yield_(depth);
    }
    recurse(depth + 1, co) + u64::from(pad[0])
}

#[test]
fn overflow_child() {
    if !in_child() {
        return;
    }
    let mut gen: Generator<(), u64, u64> = Builder::new()
        .name("deep-recursion")
        .stack_size(64 * 1024)
        .build(|co, ()| Ok(recurse(0, co)))
        .unwrap();
    let _ = gen.send(());
    unreachable!("the recursion must overflow");
}

#[test]
fn stack_overflow_is_reported_with_the_coroutine_name_and_size() {
    if in_child() {
        return;
    }
    let out = run_child("overflow_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "the child must abort, stderr: {stderr}"
    );
    assert!(
        stderr.contains("coroutine 'deep-recursion' has overflowed its stack of 65536 bytes"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("Builder::stack_size"), "stderr: {stderr}");
}

#[test]
fn thread_overflow_child() {
    if !in_child() {
        return;
    }
    // A fault outside any coroutine must still reach the standard library's
    // handler, which reports a thread stack overflow.
    #[allow(unconditional_recursion)]
    fn plain(depth: u64) -> u64 {
        let mut pad = [0u8; 1024];
        pad[0] = depth as u8;
        std::hint::black_box(&mut pad);
        plain(depth + 1) + u64::from(pad[0])
    }
    // Install corio's handler first.
    let _ = Generator::<(), ()>::new(|_, ()| Ok(()));
    std::thread::Builder::new()
        .name("plain-thread".into())
        .stack_size(128 * 1024)
        .spawn(|| plain(0))
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_thread_stack_overflow_still_reaches_the_std_handler() {
    if in_child() {
        return;
    }
    let out = run_child("thread_overflow_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("thread 'plain-thread'") && stderr.contains("has overflowed its stack"),
        "stderr: {stderr}"
    );
    assert!(!stderr.contains("coroutine '"), "stderr: {stderr}");
}

/// Caps the address space a little above what the process uses now, so
/// that mapping stacks soon fails with ENOMEM, as at vm.max_map_count.
fn limit_address_space() {
    let limit = 64 << 20;
    // SAFETY: setrlimit with a valid struct has no memory-safety conditions.
    unsafe {
        let vm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: u64 = vm.split_whitespace().next().unwrap().parse().unwrap();
        let used = pages * 4096;
        let rl = libc::rlimit {
            rlim_cur: used + limit,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &rl), 0);
    }
}

#[test]
fn address_space_limit_child() {
    if !in_child() {
        return;
    }
    let mut gens = Vec::new();
    limit_address_space();
    loop {
        let built: Result<Generator<(), ()>, StackError> =
            Builder::new().stack_size(1 << 20).build(|_, ()| Ok(()));
        match built {
            Ok(gen) => gens.push(gen),
            Err(err) => {
                println!("live={} error={err}", gens.len());
                assert!(matches!(err, StackError::MapLimit { .. }));
                return;
            }
        }
    }
}

#[test]
fn running_out_of_mappings_is_a_clear_error() {
    if in_child() {
        return;
    }
    let out = run_child("address_space_limit_child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("error=cannot map a coroutine stack"),
        "{stdout}"
    );
    assert!(stdout.contains("sysctl -w vm.max_map_count="), "{stdout}");
}

/// Which call `panic_location_child` makes until no stack can be mapped.
const CALL_ENV: &str = "CORIO_TEST_CALL";

#[test]
fn panic_location_child() {
    if !in_child() {
        return;
    }
    // The hook prints where the panic says it happened, and what it says.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("?");
        let at = info.location().unwrap();
        println!("panicked at {}:{}: {message}", at.file(), at.line());
    }));
    let call = std::env::var(CALL_ENV).unwrap();
    let mut gens = Vec::new();
    let mut primed = Vec::new();
    let mut tasks = Vec::new();
    let line = std::cell::Cell::new(0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match call.as_str() {
        "Generator::new" => {
            limit_address_space();
            loop {
                line.set(line!() + 1);
                gens.push(Generator::<(), ()>::new(|_, ()| Ok(())));
            }
        }
        "Generator::primed" => {
            limit_address_space();
            loop {
                line.set(line!() + 1);
                primed.push(Generator::<(), ()>::primed(|co| co.yield_(())));
            }
        }
        "spawn" | "spawn_local" => corio::run(|| {
            limit_address_space();
            loop {
                if call == "spawn" {
                    line.set(line!() + 1);
                    tasks.push(corio::spawn(|| ()));
                } else {
                    line.set(line!() + 1);
                    tasks.push(corio::spawn_local(|| ()));
                }
            }
        }),
        other => unreachable!("unknown call {other}"),
    }));
    assert!(result.is_err());
    println!("called at {}:{}", file!(), line.get());
}

#[test]
fn a_failed_stack_allocation_panics_at_the_callers_line() {
    if in_child() {
        return;
    }
    if std::env::var_os("CORIO_ASAN").is_some() {
        eprintln!(
            "skipped under AddressSanitizer: its shadow memory does not fit a capped address space"
        );
        return;
    }
    for call in [
        "Generator::new",
        "Generator::primed",
        "spawn",
        "spawn_local",
    ] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["panic_location_child", "--exact", "--nocapture"])
            .args(["--test-threads=1"])
            .env(CHILD_ENV, "1")
            .env(CALL_ENV, call)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let called_at = stdout
            .split("called at ")
            .nth(1)
            .and_then(|s| s.lines().next())
            .unwrap_or_else(|| panic!("{call}: no call site in {stdout}"));
        assert!(called_at.starts_with("tests/stack.rs:"), "{call}: {stdout}");
        assert!(
            stdout.contains(&format!("panicked at {called_at}: corio:")),
            "{call}: stdout: {stdout}"
        );
        assert!(
            stdout.contains("cannot map a coroutine stack"),
            "{call}: stdout: {stdout}"
        );
    }
}

#[test]
fn map_count_child() {
    if !in_child() {
        return;
    }
    let mut gens = Vec::new();
    loop {
        let built: Result<Generator<(), ()>, StackError> =
            Builder::new().stack_size(16 * 1024).build(|_, ()| Ok(()));
        match built {
            Ok(gen) => gens.push(gen),
            Err(err) => {
                println!("live={} error={err}", gens.len());
                return;
            }
        }
    }
}

#[test]
fn the_map_count_limit_names_the_sysctl() {
    if in_child() {
        return;
    }
    if std::env::var_os("CORIO_ASAN").is_some() {
        eprintln!("skipped under AddressSanitizer: its runtime runs out of mappings first");
        return;
    }
    let limit: u64 = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(u64::MAX);
    if limit > 262_144 {
        eprintln!("skipped: vm.max_map_count is {limit}, too high to reach quickly");
        return;
    }
    let out = run_child("map_count_child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("vm.max_map_count is {limit}")),
        "{stdout}"
    );
    assert!(stdout.contains("sysctl -w vm.max_map_count="), "{stdout}");
    let live: u64 = stdout
        .split("live=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap();
    // Two mappings per stack: the process reaches about half the limit.
    assert!(
        live > limit / 2 - 2000 && live <= limit / 2,
        "live={live}, limit={limit}"
    );
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse_plain(depth: u64) -> u64 {
    let mut pad = [0u8; 1024];
    pad[0] = depth as u8;
    std::hint::black_box(&mut pad);
    recurse_plain(depth + 1) + u64::from(pad[0])
}

#[test]
fn worker_overflow_child() {
    if !in_child() {
        return;
    }
    corio::Runtime::builder()
        .workers(2)
        .build()
        .unwrap()
        .run(|| {
            // This worker spins, so the group starts on the other one.
            let _task = corio::task::Builder::new()
                .name("deep-worker-task")
                .stack_size(64 * 1024)
                .spawn(|| recurse_plain(0))
                .unwrap();
            loop {
                std::hint::spin_loop();
            }
        });
}

#[test]
fn a_task_overflowing_on_a_worker_thread_is_reported_with_its_name() {
    if in_child() {
        return;
    }
    let out = run_child("worker_overflow_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "the child must abort, stderr: {stderr}"
    );
    assert!(
        stderr.contains("coroutine 'deep-worker-task' has overflowed its stack of 65536 bytes"),
        "stderr: {stderr}"
    );
}

#[test]
fn task_overflow_child() {
    if !in_child() {
        return;
    }
    corio::run(|| {
        let task = corio::task::Builder::new()
            .name("deep-task")
            .stack_size(64 * 1024)
            .spawn(|| recurse_plain(0))
            .unwrap();
        let _ = task.join();
        unreachable!("the recursion must overflow");
    });
}

#[test]
fn a_task_overflowing_on_the_single_thread_runtime_is_reported_with_its_name() {
    if in_child() {
        return;
    }
    let out = run_child("task_overflow_child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGABRT),
        "the child must abort, stderr: {stderr}"
    );
    assert!(
        stderr.contains("coroutine 'deep-task' has overflowed its stack of 65536 bytes"),
        "stderr: {stderr}"
    );
}
