// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers for the static inline functions and macros the Rust
 * part of the uoa module needs (Rust cannot call those directly).
 * Prototypes in include/uoa_kernel.h; each body is one line.
 */
#include "include/uoa_kernel.h"
#include <net/netns/generic.h>
#include <net/sock.h>

void *uoa_net_generic(const struct net *net, unsigned int id) { return net_generic(net, id); }
struct net *uoa_sock_net(const struct sock *sk) { return sock_net(sk); }
void uoa_this_cpu_inc(u64 __percpu *counters, unsigned int idx) { this_cpu_inc(counters[idx]); }
u64 uoa_per_cpu_read(u64 __percpu *counters, int cpu, unsigned int idx) { return READ_ONCE(per_cpu_ptr(counters, cpu)[idx]); }
int uoa_next_possible_cpu(int cpu) { return cpumask_next(cpu, cpu_possible_mask); }
void uoa_skb_postpull_rcsum(struct sk_buff *skb, const void *start, unsigned int len) { skb_postpull_rcsum(skb, start, len); }
void uoa_skb_postpush_rcsum(struct sk_buff *skb, const void *start, unsigned int len) { skb_postpush_rcsum(skb, start, len); }
void *uoa_skb_pull(struct sk_buff *skb, unsigned int len) { return __skb_pull(skb, len); }
void uoa_skb_reset_headers(struct sk_buff *skb, unsigned int transport_offset) { skb_reset_network_header(skb); skb_set_transport_header(skb, transport_offset); }
