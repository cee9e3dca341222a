"""Ask the uoa kernel module for the real client of a UDP peer.

Behind a FullNAT load balancer a UDP server sees the balancer's address as
its peer. The uoa module records the real client carried in each flow's
first datagrams and answers a ``getsockopt(IPPROTO_IP, UOA_SO_GET_LOOKUP)``
lookup with it. Python's ``socket.getsockopt`` cannot pass input bytes, so
this module calls libc's ``getsockopt`` through ctypes. Pure Python, standard
library only, Python 3.8 or later, Linux.

Usage::

    import socket
    import uoa

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(('0.0.0.0', 5353))
    data, peer = sock.recvfrom(2048)
    try:
        real = uoa.real_client(sock, peer)   # ('192.0.2.7', 1234) or None
    except OSError as e:                     # e.g. module not loaded
        real = None
        print('lookup failed:', e)
    print(peer, '->', real if real else 'no mapping')

Addresses are tuples as the socket module uses them: ``(host, port)`` for
IPv4 and ``(host, port, flowinfo, scope_id)`` for IPv6. An AF_INET6
dual-stack socket sees IPv4 peers as ``::ffff:a.b.c.d``; those are passed
to the module as IPv6 (it handles mapped addresses). The real client comes
back in its own family, whatever the socket's: an IPv4 client of an IPv6
socket is ``('192.0.2.7', 1234)``.

The wire format is ``struct uoa_param_map`` of include/uoa.h (packed,
58 bytes)::

    0  u16      af          host order, AF_INET (2) or AF_INET6 (10)
    2  [16]     saddr       peer address, IPv4 in the first 4 bytes
    18 [16]     daddr       own address, all zero = any
    34 be16     sport       peer port
    36 be16     dport       own port
    38 u16      real_af     host order (output)
    40 [16]     real_saddr  (output)
    56 be16     real_sport  (output)

``encode_query``/``decode_reply`` (and their inverses ``decode_query``/
``encode_reply``, for tests and fakes) are pure and need no module.
"""

import ctypes
import errno
import os
import socket
import struct
from typing import Optional, Tuple

__all__ = [
    'UoaError', 'real_client', 'lookup', 'encode_query', 'decode_query',
    'encode_reply', 'decode_reply', 'UOA_SO_GET_LOOKUP', 'PARAM_MAP_LEN',
    'AF_INET', 'AF_INET6',
]

#: The getsockopt option number of the lookup (level IPPROTO_IP).
UOA_SO_GET_LOOKUP = 2048
#: Address families as the ABI carries them (Linux values, host order).
AF_INET = 2
AF_INET6 = 10
#: ``IPPROTO_IP``, the lookup's level.
SOL_IP = 0

# The input half: af, saddr, daddr (host-order af), then the ports (network
# order); the output half: real_af, real_saddr (host order af), real_sport.
_HEAD = struct.Struct('=H16s16s')      # af, saddr, daddr
_PORTS = struct.Struct('>HH')          # sport, dport
_REAL = struct.Struct('=H16s')         # real_af, real_saddr
_REAL_PORT = struct.Struct('>H')       # real_sport

QUERY_LEN = _HEAD.size + _PORTS.size                 # 38
ANSWER_LEN = _REAL.size + _REAL_PORT.size            # 20
#: Size of ``struct uoa_param_map``.
PARAM_MAP_LEN = QUERY_LEN + ANSWER_LEN               # 58
assert QUERY_LEN == 38 and ANSWER_LEN == 20 and PARAM_MAP_LEN == 58

#: An address tuple: (host, port) or (host, port, flowinfo, scope_id).
Address = Tuple


class UoaError(OSError):
    """A lookup that failed other than with "no mapping" (ENOENT).

    ``errno`` is set as the kernel answered it, e.g. ENOPROTOOPT when the
    uoa module is not loaded, EOPNOTSUPP for a socket that is not UDP,
    EINVAL for a malformed query.
    """


# ---------------------------------------------------------------------------
# Pure encoding and decoding


