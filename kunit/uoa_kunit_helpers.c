// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only helpers for the KUnit suites (make KUNIT=1): set and read the
 * sk_buff fields that sit in bindgen-unfriendly unions and bitfields.
 */
#include "../include/uoa_kernel.h"

void uoa_test_skb_set_csum_complete(struct sk_buff *skb, __wsum csum) { skb->ip_summed = CHECKSUM_COMPLETE; skb->csum = csum; }
__wsum uoa_test_skb_csum(const struct sk_buff *skb) { return skb->csum; }
unsigned int uoa_test_skb_ip_summed(const struct sk_buff *skb) { return skb->ip_summed; }
void uoa_test_skb_set_headers(struct sk_buff *skb, unsigned int transport_offset) { skb_reset_network_header(skb); skb_set_transport_header(skb, transport_offset); }
int uoa_test_skb_offsets(const struct sk_buff *skb) { return skb_network_offset(skb) * 1000 + skb_transport_offset(skb); }
