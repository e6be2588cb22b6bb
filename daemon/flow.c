// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The flow table of one worker: a fixed array of flows (allocated once, at
 * start), a free list and hash chains. Nothing here allocates after init.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "flow.h"
#include "hash.h"

/* How long a flow outlives its last segment, by state (milliseconds). */
#define HANDSHAKE_IDLE_MS (75 * 1000)
#define ESTABLISHED_IDLE_MS (24ull * 3600 * 1000)
#define TIME_WAIT_MS (120 * 1000) /* twice Linux's TCP_TIMEWAIT_LEN */
#define CLOSED_MS (10 * 1000)

static const char *const state_names[FLOW_STATE_COUNT] = {
	[FLOW_SYN_SENT] = "SYN-SENT",	  [FLOW_SYN_RECV] = "SYN-RECV",
	[FLOW_ESTABLISHED] = "ESTAB",	  [FLOW_FIN_WAIT] = "FIN-WAIT",
	[FLOW_CLOSE_WAIT] = "CLOSE-WAIT", [FLOW_CLOSING] = "CLOSING",
	[FLOW_TIME_WAIT] = "TIME-WAIT",	  [FLOW_CLOSED] = "CLOSED",
};

const char *flow_state_name(enum flow_state state)
{
	return state < FLOW_STATE_COUNT ? state_names[state] : "?";
}

int flow_table_init(struct flow_table *t, uint32_t cap)
{
	bool chains = true;

	memset(t, 0, sizeof(*t));
	t->nbuckets = 64;
	while (t->nbuckets < cap)
		t->nbuckets <<= 1;
	/* calloc'd pages stay untouched (and unbacked) until used. */
	t->flows = calloc(cap, sizeof(*t->flows));
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	for (int c = 0; c < FLOW_BY_COUNT; c++)
		t->by_buckets[c] = calloc(t->nbuckets, sizeof(*t->by_buckets[c]));
	t->live = calloc(cap ? cap : 1, sizeof(*t->live));
	t->nuids = t->nbuckets * 2;
	t->uids = calloc(t->nuids, sizeof(*t->uids));
	for (int c = 0; c < FLOW_BY_COUNT; c++)
		chains &= t->by_buckets[c] != NULL;
	if (!t->flows || !t->buckets || !chains || !t->live || !t->uids) {
		flow_table_free(t);
		return -ENOMEM;
	}
	t->cap = cap; /* no free list to build: flows[fresh..cap) wait unused */
	if (getrandom(&t->seed, sizeof(t->seed), 0) != sizeof(t->seed))
		t->seed = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ull;
	return 0;
}

void flow_table_free(struct flow_table *t)
{
	if (t->flows)
		explicit_bzero(t->flows, (size_t)t->fresh * sizeof(*t->flows));
	free(t->flows);
	free(t->buckets);
	for (int c = 0; c < FLOW_BY_COUNT; c++)
		free(t->by_buckets[c]);
	free(t->live);
	free(t->uids);
	memset(t, 0, sizeof(*t));
}

static uint32_t key_hash(const struct flow_table *t, const struct flow_key *k)
{
	uint64_t w[4], h = t->seed;

	memcpy(w, k->local.bytes, 16);
	memcpy(w + 2, k->remote.bytes, 16);
	for (int i = 0; i < 4; i++)
		h = hash_mix(h, w[i]);
	h = hash_mix(h, (uint64_t)k->lport << 16 | k->rport |
		       (uint64_t)k->local.family << 32);
	return (uint32_t)h & (t->nbuckets - 1);
}

/* What a chain other than the 4-tuple's is keyed by (enum flow_by). */
struct by_key {
	enum flow_by by;
	const struct tcpao_addr *remote;
	uint16_t lport, rport;
};

static struct by_key by_key_of(const struct flow *f, enum flow_by by)
{
	return (struct by_key){ by, &f->key.remote, f->key.lport, f->key.rport };
}

static uint32_t by_hash(const struct flow_table *t, const struct by_key *k)
{
	uint64_t w[2] = { 0 }, h = t->seed;

	if (k->by == FLOW_BY_LPORT)
		return (uint32_t)hash_mix(h, k->lport) & (t->nbuckets - 1);
	memcpy(w, k->remote->bytes, tcpao_addr_len(k->remote)); /* the bytes equality reads */
	h = hash_mix(hash_mix(h ^ k->remote->family, w[0]), w[1]);
	if (k->by == FLOW_BY_CONN)
		h = hash_mix(h, (uint64_t)k->lport << 16 | k->rport);
	return (uint32_t)h & (t->nbuckets - 1);
}

