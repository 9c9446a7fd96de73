//! The course's echo server (`echoserver.py`, `echoserver2.py`), shared by
//! `echo_server` and `echo_soak`, which serves with this very code.
//!
//! The point is in `accept`, `recv` and `send`. In the course, a task could
//! only suspend at its top level, so these had to become generators that
//! the scheduler trampolined (`yield Accept(sock)`, `data = yield
//! client.recv(65536)`): part 8, "The Problem with the Stack". A corio task
//! is a stackful coroutine: it parks from any depth, so they are ordinary
//! functions, called in the ordinary way, and the server reads like the
//! blocking socket code it is.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use corio::net::{TcpListener, TcpStream};

// The course's Accept, Send and Recv: plain library functions. Each may
// park the calling task; none of them needs to know.

/// Waits for a client.
pub fn accept(sock: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
    sock.accept()
}

/// Sends all of `buffer`, a piece at a time.
pub fn send(sock: &TcpStream, mut buffer: &[u8]) -> io::Result<()> {
    while !buffer.is_empty() {
        let len = (&*sock).write(buffer)?;
        buffer = &buffer[len..];
    }
    Ok(())
}

/// Receives up to `maxbytes`; empty at end of stream.
pub fn recv(sock: &TcpStream, maxbytes: usize) -> io::Result<Vec<u8>> {
    let mut data = vec![0; maxbytes];
    let n = (&*sock).read(&mut data)?;
    data.truncate(n);
    Ok(data)
}

/// Prints a line of the server's log on standard output. A closed
/// standard output (`echo_server | head -1`) must not stop the server, so
/// a failed write is ignored (`println!` would panic the task).
pub fn log(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stdout().lock(), "{line}");
}

/// Prints a line on standard error, ignoring a closed standard error.
pub fn log_err(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

/// The address the way Python prints an `(host, port)` tuple.
pub fn py_addr(addr: SocketAddr) -> String {
    format!("('{}', {})", addr.ip(), addr.port())
}

/// Echoes what one client sends until it closes.
pub fn handle_client(client: TcpStream, addr: SocketAddr) {
    log(format_args!("Connection from {}", py_addr(addr)));
    loop {
        let data = match recv(&client, 65536) {
            Ok(data) => data,
            Err(err) => {
                log_err(format_args!("recv from {}: {err}", py_addr(addr)));
                break;
            }
        };
        if data.is_empty() {
            break;
        }
        if let Err(err) = send(&client, &data) {
            log_err(format_args!("send to {}: {err}", py_addr(addr)));
            break;
        }
    }
    log(format_args!("Client closed"));
    drop(client);
}

/// Accepts clients, each served by its own task; with `max_clients`,
/// returns once that many have been served.
pub fn server(sock: TcpListener, max_clients: Option<usize>) {
    let mut handlers = Vec::new();
    while max_clients.is_none_or(|max| handlers.len() < max) {
        match accept(&sock) {
            Ok((client, addr)) => {
                let handler = corio::spawn(move || handle_client(client, addr));
                if max_clients.is_some() {
                    handlers.push(handler);
                }
            }
            Err(err) => {
                // Out of fds, a connection aborted before it was accepted:
                // log it, give the system a moment, keep serving.
                log_err(format_args!("accept failed: {err}"));
                corio::sleep(Duration::from_millis(100));
            }
        }
    }
    for handler in handlers {
        let _ = handler.join();
    }
}
