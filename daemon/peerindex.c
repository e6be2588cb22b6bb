// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open addressing on (family, length, masked address) over a persistent
 * vector of slots; a slot holds an immutable bucket (its prefix's key and ids),
 * replaced by a copy on change, or a tomb where a prefix left.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "peerindex.h"

#define TOMB ((uintptr_t)1)

/* A prefix as the index hashes and compares it: the address in two words
 * with its host bits clear, and its family and length. A few instructions
 * per probe, where bytes cost a loop and a memcmp call (measured: most of
 * a SYN's policy lookup). */
struct pkey {
	uint64_t w[2];
	uint64_t tag; /* family << 8 | length */
};

struct bucket {
	unsigned ref;
	struct pkey key;
	uint32_t n;
	uint32_t ids[];
};

/* Keyed, so that no local user can pile its listener's prefixes onto the
 * probe of another's peer. */
static uint64_t seed;

static struct bucket *bucket_of(uintptr_t w)
{
	return w > TOMB ? (struct bucket *)w : NULL;
}

static void bucket_ref(uintptr_t w)
{
	if (bucket_of(w))
		bucket_of(w)->ref++;
}

static void bucket_unref(uintptr_t w)
{
	struct bucket *b = bucket_of(w);

	if (b && !--b->ref)
		free(b);
}

static const struct pvec_ops bucket_ops = { bucket_ref, bucket_unref };

/* The top `bits` of a word in memory order (bits 0 to 64). */
static uint64_t top_mask(int bits)
{
	if (bits <= 0)
		return 0;
	return htobe64(bits >= 64 ? ~0ull : ~(~0ull >> bits));
}

static struct pkey key_of(const struct tcpao_addr *a, uint8_t len)
{
	struct pkey k = { .tag = (uint64_t)a->family << 8 | len };

	memcpy(k.w, a->bytes, sizeof(k.w));
	k.w[0] &= top_mask(len);
	k.w[1] &= top_mask(len - 64);
	return k;
}

static size_t hash(const struct pkey *k)
{
	return (size_t)hash_mix(hash_mix(hash_mix(seed, k->tag), k->w[0]), k->w[1]);
}

static bool same(const struct pkey *a, const struct pkey *b)
{
	return a->w[0] == b->w[0] && a->w[1] == b->w[1] && a->tag == b->tag;
}

/* The slot of k when present; else, with *free_at, where it would go
 * (the first tomb on the way, or the empty slot). */
static size_t probe(const struct pvec *slots, const struct pkey *k,
		    bool *found, size_t *free_at)
{
	size_t mask = slots->n - 1, i = hash(k) & mask;
	const struct pnode *leaf = NULL;
	uintptr_t w;

	*found = false;
	*free_at = SIZE_MAX;
	for (size_t step = 0; step < slots->n; step++) {
		/* The next slot is in the same leaf but once in PVEC_FAN. */
		if (!step || !pvec_slot_of(i, 0))
			leaf = pvec_leaf(slots, i);
		if (!leaf || !(w = leaf->s[pvec_slot_of(i, 0)].word))
			break;
		if (bucket_of(w) && same(&bucket_of(w)->key, k)) {
			*found = true;
			return i;
		}
		if (w == TOMB && *free_at == SIZE_MAX)
			*free_at = i;
		i = (i + 1) & mask;
	}
	if (*free_at == SIZE_MAX)
		*free_at = i;
	return *free_at;
}

void peer_index_init(struct peer_index *ix)
{
	hash_seed_once(&seed);
	memset(ix, 0, sizeof(*ix));
	pvec_init(&ix->slots, &bucket_ops);
}

void peer_index_free(struct peer_index *ix)
{
	pvec_free(&ix->slots);
	ix->used = 0;
}

void peer_index_clone(struct peer_index *dst, const struct peer_index *src)
{
	*dst = *src;
	pvec_clone(&dst->slots, &src->slots);
	dst->slots.ops = &bucket_ops;
}

static int family_slot(sa_family_t family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

/* Rehashed, tombs left behind, into a table at least twice the live
 * prefixes (a quarter to a half full: a few steps of linear probing) and
 * no larger: a larger one costs a SYN's lookup a level of the trie
 * sooner (4 times put 100,000 peers 4 levels deep: docs/BENCHMARKS.md). */
static int rehash(struct peer_index *ix)
{
	size_t live = 0, n = 64;
	struct pvec fresh;

	for (size_t i = 0; i < ix->slots.n; i++)
		live += bucket_of(pvec_get(&ix->slots, i)) != NULL;
	while (n < 2 * (live + 1))
		n *= 2;
	pvec_init(&fresh, &bucket_ops);
	if (pvec_resize(&fresh, n))
		return -ENOMEM;
	for (size_t i = 0; i < ix->slots.n; i++) {
		struct bucket *b = bucket_of(pvec_get(&ix->slots, i));
		size_t at;
		bool found;

		if (!b)
			continue;
		probe(&fresh, &b->key, &found, &at);
		bucket_ref((uintptr_t)b);
		if (pvec_set(&fresh, at, (uintptr_t)b)) {
			bucket_unref((uintptr_t)b);
			pvec_free(&fresh);
			return -ENOMEM;
		}
	}
	pvec_free(&ix->slots);
	ix->slots = fresh;
	ix->used = live;
	return 0;
}

/* A copy of b (NULL: none) with id added in its place (ids ascend: an id
 * taken out and put back, as a failed removal does, is where it was), or
 * removed when `drop`. */
static struct bucket *bucket_with(const struct bucket *b, const struct pkey *key,
				  uint32_t id, bool drop)
{
	uint32_t n = b ? b->n : 0, k = 0;
	struct bucket *c = malloc(sizeof(*c) + (n + 1) * sizeof(c->ids[0]));
	bool placed = drop;

	if (!c)
		return NULL;
	c->ref = 1;
	c->key = *key;
	for (uint32_t i = 0; i < n; i++) {
		if (!placed && id < b->ids[i]) {
			c->ids[k++] = id;
			placed = true;
		}
		if (!drop || b->ids[i] != id)
			c->ids[k++] = b->ids[i];
	}
	if (!placed)
		c->ids[k++] = id;
	c->n = k;
	return c;
}

static void count(struct peer_index *ix, int f, uint8_t len, int delta)
{
	ix->count[f][len] += (uint32_t)delta;
	if (ix->count[f][len])
		ix->lens[f][len / 64] |= 1ull << (len % 64);
	else
		ix->lens[f][len / 64] &= ~(1ull << (len % 64));
}

int peer_index_add(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id)
{
	int f = family_slot(prefix->family);
	struct pkey k = key_of(prefix, len);
	struct bucket *b;
	size_t at;
	bool found;

	if (f < 0 || len > tcpao_addr_len(prefix) * 8)
		return -EINVAL;
	if (2 * (ix->used + 1) > ix->slots.n && rehash(ix))
		return -ENOMEM;
	at = probe(&ix->slots, &k, &found, &at);
	b = bucket_with(found ? bucket_of(pvec_get(&ix->slots, at)) : NULL, &k, id, false);
	if (!b)
		return -ENOMEM;
	if (!found && !pvec_get(&ix->slots, at))
		ix->used++;
	if (pvec_set(&ix->slots, at, (uintptr_t)b)) {
		free(b);
		return -ENOMEM;
	}
	count(ix, f, len, 1);
	return 0;
}

int peer_index_del(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id)
{
	int f = family_slot(prefix->family);
	const struct bucket *old;
	struct bucket *b = NULL;
	struct pkey k = key_of(prefix, len);
	size_t at;
	bool found, had = false;

	if (f < 0 || len > tcpao_addr_len(prefix) * 8 || !ix->slots.n)
		return -ENOENT;
	at = probe(&ix->slots, &k, &found, &at);
	old = found ? bucket_of(pvec_get(&ix->slots, at)) : NULL;
	for (uint32_t i = 0; old && i < old->n; i++)
		had |= old->ids[i] == id;
	if (!had)
		return -ENOENT;
	if (old->n > 1 && !(b = bucket_with(old, &k, id, true)))
		return -ENOMEM;
	if (pvec_set(&ix->slots, at, b ? (uintptr_t)b : TOMB)) {
		free(b);
		return -ENOMEM;
	}
	count(ix, f, len, -1);
	return 0;
}

const uint32_t *peer_index_ids(const struct peer_index *ix,
			       const struct tcpao_addr *prefix, uint8_t len,
			       size_t *n)
{
	const struct bucket *b;
	struct pkey k;
	size_t at;
	bool found;

	*n = 0;
	if (!ix->slots.n || family_slot(prefix->family) < 0 ||
	    len > tcpao_addr_len(prefix) * 8)
		return NULL;
	k = key_of(prefix, len);
	at = probe(&ix->slots, &k, &found, &at);
	b = found ? bucket_of(pvec_get(&ix->slots, at)) : NULL;
	if (!b)
		return NULL;
	*n = b->n;
	return b->ids;
}

int peer_index_len_below(const struct peer_index *ix, sa_family_t family,
			 int below)
{
	int f = family_slot(family);

	if (f < 0 || below <= 0)
		return -1;
	if (below > 129)
		below = 129;
	/* Word by word from the top, each masked to the lengths below. */
	for (int w = (below - 1) / 64; w >= 0; w--) {
		int top = below - 1 - w * 64;
		uint64_t bits = ix->lens[f][w];

		if (top < 63)
			bits &= (2ull << top) - 1;
		if (bits)
			return w * 64 + 63 - __builtin_clzll(bits);
	}
	return -1;
}
