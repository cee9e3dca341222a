// SPDX-License-Identifier: GPL-2.0
/*
 * uoa_storm - a storm of randomly mutated UOA packets, for the end-to-end
 * suite's packet storm test: IPv4 and IPv6 packets sent whole from raw
 * sockets (IP_HDRINCL, IPV6_HDRINCL) to DST4 and DST6.
 *
 *   uoa_storm -s SRC4 -d DST4 -S SRC6 -D DST6 -p PORT [-n COUNT] [-r SEED]
 *
 * Each round builds a valid packet of one shape (below), applies zero to
 * three mutations (a random byte anywhere or in the headers, a length or
 * protocol field set to a random value, a truncation, bytes appended, the
 * IPv4 header length changed), then, half the time, repairs the outer IP
 * length so that the mutated inside passes the IP layer's checks and
 * reaches the module. (The kernel itself writes the total length and the
 * header checksum of every IPv4 packet sent this way.) Fragment shapes send
 * both halves of a datagram, each mutated on its own.
 *
 * Shapes: opp over IPv4 (IPv4 and IPv6 clients), the IPv4 option (IPv4 and
 * IPv6 clients, alone or among other options), opp over IPv6 (both
 * clients, directly or after extension headers), fragments of opp
 * datagrams over IPv4 and IPv6, plain UDP over both.
 *
 *   uoa_storm -w
 *
 * watches instead: counts the packets that reach the IP layer as protocol
 * 248 (raw IPv4 and IPv6 sockets of that protocol receive them) until
 * SIGTERM, then prints "protocol 248 delivered: N IPv4, N IPv6".
 *
 * Prints "sent N packets ..." with the counts, and exits non-zero if a
 * socket could not be opened or more than 1 % of the sends failed for
 * another reason than the packet's shape (EINVAL, EMSGSIZE, EPERM).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <netinet/ip.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uoa.h"

#define MAX_PACKET 1600

static uint64_t rng_state;

/* xorshift64*: reproducible from the seed the test prints. */
static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1DULL) >> 32);
}

static uint32_t below(uint32_t n)
{
	return n ? rnd() % n : 0;
}

struct packet {
	uint8_t buf[MAX_PACKET];
	size_t len;
	int v4;
	/* Offsets of the fields mutations like to hit (0: none). */
	size_t l4;   /* the opp header, or UDP when there is none */
	size_t udp;  /* the UDP header */
};

struct addrs {
	uint8_t src4[4], dst4[4], src6[16], dst6[16];
	uint16_t port;
};

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
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

/* A UDP header and payload at out, checksummed as plain UDP. */
static size_t put_udp(uint8_t *out, const struct addrs *a, int v4, uint16_t sport)
{
	size_t plen = 1 + below(64), len = 8 + plen, i;
	uint32_t sum = 0;
	uint16_t csum;

	put16(out, sport);
	put16(out + 2, a->port);
	put16(out + 4, (unsigned int)len);
	put16(out + 6, 0);
	for (i = 0; i < plen; i++)
		out[8 + i] = (uint8_t)('a' + below(26));
	sum = v4 ? sum16(a->src4, 4, sum16(a->dst4, 4, 0)) : sum16(a->src6, 16, sum16(a->dst6, 16, 0));
	sum += IPPROTO_UDP + (uint32_t)len;
	csum = fold(sum16(out, len, sum));
	put16(out + 6, csum ? csum : 0xffff);
	return len;
}

/* A UOA option for a random IPv4 (or IPv6) client; returns its length. */
static size_t put_uoa(uint8_t *out, int v6_client)
{
	size_t len = v6_client ? IPOLEN_UOA_IPV6 : IPOLEN_UOA_IPV4, i;

	out[0] = IPOPT_UOA;
	out[1] = (uint8_t)len;
	put16(out + 2, 1 + below(65535));
	if (v6_client) {
		out[4] = 0x20;
		out[5] = 0x01;
		out[6] = 0x0d;
		out[7] = 0xb8;
		for (i = 8; i < len; i++)
			out[i] = (uint8_t)rnd();
	} else {
		out[4] = 192;
		out[5] = 0;
		out[6] = 2;
		out[7] = (uint8_t)rnd();
	}
	return len;
}

static void ipv4_csum(struct packet *p)
{
	size_t ihl = (size_t)(p->buf[0] & 0x0f) * 4;

	if (ihl < 20 || ihl > p->len)
		return;
	put16(p->buf + 10, 0);
	put16(p->buf + 10, fold(sum16(p->buf, ihl, 0)));
}

static void ipv4_header(struct packet *p, size_t optlen, uint8_t proto, const struct addrs *a)
{
	uint8_t *h = p->buf;

	memset(h, 0, 20);
	h[0] = (uint8_t)(0x40 | (20 + optlen) / 4);
	put16(h + 4, below(65536));
	h[6] = 0x40;
	h[8] = 64;
	h[9] = proto;
	memcpy(h + 12, a->src4, 4);
	memcpy(h + 16, a->dst4, 4);
	p->v4 = 1;
}

