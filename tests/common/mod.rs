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
