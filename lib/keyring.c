// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A set of MKTs, newest first as Linux keeps them, each with a serial that
 * names its version in traffic-key caches.
 *
 * The keys sit in chunks of up to CHUNK, oldest first, each listed by a
 * span (with the rank, seq and serial of its first key); the spans sit in
 * groups of up to GROUP, listed by the ring's own array. Versions of a
 * ring share groups (counted) and chunks (counted holders: the groups that
 * list them): a copy takes the array of groups, a change copies the one
 * group and the one chunk it writes if another version holds them. So a
 * change to a published ring costs its groups, a group and a chunk, not
 * its keys nor its spans (a listener with 100,000 peers' keys: 800 spans
 * in 25 groups). Adjacent chunks of a group hold more than CHUNK / 2 keys
 * together (a delete merges them otherwise), and adjacent groups more
 * than GROUP / 2 spans, so churn keeps both linear in n.
 *
 * The sndid/rcvid clash check asks a hash index (built once a ring holds
 * INDEX_FROM keys) instead of walking every key. Only changes read it, so
 * it is not copied: a copy takes it over (see struct tcpao_keyidx).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "keypeers.h"
#include "tcpao.h"

#define INDEX_FROM 32         /* below this, a walk is cheaper */
#define CHUNK_SHIFT KEYRING_CHUNK_SHIFT
#define CHUNK (1 << CHUNK_SHIFT)    /* keys per chunk, at most */
#define GROUP TCPAO_KEYGROUP        /* spans per group, at most (32) */
#define GROUP_SHIFT KEYRING_GROUP_SHIFT
_Static_assert(GROUP << CHUNK_SHIFT == 1 << GROUP_SHIFT, "keys per full group");
#define IFX_ANY INT32_MIN     /* a key without TCPAO_MKT_IFINDEX */

/* One (id, prefix) that some keys hold, and how many. */
struct idx_slot {
	uint8_t used, rcv, id, len;
	uint8_t family, pad[3];
	int32_t ifx;
	uint32_t count;
	uint8_t addr[16];
};

/* How many groups hold each chunk of a ring and of the copies made from
 * it, by chunk id: a group's copy or free counts its chunks' holders in
 * this one small array instead of touching every chunk. */
struct tcpao_keyrefs {
	unsigned ref;               /* rings sharing it */
	uint32_t n, cap, nfree;     /* ids given, room, ids to give again */
	uint32_t *holders;          /* per id */
	uint32_t *free;
};

/* Held by the ring it was built on and its copies (ref), but kept up to
 * date by one of them only, the last copy made (owner: its id), which is
 * the one that changes next; the others build their own if they change. */
struct tcpao_keyidx {
	unsigned ref;
	uint64_t owner;
	struct idx_slot *slots;
	size_t cap, used;           /* cap: a power of 2 */
	uint32_t lens[2][129];      /* keys per prefix length, v4 / v6 */
	uint32_t unspec;            /* keys with no peer: they overlap all */
	uint32_t bound;             /* keys with TCPAO_MKT_IFINDEX */
};

static uint64_t ring_ids; /* names rings for their clash index */

void tcpao_keyring_init(struct tcpao_keyring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->next_serial = 1;
	ring->next_seq = 1;
	ring->id = __atomic_add_fetch(&ring_ids, 1, __ATOMIC_RELAXED);
}

static void idx_free(struct tcpao_keyring *ring)
{
	struct tcpao_keyidx *x = ring->idx;

	ring->idx = NULL;
	if (!x || --x->ref)
		return;
	free(x->slots);
	free(x);
}

/* The ring's clash index if it keeps it up to date, else none (a stale
 * one let go). */
static struct tcpao_keyidx *idx_own(struct tcpao_keyring *ring)
{
	if (ring->idx && ring->idx->owner != ring->id)
		idx_free(ring);
	return ring->idx;
}

/* A group lets go of chunk c (of this id); the last holder wipes the
 * secrets. */
static void chunk_put(struct tcpao_keyring *ring, struct tcpao_keychunk *c, uint32_t id)
{
	struct tcpao_keyrefs *t = ring->refs;

	if (--t->holders[id])
		return;
	t->free[t->nfree++] = id;
	explicit_bzero(c, sizeof(*c) + c->cap * sizeof(c->k[0]));
	free(c);
}

static void refs_put(struct tcpao_keyring *ring)
{
	struct tcpao_keyrefs *t = ring->refs;

	ring->refs = NULL;
	if (!t || --t->ref)
		return;
	free(t->holders);
	free(t->free);
	free(t);
}

/* A version lets go of group g; the last one lets go of its chunks. */
static void group_put(struct tcpao_keyring *ring, struct tcpao_keygroup *g)
{
	if (--g->ref)
		return;
	for (uint32_t j = 0; j < g->n; j++)
		chunk_put(ring, g->s[j].chunk, g->s[j].id);
	free(g);
}