def _host(host) -> str:
    if isinstance(host, bytes):
        host = host.decode('ascii')
    if not isinstance(host, str):
        raise TypeError('address host must be str, not %s'
                        % type(host).__name__)
    # A link-local address as recvfrom may give it: 'fe80::1%eth0'.
    return host.split('%', 1)[0]


def _parse(addr) -> Tuple[int, bytes, int]:
    """(af, 16-byte address, port) of an address tuple; IPv4 zero-padded."""
    if not isinstance(addr, (tuple, list)) or len(addr) not in (2, 4):
        raise ValueError('expected (host, port) or (host, port, flowinfo, '
                         'scope_id), got %r' % (addr,))
    host, port = _host(addr[0]), addr[1]
    if not isinstance(port, int) or not 0 <= port <= 0xffff:
        raise ValueError('bad port in %r' % (addr,))
    if host == '':
        host = '0.0.0.0' if len(addr) == 2 else '::'
    try:
        if ':' in host:
            return AF_INET6, socket.inet_pton(socket.AF_INET6, host), port
        addr = socket.inet_pton(socket.AF_INET, host)
        return AF_INET, addr.ljust(16, b'\0'), port
    except OSError:
        raise ValueError('not a numeric IP address: %r' % (addr,)) from None


_MAPPED_PREFIX = b'\0' * 10 + b'\xff\xff'


def _local_as(af: int, local) -> Tuple[bytes, int]:
    """The own address and port of the query, in the peer's family."""
    if local is None:
        return b'\0' * 16, 0
    laf, addr, port = _parse(local)
    if laf == af:
        return addr, port
    if addr == b'\0' * 16:                      # any, in either family
        return addr, port
    if af == AF_INET6:                          # IPv4 local, IPv6 peer
        return _MAPPED_PREFIX + addr[:4], port
    if addr[:12] == _MAPPED_PREFIX:             # mapped local, IPv4 peer
        return addr[12:].ljust(16, b'\0'), port
    raise ValueError('local address %r is not in the family of the peer'
                     % (local,))


def encode_query(peer, local=None) -> bytes:
    """The 58-byte ``struct uoa_param_map`` asking for the client of *peer*.

    *peer* is the address tuple ``recvfrom`` returned; its family (IPv4 for
    ``(host, port)``, IPv6 for a host with a colon) is the query's ``af``.
    *local* is the socket's own address (``getsockname()``), or None for
    any address and port; an IPv4 *local* with an IPv6 peer is mapped, and
    a mapped or wildcard one with an IPv4 peer is unmapped. The output half
    is zero. Raises ValueError or TypeError on a malformed address.
    """
    af, saddr, sport = _parse(peer)
    daddr, dport = _local_as(af, local)
    buf = (_HEAD.pack(af, saddr, daddr) + _PORTS.pack(sport, dport)
           + bytes(ANSWER_LEN))
    assert len(buf) == PARAM_MAP_LEN
    return buf


def _format(af: int, addr: bytes, port: int) -> Address:
    if af == AF_INET:
        return (socket.inet_ntop(socket.AF_INET, addr[:4]), port)
    if af == AF_INET6:
        return (socket.inet_ntop(socket.AF_INET6, addr), port, 0, 0)
    raise ValueError('unknown address family %d' % af)


def _check_len(buf) -> bytes:
    buf = bytes(buf)
    if len(buf) != PARAM_MAP_LEN:
        raise ValueError('struct uoa_param_map is %d bytes, got %d'
                         % (PARAM_MAP_LEN, len(buf)))
    return buf


def decode_query(buf) -> Tuple[Address, Address]:
    """The (peer, local) of a query ``encode_query`` made (its input half).

    Addresses come back as ``(host, port)`` or ``(host, port, 0, 0)``; a
    wildcard local as ``('0.0.0.0', port)`` or ``('::', port, 0, 0)``.
    Raises ValueError on a wrong length or an unknown ``af``.
    """
    buf = _check_len(buf)
    af, saddr, daddr = _HEAD.unpack_from(buf, 0)
    sport, dport = _PORTS.unpack_from(buf, _HEAD.size)
    return _format(af, saddr, sport), _format(af, daddr, dport)


