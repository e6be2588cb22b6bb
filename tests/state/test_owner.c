// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Which worker owns an address pair's flows (daemon/owner.c): found in
 * either direction, IPv4 and IPv6; unknown pairs are -1; in a table too
 * small for the pairs noted, a lookup says the right worker or "don't
 * know" (-1), never a wrong one, also while workers write concurrently.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "owner.h"

static struct owner_index ix;

static struct tcpao_addr addr(const char *text)
{
	struct tcpao_addr a;

	assert_int_equal(tcpao_addr_parse(text, &a, NULL), 0);
	return a;
}

static struct tcpao_addr host(unsigned int i, bool v6)
{
	char buf[64];

	if (v6)
		snprintf(buf, sizeof(buf), "fd00::%x:%x", i >> 16, i & 0xffff);
	else
		snprintf(buf, sizeof(buf), "198.%u.%u.%u", 18 + (i >> 16 & 1),
			 i >> 8 & 0xff, i & 0xff);
	return addr(buf);
}

static void test_both_directions(void **state)
{
	struct tcpao_addr l4 = addr("198.18.0.1"), r4 = addr("198.18.0.2");
	struct tcpao_addr l6 = addr("fd00::1"), r6 = addr("fd00::2");
	struct tcpao_addr other = addr("198.18.0.3");

	(void)state;
	assert_int_equal(owner_index_init(&ix, 1024), 0);
	assert_int_equal(owner_of(&ix, &l4, &r4), -1);
	owner_note(&ix, &l4, &r4, 1);
	owner_note(&ix, &r6, &l6, 0);
	assert_int_equal(owner_of(&ix, &l4, &r4), 1);
	assert_int_equal(owner_of(&ix, &r4, &l4), 1);
	assert_int_equal(owner_of(&ix, &l6, &r6), 0);
	assert_int_equal(owner_of(&ix, &l4, &other), -1);
	owner_note(&ix, &r4, &l4, 2); /* moved: the last note wins */
	assert_int_equal(owner_of(&ix, &l4, &r4), 2);
	owner_note(&ix, &l4, &other, OWNER_MAX_WORKERS); /* out of range */
	assert_int_equal(owner_of(&ix, &l4, &other), -1);
	owner_index_free(&ix);
}

#define PAIRS 5000

static unsigned int worker_of(unsigned int i)
{
	return (i * 2654435761u >> 7) % 3;
}

struct job {
	pthread_t t;
	bool v6;
};

static void *note_all(void *arg)
{
	const struct job *j = arg;
	struct tcpao_addr me = addr(j->v6 ? "fd00::ffff:1" : "198.19.255.1");

	for (unsigned int i = 0; i < PAIRS; i++) {
		struct tcpao_addr peer = host(i, j->v6);

		owner_note(&ix, &me, &peer, worker_of(i));
	}
	return NULL;
}

static void check_all(bool v6, unsigned int *known)
{
	struct tcpao_addr me = addr(v6 ? "fd00::ffff:1" : "198.19.255.1");

	for (unsigned int i = 0; i < PAIRS; i++) {
		struct tcpao_addr peer = host(i, v6);
		int w = owner_of(&ix, &peer, &me);

		if (w >= 0) {
			assert_int_equal(w, worker_of(i));
			(*known)++;
		}
	}
}

static void test_collisions_never_lie(void **state)
{
	struct job j[2] = { { .v6 = false }, { .v6 = true } };
	unsigned int known = 0, during = 0;

	(void)state;
	assert_int_equal(owner_index_init(&ix, 256), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&j[i].t, NULL, note_all, &j[i]), 0);
	check_all(false, &during);
	for (int i = 0; i < 2; i++)
		pthread_join(j[i].t, NULL);
	check_all(false, &known);
	check_all(true, &known);
	/* 10,000 pairs in 256 slots: most forgotten, the last ones kept. */
	assert_true(known > 0 && known <= 256);
	owner_index_free(&ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_directions),
		cmocka_unit_test(test_collisions_never_lie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
