/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-key counters of a socket configured through the socket API: Linux's
 * TCP_AO_GET_KEYS pkt_good / pkt_bad, received segments verified (or not)
 * with each key. Keyed by the key's serial; owned by the socket's record
 * (sockets.c), written by the workers for the segments of that socket's
 * policy entry, read by the control thread.
 *
 * No lock on the packet path: each writer (a worker, by index) has its
 * own cells, so an increment is a plain load and store; readers sum the
 * cells of every writer. Keys take slots in chunks that are only ever
 * appended (a slot is claimed by compare-and-swap of its serial), so a
 * reader may walk them while a worker adds one. Measured against a mutex
 * and a shared atomic add in bench/keycount.c (docs/BENCHMARKS.md).
 */
#ifndef TCPAOD_KEYCOUNT_H
#define TCPAOD_KEYCOUNT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct key_count {
	uint64_t serial;
	uint64_t good, bad;
};

struct keycount_chunk;

struct keycount {
	struct keycount_chunk *_Atomic head;
	unsigned int nwriters;
	/* Its flows' segments are the listener's (handshakes). Set by the
	 * control thread, read by the workers. */
	_Atomic bool listener;
};

/* nwriters: how many workers may count (writer indexes 0..n-1). */
void keycount_init(struct keycount *kc, bool listener, unsigned int nwriters);
/* Once no writer uses it any more. */
void keycount_free(struct keycount *kc);
/* One received segment verified (good) or not (bad MAC or length) with the
 * key of this serial, by writer `writer` (at most one thread per writer
 * index at a time). Counts nothing when memory runs out. */
void keycount_inc(struct keycount *kc, unsigned int writer, uint64_t serial,
		  bool good);
/* A copy of every key's counts, sorted by serial (free() it); *out is
 * NULL when none counted or memory runs out. */
size_t keycount_snapshot(struct keycount *kc, struct key_count **out);
/* The counts of one key; 0 when it never counted. */
void keycount_get(struct keycount *kc, uint64_t serial, uint64_t *good,
		  uint64_t *bad);

#endif
