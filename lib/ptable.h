/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A persistent table of fixed-size elements (a hash table's slots), in
 * pages of PTABLE_PAGE bytes reached through a pvec: a copy shares every
 * page (O(1)), a change copies the page it writes and the pvec nodes on
 * its path, so a published version and the one being changed are both
 * valid and a reader of the old one sees nothing move.
 *
 * Same contract as pvec: one thread changes a version, any number read
 * versions no one changes. The elements hold no secret (pages are freed
 * without wiping).
 */
#ifndef TCPAO_PTABLE_H
#define TCPAO_PTABLE_H

#include <stddef.h>

#include "pvec.h"

#define PTABLE_PAGE 4096

struct ptable {
	struct pvec pages;
	size_t size, n;     /* element size, count */
	unsigned shift;     /* 1 << shift elements per page: no division */
};

/* n elements of size bytes (size <= PTABLE_PAGE), all zero; -ENOMEM. */
int ptable_init(struct ptable *t, size_t size, size_t n);
void ptable_clone(struct ptable *dst, const struct ptable *src);
void ptable_free(struct ptable *t);

struct ptable_page {
	unsigned ref;
	_Alignas(16) unsigned char data[PTABLE_PAGE];
};

/* Inline: a peer index probe reads it. */
static inline const void *ptable_get(const struct ptable *t, size_t i)
{
	const struct ptable_page *p =
		(const struct ptable_page *)pvec_get(&t->pages, i >> t->shift);

	return p->data + (i & (((size_t)1 << t->shift) - 1)) * t->size;
}
/* Element i in a page of this version only; NULL without memory. */
void *ptable_mut(struct ptable *t, size_t i);

/* Element i is in the page of element i - 1, right after it: a scan goes
 * on without looking the page up. */
static inline int ptable_same_page(const struct ptable *t, size_t i)
{
	return (i & (((size_t)1 << t->shift) - 1)) != 0;
}

#endif
