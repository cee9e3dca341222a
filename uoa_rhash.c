// SPDX-License-Identifier: GPL-2.0
/*
 * The mapping tables are the kernel's rhashtable (lib/rhashtable.c), which
 * grows and shrinks under RCU without stopping readers or writers. Its API
 * is static inline, specialised by constant parameters, so each operation
 * the Rust table (uoa_table.rs) uses is a one-line wrapper here, for each
 * address family. Entries begin with their rhash_head, then their key
 * (struct uoa_key4 or uoa_key6, include/uoa_kernel.h).
 *
 * The hash covers saddr and the ports, not daddr, so that a lookup with the
 * wildcard (all zero) daddr finds the bucket; it is jhash, seeded by the
 * table's random hash_rnd, and rhashtable rehashes with a new seed when a
 * chain grows past 16 entries, which defeats chosen-collision floods.
 */
#include "include/uoa_kernel.h"
#include <linux/jhash.h>
#include <linux/rhashtable.h>

#define UOA_KEY_OFFSET sizeof(struct rhash_head)

static __always_inline u32 uoa_hash4(const void *data, u32 len, u32 seed)
{
	const struct uoa_key4 *k = data;

	return jhash_2words(get_unaligned((const u32 *)k->saddr), (u32)k->sport << 16 | k->dport, seed);
}

static __always_inline u32 uoa_hash6(const void *data, u32 len, u32 seed)
{
	const struct uoa_key6 *k = data;
	u32 words[5];

	memcpy(words, k->saddr, 16);
	words[4] = (u32)k->sport << 16 | k->dport;
	return jhash2(words, 5, seed);
}

/* 0 when the stored key (obj) answers the query (arg->key). */
#define UOA_CMP(fam, alen)								\
static __always_inline int uoa_cmp##fam(struct rhashtable_compare_arg *arg, const void *obj) \
{											\
	static const u8 wildcard[alen];							\
	const struct uoa_key##fam *q = arg->key, *k = obj + UOA_KEY_OFFSET;		\
											\
	return memcmp(q->saddr, k->saddr, alen) || q->sport != k->sport ||		\
	       q->dport != k->dport ||							\
	       (memcmp(q->daddr, wildcard, alen) && memcmp(q->daddr, k->daddr, alen));	\
}
UOA_CMP(4, 4)
UOA_CMP(6, 16)

#define UOA_PARAMS(fam) {							\
	.head_offset = 0,							\
	.key_offset = UOA_KEY_OFFSET,						\
	.key_len = sizeof(struct uoa_key##fam),					\
	.hashfn = uoa_hash##fam,						\
	.obj_cmpfn = uoa_cmp##fam,						\
	.automatic_shrinking = true,						\
}
static const struct rhashtable_params uoa_params4 = UOA_PARAMS(4);
static const struct rhashtable_params uoa_params6 = UOA_PARAMS(6);

#define UOA_RHT_OPS(fam)								\
int uoa_rht_init##fam(struct rhashtable *ht, u16 nelem_hint, unsigned int max_size)	\
{ struct rhashtable_params p = uoa_params##fam; p.nelem_hint = nelem_hint; p.max_size = max_size; return rhashtable_init(ht, &p); } \
void *uoa_rht_lookup##fam(struct rhashtable *ht, const void *key)			\
{ return rhashtable_lookup(ht, key, uoa_params##fam); }					\
void *uoa_rht_insert##fam(struct rhashtable *ht, struct rhash_head *obj)		\
{ return rhashtable_lookup_get_insert_fast(ht, obj, uoa_params##fam); }		\
int uoa_rht_replace##fam(struct rhashtable *ht, struct rhash_head *old, struct rhash_head *new) \
{ return rhashtable_replace_fast(ht, old, new, uoa_params##fam); }			\
int uoa_rht_remove##fam(struct rhashtable *ht, struct rhash_head *obj)			\
{ return rhashtable_remove_fast(ht, obj, uoa_params##fam); }
UOA_RHT_OPS(4)
UOA_RHT_OPS(6)

unsigned int uoa_rht_buckets(struct rhashtable *ht) { return rcu_dereference_protected(ht->tbl, 1)->size; }