static bool by_matches(const struct flow *f, const struct by_key *k)
{
	switch (k->by) {
	case FLOW_BY_REMOTE:
		return tcpao_addr_equal(&f->key.remote, k->remote);
	case FLOW_BY_CONN:
		return tcpao_addr_equal(&f->key.remote, k->remote) &&
		       f->key.lport == k->lport && f->key.rport == k->rport;
	default:
		return f->key.lport == k->lport;
	}
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->lport == b->lport && a->rport == b->rport &&
	       tcpao_addr_equal(&a->local, &b->local) &&
	       tcpao_addr_equal(&a->remote, &b->remote);
}

bool flow_over(const struct flow *f)
{
	return f->state == FLOW_TIME_WAIT || f->state == FLOW_CLOSED;
}

struct flow *flow_lookup(struct flow_table *t, const struct flow_key *key)
{
	for (uint32_t i = t->buckets[key_hash(t, key)]; i;) {
		struct flow *f = &t->flows[i - 1];

		if (key_equal(&f->key, key))
			return f;
		i = f->next;
	}
	return NULL;
}

/* ---- flows per owner: linear probing, deletion by backward shift ----- */

static uint32_t uid_home(const struct flow_table *t, uint32_t uid)
{
	return (uint32_t)hash_mix(t->seed, uid) & (t->nuids - 1);
}

/* The slot of uid, or the empty slot where it would go. */
static uint32_t uid_find(const struct flow_table *t, uint32_t uid)
{
	uint32_t i = uid_home(t, uid);

	while (t->uids[i].n && t->uids[i].uid != uid)
		i = (i + 1) & (t->nuids - 1);
	return i;
}

uint32_t flow_uid_count(const struct flow_table *t, uint32_t uid)
{
	const struct flow_uid *u = &t->uids[uid_find(t, uid)];

	return u->n && u->uid == uid ? u->n : 0;
}

static void uid_add(struct flow_table *t, uint32_t uid)
{
	struct flow_uid *u = &t->uids[uid_find(t, uid)];

	u->uid = uid;
	u->n++;
}

/* Whether slot k, whose entry lives at home h, may move back to hole i. */
static bool uid_may_fill(uint32_t i, uint32_t k, uint32_t h)
{
	return i <= k ? (h <= i || h > k) : (h <= i && h > k);
}

static void uid_sub(struct flow_table *t, uint32_t uid)
{
	uint32_t i = uid_find(t, uid), mask = t->nuids - 1;

	if (!t->uids[i].n || --t->uids[i].n)
		return;
	/* Close the hole so that no probe chain is cut. */
	for (uint32_t k = (i + 1) & mask; t->uids[k].n; k = (k + 1) & mask) {
		if (uid_may_fill(i, k, uid_home(t, t->uids[k].uid))) {
			t->uids[i] = t->uids[k];
			t->uids[k].n = 0;
			i = k;
		}
	}
}

void flow_set_uid(struct flow_table *t, struct flow *f, uint32_t uid)
{
	if (f->uid != FLOW_UID_NONE || uid == FLOW_UID_NONE)
		return;
	f->uid = uid;
	uid_add(t, uid);
}

/* ---- flows per state: doubly linked, in order of entry ---------------- */

static void state_link(struct flow_table *t, struct flow *f)
{
	uint32_t idx = (uint32_t)(f - t->flows) + 1, s = f->counted_state;

	f->state_next = 0;
	f->state_prev = t->state_tail[s];
	if (f->state_prev)
		t->flows[f->state_prev - 1].state_next = idx;
	else
		t->state_head[s] = idx;
	t->state_tail[s] = idx;
	t->nstate[s]++;
}

static void state_unlink(struct flow_table *t, struct flow *f)
{
	uint32_t s = f->counted_state;

	if (f->state_prev)
		t->flows[f->state_prev - 1].state_next = f->state_next;
	else
		t->state_head[s] = f->state_next;
	if (f->state_next)
		t->flows[f->state_next - 1].state_prev = f->state_prev;
	else
		t->state_tail[s] = f->state_prev;
	f->state_prev = f->state_next = 0;
	t->nstate[s]--;
}

struct flow *flow_oldest(const struct flow_table *t, enum flow_state state)
{
	uint32_t i = state < FLOW_STATE_COUNT ? t->state_head[state] : 0;

	return i ? &t->flows[i - 1] : NULL;
}

uint32_t flow_count_states(const struct flow_table *t, unsigned int mask)
{
	uint32_t n = 0;

	for (unsigned int s = 0; s < FLOW_STATE_COUNT; s++)
		if (mask & 1u << s)
			n += t->nstate[s];
	return n;
}

