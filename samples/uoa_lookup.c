// SPDX-License-Identifier: GPL-2.0
/*
 * uoa_lookup - ask the uoa module for the real client of a UDP flow, the
 * way an application does (getsockopt UOA_SO_GET_LOOKUP on a UDP socket).
 * Works in the network namespace it runs in.
 *
 *   uoa_lookup [-6] [-t] [-a AF] [-l LEN] [-f] [-n N] SADDR SPORT DADDR DPORT
 *
 *   SADDR SPORT  the peer as the application sees it (the balancer)
 *   DADDR DPORT  the local address ("*": any) and port
 *   -6           ask through an AF_INET6 socket (default AF_INET)
 *   -t           ask through a TCP socket (default UDP)
 *   -a AF        put AF in the struct's af field (default: the address's)
 *   -l LEN       pass LEN as the option length (default 58)
 *   -n N         first N lookups more, timed: prints "elapsed_ns T" (benchmarks)
 *   -f           pass an invalid buffer pointer
 *   -L LAYOUT    ask in another balancer module's layout: "legacy" (the
 *                18-byte IPv4 struct on 2048), "2049" or "2050"
 *                (ByteDance's); prints the original destination ("dest
 *                ADDR PORT") and the VNI ("vni N") where they are set
 *
 * Prints "REAL_ADDR REAL_PORT" and exits 0, or prints the errno name
 * (ENOENT, EINVAL, EFAULT, ...) and exits 2; exits 1 on usage errors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "uoa.h"

static int parse_addr(const char *s, union inet_addr *a, __u16 *af)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in) == 1) {
		*af = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->in6) == 1) {
		*af = AF_INET6;
		return 0;
	}
	return -1;
}

static const char *errno_name(int e)
{
	switch (e) {
	case ENOENT: return "ENOENT";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return strerror(e);
	}
}

/* The other layouts, in a byte buffer: in, the flow; out, the answer. */
static int vendor_lookup(int fd, const char *layout, int v6, const void *saddr, const void *daddr,
			 unsigned short sport, unsigned short dport, socklen_t len)
{
	unsigned char b[64];
	int optval = !strcmp(layout, "2049") ? 2049 : !strcmp(layout, "2050") ? 2050 : 2048;
	size_t n = v6 ? 16 : 4, p = optval == 2050 ? 8 : 4, d;
	char real[INET6_ADDRSTRLEN], dest[INET6_ADDRSTRLEN];
	unsigned int type, vni;
	unsigned short rp, dp;

	memset(b, 0, sizeof(b));
	if (optval == 2048) {
		if (v6 || strcmp(layout, "legacy"))
			return -1;
		memcpy(b, saddr, 4);
		memcpy(b + 4, daddr, 4);
		sport = htons(sport);
		dport = htons(dport);
		memcpy(b + 8, &sport, 2);
		memcpy(b + 10, &dport, 2);
		if (len == 0)
			len = 18;
	} else {
		type = v6;
		memcpy(b, &type, 4);
		if (optval == 2049) {
			sport = htons(sport);
			dport = htons(dport);
		}
		memcpy(b + p, &sport, 2);
		memcpy(b + p + 2, &dport, 2);
		memcpy(b + p + 4, saddr, n);
		memcpy(b + p + 4 + n, daddr, n);
		if (len == 0)
			len = optval == 2049 ? 40 : 44;
	}
	if (getsockopt(fd, IPPROTO_IP, optval, b, &len) < 0) {
		printf("%s\n", errno_name(errno));
		return 2;
	}
	if (optval == 2048) {
		memcpy(&rp, b + 16, 2);
		inet_ntop(AF_INET, b + 12, real, sizeof(real));
		printf("%s %u\n", real, ntohs(rp));
		return 0;
	}
	memcpy(&type, b, 4);
	n = type ? 16 : 4;
	memcpy(&rp, b + p, 2);
	memcpy(&dp, b + p + 2, 2);
	if (optval == 2049) {
		rp = ntohs(rp);
		dp = ntohs(dp);
	}
	inet_ntop(type ? AF_INET6 : AF_INET, b + p + 4, real, sizeof(real));
	printf("%s %u", real, rp);
	for (d = 0; d < n && !b[p + 4 + n + d]; d++)
		;
	if (d < n || dp) {
		inet_ntop(type ? AF_INET6 : AF_INET, b + p + 4 + n, dest, sizeof(dest));
		printf(" dest %s %u", dest, dp);
	}
	memcpy(&vni, b + 4, 4);
	if (optval == 2050 && vni)
		printf(" vni %u", vni);
	printf(" len %u\n", (unsigned)len);
	return 0;
}

