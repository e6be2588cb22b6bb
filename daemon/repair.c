// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Repaired connections waiting for their worker (see repair.h). The pool
 * is tiny (a socket is repaired at most once per restore) and is touched
 * only by the control thread and by a worker meeting a segment of a flow
 * it does not know: a mutex, and an atomic count so that the packet path
 * takes no lock while the pool is empty.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "repair.h"
#include "worker.h"

#define REPAIR_TTL_MS (10 * 60 * 1000)
#define REPAIR_MAX 1024

struct pending {
	struct repair_flow r;
	uint64_t added_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct pending *pool; /* oldest first */
static size_t npool, cap;
static _Atomic size_t npending;

/* The workers' clock (CLOCK_MONOTONIC_COARSE). */
static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static bool key_equal(const struct flow_key *a, const struct flow_key *b)
{
	return a->lport == b->lport && a->rport == b->rport &&
	       tcpao_addr_equal(&a->local, &b->local) &&
	       tcpao_addr_equal(&a->remote, &b->remote);
}

/* ---- the pool (lock held) ---------------------------------------------- */

static struct pending *find(const struct flow_key *key)
{
	for (size_t i = 0; i < npool; i++)
		if (key_equal(&pool[i].r.key, key))
			return &pool[i];
	return NULL;
}

static void take(struct pending *p)
{
	size_t i = (size_t)(p - pool);

	memmove(p, p + 1, (npool - i - 1) * sizeof(*p));
	npool--;
	atomic_store(&npending, npool);
}

static void expire(uint64_t now)
{
	/* now may lag behind added_ms: a worker's clock is read per batch. */
	while (npool && now > pool[0].added_ms &&
	       now - pool[0].added_ms > REPAIR_TTL_MS)
		take(&pool[0]);
}

static int append(const struct repair_flow *r, uint64_t now)
{
	struct pending *p = find(&r->key);

	if (p)
		take(p); /* repaired again: the newest wins */
	if (npool == REPAIR_MAX)
		take(&pool[0]);
	if (npool == cap) {
		size_t ncap = cap ? cap * 2 : 8;
		struct pending *grown = realloc(pool, ncap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		pool = grown;
		cap = ncap;
	}
	pool[npool++] = (struct pending){ .r = *r, .added_ms = now };
	atomic_store(&npending, npool);
	return 0;
}

/* ---- the flow ---------------------------------------------------------- */

static void dir_repair(struct tcpao_dir *d, uint32_t sisn, uint32_t disn,
		       uint32_t seq, uint32_t sne)
{
	d->ctx.sisn = sisn;
	d->have_sisn = true;
	tcpao_dir_set_disn(d, disn);
	d->sne.seq = seq;
	d->sne.sne = sne;
}

bool repair_claim(const struct flow_key *key, const struct policy *policy,
		  struct flow *f, uint64_t now_ms)
{
	const struct policy_peer *p;
	struct tcpao_keysel sel;
	struct repair_flow r;
	struct pending *e;
	bool found = false;

	if (!atomic_load(&npending))
		return false;
	p = policy_match(policy, &key->local, key->lport, &key->remote,
			 key->rport);
	if (!p || policy_peer_keysel(p, &key->remote, f->l3index, &sel))
		return false;
	pthread_mutex_lock(&lock);
	expire(now_ms);
	e = find(key);
	if (e) {
		r = e->r;
		take(e);
		found = true;
	}
	pthread_mutex_unlock(&lock);
	if (!found)
		return false;
	flow_start(f, p, &sel, FLOW_ESTABLISHED, now_ms);
	dir_repair(&f->tx, r.snt_isn, r.rcv_isn, r.snd_seq, r.snd_sne);
	dir_repair(&f->rx, r.rcv_isn, r.snt_isn, r.rcv_seq, r.rcv_sne);
	log_msg(LOG_INFO, "repaired flow port %u -> port %u (SNE %u/%u)",
		key->lport, key->rport, r.snd_sne, r.rcv_sne);
	return true;
}

/* On each worker: the flow it holds of that 4-tuple is the checkpointed
 * socket's; the repaired one takes its place. */
static void replace_live(struct worker *w, void *arg)
{
	const struct repair_flow *r = arg;
	struct flow *f = flow_lookup(&w->flows, &r->key);

	if (!f)
		return;
	worker_remove_flow(w, f);
	worker_restore_flow(w, &r->key);
}

int repair_start(const struct repair_flow *r)
{
	uint64_t now = monotonic_ms();
	int rc;

	pthread_mutex_lock(&lock);
	expire(now);
	rc = append(r, now);
	pthread_mutex_unlock(&lock);
	if (!rc)
		workers_call(replace_live, (void *)r);
	return rc;
}

void repair_free(void)
{
	pthread_mutex_lock(&lock);
	free(pool);
	pool = NULL;
	npool = cap = 0;
	atomic_store(&npending, 0);
	pthread_mutex_unlock(&lock);
}
