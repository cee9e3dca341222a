// SPDX-License-Identifier: GPL-2.0
//! The command line, parsed by hand.

use crate::addr::{parse_endpoint, AddrFilter, Endpoint};
use crate::mappings::MappingFilter;

/// The synopsis, printed after a usage error.
pub const SYNOPSIS: &str = "\
usage: uoactl stats [--netns NAME] [--watch SECONDS [--count K]] [--prometheus]
       uoactl mappings [--netns NAME] [--source ADDR[:PORT]] [--destination ADDR[:PORT]]
                       [--client ADDR[:PORT]] [--count]
       uoactl lookup [--netns NAME] SRC:PORT DST:PORT
       uoactl --help";

/// The rest of the help text (`uoactl --help`).
pub const HELP: &str = "
  stats       the uoa module's counters, one \"name value\" line each;
              --watch: per-second rates every SECONDS (until killed, or K lines);
              --prometheus: node_exporter textfile format
  mappings    the live mappings (needs root): source destination real_client
              seconds_left extra; filters match an address and optional port;
              --count prints only how many match
  lookup      the real client of the flow SRC -> DST (DST may be *:PORT);
              exit status 1 when there is none
  --netns     enter the network namespace /run/netns/NAME first

IPv6 addresses with a port go in brackets: [fd00::1]:4000.
Exit status: 0 ok, 1 no mapping (lookup), 2 error.";

/// A whole command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    /// The network namespace to enter first.
    pub netns: Option<String>,
    /// What to do.
    pub command: Command,
}

/// The commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `--help`.
    Help,
    /// `stats`.
    Stats(StatsArgs),
    /// `mappings`.
    Mappings(MappingsArgs),
    /// `lookup`.
    Lookup(LookupArgs),
}

/// How `stats` shows the counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsMode {
    /// "name value" lines.
    Plain,
    /// Rates every `interval_secs`, for `count` lines or until killed.
    Watch {
        /// Seconds between lines.
        interval_secs: u64,
        /// Lines to print; `None` for no end.
        count: Option<u64>,
    },
    /// Prometheus text format.
    Prometheus,
}

/// `stats` options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatsArgs {
    /// The output.
    pub mode: StatsMode,
}

/// `mappings` options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappingsArgs {
    /// Which mappings.
    pub filter: MappingFilter,
    /// Print only their number.
    pub count_only: bool,
}

/// `lookup` arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupArgs {
    /// The peer: the load balancer's address and port.
    pub source: Endpoint,
    /// The own address (or any) and port.
    pub destination: Endpoint,
    /// The arguments as typed, for messages.
    pub source_text: String,
    /// As typed.
    pub destination_text: String,
}

/// Reads arguments one at a time.
struct Cursor<'a> {
    args: &'a [&'a str],
    next: usize,
}

impl<'a> Cursor<'a> {
    fn new(args: &'a [&'a str]) -> Self {
        Self { args, next: 0 }
    }

    fn next(&mut self) -> Option<&'a str> {
        let arg = self.args.get(self.next)?;
        self.next += 1;
        Some(*arg)
    }
}

/// An option as read: `--name`, `--name VALUE` or `--name=VALUE`.
struct OptionArg<'a> {
    name: &'a str,
    inline: Option<&'a str>,
}

impl<'a> OptionArg<'a> {
    /// Splits `--name=value`.
    fn read(arg: &'a str) -> Self {
        match arg.split_once('=') {
            Some((name, value)) if arg.starts_with("--") => Self {
                name,
                inline: Some(value),
            },
            _ => Self {
                name: arg,
                inline: None,
            },
        }
    }

    /// Its value: inline, or the next argument.
    fn value(&self, cursor: &mut Cursor<'a>) -> Result<&'a str, String> {
        match self.inline {
            Some(value) => Ok(value),
            None => cursor
                .next()
                .ok_or_else(|| format!("{} needs a value", self.name)),
        }
    }

    /// Fails if it was given a value.
    fn flag(&self) -> Result<(), String> {
        match self.inline {
            Some(_) => Err(format!("{} takes no value", self.name)),
            None => Ok(()),
        }
    }
}

/// Parses the arguments after the program name. `--netns` may stand
/// anywhere; the other options after their command.
pub fn parse(args: &[String]) -> Result<Cli, String> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    if args.iter().any(|a| *a == "-h" || *a == "--help") {
        return Ok(Cli {
            netns: None,
            command: Command::Help,
        });
    }
    let mut cursor = Cursor::new(&args);
    let mut netns = None;
    let mut command = None;
    let mut rest = Vec::new();
    while let Some(arg) = cursor.next() {
        let option = OptionArg::read(arg);
        if option.name == "--netns" {
            netns = Some(valid_netns(option.value(&mut cursor)?)?);
        } else if command.is_some() {
            rest.push(arg);
        } else if arg.starts_with('-') {
            return Err(format!(
                "unknown option {arg} (options go after the command)"
            ));
        } else {
            command = Some(arg);
        }
    }
    let command = match command {
        Some("stats") => Command::Stats(parse_stats(&rest)?),
        Some("mappings") => Command::Mappings(parse_mappings(&rest)?),
        Some("lookup") => Command::Lookup(parse_lookup(&rest)?),
        Some(other) => return Err(format!("unknown command {other:?}")),
        None => return Err("no command given".to_owned()),
    };
    Ok(Cli { netns, command })
}

/// Checks a namespace name as `ip netns` does: no `/`, not `.` or `..`.
fn valid_netns(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(format!("bad network namespace name {name:?}"));
    }
    Ok(name.to_owned())
}