int main(int argc, char **argv)
{
	struct uoa_param_map map;
	union inet_addr saddr, daddr, real_addr;
	socklen_t len = sizeof(map);
	int family = AF_INET, type = SOCK_DGRAM, af = -1, bad_pointer = 0, repeat = 0, opt, fd, i;
	const char *layout = NULL;
	int len_given = 0;
	struct timespec t0, t1;
	__u16 saf, daf;
	char real[INET6_ADDRSTRLEN];

	while ((opt = getopt(argc, argv, "6ta:l:fn:L:")) != -1) {
		switch (opt) {
		case 'n': repeat = atoi(optarg); break;
		case '6': family = AF_INET6; break;
		case 't': type = SOCK_STREAM; break;
		case 'a': af = atoi(optarg); break;
		case 'l': len = (socklen_t)atoi(optarg); len_given = 1; break;
		case 'L': layout = optarg; break;
		case 'f': bad_pointer = 1; break;
		default: goto usage;
		}
	}
	if (argc - optind != 4)
		goto usage;

	/* The struct is packed: fill it by value and memcpy, never by pointer. */
	memset(&map, 0, sizeof(map));
	memset(&daddr, 0, sizeof(daddr));
	if (parse_addr(argv[optind], &saddr, &saf) < 0)
		goto usage;
	map.af = af >= 0 ? (__u16)af : saf;
	map.sport = htons((unsigned short)atoi(argv[optind + 1]));
	if (strcmp(argv[optind + 2], "*") &&
	    (parse_addr(argv[optind + 2], &daddr, &daf) < 0 || daf != saf))
		goto usage;
	map.dport = htons((unsigned short)atoi(argv[optind + 3]));
	memcpy(&map.saddr, &saddr, sizeof(saddr));
	memcpy(&map.daddr, &daddr, sizeof(daddr));

	fd = socket(family, type, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	if (layout) {
		int rc = vendor_lookup(fd, layout, saf == AF_INET6, &saddr, &daddr,
				       (unsigned short)atoi(argv[optind + 1]),
				       (unsigned short)atoi(argv[optind + 3]), len_given ? len : 0);

		if (rc < 0)
			goto usage;
		return rc;
	}
	/* -n N: N more lookups first, timed, for benchmarks. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < repeat; i++) {
		socklen_t l = len;

		getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP, &map, &l);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (repeat)
		printf("elapsed_ns %lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
		       (t1.tv_nsec - t0.tv_nsec));
	if (getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP,
		       bad_pointer ? (void *)16 : (void *)&map, &len) < 0) {
		printf("%s\n", errno_name(errno));
		return 2;
	}
	if (len != sizeof(map)) {
		printf("bad length %u\n", (unsigned)len);
		return 1;
	}
	memcpy(&real_addr, &map.real_saddr, sizeof(real_addr));
	inet_ntop(map.real_af, &real_addr, real, sizeof(real));
	printf("%s %u\n", real, ntohs(map.real_sport));
	return 0;

usage:
	fprintf(stderr, "usage: %s [-6] [-t] [-a AF] [-l LEN] [-f] [-n N] [-L legacy|2049|2050] "
		"SADDR SPORT DADDR|'*' DPORT\n",
		argv[0]);
	return 1;
}
