/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Workers: one thread per shard, each owning an egress queue, an ingress
 * queue (worker 0 also the ICMP queue) and the flows that hash to it. The
 * kernel's --queue-balance hash is symmetric in the address pair, so both
 * directions of a connection reach the same worker.
 *
 * Everything that changes a worker's state from outside (a new policy, a
 * snapshot for `tcpao show`) is a call run between two batches: by the
 * caller itself while the worker sleeps (it holds run_lock whenever it is
 * awake), else posted to the worker's own thread. No lock is taken per
 * packet: one per wake-up of the worker.
 */
#ifndef TCPAOD_WORKER_H
#define TCPAOD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "busypoll.h"
#include "flow.h"
#include "policy.h"
#include "queue.h"
#include "state.h"
#include "stats.h"
#include "tcpao.h"

struct worker {
	unsigned int index;
	pthread_t thread;
	bool running;
	atomic_bool stop;
	struct queue egress;
	struct queue ingress;
	struct queue icmp;            /* worker 0 only; fd -1 otherwise */
	int raw4, raw6;               /* see pmtu.h */
	int raw4_vrf, raw6_vrf;       /* the VRF each is bound to, 0: none */
	struct flow_table flows;
	const struct policy *policy;  /* read-only snapshot */
	uint64_t policy_epoch;        /* bumped each time one is adopted */
	struct tcpao_pool pool;
	struct stats stats;
	uint64_t now_ms;              /* CLOCK_MONOTONIC_COARSE */
	struct state_file state;      /* changed flows: saved before verdicts */
	uint64_t drop_log_ms[TCPAO_RESULT_COUNT + 1]; /* for flowless drops */
	uint64_t limit_log_ms;        /* admit.c: table full, quota */
	uint32_t pkt_uid;             /* the packet's socket owner, or none */
	int pkt_l3index;              /* its device's VRF (l3dev.h), 0: none */
	/* Held by the worker's thread whenever it is awake (all but its
	 * epoll_wait); a caller that gets it runs the call itself. */
	pthread_mutex_t run_lock;
	/* A call from another thread (one at a time). */
	int call_fd;                  /* eventfd */
	int epoll_fd;                 /* the queues and call_fd */
	pthread_mutex_t call_lock;
	pthread_cond_t call_done;
	void (*call_fn)(struct worker *w, void *arg);
	void *call_arg;
	bool call_pending;
	uint8_t pkt[QUEUE_MSG_MAX + TCPAO_TCP_OPTSPACE];
	struct tcpao_dir scratch_dir; /* verifying without side effects */
	struct busy_poll busy;        /* --busy-poll (busypoll.h) */
};

struct workers_config {
	unsigned int count;
	uint16_t egress_base, ingress_base, icmp_queue;
	uint32_t max_flows;           /* per worker */
	const char *state_dir;
	unsigned int busy_poll_usec;  /* 0: sleep in poll() at once */
	bool busy_poll_adaptive;
};

int workers_open(const struct workers_config *cfg,
		 const struct policy *policy, char *err, size_t errlen);
int workers_start(char *err, size_t errlen);
void workers_stop(void);
void workers_close(void);

/* Runs fn(w, arg) on every worker's state, one after another, and returns
 * when all are done: here while the worker sleeps (or is not started),
 * else on its thread. */
void workers_call(void (*fn)(struct worker *w, void *arg), void *arg);
/* Returns once every worker has handled the packets queued before the
 * call (a socket's last segments, e.g. the RST of an abortive close). */
void workers_drain(void);
/* Publishes a new policy snapshot. Returns the previous one, which no
 * worker uses any more: the caller frees it. */
const struct policy *workers_set_policy(const struct policy *policy);

/* As a call on w: adopt a new snapshot (a new policy epoch) and move
 * every flow to its entry and keys. workers_set_policy() runs it on each. */
void worker_adopt_policy(struct worker *w, const struct policy *policy);

/* ---- the packet handlers (egress.c, ingress.c, icmp.c) ----------------- */

/* Each gets the packet in w->pkt (room for the AO option behind it),
 * may change it and its length. */
enum queue_verdict egress_packet(struct worker *w, size_t *len);
enum queue_verdict ingress_packet(struct worker *w, size_t *len);
enum queue_verdict icmp_packet(struct worker *w, size_t *len);

/* Shared by the handlers. */
void worker_count_drop(struct worker *w, struct flow *f,
		       enum tcpao_result why, const struct tcpao_seg *seg);
/* The policy entry and keys a new flow starts with; NULL when the policy
 * does not protect the connection. */
const struct policy_peer *worker_policy_peer(const struct worker *w,
					     const struct flow_key *key);
/* Re-reads the policy's preferred keys after `tcpao key set`, and
 * recovers when the keys the flow used were deleted: once per policy
 * adopted (w->policy_epoch), a compare on the other segments. */
void worker_refresh_keysel(struct worker *w, struct flow *f);
/* The flow's record in the state file is out of date: it is written
 * before the verdicts of this batch. */
void worker_flow_changed(struct worker *w, struct flow *f);
/* Removes a flow, and its record from the state file. */
void worker_remove_flow(struct worker *w, struct flow *f);
/* Marks the flow changed when a direction's sequence number crossed into
 * another quarter of the space (keeps the saved SNE valid) or its TCP
 * state moved on. */
void worker_note_seq(struct worker *w, struct flow *f);
/* Sends a signed packet past the kernel's path MTU (pmtu.h). */
int worker_send_raw(struct worker *w, const struct tcpao_seg *seg);
/* A new flow for key, owned by uid (FLOW_UID_NONE: no socket), passive
 * for a SYN received; NULL (counted, logged) when the table or the uid's
 * quota is full (admit.c). */
struct flow *worker_insert_flow(struct worker *w, const struct flow_key *key,
				uint32_t uid, bool passive);
/* Notes that the flows of key's address pair are w's (owner.h). */
void worker_owns(struct worker *w, const struct flow_key *key);
/* Gives f its owner uid (a socket's egress segment); false when the uid
 * has used up its quota: the caller drops the flow (admit.c). */
bool worker_flow_owner(struct worker *w, struct flow *f, uint32_t uid);
/* A flow repaired by sock-repair (repair.h) or from the state file of a
 * previous run, moved into this worker. */
struct flow *worker_restore_flow(struct worker *w, const struct flow_key *key);

#endif
