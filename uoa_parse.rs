// SPDX-License-Identifier: GPL-2.0

//! Parsing of UOA as a FullNAT load balancer sends it: pure functions over
//! byte slices, no `unsafe`, no kernel types.
//!
//! This file is compiled twice: into the module, and on the host by
//! `tests/host` (plain `cargo test`, property tests), so it must only use
//! `core`. Every function returns a typed result: "this packet carries no
//! UOA" is `Ok(None)`, a malformed one is an `Err`, and the statistics count
//! the two apart. A malformed option area is never half-trusted.

// Items are `pub` for the host test crate, which uses this file as a module
// of its own; in the kernel they are reached only from within the crate.
#![allow(unreachable_pub)]

/// IPv4 option type of UOA: number 31, class 0 (control), not copied.
pub const IPOPT_UOA: u8 = 31;
/// Length of a UOA option with an IPv4 client: type, length, port, address.
pub const UOA_LEN_IPV4: u8 = 8;
/// Length of a UOA option with an IPv6 client.
pub const UOA_LEN_IPV6: u8 = 20;
/// The private IP protocol of the "opp" header.
pub const IPPROTO_OPP: u8 = 248;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// Size of the fixed opp header.
pub const OPP_HDR_LEN: usize = 4;
/// opp version: the client address is IPv4.
pub const OPP_VERSION_IPV4: u8 = 1;
/// opp version: the client address is IPv6.
pub const OPP_VERSION_IPV6: u8 = 2;
/// Size of an IPv4 header without options.
pub const IPV4_HDR_LEN: usize = 20;
/// Size of the fixed IPv6 header.
pub const IPV6_HDR_LEN: usize = 40;

const IPOPT_END: u8 = 0;
const IPOPT_NOOP: u8 = 1;

/// The `N` bytes of `bytes` at `at`, as an array; panics if out of bounds
/// (callers have checked the length). Unlike `copy_from_slice`, which the
/// kernel's `core` leaves out of line with a call to `memcpy`, this is a
/// plain load of `N` bytes.
#[inline(always)]
pub fn array_at<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    *<&[u8; N]>::try_from(&bytes[at..at + N]).expect("N bytes")
}

/// Writes `value` over the `N` bytes of `bytes` at `at` (as `array_at`).
#[inline(always)]
pub fn put_at<const N: usize>(bytes: &mut [u8], at: usize, value: [u8; N]) {
    *<&mut [u8; N]>::try_from(&mut bytes[at..at + N]).expect("N bytes") = value;
}

/// The real client a UOA names: address and UDP port (host order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RealAddr {
    /// IPv4 client.
    V4 {
        /// Address, network order bytes.
        addr: [u8; 4],
        /// UDP port, host order.
        port: u16,
    },
    /// IPv6 client (also NAT64: IPv6 client behind an IPv4 packet).
    V6 {
        /// Address, network order bytes.
        addr: [u8; 16],
        /// UDP port, host order.
        port: u16,
    },
}

impl RealAddr {
    /// The client's UDP port, host order.
    pub fn port(&self) -> u16 {
        match *self {
            RealAddr::V4 { port, .. } | RealAddr::V6 { port, .. } => port,
        }
    }
}

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address, displayed the usual way:
/// dotted quad, or RFC 5952 hex groups with the longest zero run as `::`.
pub struct IpDisplay<'a>(pub &'a [u8]);

impl core::fmt::Display for IpDisplay<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let a = self.0;
        if a.len() == 4 {
            return write!(f, "{}.{}.{}.{}", a[0], a[1], a[2], a[3]);
        }
        let mut groups = [0u16; 8];
        for (i, g) in groups.iter_mut().enumerate() {
            *g = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
        }
        // The longest run of two or more zero groups (first one on ties).
        let (mut best, mut best_len, mut run) = (8, 1, 0);
        for (i, &g) in groups.iter().enumerate() {
            run = if g == 0 { run + 1 } else { 0 };
            if run > best_len {
                best_len = run;
                best = i + 1 - run;
            }
        }
        let mut i = 0;
        while i < 8 {
            if i == best {
                f.write_str(if i == 0 { "::" } else { ":" })?;
                i += best_len;
                continue;
            }
            write!(f, "{:x}", groups[i])?;
            if i < 7 {
                f.write_str(":")?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl core::fmt::Display for RealAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RealAddr::V4 { addr, port } => write!(f, "{}:{}", IpDisplay(addr), port),
            RealAddr::V6 { addr, port } => write!(f, "[{}]:{}", IpDisplay(addr), port),
        }
    }
}