static void ipv6_header(struct packet *p, uint8_t nexthdr, const struct addrs *a)
{
	uint8_t *h = p->buf;

	memset(h, 0, 40);
	h[0] = 0x60;
	h[6] = nexthdr;
	h[7] = 64;
	memcpy(h + 8, a->src6, 16);
	memcpy(h + 24, a->dst6, 16);
	p->v4 = 0;
}

/* Sets the outer IP length from the packet's length (and, for IPv4, the
 * header checksum): what a well-behaved sender would send. */
static void repair(struct packet *p)
{
	if (p->v4) {
		if (p->len >= 20) {
			put16(p->buf + 2, (unsigned int)p->len);
			ipv4_csum(p);
		}
	} else if (p->len >= 40) {
		put16(p->buf + 4, (unsigned int)(p->len - 40));
	}
}

/* The opp header (version by client family) and UDP at off. */
static size_t put_opp_udp(struct packet *p, size_t off, const struct addrs *a, int v6_client)
{
	uint8_t *opp = p->buf + off;
	size_t alen = put_uoa(opp + 4, v6_client);

	alen = (alen + 3) & ~(size_t)3;
	opp[0] = (uint8_t)((v6_client ? OPPHDR_IPV6_VERSION : OPPHDR_IPV4_VERSION) << 4);
	opp[1] = IPPROTO_UDP;
	put16(opp + 2, (unsigned int)(4 + alen));
	p->l4 = off;
	p->udp = off + 4 + alen;
	return 4 + alen + put_udp(p->buf + p->udp, a, p->v4, (uint16_t)(1 + below(65535)));
}

enum shape {
	OPP4, OPP4_V6CLIENT, IPO4, IPO4_V6CLIENT, IPO4_AMONG_OTHERS,
	OPP6, OPP6_V4CLIENT, OPP6_AFTER_EXTENSIONS, FRAG4, FRAG6, PLAIN4, PLAIN6,
	SHAPES
};

static const char *const shape_names[SHAPES] = {
	"opp4", "opp4-v6client", "ipo4", "ipo4-v6client", "ipo4-among-options",
	"opp6", "opp6-v4client", "opp6-after-extensions", "frag4", "frag6", "plain4", "plain6",
};

/* A valid packet of shape s (for the fragment shapes: the whole datagram,
 * split by the caller). */
static void build(struct packet *p, enum shape s, const struct addrs *a)
{
	size_t n, optlen, i;

	memset(p, 0, sizeof(*p));
	switch (s) {
	case OPP4:
	case OPP4_V6CLIENT:
	case FRAG4:
		ipv4_header(p, 0, IPPROTO_OPT, a);
		p->len = 20 + put_opp_udp(p, 20, a, s == OPP4_V6CLIENT);
		break;
	case IPO4:
	case IPO4_V6CLIENT:
		n = put_uoa(p->buf + 20, s == IPO4_V6CLIENT);
		optlen = (n + 3) & ~(size_t)3;
		ipv4_header(p, optlen, IPPROTO_UDP, a);
		p->l4 = p->udp = 20 + optlen;
		p->len = p->udp + put_udp(p->buf + p->udp, a, 1, (uint16_t)(1 + below(65535)));
		break;
	case IPO4_AMONG_OTHERS:
		/* NOPs, a timestamp option with room for two stamps, the UOA. */
		i = 20;
		for (n = below(4); n > 0; n--)
			p->buf[i++] = IPOPT_NOP;
		p->buf[i] = IPOPT_TIMESTAMP;
		p->buf[i + 1] = 12;
		p->buf[i + 2] = 5;
		i += 12;
		i += put_uoa(p->buf + i, 0);
		optlen = (i - 20 + 3) & ~(size_t)3;
		ipv4_header(p, optlen, IPPROTO_UDP, a);
		p->l4 = p->udp = 20 + optlen;
		p->len = p->udp + put_udp(p->buf + p->udp, a, 1, (uint16_t)(1 + below(65535)));
		break;
	case OPP6:
	case OPP6_V4CLIENT:
	case FRAG6:
		ipv6_header(p, IPPROTO_OPT, a);
		p->len = 40 + put_opp_udp(p, 40, a, s != OPP6_V4CLIENT);
		break;
	case OPP6_AFTER_EXTENSIONS:
		/* Hop-by-hop, then destination options, each 8 bytes of padding. */
		ipv6_header(p, IPPROTO_HOPOPTS, a);
		p->buf[40] = IPPROTO_DSTOPTS;
		p->buf[41] = 0;
		p->buf[42] = 1; /* PadN */
		p->buf[43] = 4;
		p->buf[48] = IPPROTO_OPT;
		p->buf[49] = 0;
		p->buf[50] = 1;
		p->buf[51] = 4;
		p->len = 56 + put_opp_udp(p, 56, a, below(2));
		break;
	case PLAIN4:
		ipv4_header(p, 0, IPPROTO_UDP, a);
		p->l4 = p->udp = 20;
		p->len = 20 + put_udp(p->buf + 20, a, 1, (uint16_t)(1 + below(65535)));
		break;
	case PLAIN6:
	default:
		ipv6_header(p, IPPROTO_UDP, a);
		p->l4 = p->udp = 40;
		p->len = 40 + put_udp(p->buf + 40, a, 0, (uint16_t)(1 + below(65535)));
		break;
	}
	repair(p);
}

