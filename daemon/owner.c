// SPDX-License-Identifier: GPL-2.0-or-later
/* Which worker owns an address pair's flows (owner.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hash.h"
#include "owner.h"

/* A slot: the pair's hash above the low byte (the tag), worker + 1 in
 * the low byte; 0 is empty. */
#define WORKER_BITS 0xffull

int owner_index_init(struct owner_index *ix, uint32_t nslots)
{
	uint32_t n = 64;

	while (n < nslots)
		n <<= 1;
	memset(ix, 0, sizeof(*ix));
	ix->slots = calloc(n, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	ix->mask = n - 1;
	if (getrandom(&ix->seed, sizeof(ix->seed), 0) != sizeof(ix->seed))
		ix->seed = (uint64_t)(uintptr_t)ix ^ 0x2545f4914f6cdd1dull;
	return 0;
}

void owner_index_free(struct owner_index *ix)
{
	free(ix->slots);
	memset(ix, 0, sizeof(*ix));
}

static uint64_t addr_hash(uint64_t seed, const struct tcpao_addr *a)
{
	uint64_t w[2] = { 0 };

	memcpy(w, a->bytes, a->family == AF_INET6 ? 16 : 4);
	return hash_mix(hash_mix(hash_mix(seed, (uint64_t)a->family), w[0]), w[1]);
}

/* The same for {a, b} and {b, a}: the kernel's queue is the same for
 * both directions. */
static uint64_t pair_hash(const struct owner_index *ix,
			  const struct tcpao_addr *a,
			  const struct tcpao_addr *b)
{
	uint64_t x = addr_hash(ix->seed, a), y = addr_hash(ix->seed, b);

	return hash_mix(hash_mix(ix->seed, x < y ? x : y), x < y ? y : x);
}

void owner_note(struct owner_index *ix, const struct tcpao_addr *a,
		const struct tcpao_addr *b, unsigned int worker)
{
	uint64_t h = pair_hash(ix, a, b), v;
	_Atomic uint64_t *slot;

	if (!ix->slots || worker >= OWNER_MAX_WORKERS)
		return;
	slot = &ix->slots[h & ix->mask];
	v = (h & ~WORKER_BITS) | (worker + 1);
	/* Most new flows are of a pair already noted: leave the line clean. */
	if (atomic_load_explicit(slot, memory_order_relaxed) != v)
		atomic_store_explicit(slot, v, memory_order_relaxed);
}

int owner_of(const struct owner_index *ix, const struct tcpao_addr *a,
	     const struct tcpao_addr *b)
{
	uint64_t h, v;

	if (!ix->slots)
		return -1;
	h = pair_hash(ix, a, b);
	v = atomic_load_explicit(&ix->slots[h & ix->mask], memory_order_relaxed);
	if (!v || (v & ~WORKER_BITS) != (h & ~WORKER_BITS))
		return -1;
	return (int)(v & WORKER_BITS) - 1;
}
