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
#include <linux/rhashtable.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <net/ipv6.h>
#include <net/net_namespace.h>

#include "uoa.h"

void *uoa_net_generic(const struct net *net, unsigned int id);
struct net *uoa_sock_net(const struct sock *sk);
bool uoa_sock_is_udp(const struct sock *sk);
u64 __percpu *uoa_alloc_counters(unsigned int n);
void uoa_this_cpu_inc(u64 __percpu *counters, unsigned int idx);
u64 uoa_per_cpu_read(u64 __percpu *counters, int cpu, unsigned int idx);
int uoa_next_possible_cpu(int cpu);
void uoa_skb_postpull_rcsum(struct sk_buff *skb, const void *start, unsigned int len);
void uoa_skb_postpush_rcsum(struct sk_buff *skb, const void *start, unsigned int len);
bool uoa_skb_is_gso(const struct sk_buff *skb);
void uoa_skb_pull_headers(struct sk_buff *skb, unsigned int len);
/* uoa_params.c: the v6_to_v4_prefix_str parameter as given. */
const char *uoa_v6_to_v4_prefix_str(void);
int uoa_defrag6_enable(struct net *net);
void uoa_defrag6_disable(struct net *net);
void uoa_init_delayed_work(struct delayed_work *work, work_func_t fn);
bool uoa_queue_delayed_work(struct delayed_work *work, unsigned long delay);

/* Mapping table keys, laid out as FlowKey<[u8; 4]> and FlowKey<[u8; 16]>
 * in uoa_table.rs (ports in host order); uoa_rhash.c wraps the rhashtable
 * of each family. */
struct uoa_key4 {
	u8 saddr[4];
	u8 daddr[4];
	u16 sport;
	u16 dport;
};
struct uoa_key6 {
	u8 saddr[16];
	u8 daddr[16];
	u16 sport;
	u16 dport;
};
int uoa_rht_init4(struct rhashtable *ht, u16 nelem_hint, unsigned int max_size);
void *uoa_rht_lookup4(struct rhashtable *ht, const void *key);
void *uoa_rht_insert4(struct rhashtable *ht, struct rhash_head *obj);
int uoa_rht_replace4(struct rhashtable *ht, struct rhash_head *old, struct rhash_head *new);
int uoa_rht_remove4(struct rhashtable *ht, struct rhash_head *obj);
int uoa_rht_init6(struct rhashtable *ht, u16 nelem_hint, unsigned int max_size);
void *uoa_rht_lookup6(struct rhashtable *ht, const void *key);
void *uoa_rht_insert6(struct rhashtable *ht, struct rhash_head *obj);
int uoa_rht_replace6(struct rhashtable *ht, struct rhash_head *old, struct rhash_head *new);
int uoa_rht_remove6(struct rhashtable *ht, struct rhash_head *obj);
unsigned int uoa_rht_buckets(struct rhashtable *ht);
void uoa_cond_resched(void);

/* Test build only: kunit/uoa_kunit_helpers.c. */
void uoa_test_skb_set_csum_complete(struct sk_buff *skb, __wsum csum);
void uoa_test_skb_set_gso(struct sk_buff *skb, unsigned short size);
__wsum uoa_test_skb_csum(const struct sk_buff *skb);
unsigned int uoa_test_skb_ip_summed(const struct sk_buff *skb);
void uoa_test_skb_set_headers(struct sk_buff *skb, unsigned int transport_offset);
int uoa_test_skb_offsets(const struct sk_buff *skb);
struct sk_buff *uoa_test_skb_nonlinear(const u8 *bytes, unsigned int len, unsigned int linear, unsigned int transport);

#endif /* _UOA_KERNEL_H */
