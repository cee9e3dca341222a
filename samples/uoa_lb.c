// SPDX-License-Identifier: GPL-2.0
/*
 * uoa_lb - a FullNAT load balancer's side of UOA, for tests and demos:
 * sends UDP datagrams from SRC (the balancer's local address) to DST (the
 * real server) that carry CLIENT (the real client) as a UOA, from a raw
 * socket, in any of the modes a balancer uses.
 *
 *   uoa_lb -m MODE -c CLIENT_IP:PORT -s SRC_IP:PORT -d DST_IP:PORT
 *          [-n COUNT] [-t PAYLOAD] [-S] [-I] [-P] [-F BYTES] [-L OPTLEN] [-O OPPLEN] [-V VER] [-T BYTES]
 *          [-o ORIG_IP:PORT] [-N VNI] [-A] [-H] [-B]
 *
 *   -m ipo   IPv4 option (SRC and DST IPv4)
 *   -m opp   private protocol 248 over IPv4 or IPv6 (by SRC/DST family);
 *            an IPv6 CLIENT with IPv4 SRC/DST is NAT64
 *   -m none  plain UDP, no UOA
 *
 * Other balancers' formats (ByteDance, Huawei Cloud ELB):
 *   -m bd-ipo        ByteDance's IPv4 option, type 31 (-A: type 30), with the
 *                    original destination ORIG (-o; default DST); a client of
 *                    ORIG's family, IPv4 or IPv6 ("inner" family)
 *   -m bd-vni        ByteDance's IPv4 option type 29: VNI (-N) and client
 *   -m bd-opp        ByteDance's protocol 248 variant (version 0)
 *   -m bd-dstopt     IPv6: ByteDance's Destination Options form of types
 *                    31/30 (-A: 30), with ORIG
 *   -m bd-vni-dstopt IPv6: ByteDance's Destination Options form of type 29
 *   -m hw-dstopt     IPv6: Huawei's Destination Options form (type 0x1f)
 *   -H               IPv6: a hop-by-hop header before the Destination
 *                    Options header (Huawei allows it there)
 *   -B               bd-ipo, bd-vni: a NOP option before ByteDance's
 *   -L OPTLEN        (these modes) write OPTLEN as the option's length byte
 *                    (Opt Data Len in Destination Options)
 *   -S       standalone: first an empty datagram with the UOA only, then
 *            the payload as plain UDP
 *   -n       datagrams to send (default 1); -t payload (default "hello")
 *   -I       a new flow per datagram: the SRC port goes up by one each time,
 *            then, past 65535, the SRC address (a flood of distinct flows)
 *   -P       print the time the sending took, "elapsed_ns N" (benchmarks:
 *            under QEMU -icount a nanosecond is an instruction); a datagram
 *            that does not change (no -I, no -S) is built once, so this is
 *            the time of the system calls and the stacks behind them
 *   -F BYTES send each datagram as IP fragments of at most BYTES bytes of
 *            payload each (rounded down to a multiple of 8)
 *
 * The payload is at most MAX_PAYLOAD (4,000) bytes.
 *
 * Malformed packets, for tests:
 *   -L OPTLEN  write OPTLEN as the UOA option's length byte
 *   -O OPPLEN  write OPPLEN as the opp header's length field
 *   -V VER     write VER as the opp version
 *   -T BYTES   send only the first BYTES bytes of the packet
 *
 * Addresses: 10.0.0.1:53 or [fd00::1]:53.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "uoa.h"

struct endpoint {
	int family;
	uint8_t addr[16];
	uint16_t port;
};

static int parse_endpoint(const char *s, struct endpoint *e)
{
	char buf[128];
	const char *colon = strrchr(s, ':');
	size_t n;

	if (!colon || (n = (size_t)(colon - s)) >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = 0;
	e->port = (uint16_t)atoi(colon + 1);
	if (buf[0] == '[' && n > 2 && buf[n - 1] == ']') {
		buf[n - 1] = 0;
		e->family = AF_INET6;
		return inet_pton(AF_INET6, buf + 1, e->addr) == 1 ? 0 : -1;
	}
	e->family = AF_INET;
	return inet_pton(AF_INET, buf, e->addr) == 1 ? 0 : -1;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The UDP header and payload, checksummed as plain UDP from src to dst. */
