/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One step of a keyed hash for tables that a local user can fill (flows,
 * owners, policy entries): start from a random seed, mix in each word. */
#ifndef TCPAOD_HASH_H
#define TCPAOD_HASH_H

#include <stdint.h>
#include <sys/random.h>

static inline uint64_t hash_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h *= 0xff51afd7ed558ccdull;
	return h ^ (h >> 33);
}

/* Sets *seed to a random key for a keyed hash on the first call: before
 * anything is hashed with it. Never 0 after, so never set twice. */
static inline void hash_seed_once(uint64_t *seed)
{
	if (!*seed && getrandom(seed, sizeof(*seed), 0) != sizeof(*seed))
		*seed = (uint64_t)(uintptr_t)seed ^ 0x9e3779b97f4a7c15ull;
	*seed |= 1;
}

#endif
