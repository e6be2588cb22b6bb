// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A set of MKTs, newest first as Linux keeps them, each with a serial that
 * names its version in traffic-key caches.
 *
 * Adding is O(1) amortized: the arrays keep their spare room in front of
 * keys[0] (ring->head), so a new key goes at the head without moving the
 * others, and the sndid/rcvid clash check asks a hash index (built once a
 * ring holds INDEX_FROM keys) instead of walking every key. A listener
 * with 50,000 peers' keys is built in linear time, not quadratic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keypeers.h"
#include "tcpao.h"

#define INDEX_FROM 32         /* below this, a walk is cheaper */
#define IFX_ANY INT32_MIN     /* a key without TCPAO_MKT_IFINDEX */

/* One (id, prefix) that some keys hold, and how many. */
struct idx_slot {
	uint8_t used, rcv, id, len;
	uint8_t family, pad[3];
	int32_t ifx;
	uint32_t count;
	uint8_t addr[16];
};

struct tcpao_keyidx {
	struct idx_slot *slots;
	size_t cap, used;           /* cap: a power of 2 */
	uint32_t lens[2][129];      /* keys per prefix length, v4 / v6 */
	uint32_t unspec;            /* keys with no peer: they overlap all */
	uint32_t bound;             /* keys with TCPAO_MKT_IFINDEX */
};

void tcpao_keyring_init(struct tcpao_keyring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->next_serial = 1;
}

static void idx_free(struct tcpao_keyring *ring)
{
	if (ring->idx)
		free(ring->idx->slots);
	free(ring->idx);
	ring->idx = NULL;
}