static size_t build_udp(uint8_t *out, const struct endpoint *src, const struct endpoint *dst,
			const char *payload, size_t plen)
{
	size_t alen = src->family == AF_INET ? 4 : 16, len = 8 + plen;
	uint32_t sum = 0;
	uint16_t csum;

	out[0] = src->port >> 8;
	out[1] = src->port & 0xff;
	out[2] = dst->port >> 8;
	out[3] = dst->port & 0xff;
	out[4] = len >> 8;
	out[5] = len & 0xff;
	out[6] = out[7] = 0;
	memcpy(out + 8, payload, plen);
	sum = sum16(src->addr, alen, sum);
	sum = sum16(dst->addr, alen, sum);
	sum += IPPROTO_UDP + (uint32_t)len;
	sum = sum16(out, len, sum);
	csum = fold(sum);
	if (csum == 0)
		csum = 0xffff;
	out[6] = csum >> 8;
	out[7] = csum & 0xff;
	return len;
}

/* The UOA option for client, with its length byte set to optlen (0: the
 * right one); returns the bytes the option area takes (multiple of 4). */
static size_t build_uoa(uint8_t *out, size_t room, const struct endpoint *client, int optlen)
{
	size_t real = client->family == AF_INET ? IPOLEN_UOA_IPV4 : IPOLEN_UOA_IPV6;
	size_t len = optlen > 0 && (size_t)optlen > real ? (size_t)optlen : real;

	len = (len + 3) & ~(size_t)3;
	if (len > room)
		len = room;
	memset(out, 0, len);
	out[0] = IPOPT_UOA;
	out[1] = optlen > 0 ? (uint8_t)optlen : (uint8_t)real;
	out[2] = client->port >> 8;
	out[3] = client->port & 0xff;
	memcpy(out + 4, client->addr, real - 4);
	return len;
}

#define MAX_PAYLOAD 4000

struct packet {
	uint8_t buf[MAX_PAYLOAD + 256];
	size_t len;
};

static void ipv4_header(uint8_t *h, size_t hlen, size_t total, uint8_t proto,
			const struct endpoint *src, const struct endpoint *dst)
{
	h[0] = 0x40 | (uint8_t)(hlen / 4);
	h[1] = 0;
	h[2] = total >> 8;
	h[3] = total & 0xff;
	h[4] = h[5] = 0;
	h[6] = 0x40; /* DF */
	h[7] = 0;
	h[8] = 64;
	h[9] = proto;
	h[10] = h[11] = 0;
	memcpy(h + 12, src->addr, 4);
	memcpy(h + 16, dst->addr, 4);
	/* The kernel fills the checksum of IP_HDRINCL packets. */
}

static void ipv6_header(uint8_t *h, size_t payload, uint8_t nexthdr,
			const struct endpoint *src, const struct endpoint *dst)
{
	memset(h, 0, 40);
	h[0] = 0x60;
	h[4] = payload >> 8;
	h[5] = payload & 0xff;
	h[6] = nexthdr;
	h[7] = 64;
	memcpy(h + 8, src->addr, 16);
	memcpy(h + 24, dst->addr, 16);
}

struct options {
	const char *mode;
	int optlen, opplen, oppver;
	int asym, hop_by_hop, nop_first;
	uint32_t vni;
	struct endpoint orig;
};

/* ByteDance's body of types 31/30 (after type, length, operation, pad in
 * the IPv4 option; the option data in Destination Options): client port,
 * destination port, client address, destination address. Returns its
 * length (12 or 36). */
static size_t bd_body(uint8_t *out, const struct endpoint *client, const struct endpoint *orig)
{
	size_t n = client->family == AF_INET ? 4 : 16;

	out[0] = client->port >> 8;
	out[1] = client->port & 0xff;
	out[2] = orig->port >> 8;
	out[3] = orig->port & 0xff;
	memcpy(out + 4, client->addr, n);
	memcpy(out + 4 + n, orig->addr, n);
	return 4 + 2 * n;
}

/* ByteDance's body of type 29: VNI, client port, pad, address (IPv6: then
 * 4 bytes of pad). Returns its length (12 or 28). */
static size_t bd_vni_body(uint8_t *out, const struct endpoint *client, uint32_t vni)
{
	size_t n = client->family == AF_INET ? 4 : 16;

	out[0] = vni >> 24;
	out[1] = (vni >> 16) & 0xff;
	out[2] = (vni >> 8) & 0xff;
	out[3] = vni & 0xff;
	out[4] = client->port >> 8;
	out[5] = client->port & 0xff;
	out[6] = out[7] = 0;
	memcpy(out + 8, client->addr, n);
	if (n == 16)
		memset(out + 24, 0, 4);
	return n == 4 ? 12 : 28;
}

