// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A hash table of connections keyed by 4-tuple. Open addressing with
 * linear probing over pointers; it doubles at half load, so a lookup is a
 * hash and a compare or two, and nothing is allocated per segment.
 */
#include <stdlib.h>
#include <string.h>

#include "flows.h"

#define FLOWS_INITIAL 64

/* The key of a segment and the side (0 or 1) its sender is on. */
static int make_key(const struct tcpao_seg *seg, struct flow_key *key)
{
	size_t alen = tcpao_addr_len(&seg->saddr);
	int cmp = memcmp(seg->saddr.bytes, seg->daddr.bytes, alen);
	int side = cmp > 0 || (cmp == 0 && seg->sport > seg->dport);

	memset(key, 0, sizeof(*key));
	key->family = (uint8_t)seg->saddr.family;
	memcpy(key->addr[side], seg->saddr.bytes, alen);
	memcpy(key->addr[!side], seg->daddr.bytes, alen);
	key->port[side] = seg->sport;
	key->port[!side] = seg->dport;
	return side;
}

/* FNV-1a over the key's bytes (the key is zero-filled, so padding and
 * unused address bytes hash alike). */
static size_t hash_key(const struct flow_key *key)
{
	const uint8_t *p = (const uint8_t *)key;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < sizeof(*key); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ h >> 32);
}

static size_t slot_of(const struct flows *ft, const struct flow_key *key)
{
	size_t i = hash_key(key) & (ft->cap - 1);

	while (ft->slots[i] && memcmp(&ft->slots[i]->key, key, sizeof(*key)))
		i = (i + 1) & (ft->cap - 1);
	return i;
}

void flows_init(struct flows *ft, size_t limit)
{
	memset(ft, 0, sizeof(*ft));
	ft->limit = limit;
}

void flows_free(struct flows *ft)
{
	for (size_t i = 0; i < ft->cap; i++) {
		struct flow *flow = ft->slots[i];

		if (!flow)
			continue;
		tcpao_dir_wipe(&flow->dir[0]);
		tcpao_dir_wipe(&flow->dir[1]);
		free(flow);
	}
	free(ft->slots);
	memset(ft, 0, sizeof(*ft));
}

struct flow *flows_find(const struct flows *ft, const struct tcpao_seg *seg,
			int *side)
{
	struct flow_key key;

	*side = make_key(seg, &key);
	return ft->cap ? ft->slots[slot_of(ft, &key)] : NULL;
}

static bool grow(struct flows *ft)
{
	size_t cap = ft->cap ? ft->cap * 2 : FLOWS_INITIAL;
	struct flow **old = ft->slots;
	size_t oldcap = ft->cap;

	ft->slots = calloc(cap, sizeof(*ft->slots));
	if (!ft->slots) {
		ft->slots = old;
		return false;
	}
	ft->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i])
			ft->slots[slot_of(ft, &old[i]->key)] = old[i];
	free(old);
	return true;
}

/* A direction starts with the addresses and ports of its sender. */
void flow_reset_dir(struct flow *flow, int side)
{
	struct tcpao_seg seg = { 0 };

	tcpao_dir_wipe(&flow->dir[side]);
	seg.saddr.family = seg.daddr.family = flow->key.family;
	memcpy(seg.saddr.bytes, flow->key.addr[side], 16);
	memcpy(seg.daddr.bytes, flow->key.addr[!side], 16);
	seg.sport = flow->key.port[side];
	seg.dport = flow->key.port[!side];
	tcpao_dir_init(&flow->dir[side], &seg);
}

void flow_reset(struct flow *flow)
{
	flow_reset_dir(flow, 0);
	flow_reset_dir(flow, 1);
	flow->client = FLOW_SIDE_UNKNOWN;
}

struct flow *flows_get(struct flows *ft, const struct tcpao_seg *seg,
		       int *side)
{
	struct flow_key key;
	struct flow *flow;
	size_t i;

	*side = make_key(seg, &key);
	if (ft->cap) {
		flow = ft->slots[slot_of(ft, &key)];
		if (flow)
			return flow;
	}
	if (ft->count >= ft->limit)
		return NULL;
	if ((ft->count + 1) * 2 > ft->cap && !grow(ft))
		return NULL;
	flow = calloc(1, sizeof(*flow));
	if (!flow)
		return NULL;
	flow->key = key;
	flow->last_key[0] = flow->last_key[1] = -1;
	flow_reset(flow);
	i = slot_of(ft, &key);
	ft->slots[i] = flow;
	ft->count++;
	return flow;
}
