//! Blocking calls on a thread pool, gathered by a coroutine (the seed
//! README's `run_in_executor` example, which fetches five sites with
//! `requests` in a `ThreadPoolExecutor` and `asyncio.gather`s the sizes).
//!
//! ```text
//! cargo run --example thread_pool_async
//! (the pages come from a local server on 127.0.0.1 that stands in for the sites)
//! http://europe.wsj.com/ page is 245301 bytes.
//! http://www.bbc.co.uk/ page is 318845 bytes.
//! http://www.cnn.com/ page is 1135632 bytes.
//! http://www.foxnews.com/ page is 289214 bytes.
//! ```
//!
//! No internet is needed: the example first starts its own web server, a
//! corio task on 127.0.0.1, which serves a made-up page for each of the
//! four real sites by `Host` header. The blocking client resolves the
//! sites' names to that server; `some-made-up-domain.com` does not
//! resolve, so its call fails and, as with `return_exceptions=True` in the
//! original, its result is left out. The first line of the output says
//! so: the sizes are those of the made-up pages, not of the real sites.
//!
//! `site_size` is an ordinary blocking function (std's `TcpStream`, as
//! `requests` is blocking); `spawn_blocking` runs it on corio's blocking
//! pool and the main task parks in `join` while the server task, on the
//! runtime's thread, answers the pool threads.

mod common;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::SocketAddr;

use corio::net::{TcpListener, TcpStream};
use corio::task::spawn_blocking;

const SITES: [&str; 5] = [
    "http://europe.wsj.com/",
    "http://some-made-up-domain.com/",
    "http://www.bbc.co.uk/",
    "http://www.cnn.com/",
    "http://www.foxnews.com/",
];

/// The pages the local server has, by host, and their sizes.
const PAGES: [(&str, usize); 4] = [
    ("europe.wsj.com", 245_301),
    ("www.bbc.co.uk", 318_845),
    ("www.cnn.com", 1_135_632),
    ("www.foxnews.com", 289_214),
];

/// A page of `len` bytes of HTML-ish filler.
fn page(host: &str, len: usize) -> Vec<u8> {
    let head = format!("<html><head><title>{host}</title></head><body>");
    let mut body = head.into_bytes();
    let filler = b"All the news that fits, served from 127.0.0.1. ";
    while body.len() < len {
        body.push(filler[body.len() % filler.len()]);
    }
    body.truncate(len);
    body
}

/// Answers one HTTP/1.0 request with the page of its `Host`.
fn serve(stream: TcpStream) -> io::Result<()> {
    let mut host = None;
    let mut reader = BufReader::new(&stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some(value) = line.strip_prefix("Host:") {
            host = Some(value.trim().to_owned());
        }
    }
    let page = host
        .as_deref()
        .and_then(|h| PAGES.iter().find(|(name, _)| *name == h))
        .map(|&(name, len)| page(name, len));
    let mut out = &stream;
    match page {
        Some(body) => {
            write!(
                out,
                "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            out.write_all(&body)
        }
        None => out.write_all(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    }
}

/// Runs the local web server until the runtime ends.
fn start_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    corio::spawn(move || loop {
        match listener.accept() {
            Ok((stream, _)) => {
                corio::spawn(move || serve(stream));
            }
            Err(err) => {
                eprintln!("server: accept failed: {err}");
                corio::sleep(std::time::Duration::from_millis(100));
            }
        }
    });
    Ok(addr)
}

/// Returns the page size in bytes of the given URL: a plain blocking HTTP
/// GET. Names resolve to the local server, or not at all.
fn site_size(url: &str, server: SocketAddr) -> io::Result<(String, usize)> {
    let host = url
        .strip_prefix("http://")
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not an http URL"))?;
    if !PAGES.iter().any(|(name, _)| *name == host) {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("failed to resolve '{host}'"),
        ));
    }
    let mut stream = std::net::TcpStream::connect(server)?;
    write!(stream, "GET / HTTP/1.0\r\nHost: {host}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let body_start = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no end of headers"))?;
    if !response.starts_with(b"HTTP/1.0 200") {
        return Err(io::Error::other("HTTP error"));
    }
    Ok((url.to_owned(), response.len() - body_start))
}

/// Prints the page sizes of four sites, fetched by blocking calls on corio's blocking pool from a local server that stands in for them.
#[derive(clap::Parser)]
#[command(name = "thread_pool_async")]
struct Args {}

fn main() {
    let _: Args = common::parse_args();
    corio::run(|| {
        let server = start_server().expect("start the local web server");
        println!("(the pages come from a local server on 127.0.0.1 that stands in for the sites)");
        // Submit the calls to the blocking pool: this does not wait.
        let tasks: Vec<_> = SITES
            .iter()
            .map(|&url| spawn_blocking(move || site_size(url, server)))
            .collect();
        // Gather the results, errors included, in order.
        let results: Vec<io::Result<(String, usize)>> = tasks
            .into_iter()
            .map(|t| t.join().expect("site_size does not panic"))
            .collect();
        // Failed calls are skipped, as the original skips exceptions.
        for (url, page_size) in results.into_iter().flatten() {
            println!("{url} page is {page_size} bytes.");
        }
    });
}
