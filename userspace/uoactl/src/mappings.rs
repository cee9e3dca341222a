// SPDX-License-Identifier: GPL-2.0
//! `/proc/net/uoa_mappings`: a header line, then one line per live mapping,
//! `source destination real_client seconds_left extra`, read as a stream.

use std::io::{self, BufRead, Write};
use std::net::SocketAddr;

use crate::addr::AddrFilter;

/// What a mapping carries besides the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MappingExtra {
    /// Nothing (`-`).
    None,
    /// The flow's original destination (`dest=ADDR:PORT`).
    Destination(SocketAddr),
    /// A VNI (`vni=N`).
    Vni(u32),
    /// A form this program does not know, as written.
    Other(String),
}

/// One line of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The packets' source: the load balancer's address and port.
    pub source: SocketAddr,
    /// Their destination: this host's address and port.
    pub destination: SocketAddr,
    /// The real client.
    pub real_client: SocketAddr,
    /// Seconds until the mapping expires.
    pub seconds_left: u64,
    /// What else the UOA carried.
    pub extra: MappingExtra,
}

/// Parses one mapping line.
pub fn parse_mapping(line: &str) -> Result<Mapping, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [source, destination, real_client, seconds_left, extra] = fields[..] else {
        return Err(format!("not five fields: {line:?}"));
    };
    let addr = |text: &str| -> Result<SocketAddr, String> {
        text.parse()
            .map_err(|_| format!("bad address {text:?} in {line:?}"))
    };
    Ok(Mapping {
        source: addr(source)?,
        destination: addr(destination)?,
        real_client: addr(real_client)?,
        seconds_left: seconds_left
            .parse()
            .map_err(|_| format!("bad seconds {seconds_left:?} in {line:?}"))?,
        extra: parse_extra(extra),
    })
}

/// Parses the extra field.
fn parse_extra(text: &str) -> MappingExtra {
    if text == "-" {
        return MappingExtra::None;
    }
    if let Some(dest) = text.strip_prefix("dest=").and_then(|d| d.parse().ok()) {
        return MappingExtra::Destination(dest);
    }
    if let Some(vni) = text.strip_prefix("vni=").and_then(|v| v.parse().ok()) {
        return MappingExtra::Vni(vni);
    }
    MappingExtra::Other(text.to_owned())
}

/// Which mappings to show: all given filters must match.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MappingFilter {
    /// `--source`.
    pub source: Option<AddrFilter>,
    /// `--destination`.
    pub destination: Option<AddrFilter>,
    /// `--client`.
    pub client: Option<AddrFilter>,
}

impl MappingFilter {
    /// Whether no filter is given (every line matches, unparsed).
    pub fn is_empty(&self) -> bool {
        self.source.is_none() && self.destination.is_none() && self.client.is_none()
    }

    /// Whether `mapping` passes every filter given.
    pub fn matches(&self, mapping: &Mapping) -> bool {
        let pass = |filter: &Option<AddrFilter>, addr: SocketAddr| match filter {
            Some(f) => f.matches(addr),
            None => true,
        };
        pass(&self.source, mapping.source)
            && pass(&self.destination, mapping.destination)
            && pass(&self.client, mapping.real_client)
    }
}

/// What a pass over the file found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Mappings that matched.
    pub matched: u64,
    /// Lines that could not be parsed (skipped; only with filters).
    pub malformed: u64,
}

