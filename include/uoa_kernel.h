/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bindgen reads for the uoa module: the kernel APIs the Rust kernel
 * crate does not bind (netfilter hooks and socket options, proc entries,
 * per-CPU memory, IPv6 extension headers), the application ABI, and the
 * one-line C helpers in uoa_helpers.c for static inline functions.
 */
#ifndef _UOA_KERNEL_H
#define _UOA_KERNEL_H

#include <linux/netfilter.h>
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/percpu.h>
#include <linux/proc_fs.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "uoa.h"

void *uoa_net_generic(const struct net *net, unsigned int id);
struct net *uoa_sock_net(const struct sock *sk);
u64 __percpu *uoa_alloc_counters(unsigned int n);
void uoa_this_cpu_inc(u64 __percpu *counters, unsigned int idx);
u64 uoa_per_cpu_read(u64 __percpu *counters, int cpu, unsigned int idx);
int uoa_next_possible_cpu(int cpu);
void uoa_skb_postpull_rcsum(struct sk_buff *skb, const void *start, unsigned int len);
void uoa_skb_postpush_rcsum(struct sk_buff *skb, const void *start, unsigned int len);
void uoa_skb_pull_headers(struct sk_buff *skb, unsigned int len);
void uoa_spin_lock_bh(spinlock_t *lock);
void uoa_spin_unlock_bh(spinlock_t *lock);
int uoa_spin_trylock_bh(spinlock_t *lock);
void uoa_init_delayed_work(struct delayed_work *work, work_func_t fn);
bool uoa_queue_delayed_work(struct delayed_work *work, unsigned long delay);

/* Test build only: kunit/uoa_kunit_helpers.c. */
void uoa_test_skb_set_csum_complete(struct sk_buff *skb, __wsum csum);
__wsum uoa_test_skb_csum(const struct sk_buff *skb);
unsigned int uoa_test_skb_ip_summed(const struct sk_buff *skb);
void uoa_test_skb_set_headers(struct sk_buff *skb, unsigned int transport_offset);
int uoa_test_skb_offsets(const struct sk_buff *skb);
struct sk_buff *uoa_test_skb_nonlinear(const u8 *bytes, unsigned int len, unsigned int linear, unsigned int transport);

#endif /* _UOA_KERNEL_H */
