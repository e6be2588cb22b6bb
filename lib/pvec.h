/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A persistent vector of words: a copy costs O(1) (the two share every
 * node) and a change to one slot copies only the nodes on its path
 * (a 64-way trie: 4 nodes at 16 million slots). So one policy can be
 * changed into the next without copying what did not change, and both
 * stay valid.
 *
 * A word is 0 (an empty slot: fresh slots are 0) or what the owner put
 * there. When the words are references (ops given), the versions that
 * share a word hold it (how: pvec.c), so a shared object is released
 * exactly once, when the last version that holds it lets go.
 *
 * Not thread-safe to change; any number of threads may read a vector no
 * one changes (pvec_get: no lock, no allocation).
 */
#ifndef TCPAOD_PVEC_H
#define TCPAOD_PVEC_H

#include <stddef.h>
#include <stdint.h>

#define PVEC_BITS 6
#define PVEC_FAN (1u << PVEC_BITS)

struct pvec_ops {
	void (*ref)(uintptr_t word);
	void (*unref)(uintptr_t word);
};

struct pnode {
	unsigned ref;
	uint64_t owned;          /* the children (words) it holds (pvec.c) */
	struct pnode *lender;    /* the node that holds the others */
	struct pnode *borrower;  /* the copy that shares its children */
	union {
		uintptr_t word;      /* in a leaf */
		struct pnode *child; /* above */
	} s[PVEC_FAN];
};

struct pvec {
	struct pnode *root;   /* NULL: every slot 0 */
	unsigned height;      /* levels above the leaves */
	size_t n;             /* slots 0..n-1 */
	const struct pvec_ops *ops; /* NULL: plain words */
};

void pvec_init(struct pvec *v, const struct pvec_ops *ops);
/* dst shares src's nodes; both may then change on their own. */
void pvec_clone(struct pvec *dst, const struct pvec *src);
/* Drops this version's hold on its nodes (and their words). */
void pvec_free(struct pvec *v);

static inline size_t pvec_slot_of(size_t i, unsigned height)
{
	return (i >> (height * PVEC_BITS)) & (PVEC_FAN - 1);
}

/* The leaf that holds slot i (< n): its PVEC_FAN words, slot i at
 * pvec_slot_of(i, 0). NULL when there is none (its slots are all 0).
 * Inline: every lookup of a published policy and peer index walks it. */
static inline const struct pnode *pvec_leaf(const struct pvec *v, size_t i)
{
	const struct pnode *n = v->root;

	for (unsigned h = v->height; n && h; h--)
		n = n->s[pvec_slot_of(i, h)].child;
	return n;
}

static inline uintptr_t pvec_get(const struct pvec *v, size_t i)
{
	const struct pnode *leaf = i < v->n ? pvec_leaf(v, i) : NULL;

	return leaf ? leaf->s[pvec_slot_of(i, 0)].word : 0;
}
/* Slot i (< n) in nodes of this version only, to read or overwrite; this
 * version holds the word there (a reference of its own: more than one
 * reference means another version holds it too). The caller unrefs a
 * word it overwrites and hands over a reference to the word it stores.
 * NULL without memory. */
uintptr_t *pvec_slot(struct pvec *v, size_t i);
/* Stores x (its reference handed over) in slot i, unrefs the old word. */
int pvec_set(struct pvec *v, size_t i, uintptr_t x);
/* Grows to n slots (new slots 0) or shrinks (dropped words unref'd). */
int pvec_resize(struct pvec *v, size_t n);

#endif
