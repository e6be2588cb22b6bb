// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer index of a ring (keypeers.h): open addressing by peer address,
 * one slot per host key, holding the key's rank from the ring's end
 * (n - index). A key added at the head takes rank n and leaves every other
 * rank as it was, so an add is O(1); a delete lowers the ranks above the
 * deleted key's (one pass, as the ring's own memmove). Keys of other
 * prefix lengths are only counted: while there are any, lookups walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keypeers.h"

#define BUILD_FROM 32          /* below this, a walk is as cheap */
#define DEAD UINT32_MAX        /* a deleted key's slot (rank 0: empty) */

struct kp_slot {
	uint32_t rank;
	uint8_t family;
	uint8_t addr[16];
};

struct tcpao_keypeers {
	struct kp_slot *slots;
	size_t cap, used;   /* used: live and dead slots */
	size_t others;      /* keys not indexed */
};

/* A /32 or a /128 that is not IPv4-mapped: what the index holds. */
static bool host_key(const struct tcpao_mkt *k)
{
	if (k->peer.family == AF_INET)
		return k->prefixlen == 32;
	if (k->peer.family != AF_INET6 || k->prefixlen != 128)
		return false;
	return memcmp(k->peer.bytes, (const uint8_t[12]){ [10] = 0xff, [11] = 0xff }, 12);
}

static size_t hash_of(uint8_t family, const uint8_t addr[16])
{
	uint64_t a, b, h;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ family) * 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (size_t)(h ^ h >> 33);
}

static void slot_key(const struct tcpao_addr *a, uint8_t *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	*family = (uint8_t)a->family;
	memcpy(addr, a->bytes, tcpao_addr_len(a));
}

static void put(struct tcpao_keypeers *x, uint8_t family, const uint8_t addr[16],
		uint32_t rank)
{
	size_t i = hash_of(family, addr) & (x->cap - 1);

	while (x->slots[i].rank && x->slots[i].rank != DEAD)
		i = (i + 1) & (x->cap - 1);
	x->used += !x->slots[i].rank;
	x->slots[i] = (struct kp_slot){ .rank = rank, .family = family };
	memcpy(x->slots[i].addr, addr, 16);
}

/* New slots of cap entries, the live ones moved over (dead ones go). */
static int rehash(struct tcpao_keypeers *x, size_t cap)
{
	struct kp_slot *old = x->slots;
	size_t oldcap = x->cap;

	x->slots = calloc(cap, sizeof(*x->slots));
	if (!x->slots) {
		x->slots = old;
		return -ENOMEM;
	}
	x->cap = cap;
	x->used = 0;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].rank && old[i].rank != DEAD)
			put(x, old[i].family, old[i].addr, old[i].rank);
	free(old);
	return 0;
}

/* live: the host keys with this one. A full table is rebuilt at four
 * times that, its dead slots dropped (churn does not grow it). */
static int insert(struct tcpao_keypeers *x, const struct tcpao_mkt *k, uint32_t rank,
		  size_t live)
{
	uint8_t family, addr[16];
	size_t cap = 64;

	if (!host_key(k)) {
		x->others++;
		return 0;
	}
	while (cap < live * 4)
		cap *= 2;
	if ((x->used + 1) * 2 > x->cap && rehash(x, cap))
		return -ENOMEM;
	slot_key(&k->peer, &family, addr);
	put(x, family, addr, rank);
	return 0;
}

static int build(struct tcpao_keyring *ring)
{
	struct tcpao_keypeers *x = calloc(1, sizeof(*x));

	if (!x || !(x->slots = calloc(64, sizeof(*x->slots)))) {
		free(x);
		return -ENOMEM;
	}
	x->cap = 64;
	ring->peers = x;
	for (size_t i = 0; i < ring->n; i++)
		if (insert(x, &ring->keys[i], (uint32_t)(ring->n - i), ring->n)) {
			keypeers_free(ring);
			return -ENOMEM;
		}
	return 0;
}

int keypeers_added(struct tcpao_keyring *ring)
{
	int rc;

	if (!ring->peers)
		return ring->n >= BUILD_FROM ? build(ring) : 0;
	rc = insert(ring->peers, &ring->keys[0], (uint32_t)ring->n,
		    ring->n - ring->peers->others);
	if (rc)
		keypeers_free(ring);
	return rc;
}

