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
/// ByteDance's "asym" UOA option type, read as type 31 of their lengths.
pub const IPOPT_UOA_ASYM: u8 = 30;
/// ByteDance's "v2" UOA option type, with a VNI and no destination.
pub const IPOPT_UOA_VNI: u8 = 29;
/// ByteDance's options of types 31 and 30 (client and original
/// destination): lengths with inner IPv4 and inner IPv6 addresses.
pub const BD_LEN_IPV4: u8 = 16;
/// See `BD_LEN_IPV4`.
pub const BD_LEN_IPV6: u8 = 40;
/// ByteDance's type 29 (VNI and client): lengths for IPv4 and IPv6.
pub const BD_VNI_LEN_IPV4: u8 = 16;
/// See `BD_VNI_LEN_IPV4`.
pub const BD_VNI_LEN_IPV6: u8 = 32;
/// Opt Data Len of Huawei's Destination Options UOA (port, address).
pub const HW_DATA_LEN_IPV4: u8 = 6;
/// See `HW_DATA_LEN_IPV4`.
pub const HW_DATA_LEN_IPV6: u8 = 18;
/// IPv6 next header of a Destination Options header.
pub const IPPROTO_DSTOPTS: u8 = 60;
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

/// The wire form a UOA arrived in: which balancer sends it, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UoaFormat {
    /// DPVS's (and Huawei's) IPv4 option: type 31, length 8 or 20.
    Ipv4Option,
    /// DPVS's protocol 248 header, version 1 or 2.
    Opp,
    /// ByteDance's IPv4 option, types 31 and 30, length 16 or 40: client
    /// and original destination.
    BytedanceOption,
    /// ByteDance's IPv4 option type 29, length 16 or 32: VNI and client.
    BytedanceVniOption,
    /// ByteDance's protocol 248 variant: any other version, one option.
    BytedanceOpp,
    /// ByteDance's Destination Options form of types 31 and 30.
    BytedanceDstopt,
    /// ByteDance's Destination Options form of type 29.
    BytedanceVniDstopt,
    /// Huawei ELB's Destination Options form: type 31, port and address.
    HuaweiDstopt,
}

impl UoaFormat {
    /// Every format, in the order `uoa_stats_extra` lists them.
    pub const ALL: [UoaFormat; 8] = [
        UoaFormat::Ipv4Option,
        UoaFormat::Opp,
        UoaFormat::BytedanceOption,
        UoaFormat::BytedanceVniOption,
        UoaFormat::BytedanceOpp,
        UoaFormat::BytedanceDstopt,
        UoaFormat::BytedanceVniDstopt,
        UoaFormat::HuaweiDstopt,
    ];

    /// Its name in `uoa_stats_extra` ("format_NAME").
    pub fn name(self) -> &'static str {
        match self {
            UoaFormat::Ipv4Option => "ipv4_option",
            UoaFormat::Opp => "opp",
            UoaFormat::BytedanceOption => "bytedance_option",
            UoaFormat::BytedanceVniOption => "bytedance_vni_option",
            UoaFormat::BytedanceOpp => "bytedance_opp",
            UoaFormat::BytedanceDstopt => "bytedance_dstopt",
            UoaFormat::BytedanceVniDstopt => "bytedance_vni_dstopt",
            UoaFormat::HuaweiDstopt => "huawei_dstopt",
        }
    }
}

/// What a UOA carries besides the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UoaExtra {
    /// Nothing (DPVS's and Huawei's formats).
    None,
    /// The flow's original destination, address and port (ByteDance's
    /// types 31 and 30); of the same family as the client.
    Destination(RealAddr),
    /// A VNI (ByteDance's type 29).
    Vni(u32),
}

/// A UOA as found in a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Uoa {
    /// The real client.
    pub real: RealAddr,
    /// What else it carries.
    pub extra: UoaExtra,
    /// The wire form it came in.
    pub format: UoaFormat,
}

