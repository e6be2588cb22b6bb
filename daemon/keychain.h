/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Key chains (RFC 8177): named lists of MKTs, each with a send lifetime
 * and an accept lifetime. This file is the pure part: the chains as
 * parsed, the time syntax, and the schedule (which keys are valid at a
 * time, and when that next changes). No I/O, no clock: the caller passes
 * the time. rollover.h applies a schedule to a policy.
 *
 * Times are unix seconds (UTC). A window is [start, end): valid from
 * start, no longer valid at end. KEYCHAIN_NEVER is "no end".
 */
#ifndef TCPAOD_KEYCHAIN_H
#define TCPAOD_KEYCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpao.h"

#define KEYCHAIN_ALWAYS INT64_MIN /* a start before any time */
#define KEYCHAIN_NEVER INT64_MAX  /* an end after any time */
#define KEYCHAIN_KEYS_MAX 64      /* fits the schedule's bit masks */
#define KEYCHAIN_NAME_MAX 64

struct keychain_window {
	int64_t start, end;
};

struct keychain_key {
	uint64_t id;                /* the key's name in the chain (key-id) */
	struct tcpao_mkt mkt;       /* no peer: a peer block gives it one */
	struct keychain_window send, accept;
	unsigned line;
};

struct keychain {
	char name[KEYCHAIN_NAME_MAX];
	unsigned line;
	int64_t tolerance;          /* seconds added to both ends of accept */
	/* "rollover confirmed": at a send boundary only the RNextKeyID moves
	 * on live connections; each moves its send key once the peer asks
	 * for the new key with its RNextKeyID (so it holds it). */
	bool confirmed;
	size_t n;
	struct keychain_key keys[KEYCHAIN_KEYS_MAX];
};

/* All chains of one config file. Immutable once parsed, shared by a
 * policy and its clones (refcounted, freed by the last policy). */
struct keychains {
	_Atomic unsigned refs;
	size_t n;
	struct keychain *v;
};

/* What a chain says at one time. Bit i is chain key i. */
struct keychain_sched {
	uint64_t send;    /* keys inside their send window */
	uint64_t accept;  /* keys inside accept window +- tolerance, and held */
	int active;       /* the key to send with; -1 only for an empty chain */
	bool gap;         /* no key is send-valid: active is held over */
	int64_t next;     /* the next time any of this changes; NEVER: none */
};

/* Evaluates the chain at `now`. The active key is the send-valid key with
 * the newest send start (the later-listed between equals). In a gap, the
 * key whose send window ended last is held (or, before any has started,
 * the one that starts first): it stays the send key and stays accepted,
 * so sessions live on; the caller warns and counts. */
void keychain_eval(const struct keychain *c, int64_t now,
		   struct keychain_sched *s);

/* Parses "2026-12-02T08:00:00Z" (also "+00:00" or no zone: UTC) or unix
 * seconds. 0 or -EINVAL. */
int keychain_parse_time(const char *s, int64_t *out);
/* Parses a duration: seconds, or a number with s, m, h, d or w. */
int keychain_parse_duration(const char *s, int64_t *out);
/* "2026-12-02T08:00:00Z", "always" (ALWAYS) or "never" (NEVER). */
const char *keychain_time_str(int64_t t, char *buf, size_t len);

struct keychains *keychains_new(void);
/* A new empty chain named name, or NULL (ENOMEM). */
struct keychain *keychains_add(struct keychains *cs, const char *name);
const struct keychain *keychains_find(const struct keychains *cs,
				      const char *name, size_t *index);
struct keychains *keychains_ref(struct keychains *cs);
/* Drops a reference; the last one wipes the secrets and frees. */
void keychains_unref(struct keychains *cs);

/* Is rcvid the receive id of some key of the chain (valid or not)? */
bool keychain_has_rcvid(const struct keychain *c, uint8_t rcvid);

/* Calls warn for each finding of `tcpaod --check`: overlapping send
 * windows, gaps between them, keys whose send or accept window ended
 * before now, and the time the chain's last send-valid key ends.
 * Returns the number of findings. */
size_t keychain_check(const struct keychain *c, int64_t now,
		      void (*warn)(void *arg, const char *msg), void *arg);

/* When the chain's last send window ends (NEVER: it does not). */
int64_t keychain_end(const struct keychain *c);

#endif
