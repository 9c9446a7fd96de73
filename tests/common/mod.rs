//! Shared by the test files that run the examples.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The built example binary. `cargo test` builds every example next to the
/// test binaries (`target/<profile>/examples/`); if it is missing (another
/// test runner), it is built with the same features.
pub fn example_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    if !path.exists() {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "--example", name]);
        if cfg!(feature = "nightly") {
            cargo.args(["--features", "nightly"]);
        }
        let status = cargo.status().expect("run cargo build");
        assert!(status.success(), "building example {name} failed");
    }
    path
}

/// Runs an example with arguments and returns its output.
pub fn run_example(name: &str, args: &[&str]) -> Output {
    Command::new(example_path(name))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run example {name}: {e}"))
}

/// Runs an example that must succeed and returns its standard output.
pub fn example_stdout(name: &str, args: &[&str]) -> String {
    let out = run_example(name, args);
    assert!(
        out.status.success(),
        "example {name} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Checks that `args` make example `name` fail as a usage error: status
/// 2, nothing on standard output, and one line on standard error that
/// gives the usage, never a panic.
pub fn assert_usage_error(name: &str, args: &[&str]) {
    let out = run_example(name, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let context = format!("{name} {args:?}: {}, stderr {stderr:?}", out.status);
    assert_eq!(out.status.code(), Some(2), "{context}");
    assert!(out.stdout.is_empty(), "{context}");
    assert!(!stderr.contains("panicked"), "{context}");
    assert_eq!(stderr.lines().count(), 1, "{context}");
    assert!(stderr.ends_with('\n'), "{context}");
    assert!(stderr.starts_with(&format!("{name}: error: ")), "{context}");
    assert!(stderr.contains(&format!("(usage: {name}")), "{context}");
}

/// Checks that `--help` and `-h` print example `name`'s usage on standard
/// output and exit with status 0, doing nothing else.
pub fn assert_help(name: &str) {
    for flag in ["--help", "-h"] {
        let out = run_example(name, &[flag]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let context = format!("{name} {flag}: {}, stdout {stdout:?}", out.status);
        assert_eq!(out.status.code(), Some(0), "{context}");
        assert!(out.stderr.is_empty(), "{context}");
        assert!(stdout.contains(&format!("Usage: {name}")), "{context}");
    }
}