/// Why a packet's UOA could not be trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The packet ends before a header it announces.
    Truncated,
    /// The IPv4 option area breaks RFC 791 (length below 2 or past the end).
    BadOptionArea,
    /// A UOA option whose length is neither 8 nor 20.
    BadUoaLength(u8),
    /// An opp header version other than 1 or 2.
    BadOppVersion(u8),
    /// The opp header's reserved bits are set.
    OppReservedBits,
    /// opp length below 4, not a multiple of 4, or past the packet.
    BadOppLength(u16),
    /// The opp header's next protocol is not UDP.
    OppNotUdp(u8),
    /// The UOA address family disagrees with the opp version.
    OppFamilyMismatch,
}

/// Decodes one UOA option (type, length, port, address); `opt` is the
/// whole option, `opt[1]` bytes long.
#[inline]
pub fn parse_uoa_option(opt: &[u8]) -> Result<RealAddr, ParseError> {
    let (&kind, rest) = opt.split_first().ok_or(ParseError::Truncated)?;
    debug_assert_eq!(kind, IPOPT_UOA);
    let &len = rest.first().ok_or(ParseError::Truncated)?;
    if len != UOA_LEN_IPV4 && len != UOA_LEN_IPV6 {
        return Err(ParseError::BadUoaLength(len));
    }
    let opt = opt.get(..usize::from(len)).ok_or(ParseError::Truncated)?;
    let port = u16::from_be_bytes([opt[2], opt[3]]);
    Ok(if len == UOA_LEN_IPV4 {
        RealAddr::V4 {
            addr: array_at(opt, 4),
            port,
        }
    } else {
        RealAddr::V6 {
            addr: array_at(opt, 4),
            port,
        }
    })
}

/// Walks an option area (IPv4 options after the fixed header, or opp
/// options) as RFC 791 says and returns the UOA it holds, if any.
///
/// END stops the walk, NOP is one byte, every other option is
/// type/length/data with `2 <= length <= bytes left`; anything else makes
/// the whole area malformed. The first UOA option counts.
#[inline]
pub fn find_uoa(area: &[u8]) -> Result<Option<RealAddr>, ParseError> {
    let mut rest = area;
    while let Some(&kind) = rest.first() {
        match kind {
            IPOPT_END => break,
            IPOPT_NOOP => rest = &rest[1..],
            _ => {
                let len = usize::from(*rest.get(1).ok_or(ParseError::BadOptionArea)?);
                if len < 2 || len > rest.len() {
                    return Err(ParseError::BadOptionArea);
                }
                if kind == IPOPT_UOA {
                    return parse_uoa_option(&rest[..len]).map(Some);
                }
                rest = &rest[len..];
            }
        }
    }
    Ok(None)
}

/// A validated opp header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OppHeader {
    /// 1: IPv4 client, 2: IPv6 client.
    pub version: u8,
    /// Bytes of the opp header plus its options (what is removed).
    pub len: usize,
}

/// Validates the fixed opp header at the start of `bytes`; `available` is
/// how many bytes of the packet follow its start (the header must fit).
#[inline]
pub fn parse_opp_header(bytes: &[u8], available: usize) -> Result<OppHeader, ParseError> {
    let hdr = bytes.get(..OPP_HDR_LEN).ok_or(ParseError::Truncated)?;
    let version = hdr[0] >> 4;
    if version != OPP_VERSION_IPV4 && version != OPP_VERSION_IPV6 {
        return Err(ParseError::BadOppVersion(version));
    }
    if hdr[0] & 0x0f != 0 {
        return Err(ParseError::OppReservedBits);
    }
    if hdr[1] != IPPROTO_UDP {
        return Err(ParseError::OppNotUdp(hdr[1]));
    }
    let len16 = u16::from_be_bytes([hdr[2], hdr[3]]);
    let len = usize::from(len16);
    if len < OPP_HDR_LEN || len % 4 != 0 || len > available {
        return Err(ParseError::BadOppLength(len16));
    }
    Ok(OppHeader { version, len })
}