void flow_recount(struct flow_table *t, struct flow *f)
{
	if (f->counted_state == f->state)
		return;
	state_unlink(t, f);
	f->counted_state = (uint8_t)f->state;
	state_link(t, f);
}

/* ---- flows by remote address, connection, local port: doubly linked, so
 * removal is O(1) even when one peer holds most of the table ------------ */

static void by_link(struct flow_table *t, struct flow *f, uint32_t idx)
{
	for (int c = 0; c < FLOW_BY_COUNT; c++) {
		struct by_key k = by_key_of(f, c);
		uint32_t *head = &t->by_buckets[c][by_hash(t, &k)];

		f->by_prev[c] = 0;
		f->by_next[c] = *head;
		if (*head)
			t->flows[*head - 1].by_prev[c] = idx;
		*head = idx;
	}
}

static void by_unlink(struct flow_table *t, struct flow *f)
{
	for (int c = 0; c < FLOW_BY_COUNT; c++) {
		struct by_key k = by_key_of(f, c);

		if (f->by_prev[c])
			t->flows[f->by_prev[c] - 1].by_next[c] = f->by_next[c];
		else
			t->by_buckets[c][by_hash(t, &k)] = f->by_next[c];
		if (f->by_next[c])
			t->flows[f->by_next[c] - 1].by_prev[c] = f->by_prev[c];
	}
}

/* From chain link i on, the first flow of k. */
static struct flow *by_from(const struct flow_table *t, uint32_t i,
			    const struct by_key *k)
{
	for (; i; i = t->flows[i - 1].by_next[k->by])
		if (by_matches(&t->flows[i - 1], k))
			return &t->flows[i - 1];
	return NULL;
}

struct flow *flow_first_by(const struct flow_table *t, enum flow_by by,
			   const struct tcpao_addr *remote, uint16_t lport,
			   uint16_t rport)
{
	struct by_key k = { by, remote, lport, rport };

	return by_from(t, t->by_buckets[by][by_hash(t, &k)], &k);
}

struct flow *flow_next_by(const struct flow_table *t, enum flow_by by,
			  const struct flow *f)
{
	struct by_key k = by_key_of(f, by);

	return by_from(t, f->by_next[by], &k);
}

struct flow *flow_insert(struct flow_table *t, const struct flow_key *key)
{
	uint32_t b = key_hash(t, key), i = t->free_head;
	struct flow *f;

	if (i)
		t->free_head = t->flows[i - 1].next;
	else if (t->fresh < t->cap)
		i = ++t->fresh;
	else
		return NULL;
	f = &t->flows[i - 1];
	memset(f, 0, sizeof(*f));
	f->key = *key;
	f->uid = FLOW_UID_NONE;
	f->in_use = true;
	f->peer_rnext = -1;
	f->next = t->buckets[b];
	t->buckets[b] = i;
	by_link(t, f, i);
	f->live_at = t->count;
	t->live[t->count++] = i - 1;
	state_link(t, f); /* counted_state is f->state */
	return f;
}

void flow_remove(struct flow_table *t, struct flow *f)
{
	uint32_t idx = (uint32_t)(f - t->flows) + 1;
	uint32_t *link = &t->buckets[key_hash(t, &f->key)];

	while (*link && *link != idx)
		link = &t->flows[*link - 1].next;
	if (*link)
		*link = f->next;
	by_unlink(t, f);
	if (f->uid != FLOW_UID_NONE)
		uid_sub(t, f->uid);
	t->live[f->live_at] = t->live[--t->count];
	t->flows[t->live[f->live_at]].live_at = f->live_at;
	state_unlink(t, f);
	tcpao_dir_wipe(&f->tx);
	tcpao_dir_wipe(&f->rx);
	memset(f, 0, sizeof(*f));
	f->next = t->free_head;
	t->free_head = idx;
}

static void addr_unmapped(struct tcpao_addr *out, const struct tcpao_addr *in)
{
	*out = *in;
	tcpao_addr_unmap(out);
}

void flow_key_egress(struct flow_key *key, const struct tcpao_seg *seg)
{
	memset(key, 0, sizeof(*key));
	addr_unmapped(&key->local, &seg->saddr);
	addr_unmapped(&key->remote, &seg->daddr);
	key->lport = seg->sport;
	key->rport = seg->dport;
}

void flow_key_ingress(struct flow_key *key, const struct tcpao_seg *seg)
{
	memset(key, 0, sizeof(*key));
	addr_unmapped(&key->local, &seg->daddr);
	addr_unmapped(&key->remote, &seg->saddr);
	key->lport = seg->dport;
	key->rport = seg->sport;
}

