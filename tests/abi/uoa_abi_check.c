// SPDX-License-Identifier: GPL-2.0
/*
 * Checks, at run time and in a separate program, the layout include/uoa.h
 * gives struct uoa_param_map and friends against the contract: the packed
 * 58-byte struct DPVS applications are compiled with. (The header also
 * asserts it at compile time.) Prints "N passed, N failed".
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "uoa.h"

static int passed, failed;

#define CHECK(expr, want) do { \
	unsigned long got_ = (unsigned long)(expr); \
	if (got_ == (unsigned long)(want)) { passed++; } \
	else { failed++; printf("FAIL %s = %lu, want %lu\n", #expr, got_, (unsigned long)(want)); } \
} while (0)

int main(void)
{
	CHECK(sizeof(struct uoa_param_map), 58);
	CHECK(offsetof(struct uoa_param_map, af), 0);
	CHECK(offsetof(struct uoa_param_map, saddr), 2);
	CHECK(offsetof(struct uoa_param_map, daddr), 18);
	CHECK(offsetof(struct uoa_param_map, sport), 34);
	CHECK(offsetof(struct uoa_param_map, dport), 36);
	CHECK(offsetof(struct uoa_param_map, real_af), 38);
	CHECK(offsetof(struct uoa_param_map, real_saddr), 40);
	CHECK(offsetof(struct uoa_param_map, real_sport), 56);
	CHECK(sizeof(union inet_addr), 16);
	CHECK(sizeof(struct ipopt_uoa), 4);
	CHECK(IPOLEN_UOA_IPV4, 8);
	CHECK(IPOLEN_UOA_IPV6, 20);
	CHECK(sizeof(struct opphdr), 4);
	CHECK(UOA_SO_GET_LOOKUP, 2048);
	CHECK(IPOPT_UOA, 31);
	CHECK(IPPROTO_OPT, 248);
	{
		/* The version nibble is the high one on the wire. */
		struct opphdr h = { 0 };
		h.version = 2;
		CHECK(((unsigned char *)&h)[0], 0x20);
	}
	{
		/* uoa_lookup() refuses what it cannot ask before asking. */
		struct sockaddr_in peer = { 0 };
		struct sockaddr_in6 local6 = { 0 };
		struct sockaddr_storage real;
		struct sockaddr other = { 0 };
		int fd = socket(AF_INET, SOCK_DGRAM, 0);

		peer.sin_family = AF_INET;
		local6.sin6_family = AF_INET6;
		other.sa_family = AF_UNIX;
		errno = 0;
		CHECK(uoa_lookup(fd, (struct sockaddr *)&peer, (struct sockaddr *)&local6, &real), -1);
		CHECK(errno, EINVAL);
		errno = 0;
		CHECK(uoa_lookup(fd, &other, &other, &real), -1);
		CHECK(errno, EAFNOSUPPORT);
		errno = 0;
		CHECK(uoa_lookup(-1, (struct sockaddr *)&peer, NULL, &real), -1);
		CHECK(errno, EBADF);
		close(fd);
	}
	printf("abi: %d passed, %d failed\n", passed, failed);
	return failed != 0;
}
