/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The flows of one worker: every TCP connection with an AO peer that this
 * worker signs and verifies. A flow is keyed by its 4-tuple seen from this
 * host (local address and port, remote address and port) and holds both
 * directions of the engine's state (struct tcpao_dir), the keys it uses
 * and its counters. The table is owned by one thread: no locks.
 */
#ifndef TCPAOD_FLOW_H
#define TCPAOD_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "policy.h"
#include "stats.h"
#include "tcpao.h"

struct flow_key {
	struct tcpao_addr local;
	struct tcpao_addr remote;
	uint16_t lport;
	uint16_t rport;
};

/* TCP state as seen from the segments (both directions). */
enum flow_state {
	FLOW_SYN_SENT,
	FLOW_SYN_RECV,
	FLOW_ESTABLISHED,
	FLOW_FIN_WAIT,   /* we sent FIN */
	FLOW_CLOSE_WAIT, /* the peer sent FIN */
	FLOW_CLOSING,    /* both sent FIN, not both acknowledged */
	FLOW_TIME_WAIT,  /* both FINs acknowledged */
	FLOW_CLOSED,     /* RST seen */
	FLOW_STATE_COUNT
};

const char *flow_state_name(enum flow_state state);

/* The owner of a flow: the uid of the socket that opened it (NFQA_UID),
 * learned on its first egress segment that has one; FLOW_UID_NONE for
 * flows the kernel opened without a full socket (a passive open until
 * the accepted socket sends) and for restored flows. */
#define FLOW_UID_NONE UINT32_MAX

/* The chains a flow is on besides its 4-tuple's (flow_first_by()): what a
 * change of an entry for one address touches, of one connection's, of a
 * listener's (its local port). */
enum flow_by { FLOW_BY_REMOTE, FLOW_BY_CONN, FLOW_BY_LPORT, FLOW_BY_COUNT };

struct flow {
	struct flow_key key;
	/* Its VRF (l3dev.h), fixed when the flow starts: the keys it may use
	 * are those bound to it or to none (TCP_AO_KEYF_IFINDEX). */
	int l3index;
	uint32_t uid;
	enum flow_state state;
	bool fin_out, fin_in;             /* FIN sent / received */
	/* The peer's last segment we let through carried no AO (its entry
	 * was gone): the kernel's RST to it may leave unsigned, as Linux
	 * answers a plain segment of no socket. To an AO segment Linux
	 * sends no RST at all. */
	bool answers_plain;
	bool fin_out_acked, fin_in_acked;
	uint32_t fin_out_seq, fin_in_seq; /* sequence number of each FIN */
	struct tcpao_dir tx;              /* what we send */
	struct tcpao_dir rx;              /* what the peer sends */
	/* The policy entry whose keys this flow uses (the worker's current
	 * snapshot) and which of them, by serial. */
	const struct policy_peer *peer;
	struct tcpao_keysel sel;
	uint64_t current_epoch, rnext_epoch; /* the entry's, when sel was set */
	uint64_t policy_epoch;            /* the worker's, when sel was checked */
	int peer_rnext;                   /* last RNextKeyID received, -1 */
	struct flow_counters cnt;
	uint64_t last_seen_ms;
	uint64_t log_ms[TCPAO_RESULT_COUNT + 1]; /* rate limit per reason */
	uint32_t saved_tx_quarter, saved_rx_quarter; /* as last saved */
	uint8_t saved_tcp;                /* state and FIN flags, likewise */
	uint32_t pmtu_gen;                /* pmtu.h: generation seen, */
	uint32_t kernel_mtu;              /* and the kernel's MTU, or 0 */
	uint32_t next;                    /* hash chain: index + 1, 0 ends */
	uint32_t by_prev[FLOW_BY_COUNT], by_next[FLOW_BY_COUNT]; /* flow_by chains */
	uint32_t live_at;                 /* its place in the table's live[] */
	/* The list of its counted_state, in order of entry: index + 1, 0
	 * ends. */
	uint32_t state_prev, state_next;
	bool in_use;
	uint8_t counted_state;            /* where nstate counts it */
};

