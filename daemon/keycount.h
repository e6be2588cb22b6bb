/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-key counters of a socket configured through the socket API: Linux's
 * TCP_AO_GET_KEYS pkt_good / pkt_bad, received segments verified (or not)
 * with each key. Keyed by the key's serial; owned by the socket's record
 * (sockets.c), written by the workers for the segments of that socket's
 * policy entry. A lock, not atomics: the table grows when a key is first
 * counted, and a socket's segments seldom come from two workers at once.
 */
#ifndef TCPAOD_KEYCOUNT_H
#define TCPAOD_KEYCOUNT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct key_count {
	uint64_t serial;
	uint64_t good, bad;
};

struct keycount {
	pthread_mutex_t lock;
	struct key_count *v;
	size_t n, cap;
	/* Its flows' segments are the listener's (handshakes). Set by the
	 * control thread, read by the workers. */
	_Atomic bool listener;
};

void keycount_init(struct keycount *kc, bool listener);
void keycount_free(struct keycount *kc);
/* One received segment verified (good) or not (bad MAC or length) with the
 * key of this serial. Counts nothing when memory runs out. */
void keycount_inc(struct keycount *kc, uint64_t serial, bool good);
/* A copy of every key's counts, sorted by serial (free() it); *out is
 * NULL when none counted or memory runs out. */
size_t keycount_snapshot(struct keycount *kc, struct key_count **out);
/* The counts of one key; 0 when it never counted. */
void keycount_get(struct keycount *kc, uint64_t serial, uint64_t *good,
		  uint64_t *bad);

#endif
