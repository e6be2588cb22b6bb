// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A trie of refcounted PVEC_FAN-way nodes; a change copies the shared
 * nodes on its path (path copying) and changes the private ones in place.
 */
#include <errno.h>
#include <stdlib.h>

#include "pvec.h"

static void node_put(struct pnode *n, unsigned height, const struct pvec_ops *ops)
{
	if (!n || --n->ref)
		return;
	for (size_t k = 0; k < PVEC_FAN; k++) {
		if (height)
			node_put(n->s[k].child, height - 1, ops);
		else if (n->s[k].word && ops)
			ops->unref(n->s[k].word);
	}
	free(n);
}

/* A private copy of a shared node: its children (or words) gain a holder. */
static struct pnode *node_copy(struct pnode *n, unsigned height,
			       const struct pvec_ops *ops)
{
	struct pnode *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *n;
	c->ref = 1;
	for (size_t k = 0; k < PVEC_FAN; k++) {
		if (height && c->s[k].child)
			c->s[k].child->ref++;
		else if (!height && c->s[k].word && ops)
			ops->ref(c->s[k].word);
	}
	n->ref--; /* still held by the versions that share it */
	return c;
}

/* The node at *at, made this version's own (created when absent). */
static struct pnode *own(struct pnode **at, unsigned height,
			 const struct pvec_ops *ops)
{
	struct pnode *n = *at;

	if (!n)
		n = calloc(1, sizeof(*n));
	else if (n->ref > 1)
		n = node_copy(n, height, ops);
	if (!n)
		return NULL;
	n->ref += !*at;
	*at = n;
	return n;
}

void pvec_init(struct pvec *v, const struct pvec_ops *ops)
{
	*v = (struct pvec){ .ops = ops };
}

void pvec_clone(struct pvec *dst, const struct pvec *src)
{
	*dst = *src;
	if (dst->root)
		dst->root->ref++;
}

void pvec_free(struct pvec *v)
{
	node_put(v->root, v->height, v->ops);
	v->root = NULL;
	v->n = 0;
	v->height = 0;
}

uintptr_t *pvec_slot(struct pvec *v, size_t i)
{
	struct pnode **at = &v->root;

	if (i >= v->n)
		return NULL;
	for (unsigned h = v->height;; h--) {
		struct pnode *n = own(at, h, v->ops);

		if (!n)
			return NULL;
		if (!h)
			return &n->s[pvec_slot_of(i, 0)].word;
		at = &n->s[pvec_slot_of(i, h)].child;
	}
}

int pvec_set(struct pvec *v, size_t i, uintptr_t x)
{
	uintptr_t *slot = pvec_slot(v, i), old;

	if (!slot)
		return -ENOMEM;
	old = *slot;
	*slot = x;
	if (old && v->ops)
		v->ops->unref(old);
	return 0;
}

static size_t capacity(unsigned height)
{
	return (size_t)1 << ((height + 1) * PVEC_BITS);
}

int pvec_resize(struct pvec *v, size_t n)
{
	while (n > capacity(v->height)) {
		if (v->root) {
			struct pnode *up = calloc(1, sizeof(*up));

			if (!up)
				return -ENOMEM;
			up->ref = 1;
			up->s[0].child = v->root;
			v->root = up;
		}
		v->height++;
	}
	/* Words past the end go (only where there is one: no copies). */
	for (size_t i = n; i < v->n; i++)
		if (pvec_get(v, i) && pvec_set(v, i, 0))
			return -ENOMEM;
	v->n = n;
	return 0;
}