struct flow_table {
	struct flow *flows;
	uint32_t cap;
	uint32_t count;
	/* The slots in use, live[0..count) in no order: walks cost the
	 * flows there are, not the table's size. */
	uint32_t *live;
	uint32_t *buckets;   /* index + 1 of the first flow; 0: empty */
	uint32_t nbuckets;   /* power of two */
	uint32_t free_head;  /* index + 1 of a freed flow; chained by next */
	/* flows[0..fresh) have been used: the rest, calloc'd, are never
	 * touched before they are needed (at startup, a table of 4,096
	 * flows faulted in 13 MB: 86 ms of an autostarted daemon's start). */
	uint32_t fresh;
	/* The flows by each enum flow_by (index + 1, chained by by_next,
	 * nbuckets each). */
	uint32_t *by_buckets[FLOW_BY_COUNT];
	uint64_t seed;
	struct flow_uid *uids; /* flows per owner: open addressing, n 0 empty */
	uint32_t nuids;        /* power of two, at least 2 * cap */
	uint32_t nstate[FLOW_STATE_COUNT]; /* flows per state (flow_recount) */
	/* The flows of each state, oldest entry first (index + 1, 0: none):
	 * the eviction victim without a scan. */
	uint32_t state_head[FLOW_STATE_COUNT], state_tail[FLOW_STATE_COUNT];
};

struct flow_uid {
	uint32_t uid;
	uint32_t n;
};

int flow_table_init(struct flow_table *t, uint32_t cap);
/* The k-th flow in use (k < count). Removing flow_live(t, k) moves the
 * last one there: walk down from count - 1 to remove as you go. */
static inline struct flow *flow_live(const struct flow_table *t, uint32_t k)
{
	return &t->flows[t->live[k]];
}
void flow_table_free(struct flow_table *t);

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *key);
/* The flows to one remote address (unmapped, as in flow keys: FLOW_BY_REMOTE),
 * to one remote address from and to these ports (FLOW_BY_CONN, any local
 * address), or on one local port (FLOW_BY_LPORT; remote NULL), in no
 * order: for (f = flow_first_by(t, by, ...); f; f = flow_next_by(t, by, f)).
 * The table must not change during the walk. */
struct flow *flow_first_by(const struct flow_table *t, enum flow_by by,
			   const struct tcpao_addr *remote, uint16_t lport,
			   uint16_t rport);
struct flow *flow_next_by(const struct flow_table *t, enum flow_by by,
			  const struct flow *f);
/* TIME-WAIT or CLOSED: a new SYN on its 4-tuple starts a new connection. */
bool flow_over(const struct flow *f);
/* A fresh, zeroed flow for key (which must not be present); NULL when the
 * table is full. */
struct flow *flow_insert(struct flow_table *t, const struct flow_key *key);
void flow_remove(struct flow_table *t, struct flow *f);
/* Gives a flow its owner (once; FLOW_UID_NONE is no owner). */
void flow_set_uid(struct flow_table *t, struct flow *f, uint32_t uid);
/* How many flows the owner uid holds. */
uint32_t flow_uid_count(const struct flow_table *t, uint32_t uid);
/* The flow that entered state first of those in it (as last recounted),
 * or NULL: the victim when the table is full. Constant time. */
struct flow *flow_oldest(const struct flow_table *t, enum flow_state state);
/* How many flows are in one of the states of mask, as last recounted. */
uint32_t flow_count_states(const struct flow_table *t, unsigned int mask);
/* Brings the per-state counts in step after f->state moved: called where
 * every change of state is noted anyway (worker_flow_changed). */
void flow_recount(struct flow_table *t, struct flow *f);

/* The key of a segment from the local side (egress) or the remote side. */
void flow_key_egress(struct flow_key *key, const struct tcpao_seg *seg);
void flow_key_ingress(struct flow_key *key, const struct tcpao_seg *seg);

/* Starts the peer's direction alone (remote -> local) in dir: a SYN is
 * verified there before it may replace a flow. */
void flow_rx_start(struct tcpao_dir *dir, const struct flow_key *key);
/* Starts both directions: tx as local -> remote, rx as remote -> local. */
void flow_start(struct flow *f, const struct policy_peer *peer,
		const struct tcpao_keysel *sel, enum flow_state state,
		uint64_t now_ms);
/* Follows FIN / RST / ACK of a segment we sent (egress) or received. */
void flow_track_egress(struct flow *f, const struct tcpao_seg *seg);
void flow_track_ingress(struct flow *f, const struct tcpao_seg *seg);
/* Frees flows whose time has passed; calls gone(f) for each first.
 * Returns how many. */
unsigned int flow_gc(struct flow_table *t, uint64_t now_ms,
		     void (*gone)(struct flow *f, void *arg), void *arg);

/* The key a flow signs with and the rcvid it announces (NULL / -1 when
 * the keys it uses are gone). */
const struct tcpao_mkt *flow_current_key(const struct flow *f,
					 uint64_t *serial);
int flow_rnext_rcvid(const struct flow *f);

#endif
