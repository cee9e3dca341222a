// SPDX-License-Identifier: GPL-2.0
//! Lookups through real sockets, on a host with or without the module.

use std::fs::File;
use std::io;
use std::net::{SocketAddr, TcpListener, UdpSocket};

/// A lookup on a UDP socket either misses (module loaded, no such flow) or
/// says the module is not loaded; it never finds a client for a flow that
/// does not exist.
#[test]
fn udp_lookup_misses_or_reports_missing_module() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    match uoa::real_client(&socket, peer) {
        Ok(found) => assert_eq!(found, None),
        Err(err) => {
            assert!(uoa::is_module_not_loaded(&err), "unexpected error: {err}");
            assert_eq!(err.kind(), io::ErrorKind::Unsupported);
            assert_eq!(err.to_string(), "the uoa kernel module is not loaded");
        }
    }
}

/// The same on an IPv6 dual-stack socket with an IPv4-mapped peer (skipped
/// where the host has no IPv6).
#[test]
fn dual_stack_lookup_misses_or_reports_missing_module() {
    let Ok(socket) = UdpSocket::bind("[::1]:0") else {
        return;
    };
    let peer: SocketAddr = "[::ffff:127.0.0.1]:9".parse().unwrap();
    match uoa::lookup(&socket, peer, None) {
        Ok(found) => assert_eq!(found, None),
        Err(err) => assert!(uoa::is_module_not_loaded(&err), "unexpected error: {err}"),
    }
}

/// A TCP socket is refused: `EOPNOTSUPP` with the module, the
/// module-not-loaded error without it.
#[test]
fn tcp_socket_is_an_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = uoa::real_client(&listener, peer).unwrap_err();
    assert!(
        uoa::is_module_not_loaded(&err) || err.raw_os_error() == Some(libc::EOPNOTSUPP),
        "unexpected error: {err}"
    );
}

/// A descriptor that is not a socket is an error, whether or not the
/// local address is given.
#[test]
fn non_socket_is_an_error() {
    let file = File::open("/dev/null").unwrap();
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = uoa::real_client(&file, peer).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTSOCK));
    let local: SocketAddr = "127.0.0.1:53".parse().unwrap();
    let err = uoa::lookup(&file, peer, Some(local)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ENOTSOCK));
}

/// Mixed families are refused before the kernel is asked.
#[test]
fn mixed_families_are_refused() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let local: SocketAddr = "[fd00::2]:53".parse().unwrap();
    let err = uoa::lookup(&socket, peer, Some(local)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}
