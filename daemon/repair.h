/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Connections restored with TCP_REPAIR (the sock-repair request): a socket
 * that sends no SYN, whose ISNs and SNEs the application gives with
 * TCP_AO_REPAIR. Which worker will see the connection, the kernel's queue
 * hash decides; so the flow waits in a small pool until the worker that
 * meets its first segment claims it (worker_restore_flow()), and a flow of
 * the same 4-tuple that a worker already holds (the checkpointed socket's)
 * is replaced at once. Unclaimed entries expire; a claimed flow is saved
 * in the state file like any other.
 */
#ifndef TCPAOD_REPAIR_H
#define TCPAOD_REPAIR_H

#include <stdbool.h>
#include <stdint.h>

#include "flow.h"
#include "policy.h"

/* struct tcp_ao_repair, and the sequence numbers its SNEs belong to:
 * snd_sne is the SNE of snd_seq (the socket's snd_una), rcv_sne of rcv_seq
 * (its rcv_nxt), as in Linux. */
struct repair_flow {
	struct flow_key key;
	uint32_t snt_isn, rcv_isn;
	uint32_t snd_seq, snd_sne;
	uint32_t rcv_seq, rcv_sne;
};

/* Makes the connection start (or start again) from r: every worker drops
 * the flow it has of that 4-tuple for one built from r. 0 or -ENOMEM. */
int repair_start(const struct repair_flow *r);

/* On a worker: builds the repaired flow of key into f (a fresh flow of that
 * key) with the keys of the policy entry that covers it. False when there
 * is none pending (or no entry covers it). */
bool repair_claim(const struct flow_key *key, const struct policy *policy,
		  struct flow *f, uint64_t now_ms);

void repair_free(void);

#endif