def encode_reply(query, real) -> bytes:
    """*query* (58 bytes) with its output half filled with *real*.

    What the kernel hands back on a hit; for tests and fakes.
    """
    buf = _check_len(query)
    af, addr, port = _parse(real)
    out = buf[:QUERY_LEN] + _REAL.pack(af, addr) + _REAL_PORT.pack(port)
    assert len(out) == PARAM_MAP_LEN
    return out


def decode_reply(buf) -> Address:
    """The real client in a 58-byte answered ``struct uoa_param_map``.

    Returns ``('192.0.2.7', 1234)`` when ``real_af`` is AF_INET and
    ``('2001:db8::7', 1234, 0, 0)`` when it is AF_INET6. Raises ValueError
    on a wrong length or any other ``real_af``.
    """
    buf = _check_len(buf)
    real_af, real_saddr = _REAL.unpack_from(buf, QUERY_LEN)
    (real_sport,) = _REAL_PORT.unpack_from(buf, QUERY_LEN + _REAL.size)
    if real_af not in (AF_INET, AF_INET6):
        raise ValueError('reply has unknown real_af %d' % real_af)
    return _format(real_af, real_saddr, real_sport)


# ---------------------------------------------------------------------------
# The lookup

_getsockopt = None


def _libc_getsockopt():
    global _getsockopt
    if _getsockopt is None:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.getsockopt
        fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int,
                       ctypes.c_void_p, ctypes.POINTER(ctypes.c_uint32)]
        fn.restype = ctypes.c_int
        _getsockopt = fn
    return _getsockopt


def _fileno(sock) -> int:
    return sock if isinstance(sock, int) else sock.fileno()


_WHY = {
    errno.ENOPROTOOPT: 'the uoa kernel module is not loaded',
    errno.EOPNOTSUPP: 'not a UDP socket',
    errno.EINVAL: 'the module refused the query',
}


def _error(err: int) -> UoaError:
    why = _WHY.get(err)
    text = os.strerror(err)
    if why:
        return UoaError(err, 'uoa lookup: %s (%s)' % (why, text))
    return UoaError(err, 'uoa lookup: %s' % text)


def lookup(sock, peer, local=None) -> Optional[Address]:
    """The real client of the flow *peer* -> *local* on *sock*, or None.

    *sock* is a UDP ``socket.socket`` (AF_INET or AF_INET6) or anything with
    ``fileno()`` (or a file descriptor). *peer* is the address ``recvfrom``
    returned; *local* the socket's own address, None for any. Returns the
    client as ``(host, port)`` for IPv4 or ``(host, port, 0, 0)`` for IPv6,
    or None when the module knows no client for the flow (ENOENT).

    Raises UoaError (an OSError, with ``errno``) on any other failure:
    ENOPROTOOPT ("the uoa kernel module is not loaded"), EOPNOTSUPP (not a
    UDP socket), EINVAL, EFAULT, ...; ValueError/TypeError on a malformed
    address.
    """
    query = encode_query(peer, local)
    fd = _fileno(sock)
    buf = (ctypes.c_char * PARAM_MAP_LEN).from_buffer_copy(query)
    length = ctypes.c_uint32(PARAM_MAP_LEN)
    getsockopt = _libc_getsockopt()
    if getsockopt(fd, SOL_IP, UOA_SO_GET_LOOKUP, ctypes.addressof(buf),
                  ctypes.byref(length)) != 0:
        err = ctypes.get_errno()
        if err == errno.ENOENT:
            return None
        raise _error(err)
    return decode_reply(buf.raw)


def real_client(sock, peer) -> Optional[Address]:
    """The real client of *peer* on *sock*, with ``sock.getsockname()`` as
    the local address; None when the module knows none.

    The usual call right after ``data, peer = sock.recvfrom(n)``. For a
    socket bound to a wildcard address the local address is "any" and only
    the port matters. Raises as ``lookup`` does.
    """
    getsockname = getattr(sock, 'getsockname', None)
    if getsockname is not None:
        local = getsockname()
    else:
        with socket.socket(fileno=os.dup(_fileno(sock))) as dup:
            local = dup.getsockname()
    return lookup(sock, peer, local)
