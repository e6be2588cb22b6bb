/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file: what a restarted tcpaod needs to carry on with every
 * connection: each flow's ISNs, SNE both ways, key selection and the keys
 * it uses. Each worker writes its own file, state-dir/flows-N, atomically
 * (write a temporary file, fsync, rename) before it releases the packets
 * that changed it, so a SIGKILL at any instant leaves a file that covers
 * every segment that left the host.
 *
 * On start, every flows-* file is read into a pool of restored flows;
 * a worker that meets a packet of an unknown flow claims it from there.
 * The files hold secrets: the directory is 0700 and the files 0600.
 */
#ifndef TCPAOD_STATE_H
#define TCPAOD_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "flow.h"
#include "policy.h"

struct worker;

/* Writes the worker's flows. 0 or a negative errno. */
int state_save(struct worker *w);

/* Reads the files of a previous run. Keys a restored flow uses that the
 * policy lacks (added at run time before the restart) are added to it.
 * Returns the number of flows restored, or a negative errno. */
int state_load(const char *dir, struct policy *policy, char *err,
	       size_t errlen);

/* Rebuilds a restored flow into f (already keyed), with keys from the
 * policy. False when there is none for this key. */
bool state_claim(const struct flow_key *key, const struct policy *policy,
		 struct flow *f, uint64_t now_ms);
/* Forgets restored flows nobody claimed for a long time. */
void state_expire(uint64_t now_ms);
void state_free(void);

#endif
