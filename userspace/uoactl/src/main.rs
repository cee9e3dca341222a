// SPDX-License-Identifier: GPL-2.0
//! `uoactl`: the uoa kernel module's counters and mappings, and lookups of
//! a flow's real client, from the command line.
//!
//! See [`args::SYNOPSIS`] and [`args::HELP`] for the commands. Exit status: 0 ok, 1 a lookup
//! found no mapping, 2 any error (usage, module not loaded, no such
//! namespace, permission).
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]

mod addr;
mod args;
mod mappings;
mod netns;
mod prometheus;
mod stats;
mod watch;

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use args::{Cli, Command, LookupArgs, MappingsArgs, StatsMode, HELP, SYNOPSIS};
use stats::Stats;

/// The DPVS-layout counters of this thread's network namespace (after
/// `setns`, the namespace entered: hence `thread-self`).
const STATS_PATH: &str = "/proc/thread-self/net/uoa_stats";
/// The other counters.
const EXTRA_PATH: &str = "/proc/thread-self/net/uoa_stats_extra";
/// The live mappings (root only).
const MAPPINGS_PATH: &str = "/proc/thread-self/net/uoa_mappings";

/// Exit status of a lookup that found no mapping.
const EXIT_MISS: u8 = 1;
/// Exit status of every error.
const EXIT_ERROR: u8 = 2;

/// An error that ends the program with status 2, and its message.
#[derive(Debug)]
pub struct Failure {
    message: String,
}

impl Failure {
    /// A failure saying `message` (printed after "uoactl: ").
    pub fn new(message: String) -> Self {
        Self { message }
    }
}

