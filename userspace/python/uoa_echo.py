#!/usr/bin/env python3
"""uoa_echo.py - a UDP server printing the real client of each datagram.

    uoa_echo.py [-6] PORT COUNT

Binds UDP 0.0.0.0:PORT (with -6: [::]:PORT, dual-stack, IPV6_V6ONLY=0),
receives COUNT datagrams, echoes each back to its sender and prints one
line per datagram:

    PEER REAL

addresses as 1.2.3.4:port or [v6]:port (an IPv4 peer of the dual-stack
socket prints as [::ffff:10.0.0.1]:4000); REAL is "none" when the uoa module
knows no client for the peer. A failed lookup prints "error: MESSAGE"
(MESSAGE ends with "(peer PEER)") instead, and the program goes on.
Exits 0.
"""

import argparse
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uoa  # noqa: E402


def fmt(addr) -> str:
    """1.2.3.4:port for an IPv4 address tuple, [v6]:port for an IPv6 one."""
    if len(addr) == 2:
        return '%s:%d' % (addr[0], addr[1])
    return '[%s]:%d' % (addr[0], addr[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description='UDP echo server printing the real client of each '
                    'datagram, as the uoa module reports it.')
    ap.add_argument('-6', dest='v6', action='store_true',
                    help='a dual-stack AF_INET6 socket on [::]:PORT')
    ap.add_argument('port', type=int, metavar='PORT')
    ap.add_argument('count', type=int, metavar='COUNT')
    args = ap.parse_args(argv)

    if args.v6:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        bind = ('::', args.port)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        bind = ('0.0.0.0', args.port)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(bind)

    with sock:
        for _ in range(args.count):
            data, peer = sock.recvfrom(65535)
            try:
                real = uoa.real_client(sock, peer)
            except OSError as e:
                print('error: %s (peer %s)' % (e, fmt(peer)), flush=True)
            else:
                print('%s %s' % (fmt(peer), fmt(real) if real else 'none'),
                      flush=True)
            try:
                sock.sendto(data, peer)
            except OSError:
                pass
    return 0


if __name__ == '__main__':
    sys.exit(main())