/// Parses a whole opp header with its options (`opp` is exactly
/// `header.len` bytes): the header must be valid, and a UOA inside must
/// match its version. (The module reads the fixed part first, and the
/// options with `opp_client`; the tests check the two together here.)
#[allow(dead_code)]
pub fn parse_opp(opp: &[u8]) -> Result<(OppHeader, Option<RealAddr>), ParseError> {
    let header = parse_opp_header(opp, opp.len())?;
    Ok((header, opp_client(&header, opp)?))
}

/// The client named by the options of an opp header `header` validated
/// (`opp` holds at least `header.len` bytes): a UOA must match its version.
#[inline]
pub fn opp_client(header: &OppHeader, opp: &[u8]) -> Result<Option<RealAddr>, ParseError> {
    let real = find_uoa(
        opp.get(OPP_HDR_LEN..header.len)
            .ok_or(ParseError::Truncated)?,
    )?;
    match (header.version, real) {
        (OPP_VERSION_IPV4, Some(RealAddr::V6 { .. }))
        | (OPP_VERSION_IPV6, Some(RealAddr::V4 { .. })) => Err(ParseError::OppFamilyMismatch),
        _ => Ok(real),
    }
}

/// Length of the opp header a load balancer sends for an IPv4 client: the
/// fixed part and one UOA option of 8 bytes.
pub const OPP_CANONICAL_LEN: usize = OPP_HDR_LEN + UOA_LEN_IPV4 as usize;
/// What `canonical_opp_v4` reads: that header and the UDP ports after it.
pub const OPP_CANONICAL_READ: usize = OPP_CANONICAL_LEN + 4;

/// The commonest opp header in one read: version 1, UDP, 12 bytes long,
/// holding one UOA option with an IPv4 client; then the UDP ports. Returns
/// the client and the ports, or `None` for any other shape, which the
/// general parser (`parse_opp_header`, `opp_client`) then decides. Where it
/// answers, it answers as the general parser does (a property test checks
/// it); the caller makes sure the datagram holds all `OPP_CANONICAL_READ`
/// bytes.
#[inline]
pub fn canonical_opp_v4(b: &[u8; OPP_CANONICAL_READ]) -> Option<(RealAddr, u16, u16)> {
    const FIXED: [u8; 4] = [
        OPP_VERSION_IPV4 << 4,
        IPPROTO_UDP,
        0,
        OPP_CANONICAL_LEN as u8,
    ];
    if array_at::<4>(b, 0) != FIXED {
        return None;
    }
    canonical_uoa_v4(&array_at(b, OPP_HDR_LEN))
}

/// What `canonical_uoa_v4` reads: a UOA option and the UDP ports after it.
pub const UOA_CANONICAL_READ: usize = UOA_LEN_IPV4 as usize + 4;

/// An option area that is one UOA option with an IPv4 client, then the UDP
/// ports, in one read: the commonest IPv4-option packet (header length
/// 28), and the options of the commonest opp header. Returns the client
/// and the ports, or `None` for any other shape (the general parser,
/// `find_uoa`, decides those); where it answers, it answers as `find_uoa`
/// and `udp_ports` do.
#[inline]
pub fn canonical_uoa_v4(b: &[u8; UOA_CANONICAL_READ]) -> Option<(RealAddr, u16, u16)> {
    if b[0] != IPOPT_UOA || b[1] != UOA_LEN_IPV4 {
        return None;
    }
    let real = RealAddr::V4 {
        addr: array_at(b, 4),
        port: u16::from_be_bytes(array_at(b, 2)),
    };
    let at = usize::from(UOA_LEN_IPV4);
    Some((
        real,
        u16::from_be_bytes(array_at(b, at)),
        u16::from_be_bytes(array_at(b, at + 2)),
    ))
}

