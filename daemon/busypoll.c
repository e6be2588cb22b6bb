// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Busy polling: when a worker spins after its packets, and for how long.
 */
#include <sched.h>
#include <time.h>

#include "busypoll.h"

/* Adaptive: spin while score >= SCORE_MIN, score an average of recent
 * batches (weight 1/8), each worth SCORE_HIT when it came within the
 * window: at least one batch in eight, about. */
#define SCORE_HIT 32u
#define SCORE_MIN 32u

void busy_poll_init(struct busy_poll *b, unsigned int usec, bool adaptive)
{
	*b = (struct busy_poll){ .window_ns = (uint64_t)usec * 1000,
				 .adaptive = adaptive };
}

uint64_t busy_poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool worth_spinning(struct busy_poll *b, uint64_t woke_ns)
{
	bool near = b->last_ns && woke_ns - b->last_ns <= b->window_ns;

	if (!b->adaptive)
		return true;
	b->score = b->score - b->score / 8 + (near ? SCORE_HIT : 0);
	return b->score >= SCORE_MIN;
}

void busy_poll_after(struct busy_poll *b, uint64_t woke_ns, bool handled)
{
	uint64_t now;

	if (!b->window_ns)
		return;
	now = busy_poll_now();
	if (handled) {
		b->until_ns = worth_spinning(b, woke_ns) ? now + b->window_ns : 0;
		b->last_ns = now;
		return;
	}
	if (!b->until_ns)
		return;
	if (now >= b->until_ns) {
		b->until_ns = 0;
		return;
	}
	/* On a machine with few CPUs the endpoints, the peer's daemon and
	 * the kernel's softirq threads may be waiting for this one. */
	sched_yield();
}