/* Applies one random mutation to p. */
static void mutate(struct packet *p)
{
	static const uint8_t protos[] = { IPPROTO_OPT, IPPROTO_UDP, IPPROTO_TCP, 0, 43, 44, 59, 60 };
	size_t len_fields[4], nfields = 0, at;

	if (p->len == 0)
		return;
	switch (below(8)) {
	case 0: /* a byte anywhere */
		p->buf[below((uint32_t)p->len)] = (uint8_t)rnd();
		break;
	case 1: /* a byte in the headers */
		at = below((uint32_t)(p->udp + 8 < p->len ? p->udp + 8 : p->len));
		p->buf[at] = (uint8_t)rnd();
		break;
	case 2: /* a length field: random, or off by a little */
		len_fields[nfields++] = p->v4 ? 2 : 4;
		if (p->l4 && p->l4 != p->udp)
			len_fields[nfields++] = p->l4 + 2;
		if (p->udp)
			len_fields[nfields++] = p->udp + 4;
		at = len_fields[below((uint32_t)nfields)];
		if (at + 2 <= p->len) {
			unsigned int v = (unsigned int)p->buf[at] << 8 | p->buf[at + 1];

			put16(p->buf + at, below(2) ? below(65536) : v + below(17) - 8);
		}
		break;
	case 3: /* a protocol or next header field */
		at = p->v4 ? 9 : 6;
		if (p->l4 && p->l4 != p->udp && below(2))
			at = p->l4 + 1;
		if (at < p->len)
			p->buf[at] = below(4) ? protos[below(sizeof(protos))] : (uint8_t)rnd();
		break;
	case 4: /* truncated */
		p->len = below((uint32_t)p->len);
		break;
	case 5: /* bytes appended */
		for (at = below(64); at > 0 && p->len < MAX_PACKET; at--)
			p->buf[p->len++] = (uint8_t)rnd();
		break;
	case 6: /* the IPv4 header length, or the IPv6 version */
		p->buf[0] = p->v4 ? (uint8_t)(0x40 | below(16)) : (uint8_t)(below(16) << 4);
		break;
	default: /* the UOA option's length byte, or the opp version */
		if (p->l4 && p->l4 != p->udp && p->l4 + 5 < p->len)
			p->buf[p->l4 + (below(2) ? 5 : 0)] = (uint8_t)rnd();
		else if (p->v4 && p->len > 21)
			p->buf[21 + below(8)] = (uint8_t)rnd();
		break;
	}
}

/* Splits the datagram p into two fragments (its IP payload cut at a
 * multiple of 8), written to f[0] and f[1]. */