/// The fields of an IPv4 header this module needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Header {
    /// Header length in bytes, options included.
    pub header_len: usize,
    /// Next protocol.
    pub protocol: u8,
    /// Total length of the datagram.
    pub total_len: usize,
    /// Whether this is a fragment (MF set or offset non-zero).
    pub fragment: bool,
    /// Source address.
    pub saddr: [u8; 4],
    /// Destination address.
    pub daddr: [u8; 4],
}

impl Ipv4Header {
    /// Reads the fixed part of an IPv4 header (at least 20 bytes).
    #[inline]
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let h = bytes.get(..IPV4_HDR_LEN).ok_or(ParseError::Truncated)?;
        let header_len = usize::from(h[0] & 0x0f) * 4;
        if h[0] >> 4 != 4 || header_len < IPV4_HDR_LEN {
            return Err(ParseError::Truncated);
        }
        let frag = u16::from_be_bytes([h[6], h[7]]);
        Ok(Self {
            header_len,
            protocol: h[9],
            total_len: usize::from(u16::from_be_bytes([h[2], h[3]])),
            fragment: frag & 0x3fff != 0,
            saddr: [h[12], h[13], h[14], h[15]],
            daddr: [h[16], h[17], h[18], h[19]],
        })
    }
}

/// The fields of an IPv6 header this module needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Header {
    /// Payload length (after the fixed 40 bytes).
    pub payload_len: usize,
    /// Next header.
    pub nexthdr: u8,
    /// Source address.
    pub saddr: [u8; 16],
    /// Destination address.
    pub daddr: [u8; 16],
}

impl Ipv6Header {
    /// Reads the fixed IPv6 header (at least 40 bytes).
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let h = bytes.get(..IPV6_HDR_LEN).ok_or(ParseError::Truncated)?;
        if h[0] >> 4 != 6 {
            return Err(ParseError::Truncated);
        }
        Ok(Self {
            payload_len: usize::from(u16::from_be_bytes([h[4], h[5]])),
            nexthdr: h[6],
            saddr: array_at(h, 8),
            daddr: array_at(h, 24),
        })
    }
}

/// Where the transport header of an IPv6 packet is, after any extension
/// headers (hop-by-hop, routing, destination options, AH).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ipv6Transport {
    /// UDP at this offset.
    Udp {
        /// Offset of the UDP header.
        offset: usize,
    },
    /// An opp header at `offset`; the byte at `nexthdr_offset` says 248 and
    /// must say UDP once the opp header is removed.
    Opp {
        /// Offset of the next-header field that names the opp header.
        nexthdr_offset: usize,
        /// Offset of the opp header.
        offset: usize,
    },
    /// A fragment header: left alone.
    Fragment,
    /// Something else (TCP, ICMPv6, ESP, ...).
    Other,
}

/// At most this many extension headers are walked.
const IPV6_MAX_EXTHDRS: usize = 8;

/// Walks the extension headers of the IPv6 packet that starts `pkt` (the
/// packet may be cut short: a walk past the end is `Truncated`).
///
/// Only headers that removing the opp header cannot upset are walked: not
/// past AH (its integrity check covers what follows), nor past a routing
/// header with segments left (the packet goes on to another node).
pub fn ipv6_transport(pkt: &[u8]) -> Result<Ipv6Transport, ParseError> {
    if pkt.len() < IPV6_HDR_LEN {
        return Err(ParseError::Truncated);
    }
    let mut nexthdr_offset = 6;
    let mut nexthdr = pkt[nexthdr_offset];
    let mut offset = IPV6_HDR_LEN;
    for _ in 0..=IPV6_MAX_EXTHDRS {
        let len = match nexthdr {
            IPPROTO_UDP => return Ok(Ipv6Transport::Udp { offset }),
            IPPROTO_OPP => {
                return Ok(Ipv6Transport::Opp {
                    nexthdr_offset,
                    offset,
                })
            }
            44 => return Ok(Ipv6Transport::Fragment),
            // Routing header with segments left: not for this node yet.
            43 if *pkt.get(offset + 3).ok_or(ParseError::Truncated)? != 0 => {
                return Ok(Ipv6Transport::Other);
            }
            // Hop-by-hop, routing, destination options: 8-byte units.
            0 | 43 | 60 => usize::from(*pkt.get(offset + 1).ok_or(ParseError::Truncated)?) * 8 + 8,
            _ => return Ok(Ipv6Transport::Other),
        };
        nexthdr_offset = offset;
        nexthdr = *pkt.get(offset).ok_or(ParseError::Truncated)?;
        offset += len;
        if offset > pkt.len() {
            return Err(ParseError::Truncated);
        }
    }
    Ok(Ipv6Transport::Other)
}