void tcpao_keyring_free(struct tcpao_keyring *ring)
{
	for (size_t g = 0; g < ring->ngroups; g++)
		group_put(ring, ring->groups[g].group);
	free(ring->groups);
	refs_put(ring);
	idx_free(ring);
	keypeers_free(ring);
	tcpao_keyring_init(ring);
}

/* ---- the clash index ---------------------------------------------------- */

static void slot_of(struct idx_slot *s, const struct tcpao_mkt *k, bool rcv,
		    uint8_t len, int32_t ifx)
{
	memset(s, 0, sizeof(*s));
	s->rcv = rcv;
	s->id = rcv ? k->rcvid : k->sndid;
	s->len = len;
	s->family = k->peer.family == AF_INET6;
	s->ifx = ifx;
	/* The peer's first len bits. */
	for (size_t i = 0; i < len / 8u; i++)
		s->addr[i] = k->peer.bytes[i];
	if (len % 8)
		s->addr[len / 8] = k->peer.bytes[len / 8] & (uint8_t)(0xff00 >> (len % 8));
}

/* FNV-1a of what names the slot (not used, not count). */
static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static size_t slot_hash(const struct idx_slot *s)
{
	uint64_t h = fnv(0xcbf29ce484222325ull, &s->rcv,
			 offsetof(struct idx_slot, count) - offsetof(struct idx_slot, rcv));

	h = fnv(h, s->addr, sizeof(s->addr));
	/* FNV's low bits are weak: a 64-bit finalizer spreads them. */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return (size_t)(h ^ h >> 33);
}