/* A ByteDance IPv4 option (types 31/30 or 29) for client; returns its
 * length, a multiple of 4 (16, 40 or 32). */
static size_t build_bd_option(uint8_t *out, const struct options *o, const struct endpoint *client)
{
	int vni = !strcmp(o->mode, "bd-vni");
	size_t body = vni ? bd_vni_body(out + 4, client, o->vni) : bd_body(out + 4, client, &o->orig);

	out[0] = vni ? 29 : o->asym ? 30 : 31;
	out[1] = (uint8_t)(o->optlen > 0 ? o->optlen : (int)(4 + body));
	out[2] = client->family == AF_INET6; /* operation: inner IPv6 */
	out[3] = 0;
	return 4 + body;
}

/* A Destination Options header (next header UDP) with one vendor option,
 * padded to a multiple of 8 with PadN; returns its length. */
static size_t build_dstopts(uint8_t *out, const struct options *o, const struct endpoint *client)
{
	size_t data, len, pad;

	if (!strcmp(o->mode, "hw-dstopt")) {
		size_t n = client->family == AF_INET ? 4 : 16;

		out[2] = 0x1f;
		out[4] = client->port >> 8;
		out[5] = client->port & 0xff;
		memcpy(out + 6, client->addr, n);
		data = 2 + n;
	} else if (!strcmp(o->mode, "bd-vni-dstopt")) {
		out[2] = 29;
		data = bd_vni_body(out + 4, client, o->vni);
	} else {
		out[2] = o->asym ? 30 : 31;
		data = bd_body(out + 4, client, &o->orig);
	}
	out[0] = IPPROTO_UDP;
	out[3] = (uint8_t)(o->optlen > 0 ? o->optlen : (int)data);
	len = (4 + data + 7) & ~(size_t)7;
	pad = len - 4 - data;
	if (pad == 1) {
		out[4 + data] = 0; /* Pad1 */
	} else if (pad > 1) {
		out[4 + data] = 1; /* PadN */
		out[5 + data] = (uint8_t)(pad - 2);
		memset(out + 6 + data, 0, pad - 2);
	}
	out[1] = (uint8_t)(len / 8 - 1);
	return len;
}

static int build(struct packet *p, const struct options *o, const struct endpoint *client,
		 const struct endpoint *src, const struct endpoint *dst, const char *payload)
{
	uint8_t udp[MAX_PAYLOAD + 8], area[40];
	size_t ulen = build_udp(udp, src, dst, payload, strlen(payload)), alen;
	int v4 = src->family == AF_INET;
	size_t ihl = v4 ? 20 : 40;

	if (!strcmp(o->mode, "none")) {
		if (v4)
			ipv4_header(p->buf, 20, 20 + ulen, IPPROTO_UDP, src, dst);
		else
			ipv6_header(p->buf, ulen, IPPROTO_UDP, src, dst);
		memcpy(p->buf + ihl, udp, ulen);
		p->len = ihl + ulen;
		return 0;
	}
	if (!strcmp(o->mode, "ipo")) {
		if (!v4)
			return -1;
		alen = build_uoa(area, sizeof(area), client, o->optlen);
		ipv4_header(p->buf, 20 + alen, 20 + alen + ulen, IPPROTO_UDP, src, dst);
		memcpy(p->buf + 20, area, alen);
		memcpy(p->buf + 20 + alen, udp, ulen);
		p->len = 20 + alen + ulen;
		return 0;
	}
	if (!strcmp(o->mode, "bd-ipo") || !strcmp(o->mode, "bd-vni")) {
		if (!v4)
			return -1;
		if (o->nop_first) {
			/* A NOP, the option, then end-of-options padding. */
			area[0] = 1;
			alen = (1 + build_bd_option(area + 1, o, client) + 3) & ~(size_t)3;
			if (alen > 40)
				return -1;
			memset(area + 1 + area[2], 0, alen - 1 - area[2]);
		} else {
			alen = build_bd_option(area, o, client);
		}
		ipv4_header(p->buf, 20 + alen, 20 + alen + ulen, IPPROTO_UDP, src, dst);
		memcpy(p->buf + 20, area, alen);
		memcpy(p->buf + 20 + alen, udp, ulen);
		p->len = 20 + alen + ulen;
		return 0;
	}
	if (!strcmp(o->mode, "bd-dstopt") || !strcmp(o->mode, "bd-vni-dstopt") ||
	    !strcmp(o->mode, "hw-dstopt")) {
		size_t off = 40;

		if (v4)
			return -1;
		if (o->hop_by_hop) {
			/* Hop-by-hop: next header 60, 6 bytes of PadN. */
			memset(p->buf + 40, 0, 8);
			p->buf[40] = 60;
			p->buf[42] = 1;
			p->buf[43] = 4;
			off = 48;
		}
		off += build_dstopts(p->buf + off, o, client);
		ipv6_header(p->buf, off - 40 + ulen, o->hop_by_hop ? 0 : 60, src, dst);
		memcpy(p->buf + off, udp, ulen);
		p->len = off + ulen;
		return 0;
	}
	if (!strcmp(o->mode, "opp") || !strcmp(o->mode, "bd-opp")) {
		uint8_t *opp = p->buf + ihl;
		size_t opplen;

		alen = build_uoa(area, sizeof(area), client, o->optlen);
		opplen = 4 + alen;
		opp[0] = (uint8_t)((o->oppver >= 0 ? o->oppver : !strcmp(o->mode, "bd-opp") ? 0 :
				   client->family == AF_INET ? OPPHDR_IPV4_VERSION : OPPHDR_IPV6_VERSION) << 4);
		opp[1] = IPPROTO_UDP;
		opp[2] = (o->opplen >= 0 ? o->opplen : (int)opplen) >> 8;
		opp[3] = (o->opplen >= 0 ? o->opplen : (int)opplen) & 0xff;
		memcpy(opp + 4, area, alen);
		memcpy(opp + opplen, udp, ulen);
		if (v4)
			ipv4_header(p->buf, 20, 20 + opplen + ulen, IPPROTO_OPT, src, dst);
		else
			ipv6_header(p->buf, opplen + ulen, IPPROTO_OPT, src, dst);
		p->len = ihl + opplen + ulen;
		return 0;
	}
	return -1;
}

