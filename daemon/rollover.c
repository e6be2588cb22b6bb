// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Rollover: the chains' schedule applied to a policy; the daemon's clock
 * and timer. See rollover.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "keychain.h"
#include "log.h"
#include "rollover.h"

/* In a gap, wake up this often to say so again. */
#define GAP_REWARN_S 60

static _Atomic int64_t clock_offset;
static _Atomic uint64_t gaps, moves;

uint64_t rollover_gap_count(void) { return atomic_load(&gaps); }
uint64_t rollover_move_count(void) { return atomic_load(&moves); }

/* The file's copy of a chain key in the entry's ring, or -1. */
static int ring_index(const struct policy_peer *p, const struct tcpao_mkt *m)
{
	for (size_t i = 0; i < p->keys.n; i++)
		if ((*tcpao_keyring_key(&p->keys, i)).sndid == m->sndid &&
		    (*tcpao_keyring_key(&p->keys, i)).rcvid == m->rcvid &&
		    tcpao_keyring_tag(&p->keys, i) == POLICY_KEY_FILE)
			return (int)i;
	return -1;
}

static const char *peer_str(const struct policy_peer *p, char *buf, size_t len)
{
	return policy_prefix_str(&p->scope.peer, p->scope.peer_len, buf, len);
}

/* Brings the entry's ring to the keys the schedule accepts; *retry when
 * memory ran out (a key past its window must not wait for the next
 * boundary to leave). */
static bool sync_keys(struct policy *policy, size_t e, const struct keychain *c,
		      const struct keychain_sched *s, bool *retry)
{
	char err[256], who[64];
	bool changed = false;

	for (size_t i = 0; i < c->n; i++) {
		const struct policy_peer *p = policy_entry(policy, e);
		const struct tcpao_mkt *m = &c->keys[i].mkt;
		bool want = s->accept >> i & 1;
		int k = ring_index(p, m);
		struct policy_peer *own;

		if (k >= 0 && !want) {
			if (!(own = policy_entry_mut(policy, e)) ||
			    tcpao_keyring_del(&own->keys, &own->scope.peer,
					      own->scope.peer_len, m->sndid, m->rcvid)) {
				*retry = true;
				continue;
			}
			log_msg(LOG_INFO, "peer %s key-chain %s: key %llu leaves (accept window over)",
				peer_str(p, who, sizeof(who)), c->name,
				(unsigned long long)c->keys[i].id);
			changed = true;
		} else if (k < 0 && want) {
			int rc = policy_add_key_from(policy, &p->scope, m, POLICY_FROM_FILE,
						     false, false, err, sizeof(err));

			if (rc) {
				*retry |= rc == -ENOMEM;
				log_msg(LOG_ERR, "peer %s key-chain %s: key %llu: %s",
					peer_str(p, who, sizeof(who)), c->name,
					(unsigned long long)c->keys[i].id, err);
				continue;
			}
			log_msg(LOG_INFO, "peer %s key-chain %s: key %llu joins (accept window open)",
				peer_str(policy_entry(policy, e), who, sizeof(who)), c->name,
				(unsigned long long)c->keys[i].id);
			changed = true;
		}
	}
	return changed;
}

/* The active key becomes current and rnext, as `tcpao key set` does:
 * bumping an epoch makes the workers move the live connections. A
 * confirmed chain leaves the live connections' send key alone (new ones
 * start with the new key): asked for it by our RNextKeyID, a peer that
 * holds it asks back, and the RNextKeyID rule moves each connection. */