static void fragment(const struct packet *p, struct packet f[2], uint32_t id)
{
	size_t ihl = p->v4 ? 20 : 40, dlen = p->len - ihl;
	size_t cut = ((dlen / 2) & ~(size_t)7) ? (dlen / 2) & ~(size_t)7 : 8;
	int k;

	for (k = 0; k < 2; k++) {
		size_t off = k ? cut : 0, n = k ? dlen - cut : cut, hlen = p->v4 ? 20 : 48;
		struct packet *q = &f[k];

		*q = *p;
		if (p->v4) {
			put16(q->buf + 4, id & 0xffff);
			put16(q->buf + 6, (unsigned int)((k ? 0 : 0x2000) | off / 8));
		} else {
			q->buf[6] = 44;
			q->buf[40] = p->buf[6];
			q->buf[41] = 0;
			put16(q->buf + 42, (unsigned int)(off | (k ? 0 : 1)));
			q->buf[44] = (uint8_t)(id >> 24);
			q->buf[45] = (uint8_t)(id >> 16);
			q->buf[46] = (uint8_t)(id >> 8);
			q->buf[47] = (uint8_t)id;
		}
		memcpy(q->buf + hlen, p->buf + ihl + off, n);
		q->len = hlen + n;
		q->l4 = k ? 0 : hlen;
		q->udp = k ? 0 : p->udp - ihl + hlen;
		repair(q);
	}
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* The -w mode: counts protocol 248 packets delivered, until SIGTERM. */
static int watch(void)
{
	struct pollfd fds[2] = {
		{ .fd = socket(AF_INET, SOCK_RAW, IPPROTO_OPT), .events = POLLIN },
		{ .fd = socket(AF_INET6, SOCK_RAW, IPPROTO_OPT), .events = POLLIN },
	};
	struct sigaction sa = { .sa_handler = on_term };
	long seen[2] = { 0, 0 };
	uint8_t buf[MAX_PACKET];
	int i;

	if (fds[0].fd < 0 || fds[1].fd < 0) {
		perror("uoa_storm: raw sockets of protocol 248");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	printf("watching\n");
	fflush(stdout);
	while (!stop) {
		if (poll(fds, 2, 100) < 0 && errno != EINTR)
			return 1;
		for (i = 0; i < 2; i++)
			while (recv(fds[i].fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				seen[i]++;
	}
	printf("protocol 248 delivered: %ld IPv4, %ld IPv6\n", seen[0], seen[1]);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in to4 = { .sin_family = AF_INET };
	struct sockaddr_in6 to6 = { .sin6_family = AF_INET6 };
	struct addrs a = { .port = 0 };
	long count = 100000, sent = 0, refused = 0, errors = 0, mutated = 0, per_shape[SHAPES] = { 0 };
	int opt, fd4, fd6, have = 1, one = 1, i;
	uint64_t seed = 1;
	int first_error = 0;

	while ((opt = getopt(argc, argv, "s:d:S:D:p:n:r:w")) != -1) {
		switch (opt) {
		case 'w': return watch();
		case 's': if (inet_pton(AF_INET, optarg, a.src4) != 1) goto usage; have |= 2; break;
		case 'd': if (inet_pton(AF_INET, optarg, a.dst4) != 1) goto usage; have |= 4; break;
		case 'S': if (inet_pton(AF_INET6, optarg, a.src6) != 1) goto usage; have |= 8; break;
		case 'D': if (inet_pton(AF_INET6, optarg, a.dst6) != 1) goto usage; have |= 16; break;
		case 'p': a.port = (uint16_t)atoi(optarg); break;
		case 'n': count = atol(optarg); break;
		case 'r': seed = strtoull(optarg, NULL, 0); break;
		default: goto usage;
		}
	}
	if (have != 31 || !a.port || count <= 0)
		goto usage;
	memcpy(&to4.sin_addr, a.dst4, 4);
	memcpy(&to6.sin6_addr, a.dst6, 16);
	fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
	if (fd4 < 0 || fd6 < 0 || setsockopt(fd6, IPPROTO_IPV6, IPV6_HDRINCL, &one, sizeof(one)) < 0) {
		perror("uoa_storm: raw sockets");
		return 1;
	}
	rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;

	while (sent < count) {
		enum shape s = (enum shape)below(SHAPES);
		struct packet p, f[2], *out = &p;
		int n = 1;

		build(&p, s, &a);
		if (s == FRAG4 || s == FRAG6) {
			fragment(&p, f, rnd());
			out = f;
			n = 2;
		}
		per_shape[s]++;
		for (i = 0; i < n && sent < count; i++) {
			struct packet *q = &out[i];
			int k = (int)below(4), j;

			for (j = 0; j < k; j++)
				mutate(q);
			if (k && below(2))
				repair(q);
			mutated += k > 0;
			if ((q->v4 ? sendto(fd4, q->buf, q->len, 0, (struct sockaddr *)&to4, sizeof(to4)) :
				     sendto(fd6, q->buf, q->len, 0, (struct sockaddr *)&to6, sizeof(to6))) < 0) {
				/* Shorter than its own header, too long, or dropped on
				 * output by netfilter (IPv6 defragmentation, which
				 * the module enables in every namespace, drops
				 * malformed fragments): refused by the sender. */
				if (errno == EINVAL || errno == EMSGSIZE || errno == EPERM)
					refused++;
				else if (errors++ == 0)
					first_error = errno;
			}
			sent++;
		}
	}
	printf("sent %ld packets (%ld mutated, %ld refused by the sender's stack, %ld send errors):",
	       sent, mutated, refused, errors);
	for (i = 0; i < SHAPES; i++)
		printf(" %s %ld", shape_names[i], per_shape[i]);
	printf("\n");
	if (errors)
		fprintf(stderr, "uoa_storm: %ld sends failed, the first with: %s\n", errors, strerror(first_error));
	return errors * 100 > sent ? 1 : 0;

usage:
	fprintf(stderr, "usage: %s -s SRC4 -d DST4 -S SRC6 -D DST6 -p PORT "
		"[-n COUNT] [-r SEED]\n       %s -w\n", argv[0], argv[0]);
	return 1;
}
