/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An index of the policy's entries by their peer prefix: the entries of
 * exactly one prefix, and the prefix lengths present, so that "which
 * entries' prefixes contain this address" costs one hash lookup per length
 * present (a few), not a walk of every entry. Entries are named by an id
 * (their position in the policy); the index holds nothing else of them.
 * Pure: no locks, no I/O. policy.c keeps it in step with its entries.
 */
#ifndef TCPAOD_PEERINDEX_H
#define TCPAOD_PEERINDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "tcpao.h"

#define PEER_INDEX_NONE UINT32_MAX

struct peer_index;

struct peer_index *peer_index_new(void);
void peer_index_free(struct peer_index *ix);
/* A copy, or NULL without memory. */
struct peer_index *peer_index_clone(const struct peer_index *ix);

/* Adds entry `id` under prefix/len (an IPv4 or IPv6 prefix, host bits
 * clear). Ids are added in increasing order. 0 or -ENOMEM. */
int peer_index_add(struct peer_index *ix, const struct tcpao_addr *prefix,
		   uint8_t len, uint32_t id);

/* The entries of exactly prefix/len, in the order they were added:
 * first, then next until PEER_INDEX_NONE. prefix's host bits past len
 * are ignored. */
uint32_t peer_index_first(const struct peer_index *ix,
			  const struct tcpao_addr *prefix, uint8_t len);
uint32_t peer_index_next(const struct peer_index *ix, uint32_t id);

/* The longest prefix length present in family that is shorter than
 * `below`, or -1: walk from below = 129 down to list them all. */
int peer_index_len_below(const struct peer_index *ix, sa_family_t family,
			 int below);

#endif
