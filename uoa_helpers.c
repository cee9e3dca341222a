// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for the static inline functions and macros the Rust
 * part of the uoa module needs (Rust cannot call those directly).
 * Prototypes in include/uoa_kernel.h; each body is one line.
 */
#include "include/uoa_kernel.h"
#include <linux/module.h>
#include <net/netfilter/ipv6/nf_defrag_ipv6.h>
#include <net/netns/generic.h>
#include <net/sock.h>

MODULE_VERSION(UOA_VERSION);

void *uoa_net_generic(const struct net *net, unsigned int id) { return net_generic(net, id); }
struct net *uoa_sock_net(const struct sock *sk) { return sock_net(sk); }
bool uoa_sock_is_udp(const struct sock *sk) { return sk->sk_type == SOCK_DGRAM && sk->sk_protocol == IPPROTO_UDP; }
u64 __percpu *uoa_alloc_counters(unsigned int n) { return __alloc_percpu(n * sizeof(u64), __alignof__(u64)); }
void uoa_this_cpu_inc(u64 __percpu *counters, unsigned int idx) { this_cpu_inc(counters[idx]); }
u64 uoa_per_cpu_read(u64 __percpu *counters, int cpu, unsigned int idx) { return READ_ONCE(per_cpu_ptr(counters, cpu)[idx]); }
int uoa_next_possible_cpu(int cpu) { return cpumask_next(cpu, cpu_possible_mask); }
void uoa_skb_postpull_rcsum(struct sk_buff *skb, const void *start, unsigned int len) { skb_postpull_rcsum(skb, start, len); }
void uoa_skb_postpush_rcsum(struct sk_buff *skb, const void *start, unsigned int len) { skb_postpush_rcsum(skb, start, len); }
bool uoa_skb_is_gso(const struct sk_buff *skb) { return skb_is_gso(skb); }
void uoa_skb_pull_headers(struct sk_buff *skb, unsigned int len) { __skb_pull(skb, len); skb->network_header += len; skb->transport_header += len; }
/* IPv6 reassembly before the hooks; -EOPNOTSUPP without the kernel's defragmenter (fragments are then counted and left alone). */
#if IS_ENABLED(CONFIG_NF_DEFRAG_IPV6)
int uoa_defrag6_enable(struct net *net) { return nf_defrag_ipv6_enable(net); }
void uoa_defrag6_disable(struct net *net) { nf_defrag_ipv6_disable(net); }
#else
int uoa_defrag6_enable(struct net *net) { return -EOPNOTSUPP; }
void uoa_defrag6_disable(struct net *net) { }
#endif
void uoa_init_delayed_work(struct delayed_work *work, work_func_t fn) { INIT_DELAYED_WORK(work, fn); }
bool uoa_queue_delayed_work(struct delayed_work *work, unsigned long delay) { return queue_delayed_work(system_dfl_wq, work, delay); }
void uoa_cond_resched(void) { cond_resched(); }
