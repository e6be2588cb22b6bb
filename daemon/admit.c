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
 * - When the table is full, a flow that may take a slot evicts the
 *   oldest CLOSED flow, then the oldest SYN-RECV, then (root and the
 *   kernel only) the oldest TIME-WAIT. Synchronized flows are never
 *   evicted. Refusals and evictions are counted and logged, at most
 *   once a second.
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

static bool evict(struct worker *w, unsigned int mask,
		  const struct flow_key *key, uint32_t uid)
{
	struct flow *victim = flow_oldest(&w->flows, mask);

	if (!victim)
		return false;
	worker_remove_flow(w, victim);
	stats_inc(&w->stats, STAT_FLOW_EVICTED);
	limit_log(w, "evicted an idle unsynchronized flow", key, uid);
	return true;
}

/* Makes a slot free for a flow of uid (passive: a SYN's). */
static bool make_room(struct worker *w, const struct flow_key *key,
		      uint32_t uid, bool passive)
{
	struct flow_table *t = &w->flows;
	unsigned int mask = BIT(FLOW_CLOSED) | BIT(FLOW_SYN_RECV);

	if (passive && t->count >= share(t, SYN_RECV_SHARE) &&
	    flow_count_states(t, BIT(FLOW_SYN_RECV)) >=
		    share(t, SYN_RECV_SHARE))
		return evict(w, BIT(FLOW_SYN_RECV), key, uid);
	if (!privileged(uid) && t->count >= t->cap - share(t, ROOT_RESERVE))
		return evict(w, mask, key, uid);
	if (t->count < t->cap)
		return true;
	if (privileged(uid) && !passive)
		mask |= BIT(FLOW_TIME_WAIT);
	return evict(w, mask, key, uid);
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
