// SPDX-License-Identifier: GPL-2.0-or-later
/* Linear probing; a removal closes up the chain behind it instead of
 * leaving a tomb, so lookups stay short however records come and go. */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "cookiemap.h"
#include "hash.h"

void cookiemap_init(struct cookiemap *m, uint64_t (*key)(const void *rec))
{
	*m = (struct cookiemap){ .key = key };
	if (getrandom(&m->seed, sizeof(m->seed), 0) != sizeof(m->seed))
		m->seed = (uint64_t)(uintptr_t)m ^ 0x9e3779b97f4a7c15ull;
}

void cookiemap_free(struct cookiemap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

static size_t home(const struct cookiemap *m, uint64_t key)
{
	return hash_mix(m->seed, key) & (m->cap - 1);
}

static size_t next(const struct cookiemap *m, size_t i)
{
	return (i + 1) & (m->cap - 1);
}

void *cookiemap_find(const struct cookiemap *m, uint64_t key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = home(m, key); m->slots[i]; i = next(m, i))
		if (m->key(m->slots[i]) == key)
			return m->slots[i];
	return NULL;
}

static void put(struct cookiemap *m, void *rec)
{
	size_t i = home(m, m->key(rec));

	while (m->slots[i])
		i = next(m, i);
	m->slots[i] = rec;
}

static int room_for_one(struct cookiemap *m)
{
	void **old = m->slots;
	size_t old_cap = m->cap, cap = old_cap ? old_cap : 64;

	if (2 * (m->count + 1) <= old_cap)
		return 0;
	while (2 * (m->count + 1) > cap)
		cap *= 2;
	m->slots = calloc(cap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			put(m, old[i]);
	free(old);
	return 0;
}

int cookiemap_add(struct cookiemap *m, void *rec)
{
	int rc = room_for_one(m);

	if (rc)
		return rc;
	put(m, rec);
	m->count++;
	return 0;
}

void cookiemap_del(struct cookiemap *m, const void *rec)
{
	size_t i = home(m, m->key(rec)), mask = m->cap - 1;

	while (m->slots[i] != rec)
		i = next(m, i);
	m->slots[i] = NULL;
	m->count--;
	for (size_t j = next(m, i); m->slots[j]; j = next(m, j)) {
		size_t h = home(m, m->key(m->slots[j]));

		/* It stays unless the hole lies between its home and it. */
		if (((j - h) & mask) < ((j - i) & mask))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j] = NULL;
		i = j;
	}
}
