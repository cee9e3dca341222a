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
void uoa_test_skb_set_gso(struct sk_buff *skb, unsigned short size) { skb_shinfo(skb)->gso_size = size; skb_shinfo(skb)->gso_type = SKB_GSO_UDP_L4; }
int uoa_test_skb_offsets(const struct sk_buff *skb) { return skb_network_offset(skb) * 1000 + skb_transport_offset(skb); }

/* A packet of len bytes whose first linear bytes are in the linear area and
 * the rest in a page fragment; headers set as at LOCAL_IN. */
struct sk_buff *uoa_test_skb_nonlinear(const u8 *bytes, unsigned int len, unsigned int linear, unsigned int transport)
{
	struct sk_buff *skb = alloc_skb(linear + 64, GFP_KERNEL);
	struct page *page = alloc_page(GFP_KERNEL);

	if (!skb || !page || len - linear > PAGE_SIZE) {
		kfree_skb(skb);
		if (page)
			__free_page(page);
		return NULL;
	}
	skb_put_data(skb, bytes, linear);
	memcpy(page_address(page), bytes + linear, len - linear);
	skb_add_rx_frag(skb, 0, page, 0, len - linear, PAGE_SIZE);
	uoa_test_skb_set_headers(skb, transport);
	return skb;
}