/// How a command that did not fail ended.
enum Outcome {
    /// Status 0.
    Done,
    /// A lookup without answer: status 1.
    Miss,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cli = match args::parse(&args) {
        Ok(cli) => cli,
        Err(message) => {
            eprintln!("uoactl: {message}\n{SYNOPSIS}\n(uoactl --help for more)");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match run(&cli) {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Miss) => ExitCode::from(EXIT_MISS),
        Err(failure) => {
            eprintln!("uoactl: {}", failure.message);
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Enters the namespace, if asked, and runs the command.
fn run(cli: &Cli) -> Result<Outcome, Failure> {
    if cli.command == Command::Help {
        println!("{SYNOPSIS}\n{HELP}");
        return Ok(Outcome::Done);
    }
    if let Some(name) = &cli.netns {
        netns::enter(name)?;
    }
    match &cli.command {
        Command::Help => Ok(Outcome::Done),
        Command::Stats(stats) => match stats.mode {
            StatsMode::Plain => print_stats(stats::render_plain),
            StatsMode::Prometheus => {
                let netns = cli.netns.as_deref();
                print_stats(|stats| prometheus::render(stats, netns))
            }
            StatsMode::Watch {
                interval_secs,
                count,
            } => watch(Duration::from_secs(interval_secs), count),
        },
        Command::Mappings(args) => show_mappings(args),
        Command::Lookup(args) => lookup(args),
    }
}

fn module_not_loaded() -> Failure {
    Failure::new("the uoa module is not loaded (modprobe uoa)".to_owned())
}

/// Reads both counter files.
fn read_stats() -> Result<Stats, Failure> {
    let dpvs = fs::read_to_string(STATS_PATH).map_err(|err| match err.kind() {
        io::ErrorKind::NotFound => module_not_loaded(),
        _ => Failure::new(format!("cannot read {STATS_PATH}: {err}")),
    })?;
    let mut counters = stats::parse_dpvs(&dpvs).map_err(Failure::new)?;
    match fs::read_to_string(EXTRA_PATH) {
        Ok(extra) => counters.extend(stats::parse_extra(&extra)),
        // DPVS's own module has no such file: its columns are all there is.
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(Failure::new(format!("cannot read {EXTRA_PATH}: {err}"))),
    }
    Ok(Stats { counters })
}

/// Prints the counters, formatted by `render`.
fn print_stats(render: impl Fn(&Stats) -> String) -> Result<Outcome, Failure> {
    let stats = read_stats()?;
    let mut out = io::stdout().lock();
    out.write_all(render(&stats).as_bytes())
        .and_then(|()| out.flush())
        .map_err(output_failure)?;
    Ok(Outcome::Done)
}

/// A line of rates every `interval`, for `count` lines or forever.
fn watch(interval: Duration, count: Option<u64>) -> Result<Outcome, Failure> {
    let mut previous = read_stats()?;
    let mut then = Instant::now();
    let mut out = io::stdout().lock();
    let mut line = 0;
    loop {
        if let Some(count) = count {
            if line >= count {
                return Ok(Outcome::Done);
            }
        }
        if watch::needs_header(line) {
            writeln!(out, "{}", watch::header()).map_err(output_failure)?;
            out.flush().map_err(output_failure)?;
        }
        thread::sleep(interval);
        let current = read_stats()?;
        let now = Instant::now();
        writeln!(out, "{}", watch::row(&previous, &current, now - then))
            .and_then(|()| out.flush())
            .map_err(output_failure)?;
        previous = current;
        then = now;
        line += 1;
    }
}

/// Prints (or counts) the mappings that pass the filters, a line at a time.
fn show_mappings(args: &MappingsArgs) -> Result<Outcome, Failure> {
    let file = File::open(MAPPINGS_PATH).map_err(|err| match err.kind() {
        io::ErrorKind::PermissionDenied => Failure::new("reading mappings needs root".to_owned()),
        io::ErrorKind::NotFound if !Path::new(STATS_PATH).exists() => module_not_loaded(),
        io::ErrorKind::NotFound => Failure::new(format!(
            "{MAPPINGS_PATH} is missing: the loaded uoa module is too old to list mappings"
        )),
        _ => Failure::new(format!("cannot open {MAPPINGS_PATH}: {err}")),
    })?;
    let input = BufReader::with_capacity(1 << 16, file);
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let summary = mappings::filter_mappings(input, &mut out, &args.filter, args.count_only)
        .and_then(|summary| out.flush().map(|()| summary))
        .map_err(|err| match err.kind() {
            io::ErrorKind::PermissionDenied => {
                Failure::new("reading mappings needs root".to_owned())
            }
            _ => output_failure(err),
        })?;
    if args.count_only {
        writeln!(out, "{}", summary.matched)
            .and_then(|()| out.flush())
            .map_err(output_failure)?;
    }
    if summary.malformed > 0 {
        eprintln!(
            "uoactl: skipped {} lines of {MAPPINGS_PATH} that are not mappings",
            summary.malformed
        );
    }
    Ok(Outcome::Done)
}

/// One lookup through a fresh UDP socket of the source's family.
fn lookup(args: &LookupArgs) -> Result<Outcome, Failure> {
    let Some(source_ip) = args.source.ip else {
        return Err(Failure::new("lookup: SRC must be an address".to_owned()));
    };
    let (domain, any) = match source_ip {
        IpAddr::V4(_) => (Domain::IPV4, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        IpAddr::V6(_) => (Domain::IPV6, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|err| Failure::new(format!("cannot open a UDP socket: {err}")))?;
    let peer = SocketAddr::new(source_ip, args.source.port);
    let local = SocketAddr::new(args.destination.ip.unwrap_or(any), args.destination.port);
    match uoa::lookup(&socket, peer, Some(local)) {
        Ok(Some(real)) => {
            println!("{real}");
            Ok(Outcome::Done)
        }
        Ok(None) => {
            eprintln!(
                "no mapping for {} -> {}",
                args.source_text, args.destination_text
            );
            Ok(Outcome::Miss)
        }
        Err(err) if uoa::is_module_not_loaded(&err) => Err(module_not_loaded()),
        Err(err) => Err(Failure::new(format!("lookup failed: {err}"))),
    }
}

/// The failure for an error writing the output. A reader that went away
/// (`uoactl mappings | head`) is no error: the program ends with status 0.
fn output_failure(err: io::Error) -> Failure {
    if err.kind() == io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    Failure::new(format!("{err}"))
}
