// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer index of a ring (keypeers.h): open addressing by peer address,
 * one slot per host key, holding the key's seq (its place in the order of
 * adds, which no later add or delete changes: keyring.c finds the key's
 * index from it). So an add writes one slot and a delete marks one dead.
 * The slots are a persistent table (ptable.h) shared with the ring's
 * copies: a change copies the page it writes. Keys of other prefix
 * lengths are only counted: while there are any, lookups walk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keypeers.h"
#include "ptable.h"

#define BUILD_FROM 32          /* below this, a walk is as cheap */
#define DEAD UINT64_MAX        /* a deleted key's slot (seq 0: empty) */

struct kp_slot {
	uint64_t seq;
	uint8_t family;
	uint8_t addr[16];
};

struct tcpao_keypeers {
	struct ptable slots;  /* slots.n: a power of 2 */
	size_t used;          /* live and dead slots */
	size_t others;        /* keys not indexed */
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

static const struct kp_slot *slot(const struct tcpao_keypeers *x, size_t i)
{
	return ptable_get(&x->slots, i);
}

static int put(struct tcpao_keypeers *x, uint8_t family, const uint8_t addr[16],
	       uint64_t seq)
{
	size_t mask = x->slots.n - 1, i = hash_of(family, addr) & mask;
	struct kp_slot *at;

	for (const struct kp_slot *e = slot(x, i); e->seq && e->seq != DEAD; e = slot(x, i))
		i = (i + 1) & mask;
	if (!(at = ptable_mut(&x->slots, i)))
		return -ENOMEM;
	x->used += !at->seq;
	*at = (struct kp_slot){ .seq = seq, .family = family };
	memcpy(at->addr, addr, 16);
	return 0;
}

/* New slots of cap entries, the live ones moved over (dead ones go). */
static int rehash(struct tcpao_keypeers *x, size_t cap)
{
	struct ptable old = x->slots;

	if (ptable_init(&x->slots, sizeof(struct kp_slot), cap)) {
		x->slots = old;
		return -ENOMEM;
	}
	x->used = 0;
	for (size_t i = 0; i < old.n; i++) {
		const struct kp_slot *e = ptable_get(&old, i);

		if (e->seq && e->seq != DEAD && put(x, e->family, e->addr, e->seq)) {
			ptable_free(&x->slots);
			x->slots = old;
			return -ENOMEM;
		}
	}
	ptable_free(&old);
	return 0;
}

/* live: the host keys with this one. A full table is rebuilt at four
 * times that, its dead slots dropped (churn does not grow it). */
static int insert(struct tcpao_keypeers *x, const struct tcpao_ringkey *k, size_t live)
{
	uint8_t family, addr[16];
	size_t cap = 64;

	if (!host_key(&k->mkt)) {
		x->others++;
		return 0;
	}
	while (cap < live * 4)
		cap *= 2;
	if ((x->used + 1) * 2 > x->slots.n && rehash(x, cap))
		return -ENOMEM;
	slot_key(&k->mkt.peer, &family, addr);
	return put(x, family, addr, k->seq);
}

static int build(struct tcpao_keyring *ring)
{
	struct tcpao_keypeers *x = calloc(1, sizeof(*x));

	if (!x || ptable_init(&x->slots, sizeof(struct kp_slot), 64)) {
		free(x);
		return -ENOMEM;
	}
	ring->peers = x;
	for (size_t i = 0; i < ring->n; i++)
		if (insert(x, tcpao_keyring_at(ring, i), ring->n)) {
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
	rc = insert(ring->peers, tcpao_keyring_at(ring, 0), ring->n - ring->peers->others);
	if (rc)
		keypeers_free(ring);
	return rc;
}

void keypeers_deleting(struct tcpao_keyring *ring, size_t i)
{
	struct tcpao_keypeers *x = ring->peers;
	const struct tcpao_ringkey *k = tcpao_keyring_at(ring, i);
	uint8_t family, addr[16];
	size_t mask;

	if (!x)
		return;
	if (!host_key(&k->mkt)) {
		x->others--;
		return;
	}
	slot_key(&k->mkt.peer, &family, addr);
	mask = x->slots.n - 1;
	for (size_t s = hash_of(family, addr) & mask; slot(x, s)->seq; s = (s + 1) & mask) {
		struct kp_slot *e;

		if (slot(x, s)->seq != k->seq)
			continue; /* seqs are unique: no need to compare addresses */
		if (!(e = ptable_mut(&x->slots, s))) {
			keypeers_free(ring);
			return;
		}
		e->seq = DEAD;
		return;
	}
}

int keypeers_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	struct tcpao_keypeers *x;

	dst->peers = NULL;
	if (!src->peers)
		return 0;
	if (!(x = malloc(sizeof(*x))))
		return -ENOMEM;
	*x = *src->peers;
	ptable_clone(&x->slots, &src->peers->slots);
	dst->peers = x;
	return 0;
}

void keypeers_free(struct tcpao_keyring *ring)
{
	if (ring->peers)
		ptable_free(&ring->peers->slots);
	free(ring->peers);
	ring->peers = NULL;
}

static bool ids_match(const struct tcpao_mkt *k, int sndid, int rcvid)
{
	return (sndid < 0 || k->sndid == sndid) && (rcvid < 0 || k->rcvid == rcvid);
}

/* Calls fn for each key whose peer is `peer` (and its index) until it
 * returns true; -2 when the index cannot tell (others: keys of other
 * prefix lengths, which it does not hold, count), else 0. */
static int each_of(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		   bool others,
		   bool (*fn)(const struct tcpao_mkt *k, int i, void *arg), void *arg)
{
	const struct tcpao_keypeers *x = ring->peers;
	struct tcpao_addr p = *peer;
	uint8_t family, addr[16];
	const struct kp_slot *e;
	size_t mask;

	if (!x || (others && x->others))
		return -2;
	tcpao_addr_unmap(&p);
	if (p.family != AF_INET && p.family != AF_INET6)
		return 0; /* no host key holds it */
	slot_key(&p, &family, addr);
	mask = x->slots.n - 1;
	for (size_t s = hash_of(family, addr) & mask; (e = slot(x, s))->seq;
	     s = (s + 1) & mask) {
		const struct tcpao_ringkey *k;
		size_t i;

		if (e->seq == DEAD || e->family != family || memcmp(e->addr, addr, 16))
			continue;
		if (!(k = keyring_seq_key(ring, e->seq, &i)))
			return -2; /* not the ring it indexes: never seen */
		if (fn(&k->mkt, (int)i, arg))
			break;
	}
	return 0;
}

struct want {
	const struct tcpao_addr *peer;
	int ifindex, sndid, rcvid, best;
};

static bool better(const struct tcpao_mkt *k, int i, void *arg)
{
	struct want *w = arg;

	if ((w->best < 0 || i < w->best) && ids_match(k, w->sndid, w->rcvid) &&
	    tcpao_mkt_matches(k, w->peer, w->ifindex))
		w->best = i;
	return false;
}

int keypeers_find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, int sndid, int rcvid)
{
	struct want w = { peer, ifindex, sndid, rcvid, -1 };

	return each_of(ring, peer, true, better, &w) ? -2 : w.best;
}

