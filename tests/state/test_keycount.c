// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A socket's per-key counters (daemon/keycount.c): counted by several
 * workers at once without a lock, the sums a reader gets equal the
 * segments counted; keys claimed concurrently get one slot each, in
 * chunks beyond the first; a snapshot is sorted by serial.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "keycount.h"

#define WRITERS 4
#define KEYS 21 /* several chunks */
#define PER_WRITER 300000

static struct keycount kc;

struct writer {
	pthread_t t;
	unsigned int index;
	uint64_t good[KEYS + 1], bad[KEYS + 1];
};

static void *count(void *arg)
{
	struct writer *w = arg;
	uint64_t x = 0x9e3779b97f4a7c15ull * (w->index + 1);

	for (int n = 0; n < PER_WRITER; n++) {
		uint64_t serial;
		bool good;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		serial = 1 + x % KEYS;
		good = (x >> 32) % 5 != 0;
		keycount_inc(&kc, w->index, serial, good);
		if (good)
			w->good[serial]++;
		else
			w->bad[serial]++;
	}
	return NULL;
}

static void test_sums_across_writers(void **state)
{
	struct writer w[WRITERS] = { 0 };
	struct key_count *snap;
	size_t n;

	(void)state;
	keycount_init(&kc, false, WRITERS);
	for (unsigned int i = 0; i < WRITERS; i++) {
		w[i].index = i;
		assert_int_equal(pthread_create(&w[i].t, NULL, count, &w[i]), 0);
	}
	/* A reader while they count: never more than was counted in the end. */
	for (int i = 0; i < 100; i++) {
		n = keycount_snapshot(&kc, &snap);
		assert_true(n <= KEYS);
		free(snap);
	}
	for (unsigned int i = 0; i < WRITERS; i++)
		pthread_join(w[i].t, NULL);
	n = keycount_snapshot(&kc, &snap);
	assert_int_equal(n, KEYS);
	for (size_t k = 0; k < n; k++) {
		uint64_t good = 0, bad = 0, g, b;

		assert_int_equal(snap[k].serial, k + 1);
		for (unsigned int i = 0; i < WRITERS; i++) {
			good += w[i].good[k + 1];
			bad += w[i].bad[k + 1];
		}
		assert_int_equal(snap[k].good, good);
		assert_int_equal(snap[k].bad, bad);
		keycount_get(&kc, k + 1, &g, &b);
		assert_int_equal(g, good);
		assert_int_equal(b, bad);
	}
	free(snap);
	keycount_free(&kc);
}

static void test_unknown_and_bounds(void **state)
{
	struct key_count *snap;
	uint64_t g = 7, b = 7;

	(void)state;
	keycount_init(&kc, true, 2);
	assert_true(atomic_load(&kc.listener));
	keycount_get(&kc, 5, &g, &b);
	assert_int_equal(g + b, 0);
	assert_int_equal(keycount_snapshot(&kc, &snap), 0);
	assert_null(snap);
	/* Serial 0 is no key, and writer 2 does not exist. */
	keycount_inc(&kc, 0, 0, true);
	keycount_inc(&kc, 2, 5, true);
	assert_int_equal(keycount_snapshot(&kc, &snap), 0);
	for (uint64_t s = 40; s > 30; s--)
		keycount_inc(&kc, 1, s, s % 2);
	assert_int_equal(keycount_snapshot(&kc, &snap), 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(snap[i].serial, 31 + i);
		assert_int_equal(snap[i].good, (31 + i) % 2);
		assert_int_equal(snap[i].bad, 1 - (31 + i) % 2);
	}
	free(snap);
	keycount_free(&kc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sums_across_writers),
		cmocka_unit_test(test_unknown_and_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
