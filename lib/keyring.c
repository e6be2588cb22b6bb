// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A set of MKTs, newest first as Linux keeps them, each with a serial that
 * names its version in traffic-key caches.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

void tcpao_keyring_init(struct tcpao_keyring *ring)
{
	memset(ring, 0, sizeof(*ring));
	ring->next_serial = 1;
}

void tcpao_keyring_free(struct tcpao_keyring *ring)
{
	if (ring->keys)
		explicit_bzero(ring->keys, ring->cap * sizeof(*ring->keys));
	free(ring->keys);
	free(ring->serials);
	tcpao_keyring_init(ring);
}

static int grow(struct tcpao_keyring *ring)
{
	size_t cap = ring->cap ? ring->cap * 2 : 8;
	struct tcpao_mkt *keys = calloc(cap, sizeof(*keys));
	uint64_t *serials = calloc(cap, sizeof(*serials));

	if (!keys || !serials) {
		free(keys);
		free(serials);
		return -ENOMEM;
	}
	if (ring->n) {
		memcpy(keys, ring->keys, ring->n * sizeof(*keys));
		memcpy(serials, ring->serials, ring->n * sizeof(*serials));
		explicit_bzero(ring->keys, ring->cap * sizeof(*ring->keys));
	}
	free(ring->keys);
	free(ring->serials);
	ring->keys = keys;
	ring->serials = serials;
	ring->cap = cap;
	return 0;
}

int tcpao_keyring_add(struct tcpao_keyring *ring, const struct tcpao_mkt *mkt)
{
	for (size_t i = 0; i < ring->n; i++)
		if (tcpao_mkt_conflicts(&ring->keys[i], mkt))
			return -EEXIST;
	if (ring->n == ring->cap && grow(ring))
		return -ENOMEM;
	memmove(ring->keys + 1, ring->keys, ring->n * sizeof(*ring->keys));
	memmove(ring->serials + 1, ring->serials, ring->n * sizeof(*ring->serials));
	ring->keys[0] = *mkt;
	ring->serials[0] = ring->next_serial++;
	ring->n++;
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
		ring->n--;
		memmove(k, k + 1, (ring->n - i) * sizeof(*k));
		memmove(ring->serials + i, ring->serials + i + 1,
			(ring->n - i) * sizeof(*ring->serials));
		explicit_bzero(&ring->keys[ring->n], sizeof(*k));
		return 0;
	}
	return -ENOENT;
}

static int find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		int ifindex, int sndid, int rcvid)
{
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
