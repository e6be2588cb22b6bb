// SPDX-License-Identifier: GPL-2.0-or-later
/* Per-key counters of a socket (keycount.h). */
#include <stdlib.h>
#include <string.h>

#include "keycount.h"

#define SLOTS 8 /* keys per chunk: 128 bytes of cells per writer */

struct cell {
	_Atomic uint64_t good, bad;
};

struct keycount_chunk {
	_Atomic uint64_t serial[SLOTS]; /* 0: free; slots fill in order */
	struct keycount_chunk *_Atomic next;
	/* Writer w's cells are cells[w * SLOTS ...]: whole cache lines, so
	 * two workers never write to the same line. */
	_Alignas(64) struct cell cells[];
};

void keycount_init(struct keycount *kc, bool listener, unsigned int nwriters)
{
	atomic_init(&kc->head, NULL);
	kc->nwriters = nwriters ? nwriters : 1;
	atomic_init(&kc->listener, listener);
}

void keycount_free(struct keycount *kc)
{
	struct keycount_chunk *c = atomic_load(&kc->head);

	while (c) {
		struct keycount_chunk *next = atomic_load(&c->next);

		free(c);
		c = next;
	}
	atomic_store(&kc->head, NULL);
}

static struct keycount_chunk *chunk_new(unsigned int nwriters)
{
	size_t size = sizeof(struct keycount_chunk) +
		      (size_t)nwriters * SLOTS * sizeof(struct cell);
	struct keycount_chunk *c;

	size = (size + 63) & ~(size_t)63;
	c = aligned_alloc(64, size);
	if (c)
		memset(c, 0, size);
	return c;
}

/* The slot of serial in chunk c, claiming a free one when add; -1 when
 * the chunk is full of other keys, or (*absent) when, without add, it
 * has a free slot: the serial is in no later one. */
static int slot_in(struct keycount_chunk *c, uint64_t serial, bool add,
		   bool *absent)
{
	for (int i = 0; i < SLOTS; i++) {
		uint64_t s = atomic_load_explicit(&c->serial[i],
						  memory_order_acquire);

		/* Two workers may race for a slot: the loser sees the
		 * winner's serial there, which may be its own. */
		if (!s && add &&
		    atomic_compare_exchange_strong_explicit(
			    &c->serial[i], &s, serial, memory_order_acq_rel,
			    memory_order_acquire))
			return i;
		if (s == serial)
			return i;
		if (!s) {
			*absent = true;
			return -1;
		}
	}
	return -1;
}

/* A new chunk at *link (empty), or the one another worker put there
 * first; NULL when out of memory. */
static struct keycount_chunk *append(struct keycount_chunk *_Atomic *link,
				     unsigned int nwriters)
{
	struct keycount_chunk *c = chunk_new(nwriters), *none = NULL;

	if (!c)
		return NULL;
	if (atomic_compare_exchange_strong_explicit(link, &none, c,
						    memory_order_acq_rel,
						    memory_order_acquire))
		return c;
	free(c);
	return none;
}

/* The chunk and slot of serial; with add, claims one (appending a chunk
 * when all are full). NULL when absent or out of memory. */
static struct keycount_chunk *find(struct keycount *kc, uint64_t serial,
				   bool add, int *slot)
{
	struct keycount_chunk *_Atomic *link = &kc->head;
	bool absent = false;

	while (!absent) {
		struct keycount_chunk *c;

		c = atomic_load_explicit(link, memory_order_acquire);
		if (!c && (!add || !(c = append(link, kc->nwriters))))
			return NULL;
		*slot = slot_in(c, serial, add, &absent);
		if (*slot >= 0)
			return c;
		link = &c->next;
	}
	return NULL;
}

void keycount_inc(struct keycount *kc, unsigned int writer, uint64_t serial,
		  bool good)
{
	struct keycount_chunk *c;
	_Atomic uint64_t *v;
	int i;

	if (!serial || writer >= kc->nwriters)
		return;
	c = find(kc, serial, true, &i);
	if (!c)
		return;
	v = good ? &c->cells[writer * SLOTS + i].good
		 : &c->cells[writer * SLOTS + i].bad;
	/* This writer's cell alone: no read-modify-write needed. */
	atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void sum(const struct keycount *kc, struct keycount_chunk *c, int i,
		struct key_count *out)
{
	out->good = out->bad = 0;
	for (unsigned int w = 0; w < kc->nwriters; w++) {
		struct cell *cell = &c->cells[w * SLOTS + i];

		out->good += atomic_load_explicit(&cell->good, memory_order_relaxed);
		out->bad += atomic_load_explicit(&cell->bad, memory_order_relaxed);
	}
}

void keycount_get(struct keycount *kc, uint64_t serial, uint64_t *good,
		  uint64_t *bad)
{
	struct key_count k = { 0 };
	struct keycount_chunk *c;
	int i;

	c = serial ? find(kc, serial, false, &i) : NULL;
	if (c)
		sum(kc, c, i, &k);
	*good = k.good;
	*bad = k.bad;
}

static int by_serial(const void *a, const void *b)
{
	const struct key_count *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

/* Calls out (when not NULL, at most max times) for each claimed slot;
 * returns how many were seen. */
static size_t walk(struct keycount *kc, struct key_count *out, size_t max)
{
	struct keycount_chunk *c = atomic_load_explicit(&kc->head,
							memory_order_acquire);
	size_t n = 0;

	for (; c; c = atomic_load_explicit(&c->next, memory_order_acquire)) {
		for (int i = 0; i < SLOTS; i++) {
			uint64_t s = atomic_load_explicit(&c->serial[i],
							  memory_order_acquire);

			if (!s || (out && n == max))
				return n;
			if (out) {
				sum(kc, c, i, &out[n]);
				out[n].serial = s;
			}
			n++;
		}
	}
	return n;
}

size_t keycount_snapshot(struct keycount *kc, struct key_count **out)
{
	size_t n = walk(kc, NULL, 0);

	*out = n ? malloc(n * sizeof(**out)) : NULL;
	if (!*out)
		return 0;
	/* Keys claimed since the count are left for the next reader. */
	n = walk(kc, *out, n);
	qsort(*out, n, sizeof(**out), by_serial);
	return n;
}
