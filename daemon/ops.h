/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's side of the control socket: the struct control_ops
 * callbacks. Each change is made on a clone of the policy, published to
 * the workers (message passing), and the peer sets are refilled.
 */
#ifndef TCPAOD_OPS_H
#define TCPAOD_OPS_H

#include <stdbool.h>

#include "audit.h"
#include "control.h"
#include "policy.h"
#include "rules.h"

struct daemon_ctx {
	struct policy *policy;      /* the workers' current snapshot */
	struct rules *rules;
	const char *config_path;    /* NULL: keys came from the command line */
	bool force_ao_optional;     /* command line flags, applied on reload */
	bool force_accept_icmps;
	bool mark_from_cli;         /* --mark given: the file's is ignored */
	int chain_timer;            /* key chains' timerfd (rollover.h), or -1 */
	int l3dev;                  /* link notifications (l3dev.h), or -1 */
	const char *state_dir;      /* flows and key ages (keyage.h) */
	uint64_t ages_saved_ms;     /* when key ages were last looked at */
};

extern const struct control_ops daemon_ops;

/* Applies the command line's --no-ao-required / --accept-icmps. */
void daemon_apply_flags(const struct daemon_ctx *d, struct policy *p);
/* Reloads the config file (SIGHUP, `tcpao reload`), audited as who's. */
int daemon_reload(struct daemon_ctx *d, const struct audit_who *who, char *err,
		  size_t errlen);

/* Evaluates the key chains now: publishes when a key or preference
 * moves, and arms the timer for the next boundary. */
void daemon_rollover(struct daemon_ctx *d);

/* Puts fresh (taken) in force: the workers, then the peer sets. A change
 * is in force whole or not at all: when the sets cannot take fresh's
 * peers, the policy in force stays (the sets still hold its peers) and
 * fresh goes, with the error, audited as op by who ("change=refused"). */
int daemon_publish(struct daemon_ctx *d, struct policy *fresh,
		   const struct audit_who *who, const char *op, char *err, size_t errlen);
/* The same for a change that only takes entries out (who NULL in
 * daemon_publish()): the sets hold fresh's peers whatever happens to
 * them, so it is always in force (the members left over go at the next
 * change). */
void daemon_publish_removal(struct daemon_ctx *d, struct policy *fresh);

#endif
