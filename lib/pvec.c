// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A trie of refcounted PVEC_FAN-way nodes; a change copies the shared
 * nodes on its path (path copying) and changes the private ones in place.
 *
 * A copy borrows: it takes no reference on the children (or words) it
 * shares with the node it copied, its lender, which keeps holding them;
 * `owned` marks those it holds itself (put there, or taken over). When
 * the lender's last other holder goes (the version that had it), the
 * borrower takes over the lender's references to what they still share,
 * the rest is released, and the lender goes. So a change, and the release
 * of the version before it, touch the nodes on the path, not every child
 * of each (measured: most of a key add's growth at 100,000 keys,
 * docs/BENCHMARKS.md). A node lends to one borrower at most; a second
 * copy refs everything.
 *
 * Held: a child (word) at slot k of a node is held by the node when k is
 * in `owned`, else by its lender (or the lender's own lender), which has
 * the same child at k.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pvec.h"

#define ALL_OWNED (~(uint64_t)0)

static void node_put(struct pnode *n, unsigned height, const struct pvec_ops *ops);

static uint64_t bit(size_t k)
{
	return (uint64_t)1 << k;
}

/* One more reference on what slot k of n (at height) holds. */
static void ref_slot(struct pnode *n, size_t k, unsigned height,
		     const struct pvec_ops *ops)
{
	if (height && n->s[k].child)
		n->s[k].child->ref++;
	else if (!height && n->s[k].word && ops)
		ops->ref(n->s[k].word);
}

/* One reference on what slot k of n (at height) holds, let go. */
static void put_slot(struct pnode *n, size_t k, unsigned height,
		     const struct pvec_ops *ops)
{
	if (height)
		node_put(n->s[k].child, height - 1, ops);
	else if (n->s[k].word && ops)
		ops->unref(n->s[k].word);
}

/* The lender n's last other holder went: its borrower b takes over n's
 * references to what b still shares, n's others are released, and b
 * borrows what n borrowed from n's own lender. */
static void hand_over(struct pnode *n, unsigned height, const struct pvec_ops *ops)
{
	struct pnode *b = n->borrower;

	for (size_t k = 0; k < PVEC_FAN; k++) {
		if (!(n->owned & bit(k)))
			continue;
		if (!(b->owned & bit(k)) && b->s[k].word == n->s[k].word)
			b->owned |= bit(k);
		else
			put_slot(n, k, height, ops);
	}
	b->lender = n->lender;
	if (n->lender)
		n->lender->borrower = b;
	free(n);
}

static void node_free(struct pnode *n, unsigned height, const struct pvec_ops *ops)
{
	for (size_t k = 0; k < PVEC_FAN; k++)
		if (n->owned & bit(k))
			put_slot(n, k, height, ops);
	if (n->lender) {
		n->lender->borrower = NULL;
		node_put(n->lender, height, ops);
	}
	free(n);
}

/* One holder of n lets go. */
static void node_put(struct pnode *n, unsigned height, const struct pvec_ops *ops)
{
	if (!n)
		return;
	if (!--n->ref)
		node_free(n, height, ops);
	else if (n->ref == 1 && n->borrower)
		hand_over(n, height, ops);
}

/* A private copy of n, which its parent held (held) or borrowed: it
 * borrows n's children or words when n lends to no one yet, else refs
 * them all. */
static struct pnode *node_copy(struct pnode *n, unsigned height, bool held,
			       const struct pvec_ops *ops)
{
	struct pnode *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *n;
	c->ref = 1;
	c->borrower = NULL;
	if (!n->borrower) {
		c->owned = 0;
		c->lender = n;
		n->borrower = c;
		n->ref += !held; /* the parent's hold, if any, becomes c's */
		return c;
	}
	c->owned = ALL_OWNED;
	c->lender = NULL;
	for (size_t k = 0; k < PVEC_FAN; k++)
		ref_slot(c, k, height, ops);
	if (held)
		node_put(n, height, ops); /* still held by the versions that share it */
	return c;
}

/* The node at slot k of parent (NULL: the root, at *at), made this
 * version's own (created when absent). */
static struct pnode *own(struct pnode **at, struct pnode *parent, size_t k,
			 unsigned height, const struct pvec_ops *ops)
{
	bool held = !parent || (parent->owned & bit(k));
	struct pnode *n = *at;

	if (!n) {
		n = calloc(1, sizeof(*n));
		if (n)
			n->ref = 1;
	} else if (n->ref > 1 || !held) {
		n = node_copy(n, height, held, ops);
	}
	if (!n)
		return NULL;
	if (parent)
		parent->owned |= bit(k);
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

/* Word k of a leaf of this version, held by the leaf (a borrowed one
 * gains a reference), so that the caller may treat it as before. */
static uintptr_t *hold_word(struct pnode *leaf, size_t k, const struct pvec_ops *ops)
{
	if (!(leaf->owned & bit(k))) {
		ref_slot(leaf, k, 0, ops);
		leaf->owned |= bit(k);
	}
	return &leaf->s[k].word;
}

uintptr_t *pvec_slot(struct pvec *v, size_t i)
{
	struct pnode **at = &v->root, *parent = NULL;
	size_t k = 0;

	if (i >= v->n)
		return NULL;
	for (unsigned h = v->height;; h--) {
		struct pnode *n = own(at, parent, k, h, v->ops);

		if (!n)
			return NULL;
		if (!h)
			return hold_word(n, pvec_slot_of(i, 0), v->ops);
		parent = n;
		k = pvec_slot_of(i, h);
		at = &n->s[k].child;
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
			up->owned = 1; /* the version's hold on the old root */
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
