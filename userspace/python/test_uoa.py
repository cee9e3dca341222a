"""Tests of uoa.py that need no uoa module: python3 -m unittest -v"""

import errno
import os
import socket
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uoa  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_LOADED = os.path.exists('/proc/net/uoa_stats')
MAPPED = bytes(10) + b'\xff\xff'


def v6(text):
    return socket.inet_pton(socket.AF_INET6, text)


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(('::1', 0))
        return True
    except OSError:
        return False


class Encode(unittest.TestCase):
    def test_size(self):
        self.assertEqual(uoa.PARAM_MAP_LEN, 58)
        self.assertEqual(len(uoa.encode_query(('10.0.0.1', 1))), 58)
        q = uoa.encode_query(('::1', 1, 0, 0), ('::', 2, 0, 0))
        self.assertEqual(len(q), 58)

    def test_ipv4_layout(self):
        q = uoa.encode_query(('10.0.0.1', 4000), ('192.0.2.1', 53))
        self.assertEqual(struct.unpack_from('=H', q, 0)[0], socket.AF_INET)
        self.assertEqual(q[2:6], bytes([10, 0, 0, 1]))
        self.assertEqual(q[6:18], bytes(12))
        self.assertEqual(q[18:22], bytes([192, 0, 2, 1]))
        self.assertEqual(q[22:34], bytes(12))
        self.assertEqual(q[34:36], b'\x0f\xa0')   # 4000, big endian
        self.assertEqual(q[36:38], b'\x00\x35')   # 53
        self.assertEqual(q[38:], bytes(20))

    def test_ipv6_layout(self):
        q = uoa.encode_query(('2001:db8::1', 4000, 0, 0),
                             ('2001:db8::2', 53, 0, 0))
        self.assertEqual(struct.unpack_from('=H', q, 0)[0], socket.AF_INET6)
        self.assertEqual(q[2:18], v6('2001:db8::1'))
        self.assertEqual(q[18:34], v6('2001:db8::2'))
        self.assertEqual(q[34:38], b'\x0f\xa0\x00\x35')

    def test_mapped_peer_stays_ipv6(self):
        q = uoa.encode_query(('::ffff:10.0.0.1', 4000, 0, 0), ('::', 53, 0, 0))
        self.assertEqual(struct.unpack_from('=H', q, 0)[0], socket.AF_INET6)
        self.assertEqual(q[2:18], MAPPED + bytes([10, 0, 0, 1]))
        self.assertEqual(q[18:34], bytes(16))

    def test_wildcard_local(self):
        for local in (None, ('0.0.0.0', 0), ('', 0), ('::', 0, 0, 0)):
            q = uoa.encode_query(('10.0.0.1', 4000), local)
            self.assertEqual(q[18:34], bytes(16), local)
            self.assertEqual(q[36:38], bytes(2), local)

    def test_cross_family_local(self):
        q = uoa.encode_query(('::ffff:10.0.0.1', 1, 0, 0), ('192.0.2.1', 53))
        self.assertEqual(q[18:34], MAPPED + bytes([192, 0, 2, 1]))
        q = uoa.encode_query(('10.0.0.1', 1), ('::ffff:192.0.2.1', 53, 0, 0))
        self.assertEqual(q[18:34], bytes([192, 0, 2, 1]) + bytes(12))
        with self.assertRaises(ValueError):
            uoa.encode_query(('10.0.0.1', 1), ('2001:db8::1', 53, 0, 0))

    def test_scope_id_stripped(self):
        q = uoa.encode_query(('fe80::1%lo', 1, 0, 1))
        self.assertEqual(q[2:18], socket.inet_pton(socket.AF_INET6, 'fe80::1'))

    def test_bad_addresses(self):
        for bad in (('localhost', 1), ('10.0.0.1',), ('10.0.0.1', 70000),
                    ('10.0.0.1', -1), ('1.2.3', 1), '10.0.0.1:1'):
            with self.assertRaises((ValueError, TypeError), msg=repr(bad)):
                uoa.encode_query(bad)