void keypeers_deleting(struct tcpao_keyring *ring, size_t i)
{
	struct tcpao_keypeers *x = ring->peers;
	const struct tcpao_mkt *k = &ring->keys[i];
	uint32_t rank = (uint32_t)(ring->n - i);

	if (!x)
		return;
	if (!host_key(k))
		x->others--;
	for (size_t s = 0; s < x->cap; s++) {
		if (x->slots[s].rank == rank)
			x->slots[s].rank = DEAD;
		else if (x->slots[s].rank > rank && x->slots[s].rank != DEAD)
			x->slots[s].rank--;
	}
}

int keypeers_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	const struct tcpao_keypeers *s = src->peers;
	struct tcpao_keypeers *x;

	dst->peers = NULL;
	if (!s)
		return 0;
	x = malloc(sizeof(*x));
	if (!x || !(x->slots = malloc(s->cap * sizeof(*s->slots)))) {
		free(x);
		return -ENOMEM;
	}
	*x = (struct tcpao_keypeers){ .slots = x->slots, .cap = s->cap,
				      .used = s->used, .others = s->others };
	memcpy(x->slots, s->slots, s->cap * sizeof(*s->slots));
	dst->peers = x;
	return 0;
}

void keypeers_free(struct tcpao_keyring *ring)
{
	if (ring->peers)
		free(ring->peers->slots);
	free(ring->peers);
	ring->peers = NULL;
}

static bool ids_match(const struct tcpao_mkt *k, int sndid, int rcvid)
{
	return (sndid < 0 || k->sndid == sndid) && (rcvid < 0 || k->rcvid == rcvid);
}

/* Calls fn for the index of each key whose peer is `peer` until it
 * returns true; -2 when the index cannot tell, else 0. */
static int each_of(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		   bool (*fn)(const struct tcpao_keyring *ring, int i, void *arg),
		   void *arg)
{
	const struct tcpao_keypeers *x = ring->peers;
	struct tcpao_addr p = *peer;
	uint8_t family, addr[16];

	if (!x || x->others)
		return -2;
	tcpao_addr_unmap(&p);
	if (p.family != AF_INET && p.family != AF_INET6)
		return 0; /* no host key holds it */
	slot_key(&p, &family, addr);
	for (size_t s = hash_of(family, addr) & (x->cap - 1); x->slots[s].rank;
	     s = (s + 1) & (x->cap - 1)) {
		const struct kp_slot *e = &x->slots[s];

		if (e->rank != DEAD && e->family == family && !memcmp(e->addr, addr, 16) &&
		    fn(ring, (int)(ring->n - e->rank), arg))
			break;
	}
	return 0;
}

struct want {
	const struct tcpao_addr *peer;
	int ifindex, sndid, rcvid, best;
};

static bool better(const struct tcpao_keyring *ring, int i, void *arg)
{
	struct want *w = arg;

	if ((w->best < 0 || i < w->best) && ids_match(&ring->keys[i], w->sndid, w->rcvid) &&
	    tcpao_mkt_matches(&ring->keys[i], w->peer, w->ifindex))
		w->best = i;
	return false;
}

int keypeers_find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, int sndid, int rcvid)
{
	struct want w = { peer, ifindex, sndid, rcvid, -1 };

	return each_of(ring, peer, better, &w) ? -2 : w.best;
}

static bool any(const struct tcpao_keyring *ring, int i, void *arg)
{
	(void)ring;
	(void)i;
	*(bool *)arg = true;
	return true;
}

int keypeers_holds(const struct tcpao_keyring *ring, const struct tcpao_addr *remote)
{
	bool found = false;

	return each_of(ring, remote, any, &found) ? -1 : found;
}

struct matching {
	const struct tcpao_addr *peer;
	int ifindex;
	int *out;
	size_t cap, n;
};

static bool collect(const struct tcpao_keyring *ring, int i, void *arg)
{
	struct matching *m = arg;

	if (!tcpao_mkt_matches(&ring->keys[i], m->peer, m->ifindex))
		return false;
	if (m->n < m->cap)
		m->out[m->n] = i;
	m->n++;
	return false;
}

static int desc(const void *a, const void *b)
{
	return *(const int *)b - *(const int *)a;
}

size_t keypeers_matching(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
			 int ifindex, int *out, size_t cap)
{
	struct matching m = { peer, ifindex, out, cap, 0 };

	if (each_of(ring, peer, collect, &m) || m.n > cap)
		return SIZE_MAX;
	qsort(out, m.n, sizeof(*out), desc);
	return m.n;
}
