// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Busy polling's window (daemon/busypoll.c): off, it never delays a
 * sleep; on, a batch opens the window, empty tries keep it open until
 * USEC passed, then the worker sleeps; adaptive, it opens after a
 * queue's batch only while that queue's batches were followed closely,
 * and again when they are.
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

enum { EGRESS, INGRESS };

static void off_never_spins(void **state)
{
	struct busy_poll b;

	(void)state;
	busy_poll_init(&b, 0, false);
	busy_poll_after(&b, busy_poll_now(), EGRESS);
	assert_false(spinning(&b));
	assert_int_equal(busy_poll_timeout(&b, IDLE_MS), IDLE_MS);
	busy_poll_init(&b, 0, true);
	for (int i = 0; i < 20; i++)
		busy_poll_after(&b, busy_poll_now(), INGRESS);
	assert_false(spinning(&b));
}

static void fixed_window_opens_and_closes(void **state)
{
	struct busy_poll b;
	uint64_t t0;

	(void)state;
	/* The longest window: a loaded machine may stall this thread for
	 * milliseconds between two steps of the test. */
	busy_poll_init(&b, BUSY_POLL_MAX_USEC, false);
	assert_false(spinning(&b));
	busy_poll_after(&b, busy_poll_now(), -1); /* a wake-up of no packet */
	assert_false(spinning(&b));
	t0 = busy_poll_now();
	busy_poll_after(&b, t0, INGRESS);
	assert_true(spinning(&b));
	/* Empty tries within the window keep it open... */
	while (busy_poll_now() - t0 < 1000000) {
		busy_poll_after(&b, busy_poll_now(), -1);
		assert_true(spinning(&b));
	}
	/* ...a batch starts it again... */
	t0 = busy_poll_now();
	busy_poll_after(&b, t0, EGRESS);
	sleep_us(1500);
	busy_poll_after(&b, busy_poll_now(), -1);
	assert_true(spinning(&b));
	/* ...and past it the worker sleeps. */
	sleep_us(BUSY_POLL_MAX_USEC + 20000);
	busy_poll_after(&b, busy_poll_now(), -1);
	assert_false(spinning(&b));
	assert_int_equal(busy_poll_timeout(&b, IDLE_MS), IDLE_MS);
}

/* A batch of queue, gap_ns after the end of the last one. */
static void batch(struct busy_poll *b, int queue, uint64_t gap_ns)
{
	busy_poll_after(b, b->last_ns + gap_ns, queue);
}

static void adaptive_follows_the_gaps(void **state)
{
	struct busy_poll b;
	int i;

	(void)state;
	busy_poll_init(&b, 50, true);
	/* The first batch: nothing to go by, no spinning. */
	busy_poll_after(&b, busy_poll_now(), INGRESS);
	assert_false(spinning(&b));
	/* Another close behind it: after the next ingress batch, spin. */
	batch(&b, INGRESS, 1000);
	assert_true(spinning(&b));
	/* Sparse batches (each a millisecond after the last): it stops. */
	for (i = 0; i < 32 && spinning(&b); i++)
		batch(&b, INGRESS, 1000000);
	assert_false(spinning(&b));
	assert_true(i <= 2);
	/* One near batch in sixteen is not worth a spin. */
	for (i = 0; i < 64; i++)
		batch(&b, INGRESS, i % 16 ? 1000000 : 1000);
	batch(&b, INGRESS, 1000000);
	assert_false(spinning(&b));
}

/* A server's daemon: a request (ingress), its answer 20 us later
 * (egress), the next request a millisecond later. It spins after the
 * requests, not after the answers. */
static void adaptive_per_queue(void **state)
{
	struct busy_poll b;

	(void)state;
	busy_poll_init(&b, 50, true);
	busy_poll_after(&b, busy_poll_now(), INGRESS);
	for (int i = 0; i < 64; i++) {
		batch(&b, EGRESS, 20000);
		assert_false(spinning(&b));
		batch(&b, INGRESS, 1000000);
		assert_true(i < 1 || spinning(&b));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(off_never_spins),
		cmocka_unit_test(fixed_window_opens_and_closes),
		cmocka_unit_test(adaptive_follows_the_gaps),
		cmocka_unit_test(adaptive_per_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
