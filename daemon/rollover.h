/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rollover: applies the key chains' schedule (keychain.h) to a policy,
 * and the clock the daemon evaluates it with.
 *
 * Applying at time t, for every host entry with a chain: the chain keys
 * outside their accept window (+- tolerance) leave the entry's ring, the
 * ones inside join it (an unchanged key keeps its serial, so flows using
 * it are untouched), and the entry's current / rnext preference becomes
 * the chain's active key, bumping the epochs as `tcpao key set` does: the
 * workers move every live connection to it (worker_refresh_keysel()).
 *
 * The clock is CLOCK_REALTIME plus a test offset (--test-clock-offset,
 * `tcpao clock shift`): a test aid, so tests run a schedule of seconds and
 * simulate clock steps without stepping the machine. The timer is a
 * timerfd on CLOCK_REALTIME, absolute, with TFD_TIMER_CANCEL_ON_SET, so
 * a clock step wakes it at once and the schedule is evaluated again.
 */
#ifndef TCPAOD_ROLLOVER_H
#define TCPAOD_ROLLOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"

struct rollover_result {
	bool changed;      /* keys or preferences moved: publish */
	unsigned gaps;     /* entries with no send-valid key (a key is held) */
	int64_t next;      /* the next boundary of any chain, or NEVER */
};

/* Applies the schedule at now to policy, in place (a clone, by the
 * snapshot contract). Logs each move. 0 or a negative errno. */
int rollover_apply(struct policy *policy, int64_t now,
		   struct rollover_result *r);

/* Before applying to a freshly loaded policy: every chain entry whose
 * scope and chain name were in `old` takes its preferences and epochs,
 * so a reload moves (and logs) only what the schedule really moves. */
void rollover_inherit(struct policy *fresh, const struct policy *old);

/* The daemon's clock: wall time plus the test offset, in seconds. */
int64_t rollover_now(void);
void rollover_set_offset(int64_t seconds);
int64_t rollover_offset(void);

/* The timer: opened once, armed for the clock time `at` (NEVER: a day
 * ahead, still watching for steps). rollover_timer_read() returns true
 * when it fired or the clock was stepped. */
int rollover_timer_open(void);
int rollover_timer_arm(int fd, int64_t at);
bool rollover_timer_read(int fd);

/* Counters for `tcpao stat`: evaluations that found a gap, keys moved. */
uint64_t rollover_gap_count(void);
uint64_t rollover_move_count(void);

#endif