static void dir_start(struct tcpao_dir *dir, const struct tcpao_addr *from,
		      uint16_t sport, const struct tcpao_addr *to,
		      uint16_t dport)
{
	memset(dir, 0, sizeof(*dir));
	dir->ctx.saddr = *from;
	dir->ctx.daddr = *to;
	dir->ctx.sport = sport;
	dir->ctx.dport = dport;
}

void flow_rx_start(struct tcpao_dir *dir, const struct flow_key *key)
{
	dir_start(dir, &key->remote, key->rport, &key->local, key->lport);
}

void flow_start(struct flow *f, const struct policy_peer *peer,
		const struct tcpao_keysel *sel, enum flow_state state,
		uint64_t now_ms)
{
	const struct flow_key *k = &f->key;

	dir_start(&f->tx, &k->local, k->lport, &k->remote, k->rport);
	dir_start(&f->rx, &k->remote, k->rport, &k->local, k->lport);
	f->peer = peer;
	f->sel = *sel;
	f->current_epoch = peer->current_epoch;
	f->rnext_epoch = peer->rnext_epoch;
	f->policy_epoch = 0; /* checked against the worker's on first use */
	f->state = state;
	f->last_seen_ms = now_ms;
}

static bool seq_after_eq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/* Moves the state on after a FIN, its ACK, or a RST in either direction. */
static void update_state(struct flow *f, const struct tcpao_seg *seg,
			 bool outgoing)
{
	bool ack = seg->flags & TCPAO_TH_ACK;

	if (seg->flags & TCPAO_TH_RST) {
		f->state = FLOW_CLOSED;
		return;
	}
	if (f->state == FLOW_CLOSED)
		return;
	if ((f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RECV) && ack &&
	    !(seg->flags & TCPAO_TH_SYN))
		f->state = FLOW_ESTABLISHED;
	if (seg->flags & TCPAO_TH_FIN) {
		uint32_t at = seg->seq + (uint32_t)tcpao_seg_payload_len(seg);

		if (outgoing)
			f->fin_out = true, f->fin_out_seq = at;
		else
			f->fin_in = true, f->fin_in_seq = at;
	}
	/* A FIN is acknowledged by an ACK of the other direction past it. */
	if (ack && outgoing && f->fin_in &&
	    seq_after_eq(seg->ack, f->fin_in_seq + 1))
		f->fin_in_acked = true;
	if (ack && !outgoing && f->fin_out &&
	    seq_after_eq(seg->ack, f->fin_out_seq + 1))
		f->fin_out_acked = true;
	if (f->fin_out && f->fin_in)
		f->state = f->fin_out_acked && f->fin_in_acked ? FLOW_TIME_WAIT
							       : FLOW_CLOSING;
	else if (f->fin_out)
		f->state = FLOW_FIN_WAIT;
	else if (f->fin_in)
		f->state = FLOW_CLOSE_WAIT;
}

void flow_track_egress(struct flow *f, const struct tcpao_seg *seg)
{
	update_state(f, seg, true);
}

void flow_track_ingress(struct flow *f, const struct tcpao_seg *seg)
{
	update_state(f, seg, false);
}

static uint64_t idle_limit_ms(const struct flow *f)
{
	switch (f->state) {
	case FLOW_SYN_SENT:
	case FLOW_SYN_RECV:
		return HANDSHAKE_IDLE_MS;
	case FLOW_TIME_WAIT:
		return TIME_WAIT_MS;
	case FLOW_CLOSED:
		return CLOSED_MS;
	default:
		return ESTABLISHED_IDLE_MS;
	}
}

unsigned int flow_gc(struct flow_table *t, uint64_t now_ms,
		     void (*gone)(struct flow *f, void *arg), void *arg)
{
	unsigned int n = 0;

	for (uint32_t k = t->count; k-- > 0;) {
		struct flow *f = flow_live(t, k);

		if (now_ms - f->last_seen_ms < idle_limit_ms(f))
			continue;
		if (gone)
			gone(f, arg);
		flow_remove(t, f);
		n++;
	}
	return n;
}

const struct tcpao_mkt *flow_current_key(const struct flow *f,
					 uint64_t *serial)
{
	int i;

	if (!f->peer)
		return NULL;
	i = tcpao_keyring_find_serial(&f->peer->keys, f->sel.current);
	if (i < 0)
		return NULL;
	*serial = f->sel.current;
	return tcpao_keyring_key(&f->peer->keys, i);
}

int flow_rnext_rcvid(const struct flow *f)
{
	int i;

	if (!f->peer)
		return -1;
	i = tcpao_keyring_find_serial(&f->peer->keys, f->sel.rnext);
	return i < 0 ? -1 : (*tcpao_keyring_key(&f->peer->keys, i)).rcvid;
}
