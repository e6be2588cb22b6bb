// SPDX-License-Identifier: GPL-2.0-or-later
/* daemon/cookiemap.c against a plain array, through random adds and
 * removals: every present record found, every absent one not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cookiemap.h"

#define RECS 5000

struct rec {
	uint64_t cookie;
	bool in;
};

static uint64_t rec_key(const void *r)
{
	return ((const struct rec *)r)->cookie;
}

static void assert_agrees(const struct cookiemap *m, const struct rec *recs)
{
	size_t in = 0;

	for (size_t i = 0; i < RECS; i++) {
		in += recs[i].in;
		assert_ptr_equal(cookiemap_find(m, recs[i].cookie), recs[i].in ? &recs[i] : NULL);
	}
	assert_int_equal(m->count, in);
	assert_true(2 * m->count <= m->cap);
}

static void test_against_model(void **state)
{
	static struct rec recs[RECS];
	struct cookiemap m;
	unsigned seed = 5925;

	(void)state;
	cookiemap_init(&m, rec_key);
	assert_null(cookiemap_find(&m, 1));
	/* Clustered cookies (the kernel's are sequential) and far ones. */
	for (size_t i = 0; i < RECS; i++)
		recs[i].cookie = i % 2 ? 0x1000 + i : ((uint64_t)rand_r(&seed) << 32 | i);
	for (int step = 0; step < 60000; step++) {
		struct rec *r = &recs[(size_t)rand_r(&seed) % (step < 20000 ? RECS : RECS / 8)];

		if (r->in)
			cookiemap_del(&m, r);
		else
			assert_int_equal(cookiemap_add(&m, r), 0);
		r->in = !r->in;
		if (step % 4999 == 0)
			assert_agrees(&m, recs);
	}
	assert_agrees(&m, recs);
	for (size_t i = 0; i < RECS; i++)
		if (recs[i].in)
			cookiemap_del(&m, &recs[i]);
	assert_int_equal(m.count, 0);
	for (size_t i = 0; i < m.cap; i++)
		assert_null(m.slots[i]);
	cookiemap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