static bool slot_same(const struct idx_slot *a, const struct idx_slot *b)
{
	return !memcmp(&a->rcv, &b->rcv, offsetof(struct idx_slot, count) -
					 offsetof(struct idx_slot, rcv)) &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

static struct idx_slot *idx_find(struct tcpao_keyidx *x, const struct idx_slot *want)
{
	size_t i = slot_hash(want) & (x->cap - 1);

	while (x->slots[i].used && !slot_same(&x->slots[i], want))
		i = (i + 1) & (x->cap - 1);
	return &x->slots[i];
}

/* A clash index of 100,000 keys is 32 MB, probed at random: on 4 KB
 * pages nearly every probe misses the TLB (measured: 3-25 µs more per
 * add at 100,000 keys in a VM). Large tables ask for huge pages. */
#define HUGE_PAGE ((size_t)2 << 20)

static struct idx_slot *slots_alloc(size_t cap)
{
	size_t bytes = cap * sizeof(struct idx_slot);
	void *p;

	if (bytes < HUGE_PAGE)
		return calloc(cap, sizeof(struct idx_slot));
	p = aligned_alloc(HUGE_PAGE, bytes); /* cap: a power of two */
	if (!p)
		return NULL;
	madvise(p, bytes, MADV_HUGEPAGE); /* a hint: 4 KB pages still work */
	return memset(p, 0, bytes);
}

static int idx_rehash(struct tcpao_keyidx *x, size_t cap)
{
	struct idx_slot *old = x->slots;
	size_t oldcap = x->cap;

	x->slots = slots_alloc(cap);
	if (!x->slots) {
		x->slots = old;
		return -ENOMEM;
	}
	x->cap = cap;
	x->used = 0;
	for (size_t i = 0; i < oldcap; i++) {
		if (!old[i].used || !old[i].count)
			continue; /* emptied slots go */
		*idx_find(x, &old[i]) = old[i];
		x->used++;
	}
	free(old);
	return 0;
}

/* Half full: rebuilt at four times its live slots (at least 64), so that
 * the slots of deleted keys do not make it grow under churn. */
static int idx_refit(struct tcpao_keyidx *x)
{
	size_t live = 0, cap = 64;

	for (size_t i = 0; i < x->cap; i++)
		live += x->slots[i].used && x->slots[i].count;
	while (cap < live * 4)
		cap *= 2;
	return idx_rehash(x, cap);
}

static int32_t ifx_of(const struct tcpao_mkt *k)
{
	return (k->flags & TCPAO_MKT_IFINDEX) ? k->ifindex : IFX_ANY;
}

static bool has_peer(const struct tcpao_mkt *k)
{
	return k->peer.family == AF_INET || k->peer.family == AF_INET6;
}

/* Counts a key in (delta 1) or out (delta -1); -ENOMEM leaves it as it
 * was. */
static int idx_count(struct tcpao_keyidx *x, const struct tcpao_mkt *k, int delta)
{
	if (!has_peer(k)) {
		x->unspec += (uint32_t)delta;
		return 0;
	}
	if (delta > 0 && x->used * 2 >= x->cap && idx_refit(x))
		return -ENOMEM;
	for (int rcv = 0; rcv < 2; rcv++) {
		struct idx_slot want, *s;

		slot_of(&want, k, rcv, k->prefixlen, ifx_of(k));
		s = idx_find(x, &want);
		if (!s->used) {
			*s = want;
			s->used = 1;
			x->used++;
		}
		s->count += (uint32_t)delta;
	}
	x->lens[k->peer.family == AF_INET6][k->prefixlen] += (uint32_t)delta;
	x->bound += (k->flags & TCPAO_MKT_IFINDEX) ? (uint32_t)delta : 0;
	return 0;
}

static int idx_build(struct tcpao_keyring *ring)
{
	struct tcpao_keyidx *x = calloc(1, sizeof(*x));

	if (!x || idx_rehash(x, 64)) {
		free(x);
		return -ENOMEM;
	}
	x->ref = 1;
	x->owner = ring->id;
	ring->idx = x;
	for (size_t i = 0; i < ring->n; i++)
		if (idx_count(x, tcpao_keyring_key(ring, i), 1)) {
			idx_free(ring);
			return -ENOMEM;
		}
	return 0;
}

static bool idx_holds(struct tcpao_keyidx *x, const struct tcpao_mkt *k,
		      bool rcv, uint8_t len, int32_t ifx)
{
	struct idx_slot want, *s;

	slot_of(&want, k, rcv, len, ifx);
	s = idx_find(x, &want);
	return s->used && s->count;
}

/* 1: a clash, 0: none, -1: the index cannot tell (walk the keys). A key
 * of prefix length l clashes when it holds the new key's peer in its
 * first l bits; only shorter-or-equal lengths can be looked up. */
static int idx_clash(struct tcpao_keyidx *x, const struct tcpao_mkt *k)
{
	int32_t ifx = (k->flags & TCPAO_MKT_IFINDEX) ? k->ifindex : 0;
	unsigned fam = k->peer.family == AF_INET6;

	if (!has_peer(k) || x->unspec)
		return -1;
	for (unsigned l = 0; l <= (fam ? 128u : 32u); l++) {
		if (!x->lens[fam][l])
			continue;
		if (l > k->prefixlen)
			return -1;
		for (int rcv = 0; rcv < 2; rcv++)
			if ((x->bound && idx_holds(x, k, rcv, (uint8_t)l, ifx)) ||
			    idx_holds(x, k, rcv, (uint8_t)l, IFX_ANY))
				return 1;
	}
	return 0;
}

/* ---- chunks and spans --------------------------------------------------- */

/* An id for a new chunk, with one holder. */
static int refs_new_id(struct tcpao_keyring *ring, uint32_t *id)
{
	struct tcpao_keyrefs *t = ring->refs;

	if (!t && !(t = ring->refs = calloc(1, sizeof(*t))))
		return -ENOMEM;
	t->ref += !t->ref;
	if (t->nfree) {
		*id = t->free[--t->nfree];
	} else {
		if (t->n == t->cap) {
			uint32_t cap = t->cap ? 2 * t->cap : 16, *h, *f;

			if (!(h = realloc(t->holders, cap * sizeof(*h))))
				return -ENOMEM;
			t->holders = h;
			if (!(f = realloc(t->free, cap * sizeof(*f))))
				return -ENOMEM;
			t->free = f;
			t->cap = cap;
		}
		*id = t->n++;
	}
	t->holders[*id] = 1;
	return 0;
}

static struct tcpao_keychunk *chunk_new(struct tcpao_keyring *ring, size_t cap, uint32_t *id)
{
	struct tcpao_keychunk *c = calloc(1, sizeof(*c) + cap * sizeof(c->k[0]));

	if (!c)
		return NULL;
	if (refs_new_id(ring, id)) {
		free(c);
		return NULL;
	}
	c->cap = (uint32_t)cap;
	return c;
}

static uint64_t first_of(const void *base, size_t stride, size_t i, unsigned by)
{
	return ((const struct tcpao_spankeys *)((const char *)base + i * stride))->first[by];
}

/* The last of entries [from, from + len) (each stride bytes, starting with
 * its spankeys) whose first[by] is <= v, or the first: a binary search
 * without branches to mispredict. */
static size_t bisect(const void *base, size_t stride, unsigned by, uint64_t v,
		     size_t from, size_t len)
{
	while (len > 1) {
		size_t half = len / 2;

		from += half & -(size_t)(first_of(base, stride, from + half, by) <= v);
		len -= half; /* no branch: gcc made ?: one */
	}
	return from;
}

/* The last of n entries (n > 0) whose first[by] is <= v, or the first.
 * Chunks fill in the order of adds, each to CHUNK keys (and seqs), so an
 * entry covers about 1 << shift of them: a guess from that is right for a
 * ring filled in a row and needs no chain of dependent loads (a search of
 * 800 spans is ten, most of them cache misses). A wrong guess (after
 * deletes) only narrows the search. Inlined: each lookup searches twice,
 * the groups and a group (measured: a key by serial, 9 -> 5 ns). */
static inline __attribute__((always_inline)) size_t
search(const void *base, size_t stride, size_t n, unsigned by, uint64_t v, unsigned shift)
{
	uint64_t lo;
	size_t g;

	if (n <= 1 || v <= (lo = first_of(base, stride, 0, by)))
		return 0;
	g = (size_t)((v - lo) >> shift);
	if (g >= n - 1)
		g = n - 1;
	if (first_of(base, stride, g, by) > v)
		return bisect(base, stride, by, v, 0, g);
	if (g + 1 == n || first_of(base, stride, g + 1, by) > v)
		return g;
	return bisect(base, stride, by, v, g + 1, n - 1 - g);
}

/* A span: group g of the ring, its span j. */
struct spanpos {
	size_t g, j;
};

static struct tcpao_keyspan *span_at(const struct tcpao_keyring *ring, struct spanpos p)
{
	return &ring->groups[p.g].group->s[p.j];
}

/* The rank of span p's first key (a span's own is from its group's). */
static size_t span_rank(const struct tcpao_keyring *ring, struct spanpos p)
{
	return ring->groups[p.g].at.first[TCPAO_BY_RANK] + span_at(ring, p)->at.first[TCPAO_BY_RANK];
}

/* The last span whose first[by] is <= v, or the first (ring->n > 0). */
static struct spanpos span_find(const struct tcpao_keyring *ring, unsigned by, uint64_t v)
{
	const struct tcpao_groupref *gr = ring->groups;
	struct spanpos p = { search(gr, sizeof(*gr), ring->ngroups, by, v, GROUP_SHIFT), 0 };
	const struct tcpao_keygroup *g = gr[p.g].group;

	if (by == TCPAO_BY_RANK)
		v -= gr[p.g].at.first[TCPAO_BY_RANK];
	p.j = search(g->s, sizeof(g->s[0]), g->n, by, v, CHUNK_SHIFT);
	return p;
}

/* After span p's chunk changed: what its span and group keep of its
 * first key. */
static void span_sync(struct tcpao_keyring *ring, struct spanpos p)
{
	struct tcpao_keyspan *s = span_at(ring, p);

	s->at.first[TCPAO_BY_SEQ] = s->chunk->k[0].seq;
	s->at.first[TCPAO_BY_SERIAL] = s->chunk->k[0].serial;
	if (p.j)
		return;
	ring->groups[p.g].at.first[TCPAO_BY_SEQ] = s->at.first[TCPAO_BY_SEQ];
	ring->groups[p.g].at.first[TCPAO_BY_SERIAL] = s->at.first[TCPAO_BY_SERIAL];
}

const struct tcpao_ringkey *tcpao_keyring_at(const struct tcpao_keyring *ring, size_t i)
{
	size_t r = ring->n - 1 - i;
	struct spanpos p = span_find(ring, TCPAO_BY_RANK, r);

	return &span_at(ring, p)->chunk->k[r - span_rank(ring, p)];
}

/* Room for need, from have doubled, at most most: chunks and groups grow
 * alike. */
static size_t room_for(size_t have, size_t need, size_t most)
{
	while (have < need)
		have = have * 2 < most ? have * 2 : most;
	return have;
}

/* An empty group with room for cap spans (most rings hold a few keys:
 * a group grows as a chunk does). */
static struct tcpao_keygroup *group_new(size_t cap)
{
	struct tcpao_keygroup *g = malloc(sizeof(*g) + cap * sizeof(g->s[0]));

	if (g)
		*g = (struct tcpao_keygroup){ .ref = 1, .cap = (uint32_t)cap };
	return g;
}

/* Group g, this version's own with room for need spans (a shared or small
 * one is replaced by a copy, whose chunks gain a holder). */
static struct tcpao_keygroup *own_group(struct tcpao_keyring *ring, size_t g, size_t need)
{
	struct tcpao_keygroup *old = ring->groups[g].group, *copy;

	if (old->ref == 1 && need <= old->cap)
		return old;
	if (!(copy = group_new(room_for(old->n ? old->n : 1, need, GROUP))))
		return NULL;
	copy->n = old->n;
	memcpy(copy->s, old->s, old->n * sizeof(old->s[0]));
	for (uint32_t j = 0; j < old->n; j++)
		ring->refs->holders[old->s[j].id]++;
	group_put(ring, old); /* its chunks are still held by the copy */
	ring->groups[g].group = copy;
	return copy;
}

/* Span p's chunk, this version's own (and its group) with room for need
 * keys (a shared or small one is replaced by a copy). */
static struct tcpao_keychunk *own_chunk(struct tcpao_keyring *ring, struct spanpos p,
					size_t need)
{
	struct tcpao_keygroup *g = own_group(ring, p.g, 0);
	struct tcpao_keychunk *c, *copy;
	struct tcpao_keyspan *s;
	uint32_t id;

	if (!g)
		return NULL;
	s = &g->s[p.j];
	c = s->chunk;
	id = s->id;
	if (ring->refs->holders[id] == 1 && need <= c->cap)
		return c;
	copy = chunk_new(ring, room_for(c->n > 4 ? c->n : 4, need, CHUNK), &s->id);
	if (!copy)
		return NULL;
	copy->n = c->n;
	memcpy(copy->k, c->k, c->n * sizeof(c->k[0]));
	chunk_put(ring, c, id);
	s->chunk = copy;
	return copy;
}

static int groups_reserve(struct tcpao_keyring *ring, size_t n)
{
	size_t cap = ring->groups_cap ? ring->groups_cap : 4;
	struct tcpao_groupref *v;

	if (n <= ring->groups_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	v = realloc(ring->groups, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ring->groups = v;
	ring->groups_cap = cap;
	return 0;
}

static void group_remove(struct tcpao_keyring *ring, size_t g)
{
	ring->ngroups--;
	memmove(ring->groups + g, ring->groups + g + 1,
		(ring->ngroups - g) * sizeof(ring->groups[0]));
}

/* Span p goes from its group (this version's own), and the group when
 * it was the last. */
static void span_remove(struct tcpao_keyring *ring, struct spanpos p)
{
	struct tcpao_keygroup *g = ring->groups[p.g].group;

	ring->nspans--;
	g->n--;
	memmove(g->s + p.j, g->s + p.j + 1, (g->n - p.j) * sizeof(g->s[0]));
	if (!g->n) {
		group_put(ring, g);
		group_remove(ring, p.g);
	} else if (!p.j) {
		span_sync(ring, p);
	}
}

/* Spans a and a + 1 of group g (this version's own) into one chunk;
 * without memory they stay two. */
static void merge(struct tcpao_keyring *ring, size_t g, size_t a)
{
	struct tcpao_keyspan *s = ring->groups[g].group->s;
	struct tcpao_keychunk *x = s[a].chunk, *y = s[a + 1].chunk, *c;
	uint32_t id;

	if (!(c = chunk_new(ring, x->n + y->n, &id)))
		return;
	memcpy(c->k, x->k, x->n * sizeof(x->k[0]));
	memcpy(c->k + x->n, y->k, y->n * sizeof(y->k[0]));
	c->n = x->n + y->n;
	chunk_put(ring, x, s[a].id);
	chunk_put(ring, y, s[a + 1].id);
	s[a].chunk = c;
	s[a].id = id;
	span_remove(ring, (struct spanpos){ g, a + 1 });
}

/* Groups a and a + 1 into one; without memory they stay two. */
static void group_merge(struct tcpao_keyring *ring, size_t a)
{
	struct tcpao_keygroup *x = ring->groups[a].group, *y = ring->groups[a + 1].group, *m;
	uint64_t shift = ring->groups[a + 1].at.first[TCPAO_BY_RANK] -
			 ring->groups[a].at.first[TCPAO_BY_RANK];

	if (!(m = group_new(x->n + y->n)))
		return;
	m->n = x->n + y->n;
	memcpy(m->s, x->s, x->n * sizeof(x->s[0]));
	memcpy(m->s + x->n, y->s, y->n * sizeof(y->s[0]));
	for (uint32_t j = 0; j < m->n; j++) {
		m->s[j].at.first[TCPAO_BY_RANK] += j < x->n ? 0 : shift;
		ring->refs->holders[m->s[j].id]++; /* before the groups let go */
	}
	group_put(ring, x);
	group_put(ring, y);
	ring->groups[a].group = m;
	group_remove(ring, a + 1);
}

/* ---- adding and deleting ------------------------------------------------ */

bool tcpao_keyring_clashes(struct tcpao_keyring *ring,
			   const struct tcpao_mkt *mkt)
{
	int c = -1;

	if (!idx_own(ring) && ring->n >= INDEX_FROM)
		idx_build(ring); /* no memory: the walk below still answers */
	if (ring->idx)
		c = idx_clash(ring->idx, mkt);
	if (c >= 0)
		return c;
	for (size_t i = 0; i < ring->n; i++)
		if (tcpao_mkt_conflicts(tcpao_keyring_key(ring, i), mkt))
			return true;
	return false;
}

/* A new group at the end, for keys from rank ring->n on. */
static int group_append(struct tcpao_keyring *ring)
{
	struct tcpao_keygroup *g;

	if (groups_reserve(ring, ring->ngroups + 1) || !(g = group_new(1)))
		return -ENOMEM;
	ring->groups[ring->ngroups++] = (struct tcpao_groupref){
		.at.first[TCPAO_BY_RANK] = ring->n, .group = g };
	return 0;
}

/* The newest span. */
static struct spanpos head_span(const struct tcpao_keyring *ring)
{
	return (struct spanpos){ ring->ngroups - 1, ring->groups[ring->ngroups - 1].group->n - 1 };
}

/* The chunk the next key goes to (the newest, or a new one). */
static struct tcpao_keychunk *head_chunk(struct tcpao_keyring *ring)
{
	struct tcpao_keygroup *g = ring->ngroups ? ring->groups[ring->ngroups - 1].group : NULL;
	struct tcpao_groupref *last;
	struct tcpao_keychunk *c;
	uint32_t id;

	if (g && g->s[g->n - 1].chunk->n < CHUNK)
		return own_chunk(ring, head_span(ring), g->s[g->n - 1].chunk->n + 1u);
	if (!(c = chunk_new(ring, 4, &id)))
		return NULL;
	if ((!g || g->n == GROUP) && group_append(ring))
		goto nomem;
	last = &ring->groups[ring->ngroups - 1];
	if (!(g = own_group(ring, ring->ngroups - 1, last->group->n + 1u)))
		goto nomem; /* not a new group: that one has room */
	g->s[g->n++] = (struct tcpao_keyspan){
		.at.first[TCPAO_BY_RANK] = ring->n - last->at.first[TCPAO_BY_RANK],
		.chunk = c, .id = id };
	ring->nspans++;
	return c;
nomem:
	chunk_put(ring, c, id);
	return NULL;
}

int tcpao_keyring_add(struct tcpao_keyring *ring, const struct tcpao_mkt *mkt)
{
	struct tcpao_keychunk *c;

	if (tcpao_keyring_clashes(ring, mkt))
		return -EEXIST;
	if (!(c = head_chunk(ring)))
		return -ENOMEM;
	if (idx_own(ring) && idx_count(ring->idx, mkt, 1))
		idx_free(ring); /* rebuilt when memory allows */
	/* Above every serial given (set ones too): in order, and unique. */
	if (ring->next_serial <= ring->max_serial)
		ring->next_serial = ring->max_serial + 1;
	ring->max_serial = ring->next_serial;
	c->k[c->n++] = (struct tcpao_ringkey){ .mkt = *mkt, .serial = ring->next_serial++,
					       .seq = ring->next_seq++ };
	ring->n++;
	span_sync(ring, head_span(ring));
	keypeers_added(ring); /* no memory: lookups walk */
	return 0;
}

static bool del_matches(const struct tcpao_mkt *k, const struct tcpao_addr *peer,
			uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	return k->sndid == sndid && k->rcvid == rcvid && k->prefixlen == prefixlen &&
	       (!peer || tcpao_addr_equal(&k->peer, peer));
}

static int del_find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		    uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	int at = peer ? keypeers_exact(ring, peer, prefixlen, sndid, rcvid) : -2;

	if (at >= -1)
		return at;
	for (size_t i = 0; i < ring->n; i++)
		if (del_matches(tcpao_keyring_key(ring, i), peer, prefixlen, sndid, rcvid))
			return (int)i;
	return -1;
}

/* Keys of a span's chunk below CHUNK / 2 with a neighbour's in its group:
 * one chunk. */
static void merge_small(struct tcpao_keyring *ring, struct spanpos p)
{
	const struct tcpao_keygroup *g = ring->groups[p.g].group;
	size_t n = g->s[p.j].chunk->n;

	if (p.j > 0 && g->s[p.j - 1].chunk->n + n <= CHUNK / 2)
		merge(ring, p.g, p.j - 1);
	else if (p.j + 1 < g->n && g->s[p.j + 1].chunk->n + n <= CHUNK / 2)
		merge(ring, p.g, p.j);
}

/* Spans of group g below GROUP / 2 with a neighbour's: one group. */
static void group_merge_small(struct tcpao_keyring *ring, size_t g)
{
	size_t n = ring->groups[g].group->n;

	if (g > 0 && ring->groups[g - 1].group->n + n <= GROUP / 2)
		group_merge(ring, g - 1);
	else if (g + 1 < ring->ngroups && ring->groups[g + 1].group->n + n <= GROUP / 2)
		group_merge(ring, g);
}

/* A key left span p (its group this version's own): the spans and groups
 * after it start one rank lower. */
static void ranks_drop(struct tcpao_keyring *ring, struct spanpos p)
{
	struct tcpao_keygroup *g = ring->groups[p.g].group;

	for (size_t j = p.j + 1; j < g->n; j++)
		g->s[j].at.first[TCPAO_BY_RANK]--;
	for (size_t k = p.g + 1; k < ring->ngroups; k++)
		ring->groups[k].at.first[TCPAO_BY_RANK]--;
}

int tcpao_keyring_del(struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		      uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	int i = del_find(ring, peer, prefixlen, sndid, rcvid);
	size_t r, at, spans;
	struct tcpao_keychunk *c;
	struct spanpos p;

	if (i < 0)
		return -ENOENT;
	r = ring->n - 1 - (size_t)i;
	p = span_find(ring, TCPAO_BY_RANK, r);
	if (!(c = own_chunk(ring, p, 0)))
		return -ENOMEM;
	at = r - span_rank(ring, p);
	if (idx_own(ring))
		idx_count(ring->idx, &c->k[at].mkt, -1); /* never grows */
	keypeers_deleting(ring, (size_t)i);
	c->n--;
	memmove(c->k + at, c->k + at + 1, (c->n - at) * sizeof(c->k[0]));
	explicit_bzero(&c->k[c->n], sizeof(c->k[0]));
	ring->n--;
	ranks_drop(ring, p);
	spans = ring->nspans;
	if (!c->n) {
		chunk_put(ring, c, span_at(ring, p)->id);
		span_remove(ring, p);
	} else {
		span_sync(ring, p);
		merge_small(ring, p);
	}
	if (ring->nspans < spans && ring->ngroups)
		group_merge_small(ring, p.g < ring->ngroups ? p.g : ring->ngroups - 1);
	return 0;
}

int tcpao_keyring_set(struct tcpao_keyring *ring, size_t i, uint64_t serial, uint8_t tag)
{
	size_t r = ring->n - 1 - i, at;
	struct spanpos p = span_find(ring, TCPAO_BY_RANK, r);
	struct tcpao_keychunk *c = own_chunk(ring, p, 0);

	if (!c)
		return -ENOMEM;
	if ((i > 0 && tcpao_keyring_serial(ring, i - 1) <= serial) ||
	    (i + 1 < ring->n && tcpao_keyring_serial(ring, i + 1) >= serial))
		ring->serials_unordered = true;
	if (serial > ring->max_serial)
		ring->max_serial = serial;
	at = r - span_rank(ring, p);
	c->k[at].serial = serial;
	c->k[at].tag = tag;
	span_sync(ring, p);
	return 0;
}

/* The key of a chunk whose seq is seq, or none: first where it is when
 * no key before it in the chunk was deleted, then a binary search without
 * branches. */
static const struct tcpao_ringkey *chunk_seq(const struct tcpao_keychunk *c, uint64_t seq)
{
	const struct tcpao_ringkey *base = c->k;
	size_t len = c->n, guess = (size_t)(seq - c->k[0].seq);

	if (guess < len && c->k[guess].seq == seq)
		return &c->k[guess];
	while (len > 1) {
		size_t half = len / 2;

		base += half & -(size_t)(base[half].seq <= seq);
		len -= half;
	}
	return base->seq == seq ? base : NULL;
}

_Static_assert(GROUP == 1 << (GROUP_SHIFT - CHUNK_SHIFT), "a key's place: a span's bits");

uint32_t keyring_where(const struct tcpao_keyring *ring, size_t i)
{
	size_t r = ring->n - 1 - i;
	struct spanpos p = span_find(ring, TCPAO_BY_RANK, r);

	if (p.g >= (size_t)1 << (32 - GROUP_SHIFT))
		return KEY_NOWHERE;
	return (uint32_t)(p.g << GROUP_SHIFT | p.j << CHUNK_SHIFT | (r - span_rank(ring, p)));
}

/* Seqs ascend with rank (keys enter at the newest end, in order): the
 * key of a seq is found by two binary searches, one in the spans. */
const struct tcpao_ringkey *keyring_seq_key(const struct tcpao_keyring *ring,
					    uint64_t seq, size_t *index)
{
	const struct tcpao_ringkey *k;
	const struct tcpao_keychunk *c;
	struct spanpos p;

	if (!ring->n)
		return NULL;
	p = span_find(ring, TCPAO_BY_SEQ, seq);
	c = span_at(ring, p)->chunk;
	k = chunk_seq(c, seq);
	if (k)
		*index = ring->n - 1 - (span_rank(ring, p) + (size_t)(k - c->k));
	return k;
}

/* The first key matching peer and the ids (-1: any), and in *key the
 * key itself (NULL when none). */
static int find_key(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		    int ifindex, int sndid, int rcvid, const struct tcpao_ringkey **key)
{
	int at = keypeers_find(ring, peer, ifindex, sndid, rcvid, key);

	if (at >= -1)
		return at;
	for (size_t i = 0; i < ring->n; i++) {
		const struct tcpao_ringkey *k = tcpao_keyring_at(ring, i);

		if ((sndid < 0 || k->mkt.sndid == sndid) &&
		    (rcvid < 0 || k->mkt.rcvid == rcvid) &&
		    tcpao_mkt_matches(&k->mkt, peer, ifindex)) {
			*key = k;
			return (int)i;
		}
	}
	*key = NULL;
	return -1;
}

static int find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		int ifindex, int sndid, int rcvid)
{
	const struct tcpao_ringkey *key;

	return find_key(ring, peer, ifindex, sndid, rcvid, &key);
}

const struct tcpao_ringkey *tcpao_keyring_lookup(const struct tcpao_keyring *ring,
						 const struct tcpao_addr *peer,
						 int ifindex, int sndid, int rcvid)
{
	const struct tcpao_ringkey *key;

	find_key(ring, peer, ifindex, sndid, rcvid, &key);
	return key;
}

int tcpao_keyring_find_rcvid(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex,
			     uint8_t rcvid)
{
	return find(ring, peer, ifindex, -1, rcvid);
}

int tcpao_keyring_find_sndid(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex,
			     uint8_t sndid)
{
	return find(ring, peer, ifindex, sndid, -1);
}

int tcpao_keyring_first(const struct tcpao_keyring *ring,
			const struct tcpao_addr *peer, int ifindex)
{
	return find(ring, peer, ifindex, -1, -1);
}

/* Serials are unique in a ring and nearly always descending (each key
 * added at the head takes a higher serial): a binary search of the spans,
 * then of a chunk, finds them; only a ring whose serials were set out of
 * order (a reload keeps old serials for unchanged keys) falls back to the
 * linear walk. Serial 0 names no key. */
int tcpao_keyring_find_serial(const struct tcpao_keyring *ring,
			      uint64_t serial)
{
	const struct tcpao_keychunk *c;
	struct spanpos p;
	size_t at, base;

	if (!serial || !ring->n)
		return -1;
	p = span_find(ring, TCPAO_BY_SERIAL, serial);
	c = span_at(ring, p)->chunk;
	base = ring->n - 1 - span_rank(ring, p);
	at = (size_t)(serial - c->k[0].serial); /* where keys added in a row put it */
	if (at < c->n && c->k[at].serial == serial)
		return (int)(base - at);
	for (size_t l = 0, h = c->n; l < h;) {
		size_t mid = l + (h - l) / 2;

		if (c->k[mid].serial == serial)
			return (int)(base - mid);
		if (c->k[mid].serial < serial)
			l = mid + 1;
		else
			h = mid;
	}
	for (size_t i = 0; ring->serials_unordered && i < ring->n; i++)
		if (tcpao_keyring_serial(ring, i) == serial)
			return (int)i;
	return -1;
}

/* ---- copies ------------------------------------------------------------- */

/* The clash index goes with the copy: the copy is the version that
 * changes next (the original is published, read by lookups that never
 * ask it). Only an index src keeps up to date: one it passed on before
 * holds the changes of that copy, which may have been dropped since. */
static void idx_pass(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	dst->idx = src->idx && src->idx->owner == src->id ? src->idx : NULL;
	if (!dst->idx)
		return;
	dst->idx->ref++;
	dst->idx->owner = dst->id;
}

/* The groups and the peer index's pages are shared: a copy costs the
 * array of groups. */
int tcpao_keyring_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	*dst = *src;
	dst->id = __atomic_add_fetch(&ring_ids, 1, __ATOMIC_RELAXED);
	dst->groups = NULL;
	dst->groups_cap = 0;
	dst->refs = NULL;
	dst->idx = NULL;
	dst->peers = NULL;
	if (groups_reserve(dst, src->ngroups)) {
		tcpao_keyring_init(dst);
		return -ENOMEM;
	}
	for (size_t g = 0; g < src->ngroups; g++) {
		dst->groups[g] = src->groups[g];
		dst->groups[g].group->ref++;
	}
	if ((dst->refs = src->refs))
		dst->refs->ref++;
	if (keypeers_copy(dst, src)) {
		tcpao_keyring_free(dst);
		return -ENOMEM;
	}
	idx_pass(dst, src);
	return 0;
}

