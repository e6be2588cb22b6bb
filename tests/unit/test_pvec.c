// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The persistent vector and table (lib/pvec.c, lib/ptable.c) against a
 * model: versions cloned from one another and changed on their own, past
 * the sizes where the trie grows a level, each read back whole after
 * every change to any of them; the references their leaves hold on
 * shared words are all released, once, when the last version that holds
 * them goes, and no later.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "ptable.h"
#include "pvec.h"

/* A shared word: what a policy's entries are to its pvec. */
struct obj {
	unsigned ref;
	bool gone;
};

#define MAX_OBJS 60000
static struct obj objs[MAX_OBJS];
static size_t nobjs;

static void obj_ref(uintptr_t w)
{
	struct obj *o = (struct obj *)w;

	assert_false(o->gone);
	o->ref++;
}

static void obj_unref(uintptr_t w)
{
	struct obj *o = (struct obj *)w;

	assert_false(o->gone);
	assert_true(o->ref > 0);
	o->gone = --o->ref == 0;
}

static const struct pvec_ops obj_ops = { obj_ref, obj_unref };

/* A new word, its one reference to hand over. */
static uintptr_t obj_new(void)
{
	assert_true(nobjs < MAX_OBJS);
	objs[nobjs] = (struct obj){ .ref = 1 };
	return (uintptr_t)&objs[nobjs++];
}

#define VERSIONS 6
#define MOST (3 * PVEC_FAN * PVEC_FAN / 2) /* past two levels' capacity */

struct version {
	struct pvec v;
	uintptr_t *model; /* MOST words */
	size_t n;
	bool live;
};

static unsigned seed = 1;
static unsigned tallest; /* levels above the leaves, the most seen */

static unsigned rnd(unsigned below)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % below;
}

/* Every slot as the model says (0 past the end), through both readers;
 * every word a version holds still referenced. */
static void same_as_model(const struct version *x)
{
	assert_int_equal(x->v.n, x->n);
	for (size_t i = 0; i < x->n; i++) {
		const struct pnode *leaf = pvec_leaf(&x->v, i);
		uintptr_t w = pvec_get(&x->v, i);

		assert_true(w == x->model[i]);
		assert_true((leaf ? leaf->s[pvec_slot_of(i, 0)].word : 0) == w);
		if (w)
			assert_false(((struct obj *)w)->gone);
	}
	assert_true(pvec_get(&x->v, x->n) == 0);
}

/* A word no live version holds is gone already, not kept by a copy. */
static void none_kept(const struct version *ver)
{
	static bool held[MAX_OBJS];

	memset(held, 0, sizeof(held));
	for (int k = 0; k < VERSIONS; k++)
		for (size_t i = 0; ver[k].live && i < ver[k].n; i++)
			if (ver[k].model[i])
				held[(struct obj *)ver[k].model[i] - objs] = true;
	for (size_t i = 0; i < nobjs; i++)
		assert_true(objs[i].gone == !held[i]);
}

static void change(struct version *x)
{
	unsigned what = rnd(100);

	if (what < 4) { /* grow or shrink, across a level now and then */
		size_t n = rnd(4) ? rnd(MOST) : MOST - rnd(8);

		assert_int_equal(pvec_resize(&x->v, n), 0);
		tallest = x->v.height > tallest ? x->v.height : tallest;
		for (size_t i = n; i < x->n; i++)
			x->model[i] = 0;
		x->n = n;
	} else if (x->n) {
		size_t i = rnd((unsigned)x->n);
		uintptr_t w = rnd(5) ? obj_new() : 0;

		assert_int_equal(pvec_set(&x->v, i, w), 0);
		x->model[i] = w;
	}
}

static void test_versions_against_model(void **state)
{
	struct version ver[VERSIONS] = { 0 };

	(void)state;
	for (int k = 0; k < VERSIONS; k++)
		assert_non_null(ver[k].model = calloc(MOST, sizeof(uintptr_t)));
	pvec_init(&ver[0].v, &obj_ops);
	ver[0].live = true;
	for (int step = 0; step < 20000; step++) {
		int k = (int)rnd(VERSIONS), from = (int)rnd(VERSIONS);

		if (!ver[k].live && ver[from].live) { /* a copy: O(1), shares all */
			pvec_clone(&ver[k].v, &ver[from].v);
			memcpy(ver[k].model, ver[from].model, MOST * sizeof(uintptr_t));
			ver[k].n = ver[from].n;
			ver[k].live = true;
		} else if (ver[k].live && rnd(200) == 0) { /* let go */
			pvec_free(&ver[k].v);
			ver[k].live = false;
		} else if (ver[k].live) {
			change(&ver[k]);
		}
		if (step % 200 == 0) {
			for (int j = 0; j < VERSIONS; j++)
				if (ver[j].live)
					same_as_model(&ver[j]);
			none_kept(ver);
		}
	}
	for (int k = 0; k < VERSIONS; k++) {
		if (ver[k].live) {
			same_as_model(&ver[k]);
			pvec_free(&ver[k].v);
		}
		free(ver[k].model);
	}
	/* Each word released exactly when its last holder went. */
	for (size_t i = 0; i < nobjs; i++) {
		assert_int_equal(objs[i].ref, 0);
		assert_true(objs[i].gone);
	}
	assert_true(nobjs > 10000);
	assert_true(tallest >= 2); /* past two levels' capacity */
}

/* A change to a clone's element copies its page: the original still
 * reads what it had, everywhere, across more pages than one trie level
 * holds (a peer index's slots: 32 bytes, 128 a page). */
struct elem {
	uint64_t v, pad[3];
};

static uint64_t elem_at(const struct ptable *t, size_t i)
{
	return ((const struct elem *)ptable_get(t, i))->v;
}

static void test_ptable_copy_on_write(void **state)
{
	enum { ELEMS = 2 * PVEC_FAN * (PTABLE_PAGE / sizeof(struct elem)) + 77 };
	struct ptable a, b;

	(void)state;
	assert_int_equal(ptable_init(&a, sizeof(struct elem), ELEMS), 0);
	assert_true(a.pages.height >= 1);
	for (size_t i = 0; i < ELEMS; i++)
		((struct elem *)ptable_mut(&a, i))->v = i;
	ptable_clone(&b, &a);
	for (size_t i = 0; i < ELEMS; i += 97)
		((struct elem *)ptable_mut(&b, i))->v = ~(uint64_t)i;
	for (size_t i = 0; i < ELEMS; i++) {
		const struct elem *e = ptable_get(&b, i);

		assert_true(elem_at(&a, i) == i);
		assert_true(e->v == (i % 97 ? i : ~(uint64_t)i));
		/* The next element is right after it, within its page. */
		if (i + 1 < ELEMS && ptable_same_page(&b, i + 1))
			assert_ptr_equal(e + 1, ptable_get(&b, i + 1));
	}
	ptable_free(&a);
	for (size_t i = 0; i < ELEMS; i++)
		assert_true(elem_at(&b, i) == (i % 97 ? i : ~(uint64_t)i));
	ptable_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions_against_model),
		cmocka_unit_test(test_ptable_copy_on_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