static int send_packet(int fd, const struct packet *p, const struct endpoint *dst, size_t truncate)
{
	size_t len = truncate && truncate < p->len ? truncate : p->len;
	ssize_t n;

	if (dst->family == AF_INET) {
		struct sockaddr_in sin = { .sin_family = AF_INET };

		memcpy(&sin.sin_addr, dst->addr, 4);
		n = sendto(fd, p->buf, len, 0, (struct sockaddr *)&sin, sizeof(sin));
	} else {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

		memcpy(&sin6.sin6_addr, dst->addr, 16);
		n = sendto(fd, p->buf, len, 0, (struct sockaddr *)&sin6, sizeof(sin6));
	}
	if (n < 0) {
		perror("sendto");
		return -1;
	}
	return 0;
}

/* Sends p as fragments of at most frag bytes of IP payload each (a
 * multiple of 8), all with identification id. IPv4: the first fragment
 * keeps the header's options, the others have the fixed header only (the
 * UOA option is not a copied one). IPv6: a fragment header after the fixed
 * header. */
static int send_fragments(int fd, const struct packet *p, const struct endpoint *dst,
			  size_t frag, uint32_t id)
{
	int v4 = dst->family == AF_INET;
	size_t ihl = v4 ? (size_t)(p->buf[0] & 0x0f) * 4 : 40, off, n;
	const uint8_t *data = p->buf + ihl;
	size_t dlen = p->len - ihl;
	struct packet f;

	frag &= ~(size_t)7;
	if (frag == 0 || p->len < ihl)
		return -1;
	for (off = 0; off < dlen; off += n) {
		int more;
		size_t hlen;

		n = dlen - off < frag ? dlen - off : frag;
		more = off + n < dlen;
		if (v4) {
			hlen = off == 0 ? ihl : 20;
			memcpy(f.buf, p->buf, hlen);
			f.buf[0] = 0x40 | (uint8_t)(hlen / 4);
			f.buf[2] = (hlen + n) >> 8;
			f.buf[3] = (hlen + n) & 0xff;
			f.buf[4] = (id >> 8) & 0xff;
			f.buf[5] = id & 0xff ? id & 0xff : 1;
			f.buf[6] = (uint8_t)((more ? 0x20 : 0) | ((off / 8) >> 8));
			f.buf[7] = (off / 8) & 0xff;
		} else {
			hlen = 48;
			memcpy(f.buf, p->buf, 40);
			f.buf[4] = (8 + n) >> 8;
			f.buf[5] = (8 + n) & 0xff;
			f.buf[6] = 44; /* fragment header */
			f.buf[40] = p->buf[6];
			f.buf[41] = 0;
			f.buf[42] = (uint8_t)(off >> 8);
			f.buf[43] = (uint8_t)((off & 0xf8) | (more ? 1 : 0));
			f.buf[44] = id >> 24;
			f.buf[45] = (id >> 16) & 0xff;
			f.buf[46] = (id >> 8) & 0xff;
			f.buf[47] = id & 0xff;
		}
		memcpy(f.buf + hlen, data + off, n);
		f.len = hlen + n;
		if (send_packet(fd, &f, dst, 0))
			return -1;
	}
	return 0;
}

