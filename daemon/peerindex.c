// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Open addressing on (family, length, masked address); each slot chains
 * the ids of its prefix's entries through next[].
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "peerindex.h"

struct slot {
	struct tcpao_addr prefix; /* host bits clear; family 0: empty */
	uint8_t len;
	uint32_t first, last;
};

struct peer_index {
	struct slot *slots;
	size_t nslots, used; /* nslots: a power of two, or 0 */
	uint32_t *next;
	size_t next_cap;
	uint64_t lens[2][3]; /* lengths 0..128 present, IPv4 and IPv6 */
};

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

static bool same(const struct slot *s, const struct tcpao_addr *p, uint8_t len)
{
	return s->len == len && s->prefix.family == p->family &&
	       !memcmp(s->prefix.bytes, p->bytes, tcpao_addr_len(p));
}

/* The slot of p/len (p masked), or the empty one where it would go. */
static struct slot *probe(struct slot *slots, size_t nslots,
			  const struct tcpao_addr *p, uint8_t len)
{
	size_t i = hash(p, len) & (nslots - 1);

	while (slots[i].prefix.family && !same(&slots[i], p, len))
		i = (i + 1) & (nslots - 1);
	return &slots[i];
}

static int grow_slots(struct peer_index *ix)
{
	size_t n = ix->nslots ? ix->nslots * 2 : 64;
	struct slot *slots = calloc(n, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->nslots; i++)
		if (ix->slots[i].prefix.family)
			*probe(slots, n, &ix->slots[i].prefix, ix->slots[i].len) = ix->slots[i];
	free(ix->slots);
	ix->slots = slots;
	ix->nslots = n;
	return 0;
}

static int grow_next(struct peer_index *ix, uint32_t id)
{
	size_t cap = ix->next_cap ? ix->next_cap : 64;
	uint32_t *next;

	while (cap <= id)
		cap *= 2;
	if (cap == ix->next_cap)
		return 0;
	next = realloc(ix->next, cap * sizeof(*next));
	if (!next)
		return -ENOMEM;
	ix->next = next;
	ix->next_cap = cap;
	return 0;
}

struct peer_index *peer_index_new(void)
{
	return calloc(1, sizeof(struct peer_index));
}

void peer_index_free(struct peer_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix->next);
	free(ix);
}

struct peer_index *peer_index_clone(const struct peer_index *ix)
{
	struct peer_index *copy = malloc(sizeof(*copy));

	if (!copy)
		return NULL;
	*copy = *ix;
	copy->slots = ix->nslots ? malloc(ix->nslots * sizeof(*ix->slots)) : NULL;
	copy->next = ix->next_cap ? malloc(ix->next_cap * sizeof(*ix->next)) : NULL;
	if ((ix->nslots && !copy->slots) || (ix->next_cap && !copy->next)) {
		peer_index_free(copy);
		return NULL;
	}
	if (ix->nslots)
		memcpy(copy->slots, ix->slots, ix->nslots * sizeof(*ix->slots));
	if (ix->next_cap)
		memcpy(copy->next, ix->next, ix->next_cap * sizeof(*ix->next));
	return copy;
}

static int family_slot(sa_family_t family)
{
	return family == AF_INET ? 0 : family == AF_INET6 ? 1 : -1;
}

int peer_index_add(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id)
{
	int f = family_slot(prefix->family);
	struct tcpao_addr p;
	struct slot *s;

	if (f < 0 || len > tcpao_addr_len(prefix) * 8)
		return -EINVAL;
	if ((2 * (ix->used + 1) > ix->nslots && grow_slots(ix)) || grow_next(ix, id))
		return -ENOMEM;
	masked(prefix, len, &p);
	s = probe(ix->slots, ix->nslots, &p, len);
	ix->next[id] = PEER_INDEX_NONE;
	if (!s->prefix.family) {
		*s = (struct slot){ .prefix = p, .len = len, .first = id, .last = id };
		ix->used++;
	} else {
		ix->next[s->last] = id;
		s->last = id;
	}
	ix->lens[f][len / 64] |= 1ull << (len % 64);
	return 0;
}

uint32_t peer_index_first(const struct peer_index *ix,
			  const struct tcpao_addr *prefix, uint8_t len)
{
	struct tcpao_addr p;
	const struct slot *s;

	if (!ix->nslots || family_slot(prefix->family) < 0)
		return PEER_INDEX_NONE;
	masked(prefix, len, &p);
	s = probe(ix->slots, ix->nslots, &p, len);
	return s->prefix.family ? s->first : PEER_INDEX_NONE;
}

uint32_t peer_index_next(const struct peer_index *ix, uint32_t id)
{
	return id < ix->next_cap ? ix->next[id] : PEER_INDEX_NONE;
}

int peer_index_len_below(const struct peer_index *ix, sa_family_t family,
			 int below)
{
	int f = family_slot(family);

	for (int len = below - 1; f >= 0 && len >= 0; len--)
		if (ix->lens[f][len / 64] & 1ull << (len % 64))
			return len;
	return -1;
}
