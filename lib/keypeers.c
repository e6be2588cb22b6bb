// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer index of a ring (keypeers.h): open addressing by peer address,
 * one slot per host key, holding the key's seq (its place in the order of
 * adds, which no later add or delete changes: keyring.c finds the key's
 * index from it) and where the key sat when the slot was written (tried
 * first: most keys never move). So an add writes one slot and a delete
 * marks one dead.
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

/* A probe's parts are inlined into every lookup: the peer's name stays in
 * registers (a store and a load of it cost a stall) and each_of()'s fn
 * becomes a direct call (measured: 100 keys, 21.4 -> 19.3 ns). */
#define PROBE_PART static inline __attribute__((always_inline))

/* A peer as the index names it: its address in two words (IPv4 in the
 * low bytes of the first), built in registers so that hashing and
 * comparing them are a few instructions. */
struct kp_name {
	uint64_t w[2];
	uint32_t family;
};

struct kp_slot {
	uint64_t seq;
	uint64_t w[2];
	uint32_t family;
	uint32_t where;  /* keyring_where() when written */
};
_Static_assert(sizeof(struct kp_slot) == 32, "two slots a cache line");

struct tcpao_keypeers {
	struct ptable slots;  /* slots.n: a power of 2 */
	size_t used;          /* live and dead slots */
	size_t others;        /* keys not indexed */
};

/* ::ffff:0:0/96, compared as words (memcmp is a call). */
static bool v4_mapped(const uint8_t *b)
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };
	uint64_t w0;
	uint32_t w1, ffff;

	memcpy(&w0, b, 8);
	memcpy(&w1, b + 8, 4);
	memcpy(&ffff, prefix + 8, 4);
	return !w0 && w1 == ffff;
}

/* A /32 or a /128 that is not IPv4-mapped: what the index holds. */
static bool host_key(const struct tcpao_mkt *k)
{
	if (k->peer.family == AF_INET)
		return k->prefixlen == 32;
	if (k->peer.family != AF_INET6 || k->prefixlen != 128)
		return false;
	return !v4_mapped(k->peer.bytes);
}

/* The name of a (remote) address, an IPv4-mapped one as IPv4; false for
 * a family no host key has. */
PROBE_PART bool name_of(const struct tcpao_addr *a, struct kp_name *n)
{
	uint32_t v4;

	if (a->family == AF_INET6 && !v4_mapped(a->bytes)) {
		memcpy(n->w, a->bytes, 16);
		n->family = AF_INET6;
		return true;
	}
	if (a->family != AF_INET && a->family != AF_INET6)
		return false;
	memcpy(&v4, a->family == AF_INET ? a->bytes : a->bytes + 12, 4);
	*n = (struct kp_name){ .w = { v4, 0 }, .family = AF_INET };
	return true;
}

static bool names(const struct kp_slot *e, const struct kp_name *n)
{
	return e->w[0] == n->w[0] && e->w[1] == n->w[1] && e->family == n->family;
}

static size_t hash_of(const struct kp_name *n)
{
	uint64_t h = (n->w[0] ^ (n->w[1] * 0x9e3779b97f4a7c15ull) ^ n->family) *
		     0xff51afd7ed558ccdull;

	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (size_t)(h ^ h >> 33);
}

static const struct kp_slot *slot(const struct tcpao_keypeers *x, size_t i)
{
	return ptable_get(&x->slots, i);
}

/* The next slot of a probe: the one after e in its page, if there is one
 * (no walk down the table's pages). */
static const struct kp_slot *next_slot(const struct tcpao_keypeers *x,
				       const struct kp_slot *e, size_t *s)
{
	*s = (*s + 1) & (x->slots.n - 1);
	return ptable_same_page(&x->slots, *s) ? e + 1 : slot(x, *s);
}

static int put(struct tcpao_keypeers *x, const struct kp_name *name, uint64_t seq,
	       uint32_t where)
{
	size_t i = hash_of(name) & (x->slots.n - 1);
	struct kp_slot *at;

	for (const struct kp_slot *e = slot(x, i); e->seq && e->seq != DEAD;)
		e = next_slot(x, e, &i);
	if (!(at = ptable_mut(&x->slots, i)))
		return -ENOMEM;
	x->used += !at->seq;
	*at = (struct kp_slot){ .seq = seq, .w = { name->w[0], name->w[1] },
				.family = name->family, .where = where };
	return 0;
}

/* The key a slot names, where it was or by the searches; NULL if the
 * slot is not of this ring. */
