// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Busy polling: when a worker spins after its packets, and for how long.
 */
#include <sched.h>
#include <time.h>

#include "busypoll.h"

/* Adaptive: a queue's score is an average over its recent batches
 * (weight 1/8), each worth SCORE_HIT when another batch followed within
 * the window; spin while it is at least SCORE_MIN: one batch in eight,
 * about. */
#define SCORE_HIT 32u
#define SCORE_MIN 32u

void busy_poll_init(struct busy_poll *b, unsigned int usec, bool adaptive)
{
	*b = (struct busy_poll){ .window_ns = (uint64_t)usec * 1000,
				 .adaptive = adaptive, .last_queue = -1 };
}

uint64_t busy_poll_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void score(unsigned int *s, bool hit)
{
	*s = *s - *s / 8 + (hit ? SCORE_HIT : 0);
}

/* A batch of queue came (woke at woke_ns): whether to spin after it. */
static bool worth_spinning(struct busy_poll *b, uint64_t woke_ns, int queue)
{
	if (!b->adaptive)
		return true;
	if (b->last_queue >= 0)
		score(&b->score[b->last_queue],
		      woke_ns - b->last_ns <= b->window_ns);
	return b->score[queue] >= SCORE_MIN;
}

void busy_poll_after(struct busy_poll *b, uint64_t woke_ns, int queue)
{
	uint64_t now;

	if (!b->window_ns)
		return;
	now = busy_poll_now();
	if (queue >= 0 && queue < BUSY_POLL_QUEUES) {
		b->until_ns = worth_spinning(b, woke_ns, queue)
			? now + b->window_ns : 0;
		b->last_ns = now;
		b->last_queue = queue;
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