/* The next address after e's, as a big-endian number. */
static void next_address(struct endpoint *e)
{
	int i = e->family == AF_INET ? 3 : 15;

	while (i >= 0 && ++e->addr[i] == 0)
		i--;
}

int main(int argc, char **argv)
{
	struct options o = { .mode = NULL, .optlen = 0, .opplen = -1, .oppver = -1, .vni = 0x123456 };
	struct endpoint client = { 0 }, src = { 0 }, dst = { 0 };
	const char *payload = "hello";
	int count = 1, standalone = 0, step_port = 0, print_time = 0, opt, fd, one = 1, i;
	size_t frag = 0;
	struct timespec t0, t1;
	size_t truncate = 0;
	struct packet p;

	while ((opt = getopt(argc, argv, "m:c:s:d:n:t:SIPF:L:O:V:T:o:N:AHB")) != -1) {
		switch (opt) {
		case 'm': o.mode = optarg; break;
		case 'c': if (parse_endpoint(optarg, &client)) goto usage; break;
		case 's': if (parse_endpoint(optarg, &src)) goto usage; break;
		case 'd': if (parse_endpoint(optarg, &dst)) goto usage; break;
		case 'n': count = atoi(optarg); break;
		case 't': payload = optarg; break;
		case 'S': standalone = 1; break;
		case 'I': step_port = 1; break;
		case 'P': print_time = 1; break;
		case 'F': frag = (size_t)atoi(optarg); break;
		case 'L': o.optlen = atoi(optarg); break;
		case 'O': o.opplen = atoi(optarg); break;
		case 'V': o.oppver = atoi(optarg); break;
		case 'T': truncate = (size_t)atoi(optarg); break;
		case 'o': if (parse_endpoint(optarg, &o.orig)) goto usage; break;
		case 'N': o.vni = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'A': o.asym = 1; break;
		case 'H': o.hop_by_hop = 1; break;
		case 'B': o.nop_first = 1; break;
		default: goto usage;
		}
	}
	if (!o.orig.family)
		o.orig = dst;
	if (!o.mode || !src.family || !dst.family || src.family != dst.family ||
	    ((!strcmp(o.mode, "bd-ipo") || !strcmp(o.mode, "bd-dstopt")) && o.orig.family != client.family) ||
	    (strcmp(o.mode, "none") && !client.family) || strlen(payload) > MAX_PAYLOAD)
		goto usage;

	fd = socket(dst.family, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (dst.family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) < 0) {
		perror("IPV6_HDRINCL");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		if (step_port && i > 0 && ++src.port == 0) {
			src.port = 1;
			next_address(&src);
		}
		if (standalone) {
			/* The UOA alone in an empty datagram, then plain UDP. */
			if (build(&p, &o, &client, &src, &dst, "") || send_packet(fd, &p, &dst, 0))
				goto usage;
			struct options plain = o;

			plain.mode = "none";
			if (build(&p, &plain, &client, &src, &dst, payload) || send_packet(fd, &p, &dst, truncate))
				return 1;
			continue;
		}
		/* Built once unless it changes: with -P the time is then the
		 * kernel's alone, the same in every mode. */
		if ((i == 0 || step_port) && build(&p, &o, &client, &src, &dst, payload))
			goto usage;
		if (frag ? send_fragments(fd, &p, &dst, frag, 0x5000 + (uint32_t)i) :
			   send_packet(fd, &p, &dst, truncate))
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (print_time)
		printf("elapsed_ns %lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
		       (t1.tv_nsec - t0.tv_nsec));
	return 0;

usage:
	fprintf(stderr, "usage: %s -m ipo|opp|none|bd-ipo|bd-vni|bd-opp|bd-dstopt|bd-vni-dstopt|hw-dstopt "
		"-c CLIENT:PORT -s SRC:PORT -d DST:PORT\n"
		"       [-n COUNT] [-t PAYLOAD] [-S] [-I] [-P] [-F BYTES] [-L OPTLEN] [-O OPPLEN] [-V VER] [-T BYTES]\n"
		"       [-o ORIG:PORT] [-N VNI] [-A] [-H] [-B]\n",
		argv[0]);
	return 1;
}
