// SPDX-License-Identifier: GPL-2.0
//! Ask the uoa kernel module for the real client of a UDP peer.
//!
//! Behind a FullNAT load balancer, a UDP server sees the balancer's address
//! as the peer of every datagram. The balancer carries the client's address
//! in the packets (a UOA, "UDP Option of Address"); the uoa kernel module
//! takes it out and remembers it per flow. This crate asks the module, through
//! its socket option (`getsockopt(fd, IPPROTO_IP, 2048, ...)`), who the
//! client of a flow really is.
//!
//! ```no_run
//! use std::net::UdpSocket;
//!
//! let socket = UdpSocket::bind("0.0.0.0:5000")?;
//! let mut buf = [0u8; 2048];
//! let (len, peer) = socket.recv_from(&mut buf)?;
//! match uoa::real_client(&socket, peer) {
//!     Ok(Some(client)) => println!("{len} bytes from {client} (through {peer})"),
//!     Ok(None) => println!("{len} bytes from {peer} (no UOA seen for it)"),
//!     Err(e) if uoa::is_module_not_loaded(&e) => eprintln!("{e}"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Any socket that implements [`AsFd`] works: [`std::net::UdpSocket`],
//! `socket2::Socket`, tokio's `UdpSocket`. IPv4, IPv6 and dual-stack IPv6
//! sockets are handled; on a dual-stack socket an IPv4 peer appears as
//! `::ffff:a.b.c.d`, which the module understands. The real client comes
//! back in its own family: an IPv4 client is a [`SocketAddr::V4`] even on an
//! IPv6 socket.
//!
//! # Errors
//!
//! - No mapping for the flow (the kernel's `ENOENT`): `Ok(None)`.
//! - The module is not loaded (the kernel's `ENOPROTOOPT`): an error of kind
//!   [`io::ErrorKind::Unsupported`] whose message is "the uoa kernel module
//!   is not loaded"; [`is_module_not_loaded`] tells it apart, and its
//!   [`source`](std::error::Error::source) is the original OS error.
//! - A peer and local address of different families:
//!   [`io::ErrorKind::InvalidInput`].
//! - An answer with an unknown address family: [`io::ErrorKind::InvalidData`].
//! - Anything else is the OS error as the kernel gave it: `EOPNOTSUPP` (not
//!   a UDP socket), `ENOTSOCK` (not a socket), `EINVAL`, `EFAULT`.
//!
//! The [`abi`] module has the struct's layout and pure encode and decode
//! functions, for those who make the call themselves.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod abi;
mod sys;

use std::error::Error;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

use abi::{Query, AF_INET, AF_INET6, PARAM_MAP_LEN, SOL_IP, UOA_SO_GET_LOOKUP};

/// The real client of the flow from `peer` (the address `recv_from` gave)
/// to `socket`'s own address.
///
/// `Ok(None)` when the module has no mapping for the flow. See the
/// [crate documentation](crate#errors) for the errors.
pub fn real_client<S: AsFd>(socket: &S, peer: SocketAddr) -> io::Result<Option<SocketAddr>> {
    let local = socket_local_addr(socket)?;
    lookup(socket, peer, Some(local))
}

/// The real client of the flow from `peer` to `local`, asked through
/// `socket` (which must be a UDP socket in the flow's network namespace).
///
/// `local` gives the own address and port of the flow. An unspecified
/// address (`0.0.0.0` or `::`) matches any local address; `None` means any
/// local address and the socket's own port. `peer` and `local` must be of
/// the same family, counting IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`)
/// as IPv4; otherwise the result is an [`io::ErrorKind::InvalidInput`]
/// error.
///
/// `Ok(None)` when the module has no mapping for the flow. See the
/// [crate documentation](crate#errors) for the errors.
pub fn lookup<S: AsFd>(
    socket: &S,
    peer: SocketAddr,
    local: Option<SocketAddr>,
) -> io::Result<Option<SocketAddr>> {
    let local = match local {
        Some(local) => local,
        None => {
            let own = socket_local_addr(socket)?;
            SocketAddr::new(unspecified_like(own.ip()), own.port())
        }
    };
    let query = build_query(peer, local)?;
    // Zeroed, then the query: the output half starts as zero.
    let mut map = abi::encode_query(&query);
    match sys::getsockopt_inout(socket.as_fd(), SOL_IP, UOA_SO_GET_LOOKUP, &mut map) {
        Ok(len) if len < PARAM_MAP_LEN => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the uoa module answered {len} bytes, not {PARAM_MAP_LEN}"),
        )),
        Ok(_) => abi::decode_real(&map).map(Some),
        Err(err) => classify_error(err),
    }
}