int tcpao_keyring_holds_peer(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *remote)
{
	return keypeers_holds(ring, remote);
}

size_t tcpao_keyring_matching(const struct tcpao_keyring *ring,
			      const struct tcpao_addr *peer, int ifindex,
			      int *out, size_t cap)
{
	size_t n = keypeers_matching(ring, peer, ifindex, out, cap);

	if (n != SIZE_MAX)
		return n;
	n = 0;
	for (size_t i = ring->n; i-- > 0;)
		if (tcpao_mkt_matches(tcpao_keyring_key(ring, i), peer, ifindex)) {
			if (n == cap)
				return SIZE_MAX;
			out[n++] = (int)i;
		}
	return n;
}

/* Linux counts the AO option of the key in use in every segment's size;
 * our kernel only knows the MSS of the SYN it is handed. That MSS leaves
 * room for the longest AO option among the keys for the peer, so that a
 * full-size segment still fits the path after Current moves to the key
 * with the longest MAC (docs/INTEROP.md, Differences). */
void tcpao_keyring_syn(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		       int ifindex, uint8_t keyid, uint8_t rnext, struct tcpao_synkeys *out)
{
	keypeers_syn(ring, peer, ifindex, keyid, rnext, out);
}

size_t tcpao_keyring_ao_room(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex)
{
	struct tcpao_synkeys syn;

	keypeers_syn(ring, peer, ifindex, 0, 0, &syn);
	return syn.room;
}