fn parse_stats(args: &[&str]) -> Result<StatsArgs, String> {
    let mut cursor = Cursor::new(args);
    let mut watch = None;
    let mut count = None;
    let mut prometheus = false;
    while let Some(arg) = cursor.next() {
        let option = OptionArg::read(arg);
        match option.name {
            "--watch" => watch = Some(positive(option.name, option.value(&mut cursor)?)?),
            "--count" => count = Some(positive(option.name, option.value(&mut cursor)?)?),
            "--prometheus" => {
                option.flag()?;
                prometheus = true;
            }
            other => return Err(format!("stats: unknown argument {other}")),
        }
    }
    let mode = match (watch, count, prometheus) {
        (Some(_), _, true) => {
            return Err("stats: --watch and --prometheus do not go together".into())
        }
        (None, Some(_), _) => return Err("stats: --count goes with --watch".into()),
        (Some(interval_secs), count, false) => StatsMode::Watch {
            interval_secs,
            count,
        },
        (None, None, true) => StatsMode::Prometheus,
        (None, None, false) => StatsMode::Plain,
    };
    Ok(StatsArgs { mode })
}

/// A whole number of at least 1.
fn positive(option: &str, text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{option} needs a whole number of at least 1, not {text:?}"
        )),
    }
}

fn parse_mappings(args: &[&str]) -> Result<MappingsArgs, String> {
    let mut cursor = Cursor::new(args);
    let mut filter = MappingFilter::default();
    let mut count_only = false;
    while let Some(arg) = cursor.next() {
        let option = OptionArg::read(arg);
        let target = match option.name {
            "--source" => &mut filter.source,
            "--destination" => &mut filter.destination,
            "--client" => &mut filter.client,
            "--count" => {
                option.flag()?;
                count_only = true;
                continue;
            }
            other => return Err(format!("mappings: unknown argument {other}")),
        };
        *target = Some(AddrFilter::parse(option.value(&mut cursor)?)?);
    }
    Ok(MappingsArgs { filter, count_only })
}

fn parse_lookup(args: &[&str]) -> Result<LookupArgs, String> {
    if let Some(option) = args.iter().find(|a| a.starts_with("--")) {
        return Err(format!("lookup: unknown option {option}"));
    }
    let [source_text, destination_text] = args[..] else {
        return Err("lookup needs SRC:PORT and DST:PORT".to_owned());
    };
    let source = parse_endpoint(source_text)?;
    if source.ip.is_none() {
        return Err(format!("lookup: SRC {source_text:?} must be an address"));
    }
    Ok(LookupArgs {
        source,
        destination: parse_endpoint(destination_text)?,
        source_text: source_text.to_owned(),
        destination_text: destination_text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(line: &str) -> Result<Cli, String> {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        parse(&args)
    }

    fn stats_mode(line: &str) -> StatsMode {
        match parse_str(line).unwrap().command {
            Command::Stats(s) => s.mode,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn help() {
        for line in ["--help", "-h", "stats --help", "lookup 1.2.3.4:5 -h"] {
            assert_eq!(parse_str(line).unwrap().command, Command::Help, "{line}");
        }
    }

    #[test]
    fn stats_modes() {
        assert_eq!(stats_mode("stats"), StatsMode::Plain);
        assert_eq!(stats_mode("stats --prometheus"), StatsMode::Prometheus);
        assert_eq!(
            stats_mode("stats --watch 2 --count 3"),
            StatsMode::Watch {
                interval_secs: 2,
                count: Some(3)
            }
        );
        assert_eq!(
            stats_mode("stats --watch=1"),
            StatsMode::Watch {
                interval_secs: 1,
                count: None
            }
        );
        for bad in [
            "stats --watch",
            "stats --watch 0",
            "stats --watch x",
            "stats --count 3",
            "stats --watch 1 --prometheus",
            "stats --prometheus=1",
            "stats extra",
        ] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn netns_anywhere() {
        for line in [
            "--netns lb stats",
            "stats --netns lb",
            "stats --netns=lb --prometheus",
        ] {
            assert_eq!(
                parse_str(line).unwrap().netns.as_deref(),
                Some("lb"),
                "{line}"
            );
        }
        for bad in ["stats --netns", "stats --netns ../x", "stats --netns .."] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mappings_options() {
        let cli =
            parse_str("mappings --source 10.0.0.1 --client [2001:db8::7]:1234 --count").unwrap();
        let Command::Mappings(m) = cli.command else {
            panic!()
        };
        assert!(m.count_only);
        assert_eq!(m.filter.source.unwrap().port, None);
        assert_eq!(m.filter.client.unwrap().port, Some(1234));
        assert_eq!(m.filter.destination, None);
        for bad in [
            "mappings --source",
            "mappings --source x",
            "mappings --bogus",
            "mappings x",
        ] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn lookup_arguments() {
        let cli = parse_str("lookup --netns lb 10.0.0.1:4000 *:5000").unwrap();
        let Command::Lookup(l) = cli.command else {
            panic!()
        };
        assert_eq!(l.source.ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(l.destination.ip, None);
        assert_eq!(l.destination.port, 5000);
        assert_eq!(l.destination_text, "*:5000");
        for bad in [
            "lookup 10.0.0.1:4000",
            "lookup 10.0.0.1:4000 *:5000 extra",
            "lookup *:4000 10.0.0.2:5000",
            "lookup 10.0.0.1 10.0.0.2:5000",
            "lookup --count 10.0.0.1:4000 *:5000",
        ] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bad_commands() {
        for bad in ["", "frobnicate", "--prometheus stats"] {
            assert!(parse_str(bad).is_err(), "{bad}");
        }
    }
}
