// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A set of MKTs, newest first as Linux keeps them, each with a serial that
 * names its version in traffic-key caches.
 *
 * The keys sit in chunks of up to CHUNK, oldest first, listed by the
 * ring's spans (each with the rank of its first key). Versions of a ring
 * share chunks (counted holders): a copy takes the spans, a change copies
 * the one chunk it writes if another version holds it, so a change to a
 * published ring costs its spans and a chunk, not its keys (a listener
 * with 100,000 peers' keys: 800 spans). Adjacent chunks hold more than
 * CHUNK / 2 keys together (a delete merges them otherwise), so churn
 * keeps the spans within 4n / CHUNK + 1.
 *
 * The sndid/rcvid clash check asks a hash index (built once a ring holds
 * INDEX_FROM keys) instead of walking every key; its slots are a
 * persistent table (ptable.h) shared the same way.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keypeers.h"
#include "ptable.h"
#include "tcpao.h"

#define INDEX_FROM 32         /* below this, a walk is cheaper */
#define CHUNK 128             /* keys per chunk, at most */
#define IFX_ANY INT32_MIN     /* a key without TCPAO_MKT_IFINDEX */

/* One (id, prefix) that some keys hold, and how many. */
struct idx_slot {
	uint8_t used, rcv, id, len;
	uint8_t family, pad[3];
	int32_t ifx;
	uint32_t count;
	uint8_t addr[16];
};

struct tcpao_keychunk {
	unsigned ref;               /* ring versions holding it */
	uint32_t n, cap;
	struct tcpao_ringkey k[];   /* oldest first */
};

struct tcpao_keyidx {
	struct ptable slots;        /* slots.n: a power of 2 */
	size_t used;
	uint32_t lens[2][129];      /* keys per prefix length, v4 / v6 */
	uint32_t unspec;            /* keys with no peer: they overlap all */
	uint32_t bound;             /* keys with TCPAO_MKT_IFINDEX */
};

void tcpao_keyring_init(struct tcpao_keyring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->next_serial = 1;
	ring->next_seq = 1;
}

static void idx_free(struct tcpao_keyring *ring)
{
	if (ring->idx)
		ptable_free(&ring->idx->slots);
	free(ring->idx);
	ring->idx = NULL;
}

/* The last holder wipes the secrets. */
static void chunk_put(struct tcpao_keychunk *c)
{
	if (!c || --c->ref)
		return;
	explicit_bzero(c, sizeof(*c) + c->cap * sizeof(c->k[0]));
	free(c);
}

void tcpao_keyring_free(struct tcpao_keyring *ring)
{
	for (size_t s = 0; s < ring->nspans; s++)
		chunk_put(ring->spans[s].chunk);
	free(ring->spans);
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

static const struct idx_slot *idx_slot(const struct tcpao_keyidx *x, size_t i)
{
	return ptable_get(&x->slots, i);
}

/* The slot holding want, or the empty one where it would go. */
static size_t idx_find(const struct tcpao_keyidx *x, const struct idx_slot *want)
{
	size_t mask = x->slots.n - 1, i = slot_hash(want) & mask;

	while (idx_slot(x, i)->used && !slot_same(idx_slot(x, i), want))
		i = (i + 1) & mask;
	return i;
}

static int idx_put(struct tcpao_keyidx *x, const struct idx_slot *s)
{
	struct idx_slot *at = ptable_mut(&x->slots, idx_find(x, s));

	if (!at)
		return -ENOMEM;
	*at = *s;
	return 0;
}

/* New slots of cap entries, the live ones moved over (emptied ones go). */
static int idx_rehash(struct tcpao_keyidx *x, size_t cap)
{
	struct ptable old = x->slots;

	if (ptable_init(&x->slots, sizeof(struct idx_slot), cap)) {
		x->slots = old;
		return -ENOMEM;
	}
	x->used = 0;
	for (size_t i = 0; i < old.n; i++) {
		const struct idx_slot *s = ptable_get(&old, i);

		if (!s->used || !s->count)
			continue;
		if (idx_put(x, s)) {
			ptable_free(&x->slots);
			x->slots = old;
			return -ENOMEM;
		}
		x->used++;
	}
	ptable_free(&old);
	return 0;
}

/* Half full: rebuilt at four times its live slots (at least 64), so that
 * the slots of deleted keys do not make it grow under churn. */
static int idx_refit(struct tcpao_keyidx *x)
{
	size_t live = 0, cap = 64;

	for (size_t i = 0; i < x->slots.n; i++)
		live += idx_slot(x, i)->used && idx_slot(x, i)->count;
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

/* Counts a key in (delta 1) or out (delta -1). -ENOMEM leaves the index
 * half changed: the caller drops it. */
static int idx_count(struct tcpao_keyidx *x, const struct tcpao_mkt *k, int delta)
{
	if (!has_peer(k)) {
		x->unspec += (uint32_t)delta;
		return 0;
	}
	if (delta > 0 && x->used * 2 >= x->slots.n && idx_refit(x))
		return -ENOMEM;
	for (int rcv = 0; rcv < 2; rcv++) {
		struct idx_slot want, *s;

		slot_of(&want, k, rcv, k->prefixlen, ifx_of(k));
		s = ptable_mut(&x->slots, idx_find(x, &want));
		if (!s)
			return -ENOMEM;
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

	if (!x || ptable_init(&x->slots, sizeof(struct idx_slot), 64)) {
		free(x);
		return -ENOMEM;
	}
	ring->idx = x;
	for (size_t i = 0; i < ring->n; i++)
		if (idx_count(x, tcpao_keyring_key(ring, i), 1)) {
			idx_free(ring);
			return -ENOMEM;
		}
	return 0;
}

static bool idx_holds(const struct tcpao_keyidx *x, const struct tcpao_mkt *k,
		      bool rcv, uint8_t len, int32_t ifx)
{
	struct idx_slot want;
	const struct idx_slot *s;

	slot_of(&want, k, rcv, len, ifx);
	s = idx_slot(x, idx_find(x, &want));
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

static struct tcpao_keychunk *chunk_new(size_t cap)
{
	struct tcpao_keychunk *c = calloc(1, sizeof(*c) + cap * sizeof(c->k[0]));

	if (c) {
		c->ref = 1;
		c->cap = (uint32_t)cap;
	}
	return c;
}

/* The span holding rank r (< n): the last whose start is <= r. */
static size_t span_of(const struct tcpao_keyring *ring, size_t r)
{
	size_t lo = 0, hi = ring->nspans;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring->spans[mid].start <= r)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

const struct tcpao_ringkey *tcpao_keyring_at(const struct tcpao_keyring *ring, size_t i)
{
	size_t r = ring->n - 1 - i, s = ring->nspans == 1 ? 0 : span_of(ring, r);

	return &ring->spans[s].chunk->k[r - ring->spans[s].start];
}

/* Span s's chunk, this version's own with room for need keys (a shared
 * or small one is replaced by a copy). */
static struct tcpao_keychunk *own_chunk(struct tcpao_keyring *ring, size_t s, size_t need)
{
	struct tcpao_keychunk *c = ring->spans[s].chunk, *copy;
	size_t cap = c->n > 4 ? c->n : 4;

	if (c->ref == 1 && need <= c->cap)
		return c;
	while (cap < need)
		cap = cap * 2 < CHUNK ? cap * 2 : CHUNK;
	copy = chunk_new(cap);
	if (!copy)
		return NULL;
	copy->n = c->n;
	memcpy(copy->k, c->k, c->n * sizeof(c->k[0]));
	chunk_put(c);
	ring->spans[s].chunk = copy;
	return copy;
}

static int spans_reserve(struct tcpao_keyring *ring, size_t n)
{
	size_t cap = ring->spans_cap ? ring->spans_cap : 4;
	struct tcpao_keyspan *v;

	if (n <= ring->spans_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	v = realloc(ring->spans, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ring->spans = v;
	ring->spans_cap = cap;
	return 0;
}

static void span_remove(struct tcpao_keyring *ring, size_t s)
{
	ring->nspans--;
	memmove(ring->spans + s, ring->spans + s + 1,
		(ring->nspans - s) * sizeof(ring->spans[0]));
}

/* Spans a and a + 1 into one chunk; without memory they stay two. */
static void merge(struct tcpao_keyring *ring, size_t a)
{
	struct tcpao_keychunk *x = ring->spans[a].chunk, *y = ring->spans[a + 1].chunk;
	struct tcpao_keychunk *c = chunk_new(x->n + y->n);

	if (!c)
		return;
	memcpy(c->k, x->k, x->n * sizeof(x->k[0]));
	memcpy(c->k + x->n, y->k, y->n * sizeof(y->k[0]));
	c->n = x->n + y->n;
	chunk_put(x);
	chunk_put(y);
	ring->spans[a].chunk = c;
	span_remove(ring, a + 1);
}

/* ---- adding and deleting ------------------------------------------------ */

bool tcpao_keyring_clashes(struct tcpao_keyring *ring,
			   const struct tcpao_mkt *mkt)
{
	int c = -1;

	if (!ring->idx && ring->n >= INDEX_FROM)
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

/* The chunk the next key goes to (the newest, or a new one). */
static struct tcpao_keychunk *head_chunk(struct tcpao_keyring *ring)
{
	struct tcpao_keychunk *c;

	if (ring->nspans && ring->spans[ring->nspans - 1].chunk->n < CHUNK) {
		size_t s = ring->nspans - 1;

		return own_chunk(ring, s, ring->spans[s].chunk->n + 1u);
	}
	if (spans_reserve(ring, ring->nspans + 1) || !(c = chunk_new(4)))
		return NULL;
	ring->spans[ring->nspans++] = (struct tcpao_keyspan){ c, ring->n };
	return c;
}

int tcpao_keyring_add(struct tcpao_keyring *ring, const struct tcpao_mkt *mkt)
{
	struct tcpao_keychunk *c;

	if (tcpao_keyring_clashes(ring, mkt))
		return -EEXIST;
	if (!(c = head_chunk(ring)))
		return -ENOMEM;
	if (ring->idx && idx_count(ring->idx, mkt, 1))
		idx_free(ring); /* rebuilt when memory allows */
	c->k[c->n++] = (struct tcpao_ringkey){ .mkt = *mkt, .serial = ring->next_serial++,
					       .seq = ring->next_seq++ };
	ring->n++;
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

/* Keys of a span's chunk below CHUNK / 2 with a neighbour's: one chunk. */
static void merge_small(struct tcpao_keyring *ring, size_t s)
{
	size_t n = ring->spans[s].chunk->n;

	if (s > 0 && ring->spans[s - 1].chunk->n + n <= CHUNK / 2)
		merge(ring, s - 1);
	else if (s + 1 < ring->nspans && ring->spans[s + 1].chunk->n + n <= CHUNK / 2)
		merge(ring, s);
}

int tcpao_keyring_del(struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		      uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	int i = del_find(ring, peer, prefixlen, sndid, rcvid);
	size_t r, s, at;
	struct tcpao_keychunk *c;

	if (i < 0)
		return -ENOENT;
	r = ring->n - 1 - (size_t)i;
	s = span_of(ring, r);
	if (!(c = own_chunk(ring, s, 0)))
		return -ENOMEM;
	at = r - ring->spans[s].start;
	if (ring->idx && idx_count(ring->idx, &c->k[at].mkt, -1))
		idx_free(ring);
	keypeers_deleting(ring, (size_t)i);
	c->n--;
	memmove(c->k + at, c->k + at + 1, (c->n - at) * sizeof(c->k[0]));
	explicit_bzero(&c->k[c->n], sizeof(c->k[0]));
	ring->n--;
	for (size_t t = s + 1; t < ring->nspans; t++)
		ring->spans[t].start--;
	if (!c->n) {
		chunk_put(c);
		span_remove(ring, s);
	} else {
		merge_small(ring, s);
	}
	return 0;
}

int tcpao_keyring_set(struct tcpao_keyring *ring, size_t i, uint64_t serial, uint8_t tag)
{
	size_t r = ring->n - 1 - i, s = span_of(ring, r);
	struct tcpao_keychunk *c = own_chunk(ring, s, 0);

	if (!c)
		return -ENOMEM;
	c->k[r - ring->spans[s].start].serial = serial;
	c->k[r - ring->spans[s].start].tag = tag;
	return 0;
}

/* Seqs ascend with rank (keys enter at the newest end, in order): the
 * key of a seq is found by two binary searches. */
size_t keyring_index_of_seq(const struct tcpao_keyring *ring, uint64_t seq)
{
	size_t lo = 0, hi = ring->nspans, s;
	const struct tcpao_keychunk *c;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ring->spans[mid].chunk->k[0].seq <= seq)
			lo = mid;
		else
			hi = mid;
	}
	if (!ring->n)
		return SIZE_MAX;
	s = lo;
	c = ring->spans[s].chunk;
	lo = 0;
	hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->k[mid].seq == seq)
			return ring->n - 1 - (ring->spans[s].start + mid);
		if (c->k[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return SIZE_MAX;
}

static int find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		int ifindex, int sndid, int rcvid)
{
	int at = keypeers_find(ring, peer, ifindex, sndid, rcvid);

	if (at >= -1)
		return at;
	for (size_t i = 0; i < ring->n; i++) {
		const struct tcpao_mkt *k = tcpao_keyring_key(ring, i);

		if ((sndid < 0 || k->sndid == sndid) &&
		    (rcvid < 0 || k->rcvid == rcvid) &&
		    tcpao_mkt_matches(k, peer, ifindex))
			return (int)i;
	}
	return -1;
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
 * added at the head takes a higher serial): a binary search finds them;
 * a ring whose serials were given out of order (a reload keeps old
 * serials for unchanged keys) falls back to the linear walk. Serial 0
 * names no key. */
int tcpao_keyring_find_serial(const struct tcpao_keyring *ring,
			      uint64_t serial)
{
	size_t lo = 0, hi = ring->n;

	if (!serial)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = tcpao_keyring_serial(ring, mid);

		if (s == serial)
			return (int)mid;
		if (s > serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < ring->n; i++)
		if (tcpao_keyring_serial(ring, i) == serial)
			return (int)i;
	return -1;
}

/* ---- copies ------------------------------------------------------------- */

static int idx_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	struct tcpao_keyidx *x;

	dst->idx = NULL;
	if (!src->idx)
		return 0;
	x = malloc(sizeof(*x));
	if (!x)
		return -ENOMEM;
	*x = *src->idx;
	ptable_clone(&x->slots, &src->idx->slots);
	dst->idx = x;
	return 0;
}

/* The chunks and the indexes' pages are shared: a copy costs the spans. */
int tcpao_keyring_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	*dst = *src;
	dst->spans = NULL;
	dst->spans_cap = 0;
	dst->idx = NULL;
	dst->peers = NULL;
	if (spans_reserve(dst, src->nspans)) {
		tcpao_keyring_init(dst);
		return -ENOMEM;
	}
	for (size_t s = 0; s < src->nspans; s++) {
		dst->spans[s] = src->spans[s];
		dst->spans[s].chunk->ref++;
	}
	if (idx_copy(dst, src) || keypeers_copy(dst, src)) {
		tcpao_keyring_free(dst);
		return -ENOMEM;
	}
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
