/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uoa.h - UDP Option of Address: what applications use to ask the uoa
 * module for the real client of a UDP peer, and the wire format a FullNAT
 * load balancer uses to carry it. Source compatible with the DPVS header of
 * the same name: same macro, struct and field names, same 58-byte layout.
 *
 * Usage, with the helper below (AF_INET or AF_INET6 UDP socket):
 *
 *	struct sockaddr_storage peer, real;
 *	socklen_t plen = sizeof(peer);
 *	recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &plen);
 *	if (uoa_lookup(fd, (struct sockaddr *)&peer, NULL, &real) == 0)
 *		... real is the client: a sockaddr_in or sockaddr_in6 ...
 *
 * or by hand, as DPVS applications do (level IPPROTO_IP):
 *
 *	struct uoa_param_map map = { .af = AF_INET, ... };
 *	socklen_t len = sizeof(map);
 *	getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP, &map, &len);
 *
 * Returns 0 and fills real_af, real_saddr, real_sport; or fails with
 * ENOENT (no mapping), EINVAL (len < 58), EFAULT (bad pointer),
 * EOPNOTSUPP (not a UDP socket), ENOPROTOOPT (the module is not loaded).
 */
#ifndef _UOA_H
#define _UOA_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/build_bug.h>
#define UOA_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <asm/byteorder.h>
#ifdef __cplusplus
#define UOA_STATIC_ASSERT(e, msg) static_assert(e, msg)
#else
#define UOA_STATIC_ASSERT(e, msg) _Static_assert(e, msg)
#endif
#endif

/* The lookup: a netfilter socket option of PF_INET. */
#define UOA_BASE_CTL		2048
#define UOA_SO_GET_LOOKUP	(UOA_BASE_CTL)
#define UOA_SO_GET_MAX		UOA_SO_GET_LOOKUP

union inet_addr {
	struct in_addr	in;
	struct in6_addr	in6;
};

/* Addresses and ports in network order; af and real_af in host order. */
struct uoa_param_map {
	/* input: the flow as the application sees it */
	__u16		af;		/* AF_INET or AF_INET6 */
	union inet_addr	saddr;		/* peer (load balancer's local address) */
	union inet_addr	daddr;		/* own address; all zero = any */
	__be16		sport;
	__be16		dport;
	/* output: the real client */
	__u16		real_af;
	union inet_addr	real_saddr;
	__be16		real_sport;
} __attribute__((__packed__));

UOA_STATIC_ASSERT(sizeof(struct uoa_param_map) == 58, "uoa_param_map must be 58 bytes");
UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, sport) == 34, "uoa_param_map.sport at 34");
UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, real_af) == 38, "uoa_param_map.real_af at 38");
UOA_STATIC_ASSERT(offsetof(struct uoa_param_map, real_sport) == 56, "uoa_param_map.real_sport at 56");

#ifndef __KERNEL__
/*
 * uoa_lookup - the real client of a datagram received on UDP socket @fd.
 * @peer:  its source, as recvfrom() or recvmsg() gave it (sockaddr_in or
 *         sockaddr_in6; a dual-stack socket's ::ffff:a.b.c.d works too)
 * @local: the address it was sent to, of @peer's family (IP_PKTINFO tells
 *         it on a socket bound to a wildcard address); NULL: the socket's
 *         own (getsockname()), its wildcard address matching any
 * @real:  receives the client, a sockaddr_in or sockaddr_in6 (an IPv4
 *         client is a sockaddr_in even on an AF_INET6 socket)
 *
 * Returns 0, or -1 with errno: ENOENT (no mapping: the datagram did not
 * come through the balancer, or its mapping expired), EAFNOSUPPORT (@peer
 * is not AF_INET or AF_INET6), EINVAL (@local of another family), the
 * errors of getsockname() when @local is NULL, and the lookup's own above.
 */