class RoundTrip(unittest.TestCase):
    CASES = [
        # peer, local (None = any), real
        (('10.0.0.1', 4000), ('192.0.2.1', 53), ('198.51.100.7', 1234)),
        (('10.0.0.1', 4000), None, ('2001:db8::7', 1234, 0, 0)),
        (('2001:db8::1', 4000, 0, 0), ('2001:db8::2', 53, 0, 0),
         ('2001:db8::7', 65535, 0, 0)),
        (('2001:db8::1', 4000, 0, 0), None, ('198.51.100.7', 0)),
        (('::ffff:10.0.0.1', 4000, 0, 0), ('::', 53, 0, 0),
         ('198.51.100.7', 1)),
        (('::ffff:10.0.0.1', 4000, 0, 0), ('::ffff:192.0.2.1', 53, 0, 0),
         ('2001:db8::7', 1234, 0, 0)),
    ]

    def test_query(self):
        for peer, local, _ in self.CASES:
            q = uoa.encode_query(peer, local)
            got_peer, got_local = uoa.decode_query(q)
            self.assertEqual(got_peer, peer)
            if local is None:
                any_ = ('0.0.0.0', 0) if len(peer) == 2 else ('::', 0, 0, 0)
                self.assertEqual(got_local, any_)
            else:
                self.assertEqual(got_local, local)
            self.assertEqual(uoa.encode_query(got_peer, got_local), q)

    def test_reply(self):
        for peer, local, real in self.CASES:
            q = uoa.encode_query(peer, local)
            r = uoa.encode_reply(q, real)
            self.assertEqual(len(r), 58)
            self.assertEqual(r[:38], q[:38])
            self.assertEqual(uoa.decode_reply(r), real)

    def test_reply_layout(self):
        q = uoa.encode_query(('10.0.0.1', 4000))
        r = q[:38] + struct.pack('=H', socket.AF_INET) \
            + bytes([198, 51, 100, 7]) \
            + bytes(12) + b'\x04\xd2'
        self.assertEqual(uoa.decode_reply(r), ('198.51.100.7', 1234))
        r = q[:38] + struct.pack('=H', socket.AF_INET6) \
            + socket.inet_pton(socket.AF_INET6, '2001:db8::7') + b'\x04\xd2'
        self.assertEqual(uoa.decode_reply(r), ('2001:db8::7', 1234, 0, 0))

    def test_unknown_real_af(self):
        q = uoa.encode_query(('10.0.0.1', 4000))
        for af in (0, 1, 3, 17, 0x0200, 0xffff):
            r = q[:38] + struct.pack('=H', af) + bytes(18)
            with self.assertRaises(ValueError, msg=af):
                uoa.decode_reply(r)
        with self.assertRaises(ValueError):
            uoa.decode_query(struct.pack('=H', 7) + bytes(56))

    def test_wrong_length(self):
        for n in (0, 18, 38, 57, 59):
            with self.assertRaises(ValueError, msg=n):
                uoa.decode_reply(bytes(n))


