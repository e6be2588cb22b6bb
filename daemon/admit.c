// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Admission to a worker's flow table, which is fixed-size: who may take
 * the last slots. One local user must not fill it and lock root out of
 * its own peers (issue 8, item 6).
 *
 * - A non-root owner (the uid of the socket that opened the flow, from
 *   NFQA_UID) holds at most a quarter of the table (UID_SHARE), and never
 *   the last eighth (ROOT_RESERVE), which is root's and the kernel's.
 * - A flow opened without a socket's uid (a passive open, a restored
 *   flow) gets its owner from its first egress segment that has one; an
 *   owner past its quota then loses the flow (the accepted socket's
 *   connection dies, as its connect would not have opened).
 * - Passive opens have no socket yet at raw PREROUTING: SYN-RECV flows
 *   hold at most a quarter of the table (SYN_RECV_SHARE); past it the
 *   oldest SYN-RECV flow makes room.
 * - When the table is full, a flow that may take a slot evicts a flow
 *   that is over before one that may still become a connection: the
 *   CLOSED flow that closed first, else (root, the kernel and verified
 *   passive opens) the first TIME-WAIT flow, else the oldest SYN-RECV.
 *   A busy server's table fills with TIME-WAIT flows (120 s each); as
 *   Linux when its TIME-WAIT buckets overflow, it then keeps fewer of
 *   them rather than refuse new connections. A passive open is verified
 *   before it asks for a slot, so only a holder of the key, or a replay
 *   of a SYN it sent, evicts a TIME-WAIT flow; replays stay within the
 *   SYN-RECV share, and what an evicted TIME-WAIT flow loses is the
 *   signing of late segments of a connection that is over (its 4-tuple
 *   then has no flow: whatever comes for it unsigned or of no ISN is
 *   dropped, as before). Synchronized flows are never evicted, nor
 *   TIME-WAIT flows for a non-root uid. Refusals and evictions are
 *   counted and logged, at most once a second.
 */
#include <arpa/inet.h>

#include "log.h"
#include "worker.h"

#define UID_SHARE 4      /* a non-root uid: at most cap / 4 flows */
#define ROOT_RESERVE 8   /* cap / 8 slots only root and the kernel take */
#define SYN_RECV_SHARE 4 /* passive half-open: at most cap / 4 */
#define LIMIT_LOG_MS 1000

#define BIT(s) (1u << (s))

static uint32_t share(const struct flow_table *t, uint32_t div)
{
	return t->cap / div ? t->cap / div : 1;
}

/* Root, and flows of no socket (the kernel's, restored ones). */
static bool privileged(uint32_t uid)
{
	return uid == 0 || uid == FLOW_UID_NONE;
}

static void limit_log(struct worker *w, const char *what,
		      const struct flow_key *key, uint32_t uid)
{
	char addr[INET6_ADDRSTRLEN];

	if (w->limit_log_ms && w->now_ms - w->limit_log_ms < LIMIT_LOG_MS)
		return;
	w->limit_log_ms = w->now_ms;
	inet_ntop(key->remote.family, key->remote.bytes, addr, sizeof(addr));
	if (uid == FLOW_UID_NONE)
		log_msg(LOG_WARNING, "flow table (worker %u, %u of %u): %s, "
			"peer %s port %u", w->index, w->flows.count,
			w->flows.cap, what, addr, key->rport);
	else
		log_msg(LOG_WARNING, "flow table (worker %u, %u of %u): %s, "
			"uid %u, peer %s port %u", w->index, w->flows.count,
			w->flows.cap, what, uid, addr, key->rport);
}

/* Frees the slot of the oldest flow of the first of states[] that has
 * one. */
static bool evict(struct worker *w, const enum flow_state *states, size_t n,
		  const struct flow_key *key, uint32_t uid)
{
	struct flow *victim = NULL;

	for (size_t i = 0; i < n && !victim; i++)
		victim = flow_oldest(&w->flows, states[i]);
	if (!victim)
		return false;
	worker_remove_flow(w, victim);
	stats_inc(&w->stats, STAT_FLOW_EVICTED);
	limit_log(w, "evicted an idle unsynchronized flow", key, uid);
	return true;
}

/* The victims, in order: flows that are over first. */
static const enum flow_state syn_recv_only[] = { FLOW_SYN_RECV };
static const enum flow_state non_root_victims[] = { FLOW_CLOSED,
						     FLOW_SYN_RECV };
static const enum flow_state victims[] = { FLOW_CLOSED, FLOW_TIME_WAIT,
					   FLOW_SYN_RECV };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Makes a slot free for a flow of uid (passive: a verified SYN's, whose
 * uid is FLOW_UID_NONE). */
static bool make_room(struct worker *w, const struct flow_key *key,
		      uint32_t uid, bool passive)
{
	struct flow_table *t = &w->flows;

	if (passive && t->count >= share(t, SYN_RECV_SHARE) &&
	    flow_count_states(t, BIT(FLOW_SYN_RECV)) >=
		    share(t, SYN_RECV_SHARE))
		return evict(w, syn_recv_only, N(syn_recv_only), key, uid);
	if (!privileged(uid) && t->count >= t->cap - share(t, ROOT_RESERVE))
		return evict(w, non_root_victims, N(non_root_victims), key,
			     uid);
	if (t->count < t->cap)
		return true;
	return evict(w, victims, N(victims), key, uid);
}

struct flow *worker_insert_flow(struct worker *w, const struct flow_key *key,
				uint32_t uid, bool passive)
{
	struct flow_table *t = &w->flows;
	struct flow *f;

	if (!privileged(uid) && flow_uid_count(t, uid) >= share(t, UID_SHARE)) {
		stats_inc(&w->stats, STAT_FLOW_QUOTA);
		limit_log(w, "the uid's quota is used up", key, uid);
		return NULL;
	}
	if (!make_room(w, key, uid, passive) || !(f = flow_insert(t, key))) {
		stats_inc(&w->stats, STAT_FLOW_TABLE_FULL);
		limit_log(w, "full, no flow for a new connection", key, uid);
		return NULL;
	}
	flow_set_uid(t, f, uid);
	worker_owns(w, key);
	f->l3index = w->pkt_l3index;
	return f;
}

bool worker_flow_owner(struct worker *w, struct flow *f, uint32_t uid)
{
	struct flow_table *t = &w->flows;

	if (f->uid != FLOW_UID_NONE || uid == FLOW_UID_NONE)
		return true;
	if (!privileged(uid) && flow_uid_count(t, uid) >= share(t, UID_SHARE)) {
		stats_inc(&w->stats, STAT_FLOW_QUOTA);
		limit_log(w, "the uid's quota is used up (accepted)", &f->key,
			  uid);
		return false;
	}
	flow_set_uid(t, f, uid);
	return true;
}
