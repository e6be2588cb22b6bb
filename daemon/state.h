/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state file: what a restarted tcpaod needs to carry on with every
 * connection: each flow's ISNs, SNE both ways, TCP state, key selection
 * and the keys it uses. Each worker owns state-dir/flows-N: one fixed-size
 * binary record per flow slot, stored (into a shared mapping of the file,
 * or with pwrite) only when that flow changed, before the verdicts of the
 * batch that changed it, so that a SIGKILL at any instant leaves a file
 * that covers every segment that left the host. Each slot has two
 * copies, written in turn: a record torn by a crash (its checksum fails)
 * leaves the previous one. Every record carries
 * a generation, unique and increasing across workers and restarts, so the
 * newest record of a connection wins wherever it is. No fsync: the file
 * has to survive the daemon's death, which the page cache does; a kernel
 * crash ends the connections too.
 *
 * On start, every state file is read into a pool of restored flows; a
 * worker that meets a packet of an unknown flow claims it from there.
 * The files hold secrets: the directory is 0700 and the files 0600.
 */
#ifndef TCPAOD_STATE_H
#define TCPAOD_STATE_H

#include <stdbool.h>
#include <stddef.h>

#include "flow.h"
#include "policy.h"

struct worker;

/* One worker's file and which of its slots need writing. */
struct state_file {
	int fd;                     /* -1: no state directory */
	uint32_t slots;             /* the flow table's capacity */
	uint8_t *slot_flags;        /* per slot, see state.c */
	struct flow_key *disk_key;  /* per slot: the flow on disk there */
	uint32_t *dirty;            /* slots to write, each once */
	uint32_t ndirty;
	/* The file mapped (MAP_SHARED), NULL: written with pwrite. A page is
	 * given its blocks (fallocate) before it is first written, so that
	 * a full file system fails that call rather than fault (SIGBUS). */
	uint8_t *map;
	size_t map_len;
	uint8_t *backed;            /* per page of map: 1 once allocated */
};

int state_file_open(struct state_file *sf, const char *dir,
		    unsigned int index, uint32_t slots, char *err,
		    size_t errlen);
void state_file_close(struct state_file *sf);
/* The flow in this slot changed, started or went away. O(1). */
void state_mark(struct state_file *sf, uint32_t slot);

/* Writes the records of the marked slots. 0 or a negative errno (the
 * slots not written stay marked). */
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
