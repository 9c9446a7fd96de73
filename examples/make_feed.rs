//! Writes a bus feed for the XML examples (`cosax_bus`, `coexpat_bus`,
//! `cothread`, `coprocess_bus`, `basicsax`, `cosax`): the real feed they
//! were written for is not part of the repository.
//!
//! ```text
//! cargo run --example make_feed -- [--buses N] [--seed S] OUT
//! cargo run --example make_feed -- allroutes.xml
//! cargo run --example cosax_bus -- allroutes.xml
//! ```
//!
//! The feed is `corio::pipe::bus::generate_feed(N, S)`: N buses (1000 by
//! default, about 560 bytes each) laid out as the real feed is, the same
//! file for the same `--seed` (a number, 1 by default). Prints nothing; an
//! error (a file that cannot be written) gives one line and status 1.

mod common;

use std::path::PathBuf;

/// Writes a generated bus feed, the input of the XML examples, to OUT.
#[derive(clap::Parser)]
#[command(
    name = "make_feed",
    override_usage = "make_feed [--buses N] [--seed S] OUT"
)]
struct Args {
    /// How many buses the feed holds (1 to 10000000).
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=10_000_000)
    )]
    buses: usize,
    /// Picks the random routes, directions and positions: the same seed
    /// gives the same feed.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// The file to write (replaced if it exists).
    #[arg(value_name = "OUT")]
    out: PathBuf,
}

fn main() {
    let args: Args = common::parse_args();
    let feed = corio::pipe::bus::generate_feed(args.buses, args.seed);
    if let Err(e) = std::fs::write(&args.out, feed) {
        eprintln!("make_feed: error: {}: {e}", args.out.display());
        std::process::exit(1);
    }
}