/// `AF_INET` as the lookup ABI carries it (host order).
pub const AF_INET: u16 = 2;
/// `AF_INET6` as the lookup ABI carries it (host order).
pub const AF_INET6: u16 = 10;
/// Size of `struct uoa_param_map`.
pub const PARAM_MAP_LEN: usize = QUERY_LEN + ANSWER_LEN;
/// Its input half, which the application fills: `af`, `saddr`, `daddr`,
/// `sport`, `dport`.
pub const QUERY_LEN: usize = 38;
/// Its output half, which the lookup fills: `real_af`, `real_saddr`,
/// `real_sport`.
pub const ANSWER_LEN: usize = 20;

/// The input half of `struct uoa_param_map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupQuery {
    /// An IPv4 flow.
    V4 {
        /// Peer address.
        saddr: [u8; 4],
        /// Own address; zero = any.
        daddr: [u8; 4],
        /// Peer port, host order.
        sport: u16,
        /// Own port, host order.
        dport: u16,
    },
    /// An IPv6 flow.
    V6 {
        /// Peer address.
        saddr: [u8; 16],
        /// Own address; zero = any.
        daddr: [u8; 16],
        /// Peer port, host order.
        sport: u16,
        /// Own port, host order.
        dport: u16,
    },
}

/// Decodes the input half of a `struct uoa_param_map`; `None` when `af`
/// is neither `AF_INET` nor `AF_INET6`.
pub fn decode_lookup(map: &[u8; QUERY_LEN]) -> Option<LookupQuery> {
    let af = u16::from_ne_bytes([map[0], map[1]]);
    let sport = u16::from_be_bytes([map[34], map[35]]);
    let dport = u16::from_be_bytes([map[36], map[37]]);
    let s16: [u8; 16] = array_at(map, 2);
    let d16: [u8; 16] = array_at(map, 18);
    match af {
        AF_INET => Some(LookupQuery::V4 {
            saddr: [s16[0], s16[1], s16[2], s16[3]],
            daddr: [d16[0], d16[1], d16[2], d16[3]],
            sport,
            dport,
        }),
        AF_INET6 => Some(LookupQuery::V6 {
            saddr: s16,
            daddr: d16,
            sport,
            dport,
        }),
        _ => None,
    }
}

/// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
pub fn v4_mapped(addr: &[u8; 16]) -> Option<[u8; 4]> {
    (addr[..10] == [0; 10] && addr[10..12] == [0xff, 0xff])
        .then(|| [addr[12], addr[13], addr[14], addr[15]])
}

/// The output half of a `struct uoa_param_map` (its bytes from
/// `QUERY_LEN` on) for `real`.
pub fn encode_real(real: &RealAddr) -> [u8; ANSWER_LEN] {
    let mut answer = [0; ANSWER_LEN];
    let (af, addr) = match *real {
        RealAddr::V4 { addr, .. } => {
            let mut a = [0; 16];
            put_at(&mut a, 0, addr);
            (AF_INET, a)
        }
        RealAddr::V6 { addr, .. } => (AF_INET6, addr),
    };
    put_at(&mut answer, 0, af.to_ne_bytes());
    put_at(&mut answer, 2, addr);
    put_at(&mut answer, 18, real.port().to_be_bytes());
    answer
}