static bool prefer(struct policy *policy, size_t e, const struct keychain *c,
		   const struct keychain_sched *s, bool *retry)
{
	const struct keychain_key *k = &c->keys[s->active];
	const struct policy_peer *q = policy_entry(policy, e);
	struct policy_peer *p;
	char who[64];
	bool moved = false;

	if (q->current_sndid == k->mkt.sndid && q->rnext_rcvid == k->mkt.rcvid)
		return false;
	if (!(p = policy_entry_mut(policy, e))) {
		*retry = true;
		return false;
	}

	if (p->current_sndid != k->mkt.sndid) {
		p->current_sndid = k->mkt.sndid;
		p->current_epoch += !c->confirmed;
		moved = true;
	}
	if (p->rnext_rcvid != k->mkt.rcvid) {
		p->rnext_rcvid = k->mkt.rcvid;
		p->rnext_epoch++;
		moved = true;
	}
	if (moved) {
		atomic_fetch_add(&moves, 1);
		log_msg(LOG_NOTICE, "peer %s key-chain %s: %s key %llu (KeyID %u, RNextKeyID %u)",
			peer_str(p, who, sizeof(who)), c->name,
			c->confirmed ? "asking for" : "sending with", (unsigned long long)k->id,
			k->mkt.sndid, k->mkt.rcvid);
	}
	return moved;
}

int rollover_apply(struct policy *policy, int64_t now, struct rollover_result *r)
{
	bool retry = false;

	*r = (struct rollover_result){ .next = KEYCHAIN_NEVER };
	for (size_t e = 0; e < policy->n; e++) {
		const struct keychain *c = policy_entry(policy, e) ?
			policy_peer_chain(policy, policy_entry(policy, e)) : NULL;
		struct keychain_sched s;
		char who[64];

		if (!c || !c->n)
			continue;
		keychain_eval(c, now, &s);
		if (s.next < r->next)
			r->next = s.next;
		r->changed |= sync_keys(policy, e, c, &s, &retry);
		r->changed |= prefer(policy, e, c, &s, &retry);
		if (!s.gap)
			continue;
		r->gaps++;
		atomic_fetch_add(&gaps, 1);
		log_msg(LOG_WARNING, "peer %s key-chain %s: NO VALID SEND KEY: holding key %llu "
			"outside its lifetime to keep sessions up; fix the chain",
			peer_str(policy_entry(policy, e), who, sizeof(who)), c->name,
			(unsigned long long)c->keys[s.active].id);
		if (now + GAP_REWARN_S < r->next)
			r->next = now + GAP_REWARN_S;
	}
	if (retry && now + 1 < r->next)
		r->next = now + 1; /* no memory: again in a second */
	return 0;
}

void rollover_inherit(struct policy *fresh, const struct policy *old)
{
	for (size_t e = 0; e < fresh->n; e++) {
		const struct policy_peer *q = policy_entry(fresh, e), *o;
		const struct keychain *c = q ? policy_peer_chain(fresh, q) : NULL, *oc;
		struct policy_peer *p;

		o = c ? policy_peer_find(old, &q->scope) : NULL;
		oc = o ? policy_peer_chain(old, o) : NULL;
		if (!c || !oc || strcmp(c->name, oc->name) || !(p = policy_entry_mut(fresh, e)))
			continue;
		p->current_sndid = o->current_sndid;
		p->rnext_rcvid = o->rnext_rcvid;
		p->current_epoch = o->current_epoch;
		p->rnext_epoch = o->rnext_epoch;
	}
}

/* ---- clock and timer --------------------------------------------------- */

int64_t rollover_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec + atomic_load(&clock_offset);
}

void rollover_set_offset(int64_t seconds) { atomic_store(&clock_offset, seconds); }
int64_t rollover_offset(void) { return atomic_load(&clock_offset); }

int rollover_timer_open(void)
{
	int fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int rollover_timer_arm(int fd, int64_t at)
{
	struct itimerspec its = { 0 };
	int64_t now = rollover_now();

	if (at == KEYCHAIN_NEVER || at > now + 86400)
		at = now + 86400; /* still armed: steps cancel it */
	/* The timer runs on the wall clock: take the test offset off. */
	its.it_value.tv_sec = (time_t)(at - atomic_load(&clock_offset));
	if (its.it_value.tv_sec <= 0)
		its.it_value.tv_sec = 1;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL))
		return -errno;
	return 0;
}

bool rollover_timer_read(int fd)
{
	uint64_t ticks;
	ssize_t n = read(fd, &ticks, sizeof(ticks));

	if (n < 0 && errno == ECANCELED) {
		log_msg(LOG_NOTICE, "the clock was stepped: key chains evaluated again");
		return true;
	}
	return n == sizeof(ticks);
}