void tcpao_keyring_free(struct tcpao_keyring *ring)
{
	struct tcpao_mkt *base = ring->keys ? ring->keys - ring->head : NULL;

	if (base)
		explicit_bzero(base, ring->cap * sizeof(*base));
	free(base);
	free(ring->serials ? ring->serials - ring->head : NULL);
	free(ring->tags ? ring->tags - ring->head : NULL);
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

static int idx_rehash(struct tcpao_keyidx *x, size_t cap)
{
	struct idx_slot *old = x->slots;
	size_t oldcap = x->cap;

	x->slots = calloc(cap, sizeof(*x->slots));
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

/* Counts a key in (delta 1) or out (delta -1). */
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
	ring->idx = x;
	for (size_t i = 0; i < ring->n; i++)
		if (idx_count(x, &ring->keys[i], 1)) {
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
		if (tcpao_mkt_conflicts(&ring->keys[i], mkt))
			return true;
	return false;
}

/* New arrays with the keys at their end: room in front again. */
static int grow(struct tcpao_keyring *ring)
{
	size_t cap = ring->n * 2 > 8 ? ring->n * 2 : 8, head = cap - ring->n;
	struct tcpao_mkt *keys = calloc(cap, sizeof(*keys));
	uint64_t *serials = calloc(cap, sizeof(*serials));
	uint8_t *tags = calloc(cap, 1);

	if (!keys || !serials || !tags) {
		free(keys);
		free(serials);
		free(tags);
		return -ENOMEM;
	}
	if (ring->n) {
		memcpy(keys + head, ring->keys, ring->n * sizeof(*keys));
		memcpy(serials + head, ring->serials, ring->n * sizeof(*serials));
		memcpy(tags + head, ring->tags, ring->n);
	}
	if (ring->keys)
		explicit_bzero(ring->keys - ring->head, ring->cap * sizeof(*keys));
	free(ring->keys ? ring->keys - ring->head : NULL);
	free(ring->serials ? ring->serials - ring->head : NULL);
	free(ring->tags ? ring->tags - ring->head : NULL);
	ring->keys = keys + head;
	ring->serials = serials + head;
	ring->tags = tags + head;
	ring->head = head;
	ring->cap = cap;
	return 0;
}

int tcpao_keyring_add(struct tcpao_keyring *ring, const struct tcpao_mkt *mkt)
{
	if (tcpao_keyring_clashes(ring, mkt))
		return -EEXIST;
	if (!ring->head && grow(ring))
		return -ENOMEM;
	if (ring->idx && idx_count(ring->idx, mkt, 1))
		idx_free(ring); /* rebuilt when memory allows */
	ring->head--;
	ring->keys--;
	ring->serials--;
	ring->tags--;
	ring->keys[0] = *mkt;
	ring->serials[0] = ring->next_serial++;
	ring->tags[0] = 0;
	ring->n++;
	keypeers_added(ring); /* no memory: lookups walk */
	return 0;
}

int tcpao_keyring_del(struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		      uint8_t prefixlen, uint8_t sndid, uint8_t rcvid)
{
	for (size_t i = 0; i < ring->n; i++) {
		struct tcpao_mkt *k = &ring->keys[i];

		if (k->sndid != sndid || k->rcvid != rcvid ||
		    k->prefixlen != prefixlen ||
		    (peer && !tcpao_addr_equal(&k->peer, peer)))
			continue;
		if (ring->idx)
			idx_count(ring->idx, k, -1); /* never grows */
		keypeers_deleting(ring, i);
		ring->n--;
		memmove(k, k + 1, (ring->n - i) * sizeof(*k));
		memmove(ring->serials + i, ring->serials + i + 1,
			(ring->n - i) * sizeof(*ring->serials));
		memmove(ring->tags + i, ring->tags + i + 1, ring->n - i);
		explicit_bzero(&ring->keys[ring->n], sizeof(*k));
		return 0;
	}
	return -ENOENT;
}

static int find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		int ifindex, int sndid, int rcvid)
{
	int at = keypeers_find(ring, peer, ifindex, sndid, rcvid);

	if (at >= -1)
		return at;
	for (size_t i = 0; i < ring->n; i++) {
		const struct tcpao_mkt *k = &ring->keys[i];

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

		if (ring->serials[mid] == serial)
			return (int)mid;
		if (ring->serials[mid] > serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = 0; i < ring->n; i++)
		if (ring->serials[i] == serial)
			return (int)i;
	return -1;
}

/* ---- copies ------------------------------------------------------------- */

static int idx_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	const struct tcpao_keyidx *s = src->idx;
	struct tcpao_keyidx *x;
	struct idx_slot *slots;

	dst->idx = NULL;
	if (!s)
		return 0;
	x = malloc(sizeof(*x));
	slots = malloc(s->cap * sizeof(*s->slots));
	if (!x || !slots) {
		free(x);
		free(slots);
		return -ENOMEM;
	}
	*x = *s;
	x->slots = slots;
	memcpy(x->slots, s->slots, s->cap * sizeof(*s->slots));
	dst->idx = x;
	return 0;
}

/* Same layout (room in front); only the n keys in use are copied. The
 * clash index is copied too: rebuilding it was most of a key-add to a
 * ring of many keys. */
int tcpao_keyring_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src)
{
	struct tcpao_mkt *keys = src->cap ? malloc(src->cap * sizeof(*keys)) : NULL;
	uint64_t *serials = src->cap ? malloc(src->cap * sizeof(*serials)) : NULL;
	uint8_t *tags = src->cap ? malloc(src->cap) : NULL;

	*dst = *src;
	dst->idx = NULL;
	dst->peers = NULL;
	if (src->cap && (!keys || !serials || !tags)) {
		free(keys);
		free(serials);
		free(tags);
		tcpao_keyring_init(dst);
		return -ENOMEM;
	}
	dst->keys = keys ? keys + src->head : NULL;
	dst->serials = serials ? serials + src->head : NULL;
	dst->tags = tags ? tags + src->head : NULL;
	if (src->n) {
		memcpy(dst->keys, src->keys, src->n * sizeof(*keys));
		memcpy(dst->serials, src->serials, src->n * sizeof(*serials));
		memcpy(dst->tags, src->tags, src->n);
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
		if (tcpao_mkt_matches(&ring->keys[i], peer, ifindex)) {
			if (n == cap)
				return SIZE_MAX;
			out[n++] = (int)i;
		}
	return n;
}
