//! Beazley's coroutine echo server (*A Curious Course on Coroutines and
//! Concurrency*, parts 7 and 8: `echoserver.py`, `echoserver2.py`).
//!
//! ```text
//! cargo run --example echo_server -- [--port PORT] [--self-test N]
//! ```
//!
//! Serves on 127.0.0.1, port 45000 by default as in the course (`--port 0`
//! picks a free port; the address is reported on stderr). It prints what
//! the course's server prints: `Server starting`, then `Connection from
//! ('127.0.0.1', PORT)` and `Client closed` for each client. Try it with
//! `nc 127.0.0.1 45000`.
//!
//! The point of the example is in `accept`, `recv` and `send`, in
//! `examples/common/echo.rs` (shared with `echo_soak`, which soaks this
//! very server). In the course, a task could only suspend at its top
//! level, so these had to become generators that the scheduler trampolined
//! (`yield Accept(sock)`, `data = yield client.recv(65536)`): part 8, "The
//! Problem with the Stack". A corio task is a stackful coroutine: it parks
//! from any depth, so they are ordinary functions, called in the ordinary
//! way, and the server reads like the blocking socket code it is.
//!
//! `--self-test N` binds a free port (unless `--port` is given), connects N
//! clients from tasks of the same runtime, checks that every message comes
//! back, and exits once the server has served the N of them.
//!
//! When `accept` fails (out of file descriptors, say), the server logs the
//! error on stderr, sleeps a moment and goes on serving. A closed standard
//! output (`echo_server | head -1`) does not stop it either: its log lines
//! are lost, its clients are still served.

mod common;

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::process::exit;

use common::echo::{log, log_err, server};
use corio::net::{TcpListener, TcpStream};

/// One self-test client: sends messages of several sizes and checks each
/// echo. Returns the bytes echoed.
fn client(addr: SocketAddr, id: usize) -> io::Result<usize> {
    let mut sock = TcpStream::connect(addr)?;
    let mut total = 0;
    for round in 0..5 {
        let len = 1 + (id * 977 + round * 4099) % 16_384;
        let message: Vec<u8> = (0..len).map(|i| (i + id + round) as u8).collect();
        sock.write_all(&message)?;
        let mut echo = vec![0; len];
        sock.read_exact(&mut echo)?;
        if echo != message {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs"));
        }
        total += len;
    }
    Ok(total)
}

/// Serves the echo protocol on 127.0.0.1, a task per client, and logs
/// each connection on standard output.
#[derive(clap::Parser)]
#[command(
    name = "echo_server",
    override_usage = "echo_server [--port PORT] [--self-test N]"
)]
struct Args {
    /// The port to listen on (0 picks a free one); 45000 by default, or a
    /// free port with --self-test.
    #[arg(long, value_name = "PORT")]
    port: Option<u16>,
    /// Connects N clients (1 to 10000) from tasks of the same runtime,
    /// checks every echo, and exits once the server has served them.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000)
    )]
    self_test: Option<usize>,
}

fn main() {
    let Args { port, self_test } = common::parse_args();
    let port = port.unwrap_or(if self_test.is_some() { 0 } else { 45000 });

    let ok = corio::run(move || {
        log(format_args!("Server starting"));
        let sock = match TcpListener::bind(("127.0.0.1", port)) {
            Ok(sock) => sock,
            Err(err) => {
                log_err(format_args!(
                    "echo_server: cannot listen on 127.0.0.1:{port}: {err}"
                ));
                return false;
            }
        };
        let addr = sock.local_addr().expect("bound address");
        log_err(format_args!("listening on {addr}"));
        let Some(n) = self_test else {
            server(sock, None);
            return true;
        };
        let server = corio::spawn(move || server(sock, Some(n)));
        let clients: Vec<_> = (0..n)
            .map(|id| corio::spawn(move || client(addr, id)))
            .collect();
        let mut bytes = 0;
        let mut failed = 0;
        for c in clients {
            match c.join() {
                Ok(Ok(n)) => bytes += n,
                Ok(Err(err)) => {
                    log_err(format_args!("client failed: {err}"));
                    failed += 1;
                }
                Err(err) => {
                    log_err(format_args!("client task failed: {err:?}"));
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            // Do not wait for a server that will not see all its clients.
            server.cancel();
            return false;
        }
        server.join().expect("server task");
        log(format_args!("Self-test: {n} clients, {bytes} bytes echoed"));
        true
    });
    if !ok {
        exit(1);
    }
}
