// SPDX-License-Identifier: GPL-2.0
//! The lookup's binary interface: `struct uoa_param_map` (`include/uoa.h`),
//! encoded and decoded by pure functions.
//!
//! ```text
//! offset 0  u16 af          host order: AF_INET (2) or AF_INET6 (10)
//! offset 2  [16] saddr      the peer (load balancer), network order
//! offset 18 [16] daddr      own address; all zero = any
//! offset 34 u16 sport       the peer's port, network order
//! offset 36 u16 dport       own port, network order
//! offset 38 u16 real_af     output, host order
//! offset 40 [16] real_saddr output
//! offset 56 u16 real_sport  output, network order
//! ```
//!
//! IPv4 addresses take the first 4 bytes of their 16, the rest zero.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// The socket option level of the lookup: `IPPROTO_IP`.
pub const SOL_IP: i32 = 0;
/// The socket option of the lookup: `UOA_SO_GET_LOOKUP`.
pub const UOA_SO_GET_LOOKUP: i32 = 2048;
/// Size of the packed `struct uoa_param_map`, the length a lookup passes.
pub const PARAM_MAP_LEN: usize = 58;
/// `AF_INET` as the struct carries it (host order).
pub const AF_INET: u16 = 2;
/// `AF_INET6` as the struct carries it (host order).
pub const AF_INET6: u16 = 10;

/// Offsets of the fields in the struct.
const AF: usize = 0;
const SADDR: usize = 2;
const DADDR: usize = 18;
const SPORT: usize = 34;
const DPORT: usize = 36;
const REAL_AF: usize = 38;
const REAL_SADDR: usize = 40;
const REAL_SPORT: usize = 56;

/// The input half of `struct uoa_param_map`: the flow as the application
/// sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Query {
    /// `AF_INET` or `AF_INET6`.
    pub af: u16,
    /// The peer's address (IPv4: the first 4 bytes).
    pub saddr: [u8; 16],
    /// Own address; all zero = any local address.
    pub daddr: [u8; 16],
    /// The peer's port (host order here, network order in the struct).
    pub sport: u16,
    /// Own port (host order here, network order in the struct).
    pub dport: u16,
}

/// The 16 address bytes of `ip` as the struct carries them: an IPv4
/// address in the first 4, an IPv6 one whole.
pub fn address_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => {
            let mut bytes = [0; 16];
            bytes[..4].copy_from_slice(&v4.octets());
            bytes
        }
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A whole `struct uoa_param_map` holding `query`, its output half zero.
pub fn encode_query(query: &Query) -> [u8; PARAM_MAP_LEN] {
    let mut map = [0u8; PARAM_MAP_LEN];
    map[AF..AF + 2].copy_from_slice(&query.af.to_ne_bytes());
    map[SADDR..SADDR + 16].copy_from_slice(&query.saddr);
    map[DADDR..DADDR + 16].copy_from_slice(&query.daddr);
    map[SPORT..SPORT + 2].copy_from_slice(&query.sport.to_be_bytes());
    map[DPORT..DPORT + 2].copy_from_slice(&query.dport.to_be_bytes());
    map
}

/// The input half of a `struct uoa_param_map` (the inverse of
/// [`encode_query`]).
pub fn decode_query(map: &[u8; PARAM_MAP_LEN]) -> Query {
    Query {
        af: u16::from_ne_bytes(array_at(map, AF)),
        saddr: array_at(map, SADDR),
        daddr: array_at(map, DADDR),
        sport: u16::from_be_bytes(array_at(map, SPORT)),
        dport: u16::from_be_bytes(array_at(map, DPORT)),
    }
}

/// Writes `real` into the output half of `map`, as the kernel does.
pub fn encode_real(map: &mut [u8; PARAM_MAP_LEN], real: SocketAddr) {
    let af = match real {
        SocketAddr::V4(_) => AF_INET,
        SocketAddr::V6(_) => AF_INET6,
    };
    map[REAL_AF..REAL_AF + 2].copy_from_slice(&af.to_ne_bytes());
    map[REAL_SADDR..REAL_SADDR + 16].copy_from_slice(&address_bytes(real.ip()));
    map[REAL_SPORT..REAL_SPORT + 2].copy_from_slice(&real.port().to_be_bytes());
}

