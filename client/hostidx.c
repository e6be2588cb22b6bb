// SPDX-License-Identifier: GPL-2.0-or-later
/* Chained by address: a bucket holds the entries of the addresses that
 * hash to it; the table doubles when it holds more entries than buckets. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hostidx.h"

struct hostidx_entry {
	struct tcpao_addr addr;
	uint32_t uid;
};

struct hostidx_bucket {
	struct hostidx_entry *e;
	uint32_t n, cap;
};

static size_t hash(const struct tcpao_addr *a)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)a->family;
	size_t len = tcpao_addr_len(a);

	for (size_t i = 0; i < len; i++)
		h = (h ^ a->bytes[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

static bool same(const struct tcpao_addr *a, const struct tcpao_addr *b)
{
	return a->family == b->family && tcpao_addr_equal(a, b);
}

static int bucket_push(struct hostidx_bucket *b, const struct hostidx_entry *e)
{
	if (b->n == b->cap) {
		uint32_t cap = b->cap ? b->cap * 2 : 2;
		struct hostidx_entry *v = realloc(b->e, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		b->e = v;
		b->cap = cap;
	}
	b->e[b->n++] = *e;
	return 0;
}

static int grow(struct hostidx *x)
{
	size_t nb = x->nb ? x->nb * 2 : 16;
	struct hostidx_bucket *b = calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < x->nb; i++) {
		for (uint32_t j = 0; j < x->b[i].n; j++) {
			const struct hostidx_entry *e = &x->b[i].e[j];

			if (bucket_push(&b[hash(&e->addr) & (nb - 1)], e)) {
				for (size_t k = 0; k < nb; k++)
					free(b[k].e);
				free(b);
				return -ENOMEM;
			}
		}
	}
	for (size_t i = 0; i < x->nb; i++)
		free(x->b[i].e);
	free(x->b);
	x->b = b;
	x->nb = nb;
	return 0;
}

int hostidx_add(struct hostidx *x, const struct tcpao_addr *addr, uint32_t uid)
{
	const struct hostidx_entry e = { .addr = *addr, .uid = uid };

	if (x->n >= x->nb && grow(x))
		return -ENOMEM;
	if (bucket_push(&x->b[hash(addr) & (x->nb - 1)], &e))
		return -ENOMEM;
	x->n++;
	return 0;
}

void hostidx_del(struct hostidx *x, const struct tcpao_addr *addr, uint32_t uid)
{
	struct hostidx_bucket *b;

	if (!x->nb)
		return;
	b = &x->b[hash(addr) & (x->nb - 1)];
	for (uint32_t j = 0; j < b->n; j++) {
		if (b->e[j].uid == uid && same(&b->e[j].addr, addr)) {
			b->e[j] = b->e[--b->n];
			x->n--;
			return;
		}
	}
}

size_t hostidx_get(const struct hostidx *x, const struct tcpao_addr *addr,
		   uint32_t *uids, size_t max)
{
	const struct hostidx_bucket *b;
	size_t n = 0;

	if (!x->nb)
		return 0;
	b = &x->b[hash(addr) & (x->nb - 1)];
	for (uint32_t j = 0; j < b->n; j++)
		if (same(&b->e[j].addr, addr) && n++ < max)
			uids[n - 1] = b->e[j].uid;
	return n;
}

void hostidx_free(struct hostidx *x)
{
	for (size_t i = 0; i < x->nb; i++)
		free(x->b[i].e);
	free(x->b);
	memset(x, 0, sizeof(*x));
}
