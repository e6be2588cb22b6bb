/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit trail: one log line per change of keys or policy, starting
 * "audit:", saying who asked, what was asked, what it changed, for which
 * peer prefix, which key ids and where the key came from. Nothing here is
 * ever given a secret. Format and fields: docs/observability.md.
 *
 * Host policy (`tcpao key ...`, reload, the file at start, the key chains'
 * schedule) is logged at LOG_NOTICE and never limited: only root or
 * CAP_NET_ADMIN changes it. A socket's own keys (the socket API, any user)
 * are logged at LOG_INFO, one line per request, within a rate limit per
 * uid and one for all uids together, so that no local user can flood the
 * journal (or spend the journal's rate limit for tcpaod); the lines left
 * out are counted and said in one line per uid.
 *
 * Main thread only (the control socket, signals, timers): no locks.
 */
#ifndef TCPAOD_AUDIT_H
#define TCPAOD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "control.h"
#include "policy.h"

/* Socket lines: a burst, then one per interval; per uid and for all. */
#define AUDIT_UID_BURST 20
#define AUDIT_UID_INTERVAL_MS 1000
#define AUDIT_ALL_BURST 100
#define AUDIT_ALL_INTERVAL_MS 200
#define AUDIT_UIDS 64 /* uids tracked at once; others share the "all" limit */

enum audit_by {
	AUDIT_BY_CLIENT,   /* a control socket client: uid, pid */
	AUDIT_BY_SIGNAL,   /* SIGHUP: its sender's uid, pid */
	AUDIT_BY_FILE,     /* the config file at start */
	AUDIT_BY_CMDLINE,  /* tcpaod --key at start */
	AUDIT_BY_SCHEDULE, /* the key chains' lifetimes */
	AUDIT_BY_CLOSE,    /* the socket was closed: uid is its owner */
};

struct audit_who {
	enum audit_by by;
	uint32_t uid;
	int32_t pid; /* 0: not known */
};

/* One change. Fields left NULL / -1 are not written. */
struct audit_rec {
	const char *op;     /* the request: key-add, reload, sock-commit, ... */
	const char *change; /* what it did: add, drop, change, current, ... */
	const struct policy_scope *scope; /* peer=, and local=, ports when set */
	int sndid, rcvid;
	const char *extra;  /* more "name=value" fields */
	const char *origin; /* file, runtime, socket:uid=U:cookie=C */
};

struct audit_who audit_client(const struct control_client *c);

/* The line, "audit: op=... by=...": pure, for the tests. */
size_t audit_format(char *buf, size_t len, const struct audit_who *who,
		    const struct audit_rec *r);

/* A change of host policy: LOG_NOTICE. */
void audit_policy(const struct audit_who *who, const struct audit_rec *r);
/* A change of the socket of uid `owner`: LOG_INFO, rate-limited. */
void audit_socket(uint32_t owner, const struct audit_who *who,
		  const struct audit_rec *r);

/* What replacing `old` by `fresh` did to host entries: a line per key
 * added, changed or dropped and per current / rnext preference moved.
 * Returns the number of lines. */
size_t audit_diff(const struct audit_who *who, const char *op,
		  const struct policy *old, const struct policy *fresh);

/* The change audited just before was refused (err: -errno), nothing of
 * it in force: one line, "change=refused error=ENOMEM" (LOG_NOTICE). */
void audit_refused(const struct audit_who *who, const char *op, int err);

/* Says, for each uid whose bucket allows it again, how many lines were
 * left out. Call about once a second. */
void audit_tick(void);

/* ---- the rate limit (pure: the time is given) -------------------------- */

struct audit_bucket {
	uint64_t credit_ms, last_ms; /* a line costs one interval */
	uint64_t left_out;           /* lines not logged since the last said */
	uint32_t uid;
	bool used;
};

struct audit_limit {
	struct audit_bucket uid[AUDIT_UIDS];
	struct audit_bucket all; /* its left_out: uids without a bucket */
};

/* May a line of uid be logged at now? When it may, *left_out is the count
 * of its lines left out before (to be said first), and is reset. */
bool audit_limit_take(struct audit_limit *l, uint32_t uid, uint64_t now_ms,
		      uint64_t *left_out);
/* A uid (or the untracked ones: *untracked) with lines left out whose
 * bucket allows a line now: takes it and returns true. */
bool audit_limit_pending(struct audit_limit *l, uint64_t now_ms, uint32_t *uid,
			 bool *untracked, uint64_t *left_out);

#endif
