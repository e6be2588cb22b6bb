// SPDX-License-Identifier: GPL-2.0-or-later
/* Per-key counters of a socket (keycount.h). */
#include <stdlib.h>
#include <string.h>

#include "keycount.h"

void keycount_init(struct keycount *kc, bool listener)
{
	memset(kc, 0, sizeof(*kc));
	pthread_mutex_init(&kc->lock, NULL);
	kc->listener = listener;
}

void keycount_free(struct keycount *kc)
{
	free(kc->v);
	pthread_mutex_destroy(&kc->lock);
	memset(kc, 0, sizeof(*kc));
}

/* Under the lock. Few keys count on one socket: a linear search. */
static struct key_count *find(struct keycount *kc, uint64_t serial, bool add)
{
	struct key_count *grown;

	for (size_t i = 0; i < kc->n; i++)
		if (kc->v[i].serial == serial)
			return &kc->v[i];
	if (!add)
		return NULL;
	if (kc->n == kc->cap) {
		size_t cap = kc->cap ? kc->cap * 2 : 4;

		grown = realloc(kc->v, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		kc->v = grown;
		kc->cap = cap;
	}
	kc->v[kc->n] = (struct key_count){ .serial = serial };
	return &kc->v[kc->n++];
}

void keycount_inc(struct keycount *kc, uint64_t serial, bool good)
{
	struct key_count *c;

	pthread_mutex_lock(&kc->lock);
	c = find(kc, serial, true);
	if (c && good)
		c->good++;
	else if (c)
		c->bad++;
	pthread_mutex_unlock(&kc->lock);
}

void keycount_get(struct keycount *kc, uint64_t serial, uint64_t *good,
		  uint64_t *bad)
{
	struct key_count *c;

	pthread_mutex_lock(&kc->lock);
	c = find(kc, serial, false);
	*good = c ? c->good : 0;
	*bad = c ? c->bad : 0;
	pthread_mutex_unlock(&kc->lock);
}

static int by_serial(const void *a, const void *b)
{
	const struct key_count *x = a, *y = b;

	return x->serial < y->serial ? -1 : x->serial > y->serial;
}

size_t keycount_snapshot(struct keycount *kc, struct key_count **out)
{
	size_t n;

	pthread_mutex_lock(&kc->lock);
	n = kc->n;
	*out = n ? malloc(n * sizeof(**out)) : NULL;
	if (*out)
		memcpy(*out, kc->v, n * sizeof(**out));
	pthread_mutex_unlock(&kc->lock);
	if (!*out)
		return 0;
	qsort(*out, n, sizeof(**out), by_serial);
	return n;
}