static bool any(const struct tcpao_mkt *k, int i, void *arg)
{
	(void)k;
	(void)i;
	*(bool *)arg = true;
	return true;
}

int keypeers_holds(const struct tcpao_keyring *ring, const struct tcpao_addr *remote)
{
	bool found = false;

	return each_of(ring, remote, true, any, &found) ? -1 : found;
}

struct matching {
	const struct tcpao_addr *peer;
	int ifindex;
	int *out;
	size_t cap, n;
};

static bool collect(const struct tcpao_mkt *k, int i, void *arg)
{
	struct matching *m = arg;

	if (!tcpao_mkt_matches(k, m->peer, m->ifindex))
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

	if (each_of(ring, peer, true, collect, &m) || m.n > cap)
		return SIZE_MAX;
	qsort(out, m.n, sizeof(*out), desc);
	return m.n;
}

struct room {
	const struct tcpao_addr *peer;
	int ifindex;
	size_t room;
};

static bool widest(const struct tcpao_mkt *k, int i, void *arg)
{
	struct room *r = arg;

	if (tcpao_ao_room(k->maclen) > r->room && tcpao_mkt_matches(k, r->peer, r->ifindex))
		r->room = tcpao_ao_room(k->maclen);
	return false;
}

size_t keypeers_ao_room(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
			int ifindex)
{
	struct room r = { peer, ifindex, 0 };

	if (each_of(ring, peer, true, widest, &r)) /* the index cannot tell: walk */
		for (size_t i = 0; i < ring->n; i++)
			widest(tcpao_keyring_key(ring, i), (int)i, &r);
	return r.room;
}

struct exact {
	const struct tcpao_addr *peer;
	uint8_t prefixlen, sndid, rcvid;
	int at;
};

static bool same(const struct tcpao_mkt *k, int i, void *arg)
{
	struct exact *e = arg;

	if (k->sndid != e->sndid || k->rcvid != e->rcvid || k->prefixlen != e->prefixlen ||
	    !tcpao_addr_equal(&k->peer, e->peer))
		return false;
	e->at = i;
	return true;
}

int keypeers_exact(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		   uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	struct exact e = { peer, prefixlen, sndid, rcvid, -1 };
	struct tcpao_mkt k = { .peer = *peer, .prefixlen = prefixlen };

	if (!host_key(&k))
		return -2; /* not a key the index holds */
	return each_of(ring, peer, false, same, &e) ? -2 : e.at;
}