/// Whether `err` is the error a lookup gives when the uoa kernel module is
/// not loaded.
pub fn is_module_not_loaded(err: &io::Error) -> bool {
    err.get_ref()
        .is_some_and(|inner| inner.is::<ModuleNotLoaded>())
}

/// The error inside the [`io::Error`] a lookup returns when the module is
/// not loaded (the kernel refused the socket option with `ENOPROTOOPT`).
#[derive(Debug)]
pub struct ModuleNotLoaded {
    os_error: io::Error,
}

impl ModuleNotLoaded {
    /// The OS error number the kernel gave (`ENOPROTOOPT`).
    pub fn raw_os_error(&self) -> Option<i32> {
        self.os_error.raw_os_error()
    }
}

impl fmt::Display for ModuleNotLoaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the uoa kernel module is not loaded")
    }
}

impl Error for ModuleNotLoaded {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.os_error)
    }
}

/// The outcome of a failed `getsockopt`: a miss, the module missing, or the
/// error itself.
fn classify_error(err: io::Error) -> io::Result<Option<SocketAddr>> {
    match err.raw_os_error() {
        Some(libc::ENOENT) => Ok(None),
        Some(libc::ENOPROTOOPT) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            ModuleNotLoaded { os_error: err },
        )),
        _ => Err(err),
    }
}

/// The socket's own IP address and port.
fn socket_local_addr<S: AsFd>(socket: &S) -> io::Result<SocketAddr> {
    socket2::SockRef::from(socket)
        .local_addr()?
        .as_socket()
        .ok_or_else(|| invalid_input("the socket is neither an IPv4 nor an IPv6 socket"))
}

/// The unspecified address of `ip`'s family.
fn unspecified_like(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
    }
}

/// Whether `ip` stands for any local address: `0.0.0.0`, `::` or
/// `::ffff:0.0.0.0`.
fn is_any(ip: IpAddr) -> bool {
    ip.to_canonical().is_unspecified()
}

/// Whether `ip` is an IPv4 address or an IPv4-mapped IPv6 one.
fn is_ipv4_like(ip: IpAddr) -> bool {
    ip.to_canonical().is_ipv4()
}

/// The query for the flow from `peer` to `local`.
///
/// The family is the peer's: an IPv4 peer is asked as `AF_INET`, an IPv6
/// one (IPv4-mapped included) as `AF_INET6` with its 16 bytes, and the own
/// address follows it (mapped if the peer is). An unspecified own address
/// is all zero.
fn build_query(peer: SocketAddr, local: SocketAddr) -> io::Result<Query> {
    let peer_ip = peer.ip();
    let local_ip = local.ip();
    if !is_any(local_ip) && is_ipv4_like(peer_ip) != is_ipv4_like(local_ip) {
        return Err(invalid_input(&format!(
            "peer {peer_ip} and local address {local_ip} are of different families"
        )));
    }
    let (af, daddr) = match peer_ip {
        IpAddr::V4(_) => {
            let own = match local_ip.to_canonical() {
                IpAddr::V4(v4) => IpAddr::V4(v4),
                // Only an unspecified IPv6 address gets here.
                IpAddr::V6(_) => unspecified_like(peer_ip),
            };
            (AF_INET, own)
        }
        IpAddr::V6(_) => {
            let own = match local_ip {
                IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                IpAddr::V6(v6) => IpAddr::V6(v6),
            };
            (AF_INET6, own)
        }
    };
    Ok(Query {
        af,
        saddr: abi::address_bytes(peer_ip),
        daddr: if is_any(daddr) {
            [0; 16]
        } else {
            abi::address_bytes(daddr)
        },
        sport: peer.port(),
        dport: local.port(),
    })
}