class Lookup(unittest.TestCase):
    """Real lookups on this host, where no uoa module is loaded."""

    def udp(self, family=socket.AF_INET, host='127.0.0.1'):
        s = socket.socket(family, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.bind((host, 0))
        return s

    @unittest.skipIf(MODULE_LOADED, 'the uoa module is loaded')
    def test_not_loaded_ipv4(self):
        s = self.udp()
        with self.assertRaises(OSError) as cm:
            uoa.real_client(s, ('127.0.0.1', 4000))
        self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)
        self.assertIn('the uoa kernel module is not loaded', str(cm.exception))
        self.assertIsInstance(cm.exception, uoa.UoaError)

    @unittest.skipIf(MODULE_LOADED, 'the uoa module is loaded')
    def test_not_loaded_lookup_fileno_and_fd(self):
        s = self.udp()
        for sock in (s, s.fileno()):
            with self.assertRaises(OSError) as cm:
                uoa.lookup(sock, ('127.0.0.1', 4000), None)
            self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)

        class FilenoOnly:
            def fileno(self):
                return s.fileno()
        with self.assertRaises(OSError) as cm:
            uoa.real_client(FilenoOnly(), ('127.0.0.1', 4000))
        self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)

    @unittest.skipIf(MODULE_LOADED, 'the uoa module is loaded')
    @unittest.skipUnless(has_ipv6(), 'no IPv6 on this host')
    def test_not_loaded_dual_stack(self):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(('::', 0))
        for peer in (('::ffff:127.0.0.1', 4000, 0, 0), ('::1', 4000, 0, 0)):
            with self.assertRaises(OSError) as cm:
                uoa.real_client(s, peer)
            self.assertEqual(cm.exception.errno, errno.ENOPROTOOPT)

    def test_tcp_socket_raises(self):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(t.close)
        t.bind(('127.0.0.1', 0))
        # EOPNOTSUPP with the module, ENOPROTOOPT without: never None.
        with self.assertRaises(OSError) as cm:
            uoa.real_client(t, ('127.0.0.1', 4000))
        self.assertIn(cm.exception.errno,
                      (errno.EOPNOTSUPP, errno.ENOPROTOOPT))

    def test_closed_socket_raises(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.close()
        with self.assertRaises(OSError):
            uoa.lookup(s, ('127.0.0.1', 4000))


class FakeKernel(unittest.TestCase):
    """The ctypes path with libc's getsockopt replaced by a fake."""

    def setUp(self):
        self.saved = uoa._getsockopt
        self.addCleanup(setattr, uoa, '_getsockopt', self.saved)
        self.calls = []

    def fake(self, real=None, err=0):
        import ctypes

        def getsockopt(fd, level, optname, addr, lenp):
            q = ctypes.string_at(addr, 58)
            self.calls.append((fd, level, optname, q))
            if err:
                ctypes.set_errno(err)
                return -1
            ctypes.memmove(addr, uoa.encode_reply(q, real), 58)
            return 0
        uoa._getsockopt = getsockopt

    def test_hit(self):
        self.fake(real=('198.51.100.7', 1234))
        got = uoa.lookup(7, ('::ffff:10.0.0.1', 4000, 0, 0), ('::', 53, 0, 0))
        self.assertEqual(got, ('198.51.100.7', 1234))
        fd, level, optname, q = self.calls[0]
        self.assertEqual((fd, level, optname), (7, 0, 2048))
        self.assertEqual(q, uoa.encode_query(('::ffff:10.0.0.1', 4000, 0, 0),
                                             ('::', 53, 0, 0)))

    def test_miss(self):
        self.fake(err=errno.ENOENT)
        self.assertIsNone(uoa.lookup(7, ('10.0.0.1', 4000)))

    def test_errors(self):
        for err in (errno.EOPNOTSUPP, errno.EINVAL, errno.EFAULT):
            self.fake(err=err)
            with self.assertRaises(OSError) as cm:
                uoa.lookup(7, ('10.0.0.1', 4000))
            self.assertEqual(cm.exception.errno, err)


class Echo(unittest.TestCase):
    """uoa_echo.py against itself on the loopback."""

    def run_echo(self, flag, family, dest):
        with socket.socket(family, socket.SOCK_DGRAM) as probe:
            probe.bind((dest, 0))
            port = probe.getsockname()[1]
        argv = [sys.executable, os.path.join(HERE, 'uoa_echo.py')] + flag \
            + [str(port), '2']
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE,
                             universal_newlines=True)
        self.addCleanup(p.kill)
        with socket.socket(family, socket.SOCK_DGRAM) as c:
            c.settimeout(0.2)
            c.bind((dest, 0))
            got = 0
            for _ in range(100):       # until the server is up and answers
                c.sendto(b'x', (dest, port))
                try:
                    c.recv(16)
                    got += 1
                except (socket.timeout, ConnectionRefusedError):
                    continue
                if got == 2:
                    break
            cport = c.getsockname()[1]
        out, err = p.communicate(timeout=10)
        self.assertEqual(p.returncode, 0, err)
        return out.splitlines(), cport

    @unittest.skipIf(MODULE_LOADED, 'the uoa module is loaded')
    def test_echo_ipv4(self):
        lines, _ = self.run_echo([], socket.AF_INET, '127.0.0.1')
        self.assertEqual(len(lines), 2, lines)
        for line in lines:
            self.assertTrue(line.startswith('error: '), line)
            self.assertIn('not loaded', line)

    def test_fmt(self):
        sys.path.insert(0, HERE)
        import uoa_echo
        self.assertEqual(uoa_echo.fmt(('1.2.3.4', 5)), '1.2.3.4:5')
        self.assertEqual(uoa_echo.fmt(('::ffff:10.0.0.1', 4000, 0, 0)),
                         '[::ffff:10.0.0.1]:4000')
        self.assertEqual(uoa_echo.fmt(('2001:db8::7', 1234, 0, 0)),
                         '[2001:db8::7]:1234')


if __name__ == '__main__':
    unittest.main()