/// The real client in the output half of `map`, in its own family.
///
/// A `real_af` other than `AF_INET` or `AF_INET6` is an
/// [`io::ErrorKind::InvalidData`] error.
pub fn decode_real(map: &[u8; PARAM_MAP_LEN]) -> io::Result<SocketAddr> {
    let af = u16::from_ne_bytes(array_at(map, REAL_AF));
    let addr: [u8; 16] = array_at(map, REAL_SADDR);
    let port = u16::from_be_bytes(array_at(map, REAL_SPORT));
    match af {
        AF_INET => {
            let ip = Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]);
            Ok(SocketAddr::V4(SocketAddrV4::new(ip, port)))
        }
        AF_INET6 => Ok(SocketAddr::V6(SocketAddrV6::new(
            Ipv6Addr::from(addr),
            port,
            0,
            0,
        ))),
        other => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the uoa module answered an unknown address family {other}"),
        )),
    }
}

/// The `N` bytes of `map` at `offset`.
fn array_at<const N: usize>(map: &[u8; PARAM_MAP_LEN], offset: usize) -> [u8; N] {
    let mut out = [0; N];
    out.copy_from_slice(&map[offset..offset + N]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4_query() -> Query {
        Query {
            af: AF_INET,
            saddr: address_bytes("10.0.0.1".parse().unwrap()),
            daddr: [0; 16],
            sport: 4000,
            dport: 5000,
        }
    }

    #[test]
    fn ipv4_query_layout() {
        let map = encode_query(&v4_query());
        assert_eq!(u16::from_ne_bytes([map[0], map[1]]), 2);
        assert_eq!(&map[2..6], &[10, 0, 0, 1]);
        assert_eq!(&map[6..18], &[0; 12]);
        assert_eq!(&map[18..34], &[0; 16]);
        assert_eq!(&map[34..36], &4000u16.to_be_bytes());
        assert_eq!(&map[36..38], &5000u16.to_be_bytes());
        assert_eq!(&map[38..], &[0; 20]);
    }

    /// A dual-stack socket's query for an IPv4 peer, `::ffff:10.0.0.1`.
    fn mapped_query() -> Query {
        Query {
            af: AF_INET6,
            saddr: address_bytes("::ffff:10.0.0.1".parse().unwrap()),
            daddr: [0; 16],
            sport: 4000,
            dport: 53,
        }
    }

    #[test]
    fn query_round_trips() {
        let v6 = Query {
            af: AF_INET6,
            saddr: address_bytes("fd00::1".parse().unwrap()),
            daddr: address_bytes("fd00::2".parse().unwrap()),
            sport: 1,
            dport: 65535,
        };
        for query in [v4_query(), v6, mapped_query()] {
            assert_eq!(decode_query(&encode_query(&query)), query);
        }
    }

    #[test]
    fn mapped_peer_keeps_its_bytes() {
        let query = mapped_query();
        let map = encode_query(&query);
        assert_eq!(
            &map[2..18],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]
        );
    }

    #[test]
    fn real_round_trips() {
        let reals: [SocketAddr; 3] = [
            "192.0.2.7:1234".parse().unwrap(),
            "[2001:db8::7]:1234".parse().unwrap(),
            "[::ffff:192.0.2.7]:65535".parse().unwrap(),
        ];
        for real in reals {
            let mut map = encode_query(&v4_query());
            encode_real(&mut map, real);
            assert_eq!(decode_real(&map).unwrap(), real);
            // The input half is left alone.
            assert_eq!(decode_query(&map), v4_query());
        }
    }

    #[test]
    fn ipv4_real_layout() {
        let mut map = [0; PARAM_MAP_LEN];
        map[38..40].copy_from_slice(&AF_INET.to_ne_bytes());
        map[40..44].copy_from_slice(&[192, 0, 2, 7]);
        map[56..58].copy_from_slice(&[0x04, 0xd2]);
        assert_eq!(
            decode_real(&map).unwrap(),
            "192.0.2.7:1234".parse().unwrap()
        );
    }

    #[test]
    fn bad_real_af_is_invalid_data() {
        let mut map = [0; PARAM_MAP_LEN];
        map[38..40].copy_from_slice(&7u16.to_ne_bytes());
        let err = decode_real(&map).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // A reply the kernel never filled in (zero) is refused too.
        let err = decode_real(&[0; PARAM_MAP_LEN]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
