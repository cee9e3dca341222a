// SPDX-License-Identifier: GPL-2.0

//! Address prefixes of trusted load balancers (`uoa_trusted`): parsing of
//! the operator's list, and matching of a packet's source against it. Pure
//! code over `core` only, compiled into the module and on the host
//! (`tests/host`), like `uoa_parse`.
//!
//! The list is written as IPv4 and IPv6 prefixes separated by commas or
//! blanks, e.g. `10.0.0.0/8, 192.0.2.7, fd00:1::/64`; an address without a
//! length is one host. Bits past the length are ignored. The empty list
//! trusts every source (the compatible default).

#![allow(unreachable_pub)]

use core::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// Most prefixes a list holds.
pub const MAX_PREFIXES: usize = 32;

/// One IPv4 or IPv6 prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Prefix {
    /// The address, bits past `len` cleared; IPv4 in the first 4 bytes.
    addr: [u8; 16],
    /// Prefix length in bits: up to 32 (IPv4) or 128 (IPv6).
    len: u8,
    ipv6: bool,
}

/// What is wrong with a list; names the offending part of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrefixError<'a> {
    /// Not an IPv4 or IPv6 address.
    NotAnAddress(&'a str),
    /// A length that is not a number up to 32 (IPv4) or 128 (IPv6).
    BadLength(&'a str),
    /// More than `MAX_PREFIXES` prefixes.
    TooMany,
}

impl fmt::Display for PrefixError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAnAddress(s) => write!(f, "'{s}' is not an IPv4 or IPv6 address"),
            Self::BadLength(s) => {
                write!(f, "'{s}' has a bad prefix length (IPv4 0-32, IPv6 0-128)")
            }
            Self::TooMany => write!(f, "more than {MAX_PREFIXES} prefixes"),
        }
    }
}

impl Prefix {
    /// Parses `ADDR` or `ADDR/LEN`.
    pub fn parse(text: &str) -> Result<Self, PrefixError<'_>> {
        let (addr_text, len_text) = match text.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (text, None),
        };
        let (mut addr, max, ipv6) = match addr_text.parse::<IpAddr>() {
            Ok(IpAddr::V4(a)) => {
                let mut bytes = [0u8; 16];
                bytes[..4].copy_from_slice(&a.octets());
                (bytes, 32, false)
            }
            Ok(IpAddr::V6(a)) => (a.octets(), 128, true),
            Err(_) => return Err(PrefixError::NotAnAddress(text)),
        };
        let len = match len_text {
            None => max,
            Some(l) => match l.parse::<u8>() {
                Ok(n) if n <= max && !l.starts_with('+') => n,
                _ => return Err(PrefixError::BadLength(text)),
            },
        };
        mask(&mut addr, len);
        Ok(Self { addr, len, ipv6 })
    }

    /// Whether `addr` (4 or 16 bytes, network order) is in this prefix.
    /// An address of the other family never is.
    pub fn contains(&self, addr: &[u8]) -> bool {
        let width = if self.ipv6 { 16 } else { 4 };
        if addr.len() != width {
            return false;
        }
        let mut masked = [0u8; 16];
        masked[..width].copy_from_slice(addr);
        mask(&mut masked, self.len);
        masked == self.addr
    }
}

/// Clears the bits of `addr` past the first `len`.
fn mask(addr: &mut [u8; 16], len: u8) {
    for (i, byte) in addr.iter_mut().enumerate() {
        let keep = usize::from(len).saturating_sub(i * 8).min(8);
        *byte &= !(0xffu8.checked_shr(keep as u32).unwrap_or(0));
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ipv6 {
            write!(f, "{}/{}", Ipv6Addr::from(self.addr), self.len)
        } else {
            let a = [self.addr[0], self.addr[1], self.addr[2], self.addr[3]];
            write!(f, "{}/{}", Ipv4Addr::from(a), self.len)
        }
    }
}

/// The trusted prefixes: a fixed-size list, so that it is parsed without
/// allocating and replaced whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrefixList {
    items: [Prefix; MAX_PREFIXES],
    count: usize,
}

impl PrefixList {
    /// The empty list: every source is trusted.
    pub const OPEN: Self = Self {
        items: [Prefix {
            addr: [0; 16],
            len: 0,
            ipv6: false,
        }; MAX_PREFIXES],
        count: 0,
    };

    /// Parses a list (see the module documentation); blank is `OPEN`.
    pub fn parse(text: &str) -> Result<Self, PrefixError<'_>> {
        let mut list = Self::OPEN;
        for item in text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|s| !s.is_empty())
        {
            let prefix = Prefix::parse(item)?;
            if list.count == MAX_PREFIXES {
                return Err(PrefixError::TooMany);
            }
            list.items[list.count] = prefix;
            list.count += 1;
        }
        Ok(list)
    }

    /// The prefixes.
    pub fn prefixes(&self) -> &[Prefix] {
        &self.items[..self.count]
    }

    /// Whether this is the empty list, which trusts everyone.
    pub fn is_open(&self) -> bool {
        self.count == 0
    }

    /// Whether a UOA from source `addr` (4 or 16 bytes) may be stored.
    pub fn allows(&self, addr: &[u8]) -> bool {
        self.is_open() || self.prefixes().iter().any(|p| p.contains(addr))
    }
}

/// The list as `uoa_trusted` shows it: prefixes joined by commas.
impl fmt::Display for PrefixList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.prefixes().iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}
