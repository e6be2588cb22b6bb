// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open addressing on (family, length, masked address) over a persistent
 * vector of slots; a slot holds an immutable bucket (its prefix and ids),
 * replaced by a copy on change, or a tomb where a prefix left.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "peerindex.h"

#define TOMB ((uintptr_t)1)

struct bucket {
	unsigned ref;
	struct tcpao_addr prefix; /* host bits clear */
	uint8_t len;
	uint32_t n;
	uint32_t ids[];
};

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

static void masked(const struct tcpao_addr *a, uint8_t len, struct tcpao_addr *out)
{
	size_t bytes = tcpao_addr_len(a);

	memset(out, 0, sizeof(*out));
	out->family = a->family;
	for (size_t i = 0; i < bytes && i * 8 < len; i++) {
		uint8_t keep = len >= (i + 1) * 8 ? 0xff : (uint8_t)(0xff << (8 - (len - i * 8)));

		out->bytes[i] = a->bytes[i] & keep;
	}
}

static size_t hash(const struct tcpao_addr *p, uint8_t len)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)p->family << 8 | len);

	for (size_t i = 0; i < tcpao_addr_len(p); i++)
		h = (h ^ p->bytes[i]) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 29);
}

static bool same(const struct bucket *b, const struct tcpao_addr *p, uint8_t len)
{
	return b->len == len && b->prefix.family == p->family &&
	       !memcmp(b->prefix.bytes, p->bytes, tcpao_addr_len(p));
}

/* The slot of p/len (p masked) when present; else, with *free_at, where
 * it would go (the first tomb on the way, or the empty slot). */
static size_t probe(const struct pvec *slots, const struct tcpao_addr *p,
		    uint8_t len, bool *found, size_t *free_at)
{
	size_t mask = slots->n - 1, i = hash(p, len) & mask;
	uintptr_t w;

	*found = false;
	*free_at = SIZE_MAX;
	for (size_t step = 0; step < slots->n && (w = pvec_get(slots, i)); step++) {
		if (bucket_of(w) && same(bucket_of(w), p, len)) {
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

/* Rehashed into a table with room to spare, tombs left behind. */
static int rehash(struct peer_index *ix)
{
	size_t live = 0, n = 64;
	struct pvec fresh;

	for (size_t i = 0; i < ix->slots.n; i++)
		live += bucket_of(pvec_get(&ix->slots, i)) != NULL;
	while (n < 4 * (live + 1))
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
		probe(&fresh, &b->prefix, b->len, &found, &at);
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

/* A copy of b (NULL: none) with id added, or removed when `drop`. */
static struct bucket *bucket_with(const struct bucket *b, const struct tcpao_addr *p,
				  uint8_t len, uint32_t id, bool drop)
{
	uint32_t n = b ? b->n : 0, k = 0;
	struct bucket *c = malloc(sizeof(*c) + (n + 1) * sizeof(c->ids[0]));

	if (!c)
		return NULL;
	c->ref = 1;
	c->prefix = *p;
	c->len = len;
	for (uint32_t i = 0; i < n; i++)
		if (!drop || b->ids[i] != id)
			c->ids[k++] = b->ids[i];
	if (!drop)
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
	struct tcpao_addr p;
	struct bucket *b;
	size_t at;
	bool found;

	if (f < 0 || len > tcpao_addr_len(prefix) * 8)
		return -EINVAL;
	if (2 * (ix->used + 1) > ix->slots.n && rehash(ix))
		return -ENOMEM;
	masked(prefix, len, &p);
	at = probe(&ix->slots, &p, len, &found, &at);
	b = bucket_with(found ? bucket_of(pvec_get(&ix->slots, at)) : NULL, &p, len, id, false);
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
	struct tcpao_addr p;
	size_t at;
	bool found, had = false;

	if (f < 0 || len > tcpao_addr_len(prefix) * 8 || !ix->slots.n)
		return -ENOENT;
	masked(prefix, len, &p);
	at = probe(&ix->slots, &p, len, &found, &at);
	old = found ? bucket_of(pvec_get(&ix->slots, at)) : NULL;
	for (uint32_t i = 0; old && i < old->n; i++)
		had |= old->ids[i] == id;
	if (!had)
		return -ENOENT;
	if (old->n > 1 && !(b = bucket_with(old, &p, len, id, true)))
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
	struct tcpao_addr p;
	size_t at;
	bool found;

	*n = 0;
	if (!ix->slots.n || family_slot(prefix->family) < 0)
		return NULL;
	masked(prefix, len, &p);
	at = probe(&ix->slots, &p, len, &found, &at);
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
