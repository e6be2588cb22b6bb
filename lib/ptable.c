// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Pages with a holder count, as pvec words: a pvec leaf copied refs its
 * pages, one freed unrefs them; a write to a page held by another
 * version copies the page first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ptable.h"

static void page_ref(uintptr_t w)
{
	((struct ptable_page *)w)->ref++;
}

static void page_unref(uintptr_t w)
{
	struct ptable_page *p = (struct ptable_page *)w;

	if (!--p->ref)
		free(p);
}

static const struct pvec_ops page_ops = { page_ref, page_unref };

int ptable_init(struct ptable *t, size_t size, size_t n)
{
	size_t per_page;

	*t = (struct ptable){ .size = size, .n = n };
	while ((size_t)2 << t->shift <= PTABLE_PAGE / size)
		t->shift++;
	per_page = (size_t)1 << t->shift;
	pvec_init(&t->pages, &page_ops);
	if (pvec_resize(&t->pages, (n + per_page - 1) / per_page))
		return -ENOMEM;
	for (size_t i = 0; i < t->pages.n; i++) {
		struct ptable_page *p = calloc(1, sizeof(*p));

		if (!p || pvec_set(&t->pages, i, (uintptr_t)p)) {
			free(p);
			ptable_free(t);
			return -ENOMEM;
		}
		p->ref = 1;
	}
	return 0;
}

void ptable_clone(struct ptable *dst, const struct ptable *src)
{
	*dst = *src;
	pvec_clone(&dst->pages, &src->pages);
}

void ptable_free(struct ptable *t)
{
	pvec_free(&t->pages);
	t->n = 0;
}

void *ptable_mut(struct ptable *t, size_t i)
{
	uintptr_t *slot = pvec_slot(&t->pages, i >> t->shift);
	struct ptable_page *p = slot ? (struct ptable_page *)*slot : NULL;

	if (p && p->ref > 1) {
		struct ptable_page *c = malloc(sizeof(*c));

		if (!c)
			return NULL;
		memcpy(c->data, p->data, sizeof(c->data));
		c->ref = 1;
		p->ref--; /* still held by the versions that share it */
		*slot = (uintptr_t)c;
		p = c;
	}
	return p ? p->data + (i & (((size_t)1 << t->shift) - 1)) * t->size : NULL;
}
