// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Busy polling's window (daemon/busypoll.c): off, it never delays a
 * sleep; on, a batch opens the window, empty tries keep it open until
 * USEC passed, then the worker sleeps; adaptive, it opens only while
 * batches came close together, and again when they do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "busypoll.h"

#define IDLE_MS 1000

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };

	nanosleep(&ts, NULL);
}

static bool spinning(const struct busy_poll *b)
{
	return busy_poll_timeout(b, IDLE_MS) == 0;
}

static void off_never_spins(void **state)
{
	struct busy_poll b;

	(void)state;
	busy_poll_init(&b, 0, false);
	busy_poll_after(&b, busy_poll_now(), true);
	assert_false(spinning(&b));
	assert_int_equal(busy_poll_timeout(&b, IDLE_MS), IDLE_MS);
	busy_poll_init(&b, 0, true);
	for (int i = 0; i < 20; i++)
		busy_poll_after(&b, busy_poll_now(), true);
	assert_false(spinning(&b));
}

static void fixed_window_opens_and_closes(void **state)
{
	struct busy_poll b;
	uint64_t t0;

	(void)state;
	busy_poll_init(&b, 2000, false);
	assert_false(spinning(&b));
	busy_poll_after(&b, busy_poll_now(), false); /* a wake-up of no packet */
	assert_false(spinning(&b));
	t0 = busy_poll_now();
	busy_poll_after(&b, t0, true);
	assert_true(spinning(&b));
	/* Empty tries within the window keep it open... */
	while (busy_poll_now() - t0 < 1000000) {
		busy_poll_after(&b, busy_poll_now(), false);
		assert_true(spinning(&b));
	}
	/* ...a batch starts it again... */
	t0 = busy_poll_now();
	busy_poll_after(&b, t0, true);
	sleep_us(1500);
	busy_poll_after(&b, busy_poll_now(), false);
	assert_true(spinning(&b));
	/* ...and past it the worker sleeps. */
	sleep_us(2500);
	busy_poll_after(&b, busy_poll_now(), false);
	assert_false(spinning(&b));
	assert_int_equal(busy_poll_timeout(&b, IDLE_MS), IDLE_MS);
}

static void adaptive_follows_the_gaps(void **state)
{
	struct busy_poll b;
	int i;

	(void)state;
	busy_poll_init(&b, 50, true);
	/* The first batch: nothing to go by, no spinning. */
	busy_poll_after(&b, busy_poll_now(), true);
	assert_false(spinning(&b));
	/* A batch close behind the last one: spin. */
	busy_poll_after(&b, b.last_ns + 1000, true);
	assert_true(spinning(&b));
	/* Sparse batches (each a millisecond after the last): it stops. */
	for (i = 0; i < 32 && spinning(&b); i++)
		busy_poll_after(&b, b.last_ns + 1000000, true);
	assert_false(spinning(&b));
	assert_true(i <= 2);
	/* A steady half of near batches keeps it spinning. */
	for (i = 0; i < 64; i++) {
		busy_poll_after(&b, b.last_ns + (i % 2 ? 1000000 : 1000), true);
		assert_true(i < 8 || spinning(&b));
	}
	/* One near batch in sixteen is not worth a spin. */
	for (i = 0; i < 64; i++)
		busy_poll_after(&b, b.last_ns + (i % 16 ? 1000000 : 1000), true);
	busy_poll_after(&b, b.last_ns + 1000000, true);
	assert_false(spinning(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(off_never_spins),
		cmocka_unit_test(fixed_window_opens_and_closes),
		cmocka_unit_test(adaptive_follows_the_gaps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
