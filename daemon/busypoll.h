/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Busy polling (tcpaod --busy-poll USEC): after a batch, a worker keeps
 * asking its queues (epoll_wait() with no timeout, sched_yield() between
 * tries) for up to USEC microseconds before it sleeps again. A request and its
 * answer then often meet a worker still awake: one sleep and wake-up
 * fewer per queue traversal, paid for with CPU time. Off by default.
 *
 * Bounded: the window starts again only when packets come, so an idle
 * worker sleeps USEC after the last one. Between tries the worker's loop
 * runs as always: control calls, GC and the stop flag are served.
 *
 * Adaptive (--busy-poll-adaptive): spin after a batch of a queue only
 * while at least about one in eight of that queue's recent batches was
 * followed by another within USEC (a spin would have caught it). Kept
 * per queue because traffic is lopsided: after a server's ingress request
 * its answer comes soon; after the answer's egress, the next request may
 * be far off. The gaps are measured whether the worker spun or slept, so
 * spinning comes back with the traffic.
 */
#ifndef TCPAOD_BUSYPOLL_H
#define TCPAOD_BUSYPOLL_H

#include <stdbool.h>
#include <stdint.h>

#define BUSY_POLL_MAX_USEC 100000
#define BUSY_POLL_QUEUES 3    /* egress, ingress, ICMP */

struct busy_poll {
	uint64_t window_ns;   /* 0: off */
	bool adaptive;
	uint64_t until_ns;    /* spinning while now is before; 0: asleep */
	uint64_t last_ns;     /* when the last batch was handled */
	int last_queue;       /* its queue; -1: none yet */
	/* adaptive: per queue, the recent share of its batches another
	 * followed within the window, in 1/256 */
	unsigned int score[BUSY_POLL_QUEUES];
};

void busy_poll_init(struct busy_poll *b, unsigned int usec, bool adaptive);

/* The timeout for the next wait: 0 while spinning, else idle_ms. */
static inline int busy_poll_timeout(const struct busy_poll *b, int idle_ms)
{
	return b->until_ns ? 0 : idle_ms;
}

/* Now, in the clock the window is counted in. */
uint64_t busy_poll_now(void);

/* After one round of the worker's loop that woke at woke_ns: queue, the
 * last queue whose packets it handled (-1: none). Opens, extends or
 * closes the window; yields the CPU between empty tries. */
void busy_poll_after(struct busy_poll *b, uint64_t woke_ns, int queue);

#endif
