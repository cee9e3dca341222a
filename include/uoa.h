/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uoa.h - UDP Option of Address: what applications use to ask the uoa
 * module for the real client of a UDP peer, and the wire format a FullNAT
 * load balancer uses to carry it. Source compatible with the DPVS header of
 * the same name: same macro, struct and field names, same 58-byte layout.
 *
 * Usage (AF_INET or AF_INET6 UDP socket, level IPPROTO_IP):
 *
 *	struct uoa_param_map map = { .af = AF_INET, ... };
 *	socklen_t len = sizeof(map);
 *	getsockopt(fd, IPPROTO_IP, UOA_SO_GET_LOOKUP, &map, &len);
 *
 * Returns 0 and fills real_af, real_saddr, real_sport; or fails with
 * ENOENT (no mapping), EINVAL (len < 58), EFAULT (bad pointer).
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
#include <stddef.h>
#include <linux/types.h>
#include <netinet/in.h>
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
