//! Spawns a subprocess, reads one line of its output through a pipe, waits
//! for it to exit, and prints the line (the seed README's `get_date`, an
//! `asyncio.create_subprocess_exec` example).
//!
//! ```text
//! cargo run --example get_date
//! Current date: 2019-11-15 14:34:36.622387
//! ```
//!
//! The Python original runs `python -c 'print(datetime.now())'`; this one
//! runs `date` with the same format. Every step that waits (the read of
//! the pipe, the wait for the exit) parks the task, not the thread: the
//! code reads like the blocking version because it is written like it.

mod common;

use std::io::{self, BufRead, BufReader};

use corio::process::{Command, Stdio};

fn get_date() -> io::Result<String> {
    // Spawn a new subprocess that prints the date, and have it communicate
    // back to this process through a pipe.
    let mut child = Command::new("date")
        .arg("+%Y-%m-%d %H:%M:%S.%6N")
        .stdout(Stdio::piped())
        .spawn()?;

    // Read output from the subprocess through the pipe.
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout is piped");
    BufReader::new(stdout).read_line(&mut line)?;

    // Wait for the subprocess to terminate.
    child.wait()?;
    Ok(line.trim_end().to_owned())
}

/// Prints the current date, read from a child process (`date`) through a pipe.
#[derive(clap::Parser)]
#[command(name = "get_date")]
struct Args {}

fn main() {
    let _: Args = common::parse_args();
    match corio::run(get_date) {
        Ok(date) => println!("Current date: {date}"),
        Err(err) => {
            eprintln!("get_date: {err}");
            std::process::exit(1);
        }
    }
}