/// An [`io::ErrorKind::InvalidInput`] error saying `message`.
fn invalid_input(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn bytes(ip: &str) -> [u8; 16] {
        abi::address_bytes(ip.parse().unwrap())
    }

    #[test]
    fn ipv4_flow() {
        let q = build_query(addr("10.0.0.1:4000"), addr("10.0.0.2:5000")).unwrap();
        assert_eq!(q.af, AF_INET);
        assert_eq!(q.saddr, bytes("10.0.0.1"));
        assert_eq!(q.daddr, bytes("10.0.0.2"));
        assert_eq!((q.sport, q.dport), (4000, 5000));
    }

    #[test]
    fn wildcard_local_is_zero() {
        for local in ["0.0.0.0:5000", "[::]:5000", "[::ffff:0.0.0.0]:5000"] {
            let q = build_query(addr("10.0.0.1:4000"), addr(local)).unwrap();
            assert_eq!(q.af, AF_INET);
            assert_eq!(q.daddr, [0; 16]);
            assert_eq!(q.dport, 5000);
        }
        let q = build_query(addr("[fd00::1]:4000"), addr("[::]:5000")).unwrap();
        assert_eq!(q.af, AF_INET6);
        assert_eq!(q.daddr, [0; 16]);
    }

    #[test]
    fn ipv6_flow() {
        let q = build_query(addr("[fd00::1]:4000"), addr("[fd00::2]:5000")).unwrap();
        assert_eq!(q.af, AF_INET6);
        assert_eq!(q.saddr, bytes("fd00::1"));
        assert_eq!(q.daddr, bytes("fd00::2"));
    }

    #[test]
    fn mapped_peer_on_dual_stack_socket() {
        let q = build_query(addr("[::ffff:10.0.0.1]:4000"), addr("[::]:5000")).unwrap();
        assert_eq!(q.af, AF_INET6);
        assert_eq!(q.saddr, bytes("::ffff:10.0.0.1"));
        assert_eq!(q.daddr, [0; 16]);
        let q = build_query(
            addr("[::ffff:10.0.0.1]:4000"),
            addr("[::ffff:10.0.0.2]:5000"),
        )
        .unwrap();
        assert_eq!(q.daddr, bytes("::ffff:10.0.0.2"));
        // An IPv4 own address goes with a mapped peer, mapped too.
        let q = build_query(addr("[::ffff:10.0.0.1]:4000"), addr("10.0.0.2:5000")).unwrap();
        assert_eq!(q.daddr, bytes("::ffff:10.0.0.2"));
    }

    #[test]
    fn ipv4_peer_with_mapped_local() {
        let q = build_query(addr("10.0.0.1:4000"), addr("[::ffff:10.0.0.2]:5000")).unwrap();
        assert_eq!(q.af, AF_INET);
        assert_eq!(q.daddr, bytes("10.0.0.2"));
    }

    #[test]
    fn mixed_families_are_invalid_input() {
        let cases = [
            ("10.0.0.1:4000", "[fd00::2]:5000"),
            ("[fd00::1]:4000", "10.0.0.2:5000"),
            ("[::ffff:10.0.0.1]:4000", "[fd00::2]:5000"),
            ("[fd00::1]:4000", "[::ffff:10.0.0.2]:5000"),
        ];
        for (peer, local) in cases {
            let err = build_query(addr(peer), addr(local)).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{peer} {local}");
        }
    }

    #[test]
    fn errno_classification() {
        let miss = classify_error(io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(miss.unwrap(), None);
        let err = classify_error(io::Error::from_raw_os_error(libc::ENOPROTOOPT)).unwrap_err();
        assert!(is_module_not_loaded(&err));
        assert_eq!(err.kind(), io::ErrorKind::Unsupported);
        assert!(err
            .to_string()
            .contains("the uoa kernel module is not loaded"));
        let inner = err.get_ref().unwrap().downcast_ref::<ModuleNotLoaded>();
        assert_eq!(inner.unwrap().raw_os_error(), Some(libc::ENOPROTOOPT));
        let err = classify_error(io::Error::from_raw_os_error(libc::EOPNOTSUPP)).unwrap_err();
        assert!(!is_module_not_loaded(&err));
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP));
    }
}