/// UDP source and destination ports (host order) from a UDP header.
#[inline]
pub fn udp_ports(bytes: &[u8]) -> Result<(u16, u16), ParseError> {
    let h = bytes.get(..4).ok_or(ParseError::Truncated)?;
    Ok((
        u16::from_be_bytes([h[0], h[1]]),
        u16::from_be_bytes([h[2], h[3]]),
    ))
}

/// The IPv4 header checksum after one 16-bit word of the header changed
/// from `old` to `new`, from the checksum before (RFC 1624, equation 3):
/// a few instructions instead of summing the header again.
pub fn ipv4_checksum_update(checksum: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!checksum) + u32::from(!old) + u32::from(new);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}

/// The IPv4 header checksum of `header` (its checksum field, bytes 10-11,
/// is taken as zero).
// The module's packet path updates checksums (`ipv4_checksum_update`);
// this full sum serves the tests that check it, in the kernel and on the host.
#[allow(dead_code)]
pub fn ipv4_header_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for (i, pair) in header.chunks(2).enumerate() {
        if i == 5 {
            continue;
        }
        let hi = u32::from(pair[0]) << 8;
        sum += hi | pair.get(1).map_or(0, |&lo| u32::from(lo));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uoa4(port: u16, addr: [u8; 4]) -> [u8; 8] {
        let p = port.to_be_bytes();
        [IPOPT_UOA, 8, p[0], p[1], addr[0], addr[1], addr[2], addr[3]]
    }

    #[test]
    fn ipv4_uoa_option() {
        let opt = uoa4(5353, [10, 0, 0, 1]);
        assert_eq!(
            find_uoa(&opt),
            Ok(Some(RealAddr::V4 {
                addr: [10, 0, 0, 1],
                port: 5353
            }))
        );
    }

    #[test]
    fn ipv6_uoa_option() {
        let mut opt = [0u8; 20];
        opt[0] = IPOPT_UOA;
        opt[1] = 20;
        opt[2..4].copy_from_slice(&443u16.to_be_bytes());
        opt[4] = 0x20;
        opt[19] = 7;
        let mut addr = [0; 16];
        addr[0] = 0x20;
        addr[15] = 7;
        assert_eq!(find_uoa(&opt), Ok(Some(RealAddr::V6 { addr, port: 443 })));
    }

    #[test]
    fn nop_then_uoa_then_end() {
        let mut area = [IPOPT_NOOP; 12];
        area[1..9].copy_from_slice(&uoa4(1, [1, 2, 3, 4]));
        area[9] = IPOPT_END;
        assert!(matches!(
            find_uoa(&area),
            Ok(Some(RealAddr::V4 { port: 1, .. }))
        ));
    }

    #[test]
    fn end_stops_the_walk() {
        let mut area = [0u8; 12];
        area[0] = IPOPT_END;
        area[4..12].copy_from_slice(&uoa4(1, [1, 2, 3, 4]));
        assert_eq!(find_uoa(&area), Ok(None));
    }

    #[test]
    fn other_options_are_skipped() {
        // A timestamp-like option (68, length 4) before the UOA.
        let mut area = [0u8; 12];
        area[..4].copy_from_slice(&[68, 4, 5, 0]);
        area[4..].copy_from_slice(&uoa4(9, [9, 9, 9, 9]));
        assert!(matches!(
            find_uoa(&area),
            Ok(Some(RealAddr::V4 { port: 9, .. }))
        ));
    }

    #[test]
    fn empty_and_padding_only_areas_hold_no_uoa() {
        assert_eq!(find_uoa(&[]), Ok(None));
        assert_eq!(find_uoa(&[IPOPT_NOOP; 4]), Ok(None));
    }

    #[test]
    fn bad_uoa_lengths_are_refused() {
        for len in [3u8, 12, 40, 200] {
            let mut area = [0u8; 40];
            area[0] = IPOPT_UOA;
            area[1] = len;
            let want = if usize::from(len) > area.len() {
                Err(ParseError::BadOptionArea)
            } else {
                Err(ParseError::BadUoaLength(len))
            };
            assert_eq!(find_uoa(&area), want, "length {len}");
        }
    }

    #[test]
    fn malformed_option_areas_are_refused() {
        assert_eq!(find_uoa(&[68]), Err(ParseError::BadOptionArea));
        assert_eq!(find_uoa(&[68, 0, 0, 0]), Err(ParseError::BadOptionArea));
        assert_eq!(find_uoa(&[68, 1, 0, 0]), Err(ParseError::BadOptionArea));
        assert_eq!(find_uoa(&[68, 9, 0, 0]), Err(ParseError::BadOptionArea));
        // A UOA cut short by the end of the area.
        assert_eq!(
            find_uoa(&uoa4(1, [1, 2, 3, 4])[..6]),
            Err(ParseError::BadOptionArea)
        );
    }

    fn opp(version: u8, len: u16, next: u8) -> [u8; 12] {
        let l = len.to_be_bytes();
        let mut h = [0u8; 12];
        h[..4].copy_from_slice(&[version << 4, next, l[0], l[1]]);
        h[4..].copy_from_slice(&uoa4(53, [192, 0, 2, 1]));
        h
    }

    #[test]
    fn opp_v1_with_uoa() {
        let (hdr, real) = parse_opp(&opp(1, 12, IPPROTO_UDP)).unwrap();
        assert_eq!(
            hdr,
            OppHeader {
                version: 1,
                len: 12
            }
        );
        assert_eq!(
            real,
            Some(RealAddr::V4 {
                addr: [192, 0, 2, 1],
                port: 53
            })
        );
    }

    #[test]
    fn opp_header_checks() {
        assert_eq!(
            parse_opp(&opp(3, 12, 17)),
            Err(ParseError::BadOppVersion(3))
        );
        assert_eq!(
            parse_opp(&opp(0, 12, 17)),
            Err(ParseError::BadOppVersion(0))
        );
        let mut reserved = opp(1, 12, 17);
        reserved[0] |= 1;
        assert_eq!(parse_opp(&reserved), Err(ParseError::OppReservedBits));
        assert_eq!(parse_opp(&opp(1, 12, 6)), Err(ParseError::OppNotUdp(6)));
        for len in [0u16, 2, 5, 13, 16, 400] {
            assert_eq!(
                parse_opp(&opp(1, len, 17)),
                Err(ParseError::BadOppLength(len)),
                "{len}"
            );
        }
        assert_eq!(parse_opp(&opp(1, 12, 17)[..3]), Err(ParseError::Truncated));
    }

    #[test]
    fn opp_without_options_carries_no_uoa() {
        assert_eq!(
            parse_opp(&opp(1, 4, 17)[..4]),
            Ok((OppHeader { version: 1, len: 4 }, None))
        );
    }

    #[test]
    fn opp_version_must_match_family() {
        assert_eq!(
            parse_opp(&opp(2, 12, 17)),
            Err(ParseError::OppFamilyMismatch)
        );
    }

    #[test]
    fn ipv4_header_fields_and_checksum() {
        // A header from a real capture: checksum 0xb861.
        let h = [
            0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8,
            0, 0xc7,
        ];
        let ip = Ipv4Header::parse(&h).unwrap();
        assert_eq!((ip.header_len, ip.protocol, ip.total_len), (20, 17, 0x73));
        assert!(!ip.fragment);
        assert_eq!(ipv4_header_checksum(&h), 0xb861);
        assert_eq!(Ipv4Header::parse(&h[..19]), Err(ParseError::Truncated));
    }

    #[test]
    fn ipv6_walks_extension_headers() {
        let mut p = [0u8; 96];
        p[0] = 0x60;
        p[6] = IPPROTO_UDP;
        assert_eq!(ipv6_transport(&p), Ok(Ipv6Transport::Udp { offset: 40 }));
        p[6] = IPPROTO_OPP;
        assert_eq!(
            ipv6_transport(&p),
            Ok(Ipv6Transport::Opp {
                nexthdr_offset: 6,
                offset: 40
            })
        );
        // Destination options (16 bytes) then opp.
        p[6] = 60;
        p[40] = IPPROTO_OPP;
        p[41] = 1;
        assert_eq!(
            ipv6_transport(&p),
            Ok(Ipv6Transport::Opp {
                nexthdr_offset: 40,
                offset: 56
            })
        );
        // Hop-by-hop (8) then fragment.
        p[6] = 0;
        p[40] = 44;
        p[41] = 0;
        assert_eq!(ipv6_transport(&p), Ok(Ipv6Transport::Fragment));
        p[6] = 6;
        assert_eq!(ipv6_transport(&p), Ok(Ipv6Transport::Other));
        // Not past AH.
        p[6] = 51;
        p[40] = IPPROTO_OPP;
        assert_eq!(ipv6_transport(&p), Ok(Ipv6Transport::Other));
        // Past a routing header only when no segments are left.
        p[6] = 43;
        p[41] = 0;
        p[43] = 1;
        assert_eq!(ipv6_transport(&p), Ok(Ipv6Transport::Other));
        p[43] = 0;
        assert_eq!(
            ipv6_transport(&p),
            Ok(Ipv6Transport::Opp {
                nexthdr_offset: 40,
                offset: 48
            })
        );
        p[6] = 60;
        p[40] = IPPROTO_UDP;
        p[41] = 200;
        assert_eq!(ipv6_transport(&p), Err(ParseError::Truncated));
    }

    #[test]
    fn lookup_abi_round_trip() {
        let mut map = [0u8; PARAM_MAP_LEN];
        map[..2].copy_from_slice(&AF_INET.to_ne_bytes());
        map[2..6].copy_from_slice(&[10, 0, 1, 1]);
        map[34..36].copy_from_slice(&4000u16.to_be_bytes());
        map[36..38].copy_from_slice(&53u16.to_be_bytes());
        let query = |map: &[u8; PARAM_MAP_LEN]| decode_lookup(&array_at(map, 0));
        assert_eq!(
            query(&map),
            Some(LookupQuery::V4 {
                saddr: [10, 0, 1, 1],
                daddr: [0; 4],
                sport: 4000,
                dport: 53
            })
        );
        let mut addr = [0u8; 16];
        addr[0] = 0x20;
        addr[15] = 1;
        put_at(
            &mut map,
            QUERY_LEN,
            encode_real(&RealAddr::V6 { addr, port: 1234 }),
        );
        assert_eq!(u16::from_ne_bytes([map[38], map[39]]), AF_INET6);
        assert_eq!(&map[40..56], &addr);
        assert_eq!(&map[56..58], &1234u16.to_be_bytes());
        map[0] = 99;
        assert_eq!(query(&map), None);
    }

    #[test]
    fn addresses_display_as_operators_write_them() {
        extern crate std;
        use std::string::ToString;
        let v6 = |groups: [u16; 8]| {
            let mut a = [0u8; 16];
            for (i, g) in groups.iter().enumerate() {
                a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
            }
            a
        };
        assert_eq!(IpDisplay(&[192, 0, 2, 1]).to_string(), "192.0.2.1");
        assert_eq!(
            IpDisplay(&v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])).to_string(),
            "2001:db8::1"
        );
        assert_eq!(IpDisplay(&v6([0; 8])).to_string(), "::");
        assert_eq!(IpDisplay(&v6([0, 0, 0, 0, 0, 0, 0, 1])).to_string(), "::1");
        assert_eq!(
            IpDisplay(&v6([0xfd00, 1, 0, 0, 0, 0, 0, 0])).to_string(),
            "fd00:1::"
        );
        assert_eq!(
            IpDisplay(&v6([1, 0, 2, 3, 4, 5, 6, 7])).to_string(),
            "1:0:2:3:4:5:6:7"
        );
        assert_eq!(
            IpDisplay(&v6([1, 0, 0, 2, 0, 0, 0, 3])).to_string(),
            "1:0:0:2::3"
        );
        assert_eq!(
            RealAddr::V6 {
                addr: v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 7]),
                port: 53
            }
            .to_string(),
            "[2001:db8::7]:53"
        );
        assert_eq!(
            RealAddr::V4 {
                addr: [10, 0, 0, 1],
                port: 1
            }
            .to_string(),
            "10.0.0.1:1"
        );
    }
}