static inline int uoa_lookup(int fd, const struct sockaddr *peer, const struct sockaddr *local,
			     struct sockaddr_storage *real)
{
	struct uoa_param_map map;
	struct sockaddr_storage own;
	socklen_t len = sizeof(own);

	if (!local) {
		if (getsockname(fd, (struct sockaddr *)&own, &len) < 0)
			return -1;
		local = (const struct sockaddr *)&own;
	}
	memset(&map, 0, sizeof(map));
	if (local->sa_family != peer->sa_family) {
		errno = EINVAL;
		return -1;
	}
	map.af = peer->sa_family;
	if (peer->sa_family == AF_INET) {
		const struct sockaddr_in *p = (const struct sockaddr_in *)peer;
		const struct sockaddr_in *l = (const struct sockaddr_in *)local;

		memcpy(&map.saddr, &p->sin_addr, 4);
		memcpy(&map.daddr, &l->sin_addr, 4);
		map.sport = p->sin_port;
		map.dport = l->sin_port;
	} else if (peer->sa_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)peer;
		const struct sockaddr_in6 *l = (const struct sockaddr_in6 *)local;

		memcpy(&map.saddr, &p->sin6_addr, 16);
		memcpy(&map.daddr, &l->sin6_addr, 16);
		map.sport = p->sin6_port;
		map.dport = l->sin6_port;
	} else {
		errno = EAFNOSUPPORT;
		return -1;
	}
	len = sizeof(map);
	if (getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP, &map, &len) < 0)
		return -1;
	memset(real, 0, sizeof(*real));
	if (map.real_af == AF_INET) {
		struct sockaddr_in *r = (struct sockaddr_in *)real;

		r->sin_family = AF_INET;
		memcpy(&r->sin_addr, &map.real_saddr, 4);
		r->sin_port = map.real_sport;
	} else if (map.real_af == AF_INET6) {
		struct sockaddr_in6 *r = (struct sockaddr_in6 *)real;

		r->sin6_family = AF_INET6;
		memcpy(&r->sin6_addr, &map.real_saddr, 16);
		r->sin6_port = map.real_sport;
	} else {
		errno = EPROTO;
		return -1;
	}
	return 0;
}
#endif /* !__KERNEL__ */

/* The UOA option: type 31, class "control", not copied on fragmentation. */
#define IPOPT_UOA		(31 | 0x00)
#define IPOLEN_UOA_IPV4		(sizeof(struct ipopt_uoa) + 4)	/* 8 */
#define IPOLEN_UOA_IPV6		(sizeof(struct ipopt_uoa) + 16)	/* 20 */

struct ipopt_uoa {
	__u8	op_code;	/* IPOPT_UOA */
	__u8	op_len;		/* IPOLEN_UOA_IPV4 or IPOLEN_UOA_IPV6 */
	__be16	op_port;	/* client's port */
	__u8	op_addr[0];	/* client's address, 4 or 16 bytes */
} __attribute__((__packed__));

/* The private protocol ("opp") that carries options for IPv4 and IPv6. */
#define IPPROTO_OPT		0xf8	/* 248 */
#define OPPHDR_IPV4_VERSION	1	/* client address is IPv4 */
#define OPPHDR_IPV6_VERSION	2	/* client address is IPv6 */

struct opphdr {
#if defined(__LITTLE_ENDIAN_BITFIELD)
	__u8	rsvd0:4;
	__u8	version:4;
#elif defined(__BIG_ENDIAN_BITFIELD)
	__u8	version:4;
	__u8	rsvd0:4;
#else
#error "define __LITTLE_ENDIAN_BITFIELD or __BIG_ENDIAN_BITFIELD"
#endif
	__u8	protocol;	/* next protocol: IPPROTO_UDP */
	__be16	length;		/* opp header plus its options, not the payload */
	__u8	options[0];
} __attribute__((__packed__));

UOA_STATIC_ASSERT(sizeof(struct opphdr) == 4, "opphdr must be 4 bytes");

#endif /* _UOA_H */