PROBE_PART const struct tcpao_ringkey *slot_key(const struct tcpao_keyring *ring,
						 const struct kp_slot *e, size_t *i)
{
	const struct tcpao_ringkey *k = keyring_key_at(ring, e->where, e->seq, i);

	return k ? k : keyring_seq_key(ring, e->seq, i);
}

/* Where the key of a slot is now (a rehash refreshes the places). */
static uint32_t where_now(const struct tcpao_keyring *ring, const struct kp_slot *e)
{
	size_t i;

	return slot_key(ring, e, &i) ? keyring_where(ring, i) : e->where;
}

/* New slots of cap entries, the live ones moved over (dead ones go). */
static int rehash(struct tcpao_keypeers *x, const struct tcpao_keyring *ring, size_t cap)
{
	struct ptable old = x->slots;

	if (ptable_init(&x->slots, sizeof(struct kp_slot), cap)) {
		x->slots = old;
		return -ENOMEM;
	}
	x->used = 0;
	for (size_t i = 0; i < old.n; i++) {
		const struct kp_slot *e = ptable_get(&old, i);
		struct kp_name name = { { e->w[0], e->w[1] }, e->family };

		if (e->seq && e->seq != DEAD && put(x, &name, e->seq, where_now(ring, e))) {
			ptable_free(&x->slots);
			x->slots = old;
			return -ENOMEM;
		}
	}
	ptable_free(&old);
	return 0;
}

/* Key i of ring; live: the host keys with this one. A full table is
 * rebuilt at four times that, its dead slots dropped (churn does not
 * grow it). */
