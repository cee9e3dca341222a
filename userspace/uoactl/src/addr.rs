// SPDX-License-Identifier: GPL-2.0
//! Addresses on the command line: `ADDR:PORT` endpoints (IPv6 in brackets,
//! `*` for any address) and `ADDR[:PORT]` filters.

use std::net::{IpAddr, SocketAddr};

/// An `ADDR:PORT` endpoint whose address may be "any".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// The address; `None` for any (`*`, `0.0.0.0` or `::`).
    pub ip: Option<IpAddr>,
    /// The port.
    pub port: u16,
}

/// Parses `ADDR:PORT`, `[IPV6]:PORT`, `*:PORT` or `[*]:PORT`.
pub fn parse_endpoint(text: &str) -> Result<Endpoint, String> {
    let any_port = text
        .strip_prefix("*:")
        .or_else(|| text.strip_prefix("[*]:"));
    if let Some(port) = any_port {
        return Ok(Endpoint {
            ip: None,
            port: parse_port(port, text)?,
        });
    }
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("bad address {text:?} (want ADDR:PORT, [IPV6]:PORT or *:PORT)"))?;
    let ip = addr.ip();
    Ok(Endpoint {
        ip: if ip.is_unspecified() { None } else { Some(ip) },
        port: addr.port(),
    })
}

/// Parses a port number; `whole` is the argument it came from.
fn parse_port(port: &str, whole: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("bad port in {whole:?} (want 0 to 65535)"))
}

/// An address to match, with or without a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrFilter {
    /// The address to match (IPv4-mapped IPv6 addresses match their IPv4).
    pub ip: IpAddr,
    /// The port to match; `None` matches any.
    pub port: Option<u16>,
}

impl AddrFilter {
    /// Parses `ADDR`, `ADDR:PORT`, `IPV6`, `[IPV6]` or `[IPV6]:PORT`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Ok(addr) = text.parse::<SocketAddr>() {
            return Ok(Self {
                ip: addr.ip(),
                port: Some(addr.port()),
            });
        }
        let bare = text
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Ok(Self { ip, port: None }),
            Err(_) => Err(format!(
                "bad address {text:?} (want ADDR, ADDR:PORT or [IPV6]:PORT)"
            )),
        }
    }

    /// Whether `addr` is this address (and port, if given).
    pub fn matches(&self, addr: SocketAddr) -> bool {
        addr.ip().to_canonical() == self.ip.to_canonical()
            && match self.port {
                Some(port) => port == addr.port(),
                None => true,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        let e = parse_endpoint("10.0.0.1:4000").unwrap();
        assert_eq!(e.ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(e.port, 4000);
        let e = parse_endpoint("[fd00::1]:4000").unwrap();
        assert_eq!(e.ip, Some("fd00::1".parse().unwrap()));
        for any in ["*:5000", "[*]:5000", "0.0.0.0:5000", "[::]:5000"] {
            assert_eq!(
                parse_endpoint(any).unwrap(),
                Endpoint {
                    ip: None,
                    port: 5000
                },
                "{any}"
            );
        }
    }

    #[test]
    fn bad_endpoints() {
        for bad in [
            "10.0.0.1",
            "fd00::1:4000",
            "*:",
            "*:65536",
            "host:80",
            "",
            "[fd00::1]",
        ] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn filters() {
        let f = AddrFilter::parse("10.0.0.1").unwrap();
        assert!(f.matches("10.0.0.1:4000".parse().unwrap()));
        assert!(f.matches("[::ffff:10.0.0.1]:1".parse().unwrap()));
        assert!(!f.matches("10.0.0.2:4000".parse().unwrap()));
        let f = AddrFilter::parse("10.0.0.1:4000").unwrap();
        assert!(f.matches("10.0.0.1:4000".parse().unwrap()));
        assert!(!f.matches("10.0.0.1:4001".parse().unwrap()));
        for text in ["fd00::1", "[fd00::1]"] {
            let f = AddrFilter::parse(text).unwrap();
            assert_eq!(f.port, None);
            assert!(f.matches("[fd00::1]:9".parse().unwrap()));
        }
        let f = AddrFilter::parse("[fd00::1]:9").unwrap();
        assert_eq!(f.port, Some(9));
        assert!(!f.matches("[fd00::1]:10".parse().unwrap()));
        assert!(AddrFilter::parse("10.0.0.1:x").is_err());
        assert!(AddrFilter::parse("*").is_err());
    }
}
