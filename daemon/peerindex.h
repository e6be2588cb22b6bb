/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An index of the policy's entries by their peer prefix: the entries of
 * exactly one prefix, and the prefix lengths present, so that "which
 * entries' prefixes contain this address" costs one hash lookup per length
 * present (a few), not a walk of every entry. Entries are named by an id
 * (their slot in the policy); the index holds nothing else of them.
 *
 * Persistent (pvec.h): a copy costs O(1) and shares everything with the
 * original; adding or removing an id copies one prefix's bucket and the
 * trie nodes above it, so each version of a policy has its own index at
 * the cost of what changed. Pure: no locks, no I/O; readers of a version
 * no one changes need none.
 */
#ifndef TCPAOD_PEERINDEX_H
#define TCPAOD_PEERINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pvec.h"
#include "tcpao.h"

struct peer_index {
	struct pvec slots;        /* open addressing: 0, a tomb, or a bucket */
	size_t used;              /* slots not empty, tombs included */
	uint32_t count[2][129];   /* ids per family and prefix length */
	uint64_t lens[2][3];      /* the lengths whose count is not 0 */
};

void peer_index_init(struct peer_index *ix);
void peer_index_free(struct peer_index *ix);
/* dst shares src's buckets; each may then change on its own. */
void peer_index_clone(struct peer_index *dst, const struct peer_index *src);

/* Adds id under prefix/len (an IPv4 or IPv6 prefix, host bits clear),
 * among the ids there in increasing order. 0, -EINVAL or -ENOMEM (the
 * index unchanged). */
int peer_index_add(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id);
/* Removes id from prefix/len; 0, -ENOENT or -ENOMEM (unchanged). */
int peer_index_del(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id);

/* The ids of exactly prefix/len in increasing order (*n of them; NULL when
 * none). prefix's host bits past len are ignored. Valid until this
 * version of the index changes. */
const uint32_t *peer_index_ids(const struct peer_index *ix,
			       const struct tcpao_addr *prefix, uint8_t len,
			       size_t *n);

/* The longest prefix length present in family that is shorter than
 * `below`, or -1: walk from below = 129 down to list them all. */
int peer_index_len_below(const struct peer_index *ix, sa_family_t family,
			 int below);

#endif
