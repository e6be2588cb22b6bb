/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which worker owns the flows of an address pair, for the control thread
 * (a socket's TCP_AO_INFO, its accept) so that it asks that worker alone
 * instead of snapshotting every worker's table.
 *
 * It cannot be computed: iptables' --queue-balance picks the queue by a
 * jhash of the address pair (symmetric, ports not included) with a seed
 * the kernel draws at random (nf_queue.h, hash_v4/hash_v6). So the
 * workers write down where the pairs they see go, in a small table that
 * the control thread reads. It is a hint: a slot holds the last pair
 * written to it (a colliding pair overwrites it, told apart by a tag),
 * and callers still find nothing wrong when the flow is not there.
 * One 64-bit word per slot, relaxed atomics: no lock for either side.
 */
#ifndef TCPAOD_OWNER_H
#define TCPAOD_OWNER_H

#include <stdatomic.h>
#include <stdint.h>

#include "tcpao.h"

#define OWNER_MAX_WORKERS 255

struct owner_index {
	_Atomic uint64_t *slots;
	uint32_t mask;
	uint64_t seed;
};

/* nslots: rounded up to a power of two. 0 or -ENOMEM. */
int owner_index_init(struct owner_index *ix, uint32_t nslots);
void owner_index_free(struct owner_index *ix);
/* The flows of the pair {a, b} (either order) are worker's. */
void owner_note(struct owner_index *ix, const struct tcpao_addr *a,
		const struct tcpao_addr *b, unsigned int worker);
/* The worker last noted for the pair, or -1 when none is known. */
int owner_of(const struct owner_index *ix, const struct tcpao_addr *a,
	     const struct tcpao_addr *b);

#endif