/// Copies the header and the mappings of `input` that pass `filter` to
/// `out` (only counts them with `count_only`), one line at a time.
pub fn filter_mappings<R: BufRead, W: Write>(
    mut input: R,
    out: &mut W,
    filter: &MappingFilter,
    count_only: bool,
) -> io::Result<Summary> {
    let mut summary = Summary::default();
    let mut line = String::new();
    if input.read_line(&mut line)? == 0 {
        return Ok(summary);
    }
    if !count_only {
        out.write_all(line.as_bytes())?;
    }
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(summary);
        }
        if line.trim().is_empty() {
            continue;
        }
        let selected = filter.is_empty()
            || match parse_mapping(&line) {
                Ok(mapping) => filter.matches(&mapping),
                Err(_) => {
                    summary.malformed += 1;
                    false
                }
            };
        if selected {
            summary.matched += 1;
            if !count_only {
                out.write_all(line.as_bytes())?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "source destination real_client seconds_left extra\n\
        10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 299 -\n\
        [fd00::1]:4001 [fd00::2]:5000 [2001:db8::7]:1234 12 dest=198.51.100.1:80\n\
        10.0.0.1:4002 10.0.0.2:5000 192.0.2.8:1 300 vni=4096\n";

    fn filter(
        source: Option<&str>,
        destination: Option<&str>,
        client: Option<&str>,
    ) -> MappingFilter {
        let parse = |t: Option<&str>| t.map(|t| AddrFilter::parse(t).unwrap());
        MappingFilter {
            source: parse(source),
            destination: parse(destination),
            client: parse(client),
        }
    }

    fn run(input: &str, filter: &MappingFilter, count_only: bool) -> (String, Summary) {
        let mut out = Vec::new();
        let summary = filter_mappings(input.as_bytes(), &mut out, filter, count_only).unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    #[test]
    fn parses_lines() {
        let m = parse_mapping("10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 299 -").unwrap();
        assert_eq!(m.source, "10.0.0.1:4000".parse().unwrap());
        assert_eq!(m.destination, "10.0.0.2:5000".parse().unwrap());
        assert_eq!(m.real_client, "192.0.2.7:1234".parse().unwrap());
        assert_eq!(m.seconds_left, 299);
        assert_eq!(m.extra, MappingExtra::None);
        let m = parse_mapping(
            "[fd00::1]:4001 [fd00::2]:5000 [2001:db8::7]:1234 12 dest=198.51.100.1:80",
        )
        .unwrap();
        assert_eq!(m.real_client, "[2001:db8::7]:1234".parse().unwrap());
        assert_eq!(
            m.extra,
            MappingExtra::Destination("198.51.100.1:80".parse().unwrap())
        );
        let m = parse_mapping("10.0.0.1:4002 10.0.0.2:5000 192.0.2.8:1 300 vni=4096\n").unwrap();
        assert_eq!(m.extra, MappingExtra::Vni(4096));
        let m = parse_mapping("10.0.0.1:4002 10.0.0.2:5000 192.0.2.8:1 300 new=1").unwrap();
        assert_eq!(m.extra, MappingExtra::Other("new=1".into()));
    }

    #[test]
    fn rejects_bad_lines() {
        for bad in [
            "10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 299",
            "10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 299 - more",
            "10.0.0.1 10.0.0.2:5000 192.0.2.7:1234 299 -",
            "10.0.0.1:4000 10.0.0.2:5000 192.0.2.7:1234 -1 -",
        ] {
            assert!(parse_mapping(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn no_filter_copies_everything() {
        let (out, summary) = run(FILE, &MappingFilter::default(), false);
        assert_eq!(out, FILE);
        assert_eq!(summary.matched, 3);
        let (out, summary) = run(FILE, &MappingFilter::default(), true);
        assert_eq!(out, "");
        assert_eq!(summary.matched, 3);
    }

    #[test]
    fn filters_select_lines() {
        let (out, summary) = run(FILE, &filter(Some("10.0.0.1"), None, None), false);
        assert_eq!(summary.matched, 2);
        assert_eq!(out.lines().count(), 3);
        assert!(out.starts_with("source destination"));
        let (out, _) = run(FILE, &filter(Some("10.0.0.1:4002"), None, None), false);
        assert!(out.lines().nth(1).unwrap().ends_with("vni=4096"));
        let (_, summary) = run(FILE, &filter(None, Some("[fd00::2]:5000"), None), true);
        assert_eq!(summary.matched, 1);
        let (_, summary) = run(
            FILE,
            &filter(None, Some("10.0.0.2:5000"), Some("192.0.2.8")),
            true,
        );
        assert_eq!(summary.matched, 1);
        let (_, summary) = run(FILE, &filter(None, None, Some("192.0.2.9")), true);
        assert_eq!(summary.matched, 0);
    }

    #[test]
    fn malformed_lines_are_counted_and_skipped() {
        let input = format!("{FILE}garbage\n\n");
        let (out, summary) = run(&input, &filter(Some("10.0.0.1"), None, None), false);
        assert_eq!(
            summary,
            Summary {
                matched: 2,
                malformed: 1
            }
        );
        assert!(!out.contains("garbage"));
    }

    #[test]
    fn empty_file() {
        let (out, summary) = run("", &MappingFilter::default(), false);
        assert_eq!((out.as_str(), summary.matched), ("", 0));
    }

    /// A large file streams through (run with `--ignored --release` to
    /// time a million lines).
    #[test]
    #[ignore]
    fn million_lines() {
        let mut input = String::from("source destination real_client seconds_left extra\n");
        for i in 0..1_000_000u32 {
            let [_, _, a, b] = i.to_be_bytes();
            input.push_str(&format!(
                "10.0.{a}.{b}:4000 10.0.0.2:5000 192.0.2.7:{} 299 -\n",
                i % 65536
            ));
        }
        let start = std::time::Instant::now();
        let (_, summary) = run(&input, &filter(None, None, Some("192.0.2.7:1")), true);
        eprintln!("1,000,000 lines filtered in {:?}", start.elapsed());
        assert_eq!(summary.matched, 16);
    }
}