static int insert(struct tcpao_keypeers *x, const struct tcpao_keyring *ring, size_t i,
		  size_t live)
{
	const struct tcpao_ringkey *k = tcpao_keyring_at(ring, i);
	struct kp_name name;
	size_t cap = 64;

	if (!host_key(&k->mkt)) {
		x->others++;
		return 0;
	}
	while (cap < live * 4)
		cap *= 2;
	if ((x->used + 1) * 2 > x->slots.n && rehash(x, ring, cap))
		return -ENOMEM;
	name_of(&k->mkt.peer, &name);
	return put(x, &name, k->seq, keyring_where(ring, i));
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
		if (insert(x, ring, i, ring->n)) {
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
	rc = insert(ring->peers, ring, 0, ring->n - ring->peers->others);
	if (rc)
		keypeers_free(ring);
	return rc;
}

void keypeers_deleting(struct tcpao_keyring *ring, size_t i)
{
	struct tcpao_keypeers *x = ring->peers;
	const struct tcpao_ringkey *k = tcpao_keyring_at(ring, i);
	const struct kp_slot *e;
	struct kp_name name;
	size_t s;

	if (!x)
		return;
	if (!host_key(&k->mkt)) {
		x->others--;
		return;
	}
	name_of(&k->mkt.peer, &name);
	s = hash_of(&name) & (x->slots.n - 1);
	for (e = slot(x, s); e->seq; e = next_slot(x, e, &s)) {
		struct kp_slot *dead;

		if (e->seq != k->seq)
			continue; /* seqs are unique: no need to compare names */
		if (!(dead = ptable_mut(&x->slots, s))) {
			keypeers_free(ring);
			return;
		}
		dead->seq = DEAD;
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

/* A probe for the live slots that name a peer. */
struct probe {
	const struct tcpao_keypeers *x;
	struct kp_name name;
	const struct kp_slot *e;
	size_t s;
};

/* Starts a probe of ring's index for peer; false when the index cannot
 * tell (none, or others: keys of other prefix lengths, which it does not
 * hold, count). A peer of no family a host key has probes nothing. */
PROBE_PART bool probe_start(struct probe *p, const struct tcpao_keyring *ring,
			const struct tcpao_addr *peer, bool others)
{
	p->x = ring->peers;
	if (!p->x || (others && p->x->others))
		return false;
	p->e = NULL;
	if (name_of(peer, &p->name)) {
		p->s = hash_of(&p->name) & (p->x->slots.n - 1);
		p->e = slot(p->x, p->s);
	}
	return true;
}

/* The probe's next slot naming its peer, NULL when no more. */
PROBE_PART const struct kp_slot *probe_next(struct probe *p)
{
	const struct kp_slot *e;

	while (p->e && p->e->seq) {
		e = p->e;
		p->e = next_slot(p->x, e, &p->s);
		if (e->seq != DEAD && names(e, &p->name))
			return e;
	}
	return NULL;
}

/* Calls fn for each key whose peer is `peer` (and its index) until it
 * returns true; -2 when the index cannot tell, else 0. fn's keys match
 * the peer: only their VRF is left to check. */
PROBE_PART int each_of(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		   bool others,
		   bool (*fn)(const struct tcpao_ringkey *k, int i, void *arg), void *arg)
{
	const struct kp_slot *e;
	struct probe p;

	if (!probe_start(&p, ring, peer, others))
		return -2;
	while ((e = probe_next(&p))) {
		const struct tcpao_ringkey *k;
		size_t i;

		if (!(k = slot_key(ring, e, &i)))
			return -2; /* not the ring it indexes: never seen */
		if (fn(k, (int)i, arg))
			break;
	}
	return 0;
}

struct want {
	int ifindex, sndid, rcvid, best;
	const struct tcpao_ringkey *key;
};

static bool better(const struct tcpao_ringkey *rk, int i, void *arg)
{
	const struct tcpao_mkt *k = &rk->mkt;
	struct want *w = arg;

	if ((w->best < 0 || i < w->best) && ids_match(k, w->sndid, w->rcvid) &&
	    tcpao_mkt_in_vrf(k, w->ifindex)) {
		w->best = i;
		w->key = rk;
	}
	return false;
}

int keypeers_find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, int sndid, int rcvid, const struct tcpao_ringkey **key)
{
	struct want w = { ifindex, sndid, rcvid, -1, NULL };

	if (each_of(ring, peer, true, better, &w))
		return -2;
	*key = w.key;
	return w.best;
}

/* A slot that names the peer is a key of it: no key to look at. */
int keypeers_holds(const struct tcpao_keyring *ring, const struct tcpao_addr *remote)
{
	struct probe p;

	return probe_start(&p, ring, remote, true) ? probe_next(&p) != NULL : -1;
}

struct matching {
	int ifindex;
	int *out;
	size_t cap, n;
};

static bool collect(const struct tcpao_ringkey *rk, int i, void *arg)
{
	const struct tcpao_mkt *k = &rk->mkt;
	struct matching *m = arg;

	if (!tcpao_mkt_in_vrf(k, m->ifindex))
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
	struct matching m = { ifindex, out, cap, 0 };

	if (each_of(ring, peer, true, collect, &m) || m.n > cap)
		return SIZE_MAX;
	qsort(out, m.n, sizeof(*out), desc);
	return m.n;
}

struct syn {
	int ifindex;
	uint8_t keyid, rnext;
	struct tcpao_synkeys *out;
};

/* The first in the ring's order: the newest, the last added. */
static void take_first(const struct tcpao_ringkey **at, const struct tcpao_ringkey *k)
{
	if (!*at || k->seq > (*at)->seq)
		*at = k;
}

/* A key of the SYN's peer and VRF: what it offers the SYN. */
static void syn_take(const struct tcpao_ringkey *rk, struct syn *w)
{
	const struct tcpao_mkt *k = &rk->mkt;

	if (k->rcvid == w->keyid)
		take_first(&w->out->rcv, rk);
	if (k->sndid == w->rnext)
		take_first(&w->out->snd, rk);
	if (tcpao_ao_room(k->maclen) > w->out->room)
		w->out->room = tcpao_ao_room(k->maclen);
}

/* A key of the SYN's peer (each_of()): its VRF is left to check. */
static bool syn_key(const struct tcpao_ringkey *rk, int i, void *arg)
{
	struct syn *w = arg;

	(void)i;
	if (tcpao_mkt_in_vrf(&rk->mkt, w->ifindex))
		syn_take(rk, w);
	return false;
}

void keypeers_syn(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, uint8_t keyid, uint8_t rnext, struct tcpao_synkeys *out)
{
	struct syn w = { ifindex, keyid, rnext, out };

	*out = (struct tcpao_synkeys){ 0 };
	if (each_of(ring, peer, true, syn_key, &w)) /* the index cannot tell: walk */
		for (size_t i = 0; i < ring->n; i++) {
			const struct tcpao_ringkey *k = tcpao_keyring_at(ring, i);

			if (tcpao_mkt_matches(&k->mkt, peer, ifindex))
				syn_take(k, &w);
		}
}

struct exact {
	const struct tcpao_addr *peer;
	uint8_t prefixlen, sndid, rcvid;
	int at;
};

static bool same(const struct tcpao_ringkey *rk, int i, void *arg)
{
	const struct tcpao_mkt *k = &rk->mkt;
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
