// SPDX-License-Identifier: GPL-2.0
//! `uoa_echo [-6] PORT COUNT`: receives COUNT datagrams on UDP port PORT
//! (`0.0.0.0`, or `[::]` dual-stack with `-6`) and prints, for each, one line
//! `PEER REAL`: the address `recv_from` gave and the real client (`none`
//! when the module has no mapping), or `PEER error: MESSAGE` when the lookup
//! failed.

use std::io::{self, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;

use socket2::{Domain, Protocol, Socket, Type};

const USAGE: &str = "usage: uoa_echo [-6] PORT COUNT";

/// The command line.
struct Args {
    /// Bind `[::]` dual-stack instead of `0.0.0.0`.
    ipv6: bool,
    port: u16,
    count: u64,
}

fn parse_args(args: &[String]) -> Option<Args> {
    let (ipv6, rest) = match args {
        [flag, rest @ ..] if flag == "-6" => (true, rest),
        rest => (false, rest),
    };
    match rest {
        [port, count] => Some(Args {
            ipv6,
            port: port.parse().ok()?,
            count: count.parse().ok()?,
        }),
        _ => None,
    }
}

/// A UDP socket bound to `port` on every local address.
fn bind(ipv6: bool, port: u16) -> io::Result<UdpSocket> {
    if !ipv6 {
        return UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)));
    }
    let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_only_v6(false)?;
    socket.bind(&SocketAddr::from((Ipv6Addr::UNSPECIFIED, port)).into())?;
    Ok(socket.into())
}

/// The line printed for a datagram from `peer`.
fn describe(socket: &UdpSocket, peer: SocketAddr) -> String {
    match uoa::real_client(socket, peer) {
        Ok(Some(real)) => format!("{peer} {real}"),
        Ok(None) => format!("{peer} none"),
        Err(err) => format!("{peer} error: {err}"),
    }
}

fn run(args: &Args) -> io::Result<()> {
    let socket = bind(args.ipv6, args.port)?;
    let mut buf = vec![0u8; 65536];
    let mut stdout = io::stdout().lock();
    for _ in 0..args.count {
        let (_, peer) = socket.recv_from(&mut buf)?;
        writeln!(stdout, "{}", describe(&socket, peer))?;
        stdout.flush()?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(args) = parse_args(&args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("uoa_echo: {err}");
            ExitCode::FAILURE
        }
    }
}
