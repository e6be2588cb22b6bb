// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A flow's key selection (daemon/worker.c, worker_refresh_keysel): checked
 * against the policy once per policy epoch, not on every segment. A
 * publish (a new epoch) moves the flow to the entry's new preference on
 * its next segment; without one the check costs nothing and changes
 * nothing; a flow whose key was deleted recovers.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <cmocka.h>

#include "worker.h"

static struct tcpao_mkt key(int sndid, int rcvid)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)sndid, .rcvid = (uint8_t)rcvid,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
			       .key = "secret" };

	assert_int_equal(tcpao_addr_parse("198.18.0.2/32", &m.peer, &m.prefixlen), 0);
	return m;
}

struct fixture {
	struct worker *w;
	struct policy *p;
	struct flow *f;
};

/* A worker (no queues, no state file) with keys 1 and 2 for 198.18.0.2
 * and one established flow to it, started as egress starts one. */
static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct tcpao_mkt k1 = key(1, 1), k2 = key(2, 2);
	struct tcpao_keysel sel;
	struct flow_key fk = { .lport = 40000, .rport = 179 };
	char err[256];

	assert_non_null(fx);
	fx->w = calloc(1, sizeof(*fx->w));
	fx->p = policy_new();
	assert_non_null(fx->w);
	assert_non_null(fx->p);
	assert_int_equal(policy_add_key(fx->p, &k1, err, sizeof(err)), 0);
	assert_int_equal(policy_add_key(fx->p, &k2, err, sizeof(err)), 0);
	fx->w->state.fd = -1;
	fx->w->policy = fx->p;
	fx->w->policy_epoch = 1;
	assert_int_equal(flow_table_init(&fx->w->flows, 8), 0);
	tcpao_addr_parse("198.18.0.1", &fk.local, NULL);
	tcpao_addr_parse("198.18.0.2", &fk.remote, NULL);
	fx->f = flow_insert(&fx->w->flows, &fk);
	assert_non_null(fx->f);
	assert_non_null(worker_policy_peer(fx->w, &fk));
	assert_int_equal(policy_peer_keysel(worker_policy_peer(fx->w, &fk),
					    &fk.remote, 0, &sel), 0);
	flow_start(fx->f, worker_policy_peer(fx->w, &fk), &sel,
		   FLOW_ESTABLISHED, 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	flow_table_free(&fx->w->flows);
	policy_free((struct policy *)fx->w->policy);
	free(fx->w);
	free(fx);
	return 0;
}

static uint8_t current_sndid(const struct flow *f)
{
	uint64_t serial;
	const struct tcpao_mkt *m = flow_current_key(f, &serial);

	assert_non_null(m);
	return m->sndid;
}

/* The next policy: a clone with key `sndid` preferred as current. */
static struct policy *prefer(const struct policy *p, int sndid)
{
	struct policy *fresh = policy_clone(p);
	struct tcpao_addr peer;
	uint8_t len;
	char err[256];

	assert_non_null(fresh);
	tcpao_addr_parse("198.18.0.2/32", &peer, &len);
	assert_int_equal(policy_set_keysel(fresh, &peer, len, sndid, -1, err,
					   sizeof(err)), 0);
	return fresh;
}

/* What a publish does, but the flow's move left to its next segment:
 * the worker's snapshot and epoch change, the flow's entry follows. */
static void publish_lazily(struct worker *w, struct flow *f,
			   const struct policy *fresh, bool new_epoch)
{
	policy_free((struct policy *)w->policy);
	w->policy = fresh;
	w->policy_epoch += new_epoch;
	f->peer = worker_policy_peer(w, &f->key);
}

static void test_next_segment_after_publish(void **state)
{
	struct fixture *fx = *state;
	struct flow *f = fx->f;

	/* Linux's default: the newest key, 2. */
	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 2);
	assert_int_equal(f->policy_epoch, 1);
	/* Same epoch: the segment does not look at the policy, even when
	 * the entry's preference differs (no publish told it to). */
	publish_lazily(fx->w, f, prefer(fx->w->policy, 1), false);
	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 2);
	/* The publish's epoch: the next segment moves to key 1. */
	fx->w->policy_epoch++;
	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 1);
	assert_int_equal(f->policy_epoch, fx->w->policy_epoch);
	/* The peer's RNextKeyID moves current between publishes (ingress):
	 * no refresh undoes it. */
	tcpao_keysel_follow_peer(&f->sel, &f->peer->keys, &f->key.remote, 0, 2);
	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 2);
}

static void test_adopt_moves_flows(void **state)
{
	struct fixture *fx = *state;
	struct flow *f = fx->f;
	const struct policy *old = fx->w->policy;
	uint64_t epoch = fx->w->policy_epoch;

	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 2);
	worker_adopt_policy(fx->w, prefer(old, 1));
	policy_free((struct policy *)old);
	assert_int_equal(fx->w->policy_epoch, epoch + 1);
	assert_int_equal(current_sndid(f), 1);
	assert_int_equal(f->policy_epoch, epoch + 1);
}

static void test_deleted_key_recovers(void **state)
{
	struct fixture *fx = *state;
	struct flow *f = fx->f;
	struct policy *fresh;
	struct policy_key_ref ref = { .peer_len = 32, .sndid = 2, .rcvid = 2 };
	char err[256];

	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 2);
	fresh = policy_clone(fx->w->policy);
	assert_non_null(fresh);
	tcpao_addr_parse("198.18.0.2", &ref.peer, NULL);
	assert_int_equal(policy_del_key(fresh, &ref, -1, -1, err, sizeof(err)), 0);
	publish_lazily(fx->w, f, fresh, true);
	worker_refresh_keysel(fx->w, f);
	assert_int_equal(current_sndid(f), 1);
	assert_int_equal(flow_rnext_rcvid(f), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_next_segment_after_publish,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_adopt_moves_flows, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deleted_key_recovers, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
