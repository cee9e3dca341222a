// SPDX-License-Identifier: GPL-2.0
/*
 * uoa_echo - an application behind a FullNAT load balancer: a UDP echo
 * server that prints the real client of each datagram, as the uoa module
 * reports it, and echoes the payload back.
 *
 *   uoa_echo [-6] [-c COUNT] PORT
 *
 *   -6        an AF_INET6 socket (dual-stack: IPv4 peers appear as
 *             ::ffff:a.b.c.d); default AF_INET
 *   -c COUNT  exit after COUNT datagrams (default: run forever)
 *
 * One line per datagram:
 *   peer ADDR PORT real ADDR PORT len N payload TEXT
 * with "real - -" when the module knows no client for the peer.
 */
#define _GNU_SOURCE /* struct in6_pktinfo */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uoa.h"

static void print_addr(const struct sockaddr_storage *ss, char *out, size_t outsz, unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;

		inet_ntop(AF_INET, &s->sin_addr, out, (socklen_t)outsz);
		*port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;

		inet_ntop(AF_INET6, &s->sin6_addr, out, (socklen_t)outsz);
		*port = ntohs(s->sin6_port);
	}
}

int main(int argc, char **argv)
{
	int family = AF_INET, count = -1, opt, fd, one = 1, off = 0;
	struct sockaddr_storage local, peer, real;
	socklen_t alen;
	char buf[8192], peer_s[INET6_ADDRSTRLEN], real_s[INET6_ADDRSTRLEN];
	unsigned peer_port, real_port = 0;

	while ((opt = getopt(argc, argv, "6c:")) != -1) {
		switch (opt) {
		case '6': family = AF_INET6; break;
		case 'c': count = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 1)
		goto usage;

	fd = socket(family, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return 1;
	}
	memset(&local, 0, sizeof(local));
	if (family == AF_INET) {
		struct sockaddr_in *s = (void *)&local;

		s->sin_family = AF_INET;
		s->sin_port = htons((unsigned short)atoi(argv[optind]));
		alen = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (void *)&local;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons((unsigned short)atoi(argv[optind]));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		alen = sizeof(*s);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&local, alen) < 0) {
		perror("bind");
		return 1;
	}
	/* The local address of each datagram: ask for it per packet. */
	if (family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));

	while (count != 0) {
		char cbuf[256];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = { &peer, sizeof(peer), &iov, 1, cbuf, sizeof(cbuf), 0 };
		struct sockaddr_storage dst = local;
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &msg, 0);
		int err;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("recvmsg");
			return 1;
		}
		buf[n] = 0;
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo *pi = (void *)CMSG_DATA(c);

				((struct sockaddr_in *)&dst)->sin_addr = pi->ipi_addr;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo *pi = (void *)CMSG_DATA(c);

				((struct sockaddr_in6 *)&dst)->sin6_addr = pi->ipi6_addr;
			}
		}
		print_addr(&peer, peer_s, sizeof(peer_s), &peer_port);
		/* The flow peer -> dst, asked with include/uoa.h's helper. */
		err = uoa_lookup(fd, (struct sockaddr *)&peer, (struct sockaddr *)&dst, &real);
		if (!err)
			print_addr(&real, real_s, sizeof(real_s), &real_port);
		if (err)
			printf("peer %s %u real - - len %zd payload %s\n", peer_s, peer_port, n, buf);
		else
			printf("peer %s %u real %s %u len %zd payload %s\n", peer_s, peer_port, real_s,
			       real_port, n, buf);
		fflush(stdout);
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&peer, msg.msg_namelen);
		if (count > 0)
			count--;
	}
	return 0;

usage:
	fprintf(stderr, "usage: %s [-6] [-c COUNT] PORT\n", argv[0]);
	return 1;
}