impl Uoa {
    /// A UOA of DPVS's formats (client only).
    pub fn plain(real: RealAddr, format: UoaFormat) -> Self {
        Self {
            real,
            extra: UoaExtra::None,
            format,
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
    /// A UOA option whose length is not one of its type's.
    BadUoaLength(u8),
    /// A ByteDance option whose operation byte is not 0 (inner IPv4) or 1
    /// (inner IPv6), or disagrees with its length.
    BadUoaOperation(u8),
    /// A protocol 248 header of ByteDance's variant (a version other than
    /// 1 or 2) that is not exactly one UOA option of 8 or 20 bytes.
    BadBytedanceOpp,
    /// The opp header's reserved bits are set.
    OppReservedBits,
    /// opp length below 4, not a multiple of 4, or past the packet.
    BadOppLength(u16),
    /// The opp header's next protocol is not UDP.
    OppNotUdp(u8),
    /// The UOA address family disagrees with the opp version.
    OppFamilyMismatch,
    /// DPVS's opp header holding a UOA option of another balancer's form.
    OppForeignUoa,
}

/// An address of `N` bytes at `at`, with `port`, as a `RealAddr`.
fn addr_port<const N: usize>(bytes: &[u8], at: usize, port: u16) -> RealAddr {
    if N == 4 {
        RealAddr::V4 {
            addr: array_at(bytes, at),
            port,
        }
    } else {
        RealAddr::V6 {
            addr: array_at(bytes, at),
            port,
        }
    }
}

/// ByteDance's body of types 31 and 30 (after type, length, operation and
/// pad in the IPv4 option; the option data in Destination Options):
/// client port, destination port, client address, destination address.
fn bytedance_addresses(body: &[u8], v6: bool, format: UoaFormat) -> Uoa {
    let sport = u16::from_be_bytes(array_at(body, 0));
    let dport = u16::from_be_bytes(array_at(body, 2));
    let (real, dest) = if v6 {
        (
            addr_port::<16>(body, 4, sport),
            addr_port::<16>(body, 20, dport),
        )
    } else {
        (
            addr_port::<4>(body, 4, sport),
            addr_port::<4>(body, 8, dport),
        )
    };
    Uoa {
        real,
        extra: UoaExtra::Destination(dest),
        format,
    }
}

/// ByteDance's body of type 29: VNI, client port, 2 bytes of pad, client
/// address (IPv6: then 4 bytes of pad).
fn bytedance_vni(body: &[u8], v6: bool, format: UoaFormat) -> Uoa {
    let port = u16::from_be_bytes(array_at(body, 4));
    let real = if v6 {
        addr_port::<16>(body, 8, port)
    } else {
        addr_port::<4>(body, 8, port)
    };
    Uoa {
        real,
        extra: UoaExtra::Vni(u32::from_be_bytes(array_at(body, 0))),
        format,
    }
}

/// Decodes one IPv4 UOA option; `opt` is the whole option (`opt[1]` bytes
/// long). Told apart by type and exact length:
/// - type 31, length 8 or 20: DPVS's (and Huawei's) port and address;
/// - types 31 and 30, length 16 or 40: ByteDance's client and original
///   destination, inner IPv4 or IPv6, with the operation byte to match;
/// - type 29, length 16 or 32: ByteDance's VNI and client, likewise.
///
/// Any other length of these types is malformed.
#[inline]
pub fn parse_uoa_option(opt: &[u8]) -> Result<Uoa, ParseError> {
    let (&kind, rest) = opt.split_first().ok_or(ParseError::Truncated)?;
    let &len = rest.first().ok_or(ParseError::Truncated)?;
    let opt = opt.get(..usize::from(len)).ok_or(ParseError::Truncated)?;
    let v6 = match (kind, len) {
        (IPOPT_UOA, UOA_LEN_IPV4) => {
            let port = u16::from_be_bytes(array_at(opt, 2));
            return Ok(Uoa::plain(
                addr_port::<4>(opt, 4, port),
                UoaFormat::Ipv4Option,
            ));
        }
        (IPOPT_UOA, UOA_LEN_IPV6) => {
            let port = u16::from_be_bytes(array_at(opt, 2));
            return Ok(Uoa::plain(
                addr_port::<16>(opt, 4, port),
                UoaFormat::Ipv4Option,
            ));
        }
        (IPOPT_UOA | IPOPT_UOA_ASYM, BD_LEN_IPV4 | BD_LEN_IPV6) => len == BD_LEN_IPV6,
        (IPOPT_UOA_VNI, BD_VNI_LEN_IPV4 | BD_VNI_LEN_IPV6) => len == BD_VNI_LEN_IPV6,
        _ => return Err(ParseError::BadUoaLength(len)),
    };
    // Operation: 0 inner IPv4, 1 inner IPv6; it must agree with the length.
    if opt[2] != u8::from(v6) {
        return Err(ParseError::BadUoaOperation(opt[2]));
    }
    let body = &opt[4..];
    Ok(if kind == IPOPT_UOA_VNI {
        bytedance_vni(body, v6, UoaFormat::BytedanceVniOption)
    } else {
        bytedance_addresses(body, v6, UoaFormat::BytedanceOption)
    })
}

/// Whether an option type is one of the UOA family (DPVS's and Huawei's
/// 31, ByteDance's 31, 30 and 29), in IPv4 options and in IPv6
/// Destination Options alike.
#[inline]
fn is_uoa_type(kind: u8) -> bool {
    matches!(kind, IPOPT_UOA | IPOPT_UOA_ASYM | IPOPT_UOA_VNI)
}

/// Decodes one UOA-family option of an IPv6 Destination Options header,
/// from its type and data (after type and Opt Data Len). Told apart by
/// type and exact data length:
/// - type 31, 6 or 18: Huawei's port and address;
/// - types 31 and 30, 12 or 36: ByteDance's client and destination;
/// - type 29, 12 or 28: ByteDance's VNI and client.
///
/// Any other length of these types is malformed.
pub fn parse_dstopt_uoa(kind: u8, data: &[u8]) -> Result<Uoa, ParseError> {
    let len = u8::try_from(data.len()).map_err(|_| ParseError::BadOptionArea)?;
    match (kind, len) {
        (IPOPT_UOA, HW_DATA_LEN_IPV4) => {
            let port = u16::from_be_bytes(array_at(data, 0));
            Ok(Uoa::plain(
                addr_port::<4>(data, 2, port),
                UoaFormat::HuaweiDstopt,
            ))
        }
        (IPOPT_UOA, HW_DATA_LEN_IPV6) => {
            let port = u16::from_be_bytes(array_at(data, 0));
            Ok(Uoa::plain(
                addr_port::<16>(data, 2, port),
                UoaFormat::HuaweiDstopt,
            ))
        }
        (IPOPT_UOA | IPOPT_UOA_ASYM, 12 | 36) => Ok(bytedance_addresses(
            data,
            len == 36,
            UoaFormat::BytedanceDstopt,
        )),
        (IPOPT_UOA_VNI, 12 | 28) => Ok(bytedance_vni(
            data,
            len == 28,
            UoaFormat::BytedanceVniDstopt,
        )),
        _ => Err(ParseError::BadUoaLength(len)),
    }
}

/// Walks the options of an IPv6 Destination Options header (`hdr` is the
/// whole header, `(hdr[1] + 1) * 8` bytes) as RFC 8200 says: Pad1 is one
/// byte, every other option is type, length, data within the header. The
/// first UOA-family option counts; anything that does not fit makes the
/// whole header malformed.
pub fn find_dstopt_uoa(hdr: &[u8]) -> Result<Option<Uoa>, ParseError> {
    let mut rest = hdr.get(2..).ok_or(ParseError::Truncated)?;
    while let Some(&kind) = rest.first() {
        if kind == 0 {
            rest = &rest[1..];
            continue;
        }
        let len = usize::from(*rest.get(1).ok_or(ParseError::BadOptionArea)?);
        let data = rest.get(2..2 + len).ok_or(ParseError::BadOptionArea)?;
        if is_uoa_type(kind) {
            return parse_dstopt_uoa(kind, data).map(Some);
        }
        rest = &rest[2 + len..];
    }
    Ok(None)
}

/// Walks an option area (IPv4 options after the fixed header, or opp
/// options) as RFC 791 says and returns the UOA it holds, if any.
///
/// END stops the walk, NOP is one byte, every other option is
/// type/length/data with `2 <= length <= bytes left`; anything else makes
/// the whole area malformed. The first UOA-family option (types 31, 30,
/// 29: `parse_uoa_option`) counts, wherever it sits among the others.
#[inline]
pub fn find_uoa(area: &[u8]) -> Result<Option<Uoa>, ParseError> {
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
                if is_uoa_type(kind) {
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
    /// 1: IPv4 client, 2: IPv6 client (DPVS); anything else: ByteDance's
    /// variant, whose version says nothing.
    pub version: u8,
    /// Bytes of the opp header plus its options (what is removed).
    pub len: usize,
}

impl OppHeader {
    /// Whether it is ByteDance's variant: a version DPVS does not use.
    pub fn is_bytedance(&self) -> bool {
        self.version != OPP_VERSION_IPV4 && self.version != OPP_VERSION_IPV6
    }
}

/// Validates the fixed opp header at the start of `bytes`; `available` is
/// how many bytes of the packet follow its start (the header must fit).
///
/// Version 1 or 2 is DPVS's header: reserved bits zero, any length that
/// is a multiple of 4. Any other version is ByteDance's variant, which
/// ignores the first byte: its length must be 12 or 24 (one UOA option of
/// 8 or 20 bytes, which `opp_client` checks).
#[inline]
pub fn parse_opp_header(bytes: &[u8], available: usize) -> Result<OppHeader, ParseError> {
    let hdr = bytes.get(..OPP_HDR_LEN).ok_or(ParseError::Truncated)?;
    let version = hdr[0] >> 4;
    let bytedance = version != OPP_VERSION_IPV4 && version != OPP_VERSION_IPV6;
    if !bytedance && hdr[0] & 0x0f != 0 {
        return Err(ParseError::OppReservedBits);
    }
    if hdr[1] != IPPROTO_UDP {
        return Err(ParseError::OppNotUdp(hdr[1]));
    }
    let len16 = u16::from_be_bytes([hdr[2], hdr[3]]);
    let len = usize::from(len16);
    if bytedance && len != BD_OPP_LEN_IPV4 && len != BD_OPP_LEN_IPV6 {
        return Err(ParseError::BadBytedanceOpp);
    }
    if len < OPP_HDR_LEN || len % 4 != 0 || len > available {
        return Err(ParseError::BadOppLength(len16));
    }
    Ok(OppHeader { version, len })
}

/// Lengths of ByteDance's protocol 248 header: 4 bytes and one UOA option
/// of 8 (IPv4 client) or 20 (IPv6 client) bytes.
const BD_OPP_LEN_IPV4: usize = OPP_HDR_LEN + UOA_LEN_IPV4 as usize;
const BD_OPP_LEN_IPV6: usize = OPP_HDR_LEN + UOA_LEN_IPV6 as usize;

/// Parses a whole opp header with its options (`opp` is exactly
/// `header.len` bytes): the header must be valid, and a UOA inside must
/// match its version. (The module reads the fixed part first, and the
/// options with `opp_client`; the tests check the two together here.)
#[allow(dead_code)]
pub fn parse_opp(opp: &[u8]) -> Result<(OppHeader, Option<Uoa>), ParseError> {
    let header = parse_opp_header(opp, opp.len())?;
    Ok((header, opp_client(&header, opp)?))
}

/// The client named by the options of an opp header `header` validated
/// (`opp` holds at least `header.len` bytes). DPVS's header: options as
/// in IPv4, a UOA among them of DPVS's form (8 or 20 bytes) and of the
/// version's family. ByteDance's variant: exactly one UOA option filling
/// the rest of the header.
#[inline]
pub fn opp_client(header: &OppHeader, opp: &[u8]) -> Result<Option<Uoa>, ParseError> {
    let options = opp
        .get(OPP_HDR_LEN..header.len)
        .ok_or(ParseError::Truncated)?;
    if header.is_bytedance() {
        if options[0] != IPOPT_UOA || usize::from(options[1]) != options.len() {
            return Err(ParseError::BadBytedanceOpp);
        }
        let uoa = parse_uoa_option(options)?;
        return Ok(Some(Uoa::plain(uoa.real, UoaFormat::BytedanceOpp)));
    }
    let Some(uoa) = find_uoa(options)? else {
        return Ok(None);
    };
    if uoa.format != UoaFormat::Ipv4Option {
        return Err(ParseError::OppForeignUoa);
    }
    match (header.version, uoa.real) {
        (OPP_VERSION_IPV4, RealAddr::V6 { .. }) | (OPP_VERSION_IPV6, RealAddr::V4 { .. }) => {
            Err(ParseError::OppFamilyMismatch)
        }
        (_, real) => Ok(Some(Uoa::plain(real, UoaFormat::Opp))),
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
        /// Offset of the first Destination Options header on the way, where
        /// ByteDance and Huawei put their UOA (`find_dstopt_uoa`).
        dstopts: Option<usize>,
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
    let mut dstopts = None;
    for _ in 0..=IPV6_MAX_EXTHDRS {
        let len = match nexthdr {
            IPPROTO_UDP => return Ok(Ipv6Transport::Udp { offset, dstopts }),
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
        if nexthdr == IPPROTO_DSTOPTS && dstopts.is_none() {
            dstopts = Some(offset);
        }
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

/// The legacy IPv4-only lookup layout of option 2048 (DPVS's older one,
/// ByteDance's today): exactly this many bytes, all network order.
pub const LEGACY_LEN: usize = 18;

/// Decodes the legacy layout's input: saddr, daddr, sport, dport.
pub fn decode_legacy(b: &[u8; LEGACY_LEN]) -> LookupQuery {
    LookupQuery::V4 {
        saddr: array_at(b, 0),
        daddr: array_at(b, 4),
        sport: u16::from_be_bytes(array_at(b, 8)),
        dport: u16::from_be_bytes(array_at(b, 10)),
    }
}

/// The legacy layout answered: the input as given, then the client's
/// address and port; `None` for an IPv6 client, which it cannot hold.
pub fn encode_legacy(input: &[u8; LEGACY_LEN], real: &RealAddr) -> Option<[u8; LEGACY_LEN]> {
    let RealAddr::V4 { addr, port } = *real else {
        return None;
    };
    let mut out = *input;
    put_at(&mut out, 12, addr);
    put_at(&mut out, 16, port.to_be_bytes());
    Some(out)
}

/// ByteDance's lookups: `getsockopt` option numbers and struct sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BdLookup {
    /// Option 2049: 40 bytes, ports in network order.
    V1,
    /// Option 2050: 44 bytes, a VNI, ports in host order.
    V2,
}

/// Option number of `BdLookup::V1`.
pub const BD_LOOKUP_V1: i32 = 2049;
/// Option number of `BdLookup::V2`.
pub const BD_LOOKUP_V2: i32 = 2050;
/// The longest of ByteDance's lookup structs.
pub const BD_LOOKUP_MAX: usize = 44;

impl BdLookup {
    /// The layout of option `optval`, if it is one of ByteDance's.
    pub fn of(optval: i32) -> Option<Self> {
        match optval {
            BD_LOOKUP_V1 => Some(BdLookup::V1),
            BD_LOOKUP_V2 => Some(BdLookup::V2),
            _ => None,
        }
    }

    /// Its struct's size: what `len` must reach, and what is written back.
    pub fn len(self) -> usize {
        match self {
            BdLookup::V1 => 40,
            BdLookup::V2 => 44,
        }
    }

    /// Offsets of the ports and of the source address.
    fn ports_at(self) -> usize {
        match self {
            BdLookup::V1 => 4,
            BdLookup::V2 => 8,
        }
    }

    fn port(self, b: &[u8], at: usize) -> u16 {
        match self {
            BdLookup::V1 => u16::from_be_bytes(array_at(b, at)),
            BdLookup::V2 => u16::from_ne_bytes(array_at(b, at)),
        }
    }

    fn put_port(self, b: &mut [u8], at: usize, port: u16) {
        match self {
            BdLookup::V1 => put_at(b, at, port.to_be_bytes()),
            BdLookup::V2 => put_at(b, at, port.to_ne_bytes()),
        }
    }

    /// Decodes the outer flow an application asks about (`b` holds at
    /// least `len()` bytes); `None` for a type other than 0 (IPv4) or 1
    /// (IPv6).
    pub fn decode(self, b: &[u8]) -> Option<LookupQuery> {
        let p = self.ports_at();
        let (sport, dport) = (self.port(b, p), self.port(b, p + 2));
        match u32::from_ne_bytes(array_at(b, 0)) {
            0 => Some(LookupQuery::V4 {
                saddr: array_at(b, p + 4),
                daddr: array_at(b, p + 8),
                sport,
                dport,
            }),
            1 => Some(LookupQuery::V6 {
                saddr: array_at(b, p + 4),
                daddr: array_at(b, p + 20),
                sport,
                dport,
            }),
            _ => None,
        }
    }

    /// The answer, `len()` bytes of the returned buffer: the client's
    /// family as the type, the client's port and address as the source,
    /// the original destination (if the UOA carried one, else zeros) as
    /// the destination, and for `V2` the VNI (else 0). Every byte is
    /// written. With `nat64` (a 12-byte prefix), an IPv6 client and
    /// destination both under it and with nonzero ports are answered as
    /// IPv4, by the last 4 bytes of each address.
    pub fn encode(
        self,
        real: &RealAddr,
        extra: &UoaExtra,
        nat64: Option<&[u8; 12]>,
    ) -> [u8; BD_LOOKUP_MAX] {
        let mut out = [0u8; BD_LOOKUP_MAX];
        let dest = match *extra {
            UoaExtra::Destination(dest) => Some(dest),
            _ => None,
        };
        let (mut real, mut dest) = (*real, dest);
        if let (
            Some(prefix),
            RealAddr::V6 { addr: c, port: cp },
            Some(RealAddr::V6 { addr: d, port: dp }),
        ) = (nat64, real, dest)
        {
            if cp != 0 && dp != 0 && c[..12] == prefix[..] && d[..12] == prefix[..] {
                real = RealAddr::V4 {
                    addr: array_at(&c, 12),
                    port: cp,
                };
                dest = Some(RealAddr::V4 {
                    addr: array_at(&d, 12),
                    port: dp,
                });
            }
        }
        let p = self.ports_at();
        let v6 = matches!(real, RealAddr::V6 { .. });
        put_at(&mut out, 0, u32::from(v6).to_ne_bytes());
        if let (BdLookup::V2, UoaExtra::Vni(vni)) = (self, extra) {
            put_at(&mut out, 4, vni.to_ne_bytes());
        }
        self.put_port(&mut out, p, real.port());
        let daddr_at = if v6 { p + 20 } else { p + 8 };
        match real {
            RealAddr::V4 { addr, .. } => put_at(&mut out, p + 4, addr),
            RealAddr::V6 { addr, .. } => put_at(&mut out, p + 4, addr),
        }
        match dest {
            Some(RealAddr::V4 { addr, port }) if !v6 => {
                self.put_port(&mut out, p + 2, port);
                put_at(&mut out, daddr_at, addr);
            }
            Some(RealAddr::V6 { addr, port }) if v6 => {
                self.put_port(&mut out, p + 2, port);
                put_at(&mut out, daddr_at, addr);
            }
            _ => {}
        }
        out
    }
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

    /// The client of a UOA found, if any.
    fn client(found: Result<Option<Uoa>, ParseError>) -> Result<Option<RealAddr>, ParseError> {
        found.map(|u| u.map(|u| u.real))
    }

    fn uoa4(port: u16, addr: [u8; 4]) -> [u8; 8] {
        let p = port.to_be_bytes();
        [IPOPT_UOA, 8, p[0], p[1], addr[0], addr[1], addr[2], addr[3]]
    }

    #[test]
    fn ipv4_uoa_option() {
        let opt = uoa4(5353, [10, 0, 0, 1]);
        assert_eq!(
            find_uoa(&opt),
            Ok(Some(Uoa::plain(
                RealAddr::V4 {
                    addr: [10, 0, 0, 1],
                    port: 5353
                },
                UoaFormat::Ipv4Option
            )))
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
        assert_eq!(
            client(find_uoa(&opt)),
            Ok(Some(RealAddr::V6 { addr, port: 443 }))
        );
    }

    #[test]
    fn nop_then_uoa_then_end() {
        let mut area = [IPOPT_NOOP; 12];
        area[1..9].copy_from_slice(&uoa4(1, [1, 2, 3, 4]));
        area[9] = IPOPT_END;
        assert!(matches!(
            client(find_uoa(&area)),
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
            client(find_uoa(&area)),
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
        // 8 and 20 are DPVS's, 16 and 40 ByteDance's.
        for len in [3u8, 12, 24, 200] {
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
            Some(Uoa::plain(
                RealAddr::V4 {
                    addr: [192, 0, 2, 1],
                    port: 53
                },
                UoaFormat::Opp
            ))
        );
    }

    #[test]
    fn opp_header_checks() {
        // Versions other than 1 and 2 are ByteDance's variant: exactly
        // 12 or 24 bytes, one option.
        assert_eq!(
            parse_opp(&opp(3, 12, 17)).map(|(_, u)| u.map(|u| u.format)),
            Ok(Some(UoaFormat::BytedanceOpp))
        );
        assert_eq!(parse_opp(&opp(0, 8, 17)), Err(ParseError::BadBytedanceOpp));
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
        assert_eq!(
            ipv6_transport(&p),
            Ok(Ipv6Transport::Udp {
                offset: 40,
                dstopts: None
            })
        );
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

    /// A ByteDance IPv4 option of type `kind` (31 or 30): client and
    /// original destination, inner IPv4 (16 bytes) or IPv6 (40).
    fn bd_option(kind: u8, v6: bool) -> [u8; 40] {
        let n = if v6 { 16 } else { 4 };
        let mut o = [0u8; 40];
        o[..4].copy_from_slice(&[kind, (8 + 2 * n) as u8, u8::from(v6), 0]);
        o[4..6].copy_from_slice(&40001u16.to_be_bytes());
        o[6..8].copy_from_slice(&53u16.to_be_bytes());
        for b in &mut o[8..8 + n] {
            *b = 0xc1;
        }
        for b in &mut o[8 + n..8 + 2 * n] {
            *b = 0xd2;
        }
        o
    }

    #[test]
    fn bytedance_options_carry_the_destination() {
        for kind in [IPOPT_UOA, IPOPT_UOA_ASYM] {
            let o = bd_option(kind, false);
            assert_eq!(
                find_uoa(&o[..16]),
                Ok(Some(Uoa {
                    real: RealAddr::V4 {
                        addr: [0xc1; 4],
                        port: 40001
                    },
                    extra: UoaExtra::Destination(RealAddr::V4 {
                        addr: [0xd2; 4],
                        port: 53
                    }),
                    format: UoaFormat::BytedanceOption,
                }))
            );
            let o = bd_option(kind, true);
            assert_eq!(
                find_uoa(&o),
                Ok(Some(Uoa {
                    real: RealAddr::V6 {
                        addr: [0xc1; 16],
                        port: 40001
                    },
                    extra: UoaExtra::Destination(RealAddr::V6 {
                        addr: [0xd2; 16],
                        port: 53
                    }),
                    format: UoaFormat::BytedanceOption,
                }))
            );
            // The operation byte must match the length.
            let mut bad = bd_option(kind, true);
            bad[2] = 0;
            assert_eq!(find_uoa(&bad), Err(ParseError::BadUoaOperation(0)));
            let mut bad = bd_option(kind, false);
            bad[2] = 7;
            assert_eq!(find_uoa(&bad[..16]), Err(ParseError::BadUoaOperation(7)));
        }
    }

    #[test]
    fn bytedance_vni_option() {
        let mut o = [0u8; 32];
        o[..4].copy_from_slice(&[IPOPT_UOA_VNI, 16, 0, 0]);
        o[4..8].copy_from_slice(&0x00ab_cdefu32.to_be_bytes());
        o[8..10].copy_from_slice(&7000u16.to_be_bytes());
        o[12..16].copy_from_slice(&[198, 51, 100, 9]);
        let want = Uoa {
            real: RealAddr::V4 {
                addr: [198, 51, 100, 9],
                port: 7000,
            },
            extra: UoaExtra::Vni(0x00ab_cdef),
            format: UoaFormat::BytedanceVniOption,
        };
        assert_eq!(find_uoa(&o[..16]), Ok(Some(want)));
        o[1] = 32;
        o[2] = 1;
        assert!(matches!(
            find_uoa(&o),
            Ok(Some(Uoa {
                real: RealAddr::V6 { port: 7000, .. },
                extra: UoaExtra::Vni(0x00ab_cdef),
                ..
            }))
        ));
    }

    /// Every length of every UOA-family type: only the formats' own parse.
    #[test]
    fn every_wrong_length_is_malformed() {
        let valid = |kind: u8, len: u8| match kind {
            IPOPT_UOA => [8, 20, 16, 40].contains(&len),
            IPOPT_UOA_ASYM => [16, 40].contains(&len),
            _ => [16, 32].contains(&len),
        };
        for kind in [IPOPT_UOA, IPOPT_UOA_ASYM, IPOPT_UOA_VNI] {
            for len in 2..=40u8 {
                let mut area = [0u8; 40];
                area[0] = kind;
                area[1] = len;
                // The operation byte as the length needs it.
                area[2] = u8::from(len == 40 || len == 32);
                let got = parse_uoa_option(&area[..usize::from(len)]);
                assert_eq!(
                    got.is_ok(),
                    valid(kind, len),
                    "type {kind} length {len}: {got:?}"
                );
                if !valid(kind, len) {
                    assert_eq!(got, Err(ParseError::BadUoaLength(len)));
                }
            }
        }
        // Destination Options: by data length.
        let valid = |kind: u8, len: usize| match kind {
            IPOPT_UOA => [6, 18, 12, 36].contains(&len),
            IPOPT_UOA_ASYM => [12, 36].contains(&len),
            _ => [12, 28].contains(&len),
        };
        for kind in [IPOPT_UOA, IPOPT_UOA_ASYM, IPOPT_UOA_VNI] {
            for len in 0..=40 {
                let got = parse_dstopt_uoa(kind, &[0u8; 40][..len]);
                assert_eq!(
                    got.is_ok(),
                    valid(kind, len),
                    "type {kind} data {len}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn huawei_destination_options_as_their_tests_send_them() {
        // 11 01 1f 06 PP PP A A A A 01 04 00 00 00 00
        let hdr = [17, 1, 0x1f, 6, 0x1f, 0x90, 10, 1, 2, 3, 1, 4, 0, 0, 0, 0];
        assert_eq!(
            find_dstopt_uoa(&hdr),
            Ok(Some(Uoa::plain(
                RealAddr::V4 {
                    addr: [10, 1, 2, 3],
                    port: 8080
                },
                UoaFormat::HuaweiDstopt
            )))
        );
        // 11 02 1f 12 PP PP A*16 01 00
        let mut hdr = [0u8; 24];
        hdr[..6].copy_from_slice(&[17, 2, 0x1f, 0x12, 0x1f, 0x90]);
        hdr[6] = 0x20;
        hdr[21] = 5;
        hdr[22] = 1;
        let mut addr = [0u8; 16];
        addr[0] = 0x20;
        addr[15] = 5;
        assert_eq!(
            client(find_dstopt_uoa(&hdr)),
            Ok(Some(RealAddr::V6 { addr, port: 8080 }))
        );
        // After a PadN and a Pad1 it is found too; an option running past
        // the header is malformed.
        let hdr = [17, 1, 1, 1, 0, 0, 0x1f, 6, 0, 53, 10, 0, 0, 1, 0, 0];
        assert!(matches!(
            client(find_dstopt_uoa(&hdr)),
            Ok(Some(RealAddr::V4 { port: 53, .. }))
        ));
        let hdr = [17, 0, 1, 1, 0, 0x1f, 6, 0];
        assert_eq!(find_dstopt_uoa(&hdr), Err(ParseError::BadOptionArea));
        // Only padding: none.
        assert_eq!(find_dstopt_uoa(&[17, 0, 1, 4, 0, 0, 0, 0]), Ok(None));
    }

    #[test]
    fn bytedance_destination_options() {
        // Types 31/30: the IPv4 option's fields from byte 4 on are the data.
        let o = bd_option(IPOPT_UOA_ASYM, false);
        let mut hdr = [0u8; 16];
        hdr[..4].copy_from_slice(&[17, 1, IPOPT_UOA_ASYM, 12]);
        hdr[4..].copy_from_slice(&o[4..16]);
        assert_eq!(
            find_dstopt_uoa(&hdr).map(|u| u.map(|u| u.format)),
            Ok(Some(UoaFormat::BytedanceDstopt))
        );
        assert_eq!(
            find_dstopt_uoa(&hdr).map(|u| u.map(|u| u.extra)),
            Ok(Some(UoaExtra::Destination(RealAddr::V4 {
                addr: [0xd2; 4],
                port: 53
            })))
        );
        let o = bd_option(IPOPT_UOA, true);
        let mut hdr = [0u8; 40];
        hdr[..4].copy_from_slice(&[17, 4, IPOPT_UOA, 36]);
        hdr[4..].copy_from_slice(&o[4..40]);
        assert!(matches!(
            find_dstopt_uoa(&hdr),
            Ok(Some(Uoa {
                real: RealAddr::V6 { port: 40001, .. },
                format: UoaFormat::BytedanceDstopt,
                ..
            }))
        ));
        // Type 29, IPv6: 32 bytes.
        let mut hdr = [0u8; 32];
        hdr[..4].copy_from_slice(&[17, 3, IPOPT_UOA_VNI, 28]);
        hdr[4..8].copy_from_slice(&5u32.to_be_bytes());
        hdr[8..10].copy_from_slice(&9u16.to_be_bytes());
        assert!(matches!(
            find_dstopt_uoa(&hdr),
            Ok(Some(Uoa {
                real: RealAddr::V6 { port: 9, .. },
                extra: UoaExtra::Vni(5),
                format: UoaFormat::BytedanceVniDstopt,
            }))
        ));
    }

    #[test]
    fn destination_options_found_after_hop_by_hop() {
        let mut p = [0u8; 40 + 8 + 16 + 8];
        p[0] = 0x60;
        p[6] = 0; // hop-by-hop
        p[40] = IPPROTO_DSTOPTS;
        p[48] = IPPROTO_UDP;
        p[49] = 1;
        assert_eq!(
            ipv6_transport(&p),
            Ok(Ipv6Transport::Udp {
                offset: 64,
                dstopts: Some(48)
            })
        );
    }

    #[test]
    fn bytedance_opp_variant() {
        // Version 0, one option of 20 bytes: an IPv6 client.
        let mut h = [0u8; 24];
        h[..4].copy_from_slice(&[0, IPPROTO_UDP, 0, 24]);
        h[4..8].copy_from_slice(&[IPOPT_UOA, 20, 0, 80]);
        h[8] = 0x20;
        let (hdr, uoa) = parse_opp(&h).unwrap();
        assert!(hdr.is_bytedance());
        assert!(matches!(
            uoa,
            Some(Uoa {
                real: RealAddr::V6 { port: 80, .. },
                format: UoaFormat::BytedanceOpp,
                ..
            })
        ));
        // The option must fill the header exactly, and be type 31.
        h[5] = 8;
        assert_eq!(parse_opp(&h), Err(ParseError::BadBytedanceOpp));
        h[4] = IPOPT_UOA_ASYM;
        h[5] = 20;
        assert_eq!(parse_opp(&h), Err(ParseError::BadBytedanceOpp));
        // DPVS's header does not take another balancer's option.
        let o = bd_option(IPOPT_UOA, false);
        let mut h = [0u8; 20];
        h[..4].copy_from_slice(&[0x10, IPPROTO_UDP, 0, 20]);
        h[4..].copy_from_slice(&o[..16]);
        assert_eq!(parse_opp(&h), Err(ParseError::OppForeignUoa));
    }

    #[test]
    fn legacy_lookup_layout() {
        // 10.0.x.x: read as the DPVS layout, its first bytes would say
        // AF_INET6; by length it is the legacy one.
        let mut b = [0u8; LEGACY_LEN];
        b[..12].copy_from_slice(&[10, 0, 1, 1, 10, 0, 1, 2, 0x10, 0x68, 0x13, 0x88]);
        assert_eq!(
            decode_legacy(&b),
            LookupQuery::V4 {
                saddr: [10, 0, 1, 1],
                daddr: [10, 0, 1, 2],
                sport: 4200,
                dport: 5000
            }
        );
        let real = RealAddr::V4 {
            addr: [198, 51, 100, 1],
            port: 443,
        };
        let out = encode_legacy(&b, &real).unwrap();
        assert_eq!(&out[..12], &b[..12]);
        assert_eq!(&out[12..], &[198, 51, 100, 1, 1, 187]);
        let v6 = RealAddr::V6 {
            addr: [1; 16],
            port: 1,
        };
        assert_eq!(encode_legacy(&b, &v6), None);
    }

    #[test]
    fn bytedance_lookup_layouts() {
        let real = RealAddr::V4 {
            addr: [198, 51, 100, 2],
            port: 40001,
        };
        let dest = UoaExtra::Destination(RealAddr::V4 {
            addr: [203, 0, 113, 9],
            port: 53,
        });
        // 2049: type, ports BE, client, destination; 40 bytes.
        let out = BdLookup::V1.encode(&real, &dest, None);
        let mut want = [0u8; BD_LOOKUP_MAX];
        want[4..16].copy_from_slice(&[0x9c, 0x41, 0, 53, 198, 51, 100, 2, 203, 0, 113, 9]);
        assert_eq!(out, want);
        assert_eq!(
            BdLookup::V1.decode(&out),
            Some(LookupQuery::V4 {
                saddr: [198, 51, 100, 2],
                daddr: [203, 0, 113, 9],
                sport: 40001,
                dport: 53
            })
        );
        // 2050: the VNI and ports in host order; no destination: zeros.
        let out = BdLookup::V2.encode(&real, &UoaExtra::Vni(0x4242), None);
        let mut want = [0u8; BD_LOOKUP_MAX];
        want[4..8].copy_from_slice(&0x4242u32.to_ne_bytes());
        want[8..10].copy_from_slice(&40001u16.to_ne_bytes());
        want[12..16].copy_from_slice(&[198, 51, 100, 2]);
        assert_eq!(out, want);
        // An unknown type is refused.
        let mut bad = [0u8; BD_LOOKUP_MAX];
        bad[..4].copy_from_slice(&2u32.to_ne_bytes());
        assert_eq!(BdLookup::V1.decode(&bad), None);
        assert_eq!(BdLookup::of(2048), None);
        assert_eq!(BdLookup::of(2050).map(BdLookup::len), Some(44));
    }

    #[test]
    fn nat64_translation_compares_all_twelve_bytes() {
        let prefix = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];
        let v6 = |last: u8, port| {
            let mut a = [0u8; 16];
            a[..12].copy_from_slice(&prefix);
            a[15] = last;
            RealAddr::V6 { addr: a, port }
        };
        let out = BdLookup::V1.encode(
            &v6(7, 1000),
            &UoaExtra::Destination(v6(9, 53)),
            Some(&prefix),
        );
        assert_eq!(&out[..4], &0u32.to_ne_bytes());
        assert_eq!(&out[8..16], &[0, 0, 0, 7, 0, 0, 0, 9]);
        // A zero port, or a prefix that differs after a zero byte (where
        // strncmp would stop): not translated.
        let out = BdLookup::V1.encode(&v6(7, 0), &UoaExtra::Destination(v6(9, 53)), Some(&prefix));
        assert_eq!(&out[..4], &1u32.to_ne_bytes());
        let mut other = v6(9, 53);
        if let RealAddr::V6 { ref mut addr, .. } = other {
            addr[11] = 1;
        }
        let out = BdLookup::V1.encode(&v6(7, 1000), &UoaExtra::Destination(other), Some(&prefix));
        assert_eq!(&out[..4], &1u32.to_ne_bytes());
        // Without the parameter: as stored.
        let out = BdLookup::V1.encode(&v6(7, 1000), &UoaExtra::Destination(v6(9, 53)), None);
        assert_eq!(&out[..4], &1u32.to_ne_bytes());
    }
}
