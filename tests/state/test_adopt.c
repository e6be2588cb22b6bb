// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A worker adopting a new policy (daemon/worker.c, worker_adopt_policy):
 * when the policy is a clone of the one held, only the flows its changed
 * entries touch are matched again. Whatever changed, every flow must then
 * hold exactly the entry policy_match() gives in the new policy, and never
 * an entry of the old one (freed right after, as the daemon frees it: the
 * sanitizer build catches a flow left pointing into it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flow.h"
#include "policy.h"
#include "worker.h"

#define NFLOWS 64

static struct tcpao_mkt key_for(const char *prefix, int id)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)id, .rcvid = (uint8_t)id,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
			       .key = "secret" };

	assert_int_equal(tcpao_addr_parse(prefix, &m.peer, &m.prefixlen), 0);
	return m;
}

static void add(struct policy *p, const char *prefix, int id)
{
	struct tcpao_mkt m = key_for(prefix, id);
	char err[256];

	assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), 0);
}

static void del(struct policy *p, const char *prefix, int id)
{
	struct policy_key_ref ref = { .sndid = (uint8_t)id, .rcvid = (uint8_t)id };
	char err[256];

	assert_int_equal(tcpao_addr_parse(prefix, &ref.peer, &ref.peer_len), 0);
	assert_int_equal(policy_del_key(p, &ref, -1, -1, err, sizeof(err)), 0);
}

/* A worker with NFLOWS flows from 198.18.0.1 to 198.18.0.10.. and
 * 198.19.0.10.. (the second half matched by nothing at first), two to each
 * address (local ports differ): a change of a one-address entry must find
 * both, and only those its scope takes in. */
static struct worker *worker_with_flows(struct policy *p)
{
	struct worker *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->state.fd = -1;
	w->policy = p;
	w->policy_epoch = 1;
	assert_int_equal(flow_table_init(&w->flows, 2 * NFLOWS), 0);
	for (int i = 0; i < NFLOWS; i++) {
		struct flow_key fk = { .lport = (uint16_t)(40000 + i), .rport = 179 };
		char remote[32];
		struct flow *f;

		snprintf(remote, sizeof(remote), "198.%d.0.%d", 18 + (i >= NFLOWS / 2),
			 10 + i % (NFLOWS / 4));
		tcpao_addr_parse("198.18.0.1", &fk.local, NULL);
		tcpao_addr_parse(remote, &fk.remote, NULL);
		f = flow_insert(&w->flows, &fk);
		assert_non_null(f);
		f->peer = worker_policy_peer(w, &fk);
	}
	return w;
}

static void free_worker(struct worker *w)
{
	flow_table_free(&w->flows);
	policy_free((struct policy *)w->policy);
	free(w);
}

/* Every flow holds what a full match in the worker's policy gives. */
static void assert_flows_match(const struct worker *w)
{
	size_t seen = 0;

	for (uint32_t i = 0; i < w->flows.cap; i++) {
		const struct flow *f = &w->flows.flows[i];

		if (!f->in_use)
			continue;
		seen++;
		assert_ptr_equal(f->peer, worker_policy_peer(w, &f->key));
		if (f->peer) /* readable: not an entry freed with the old policy */
			assert_true(f->peer->scope.peer.family == AF_INET);
	}
	assert_int_equal(seen, NFLOWS);
}

/* Publishes a changed clone as the daemon does: adopt, then free the old. */
typedef void (*change_fn)(struct policy *p);

static void publish(struct worker *w, change_fn change)
{
	const struct policy *old = w->policy;
	struct policy *fresh = policy_clone(old);

	assert_non_null(fresh);
	change(fresh);
	worker_adopt_policy(w, fresh);
	policy_free((struct policy *)old);
	assert_flows_match(w);
}

static void more_specific(struct policy *p) { add(p, "198.18.0.12/32", 2); }
static void covers_unmatched(struct policy *p) { add(p, "198.19.0.0/24", 3); }
static void wider(struct policy *p) { add(p, "198.16.0.0/14", 4); }
static void key_of_matched(struct policy *p) { add(p, "198.18.0.0/24", 5); }
static void key_gone(struct policy *p) { del(p, "198.18.0.12/32", 2); }
static void unrelated(struct policy *p) { add(p, "198.51.100.0/24", 6); }

/* A connected socket's entry (its keys set through the socket API), then
 * the socket gone: its slot is left empty. */
static void sock_entry(struct policy *p)
{
	struct policy_sock sock = { .cookie = 77 };
	struct policy_scope scope = { .local_port = 40001, .remote_port = 179 };
	struct tcpao_keyring ring;
	struct tcpao_mkt m = key_for("198.18.0.11/32", 8);
	char err[256];
	int rc;

	tcpao_addr_parse("198.18.0.11", &scope.peer, &scope.peer_len);
	tcpao_keyring_init(&ring);
	assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
	assert_non_null(policy_sock_set(p, &sock, &scope, &ring, false, NULL, 0,
					&rc, err, sizeof(err)));
	tcpao_keyring_free(&ring);
}
static void sock_gone(struct policy *p) { assert_int_equal(policy_sock_remove(p, 77), 0); }
static void many(struct policy *p)
{
	char prefix[32];

	for (int i = 0; i < 40; i++) { /* past the partial walk's limit */
		snprintf(prefix, sizeof(prefix), "198.19.0.%d/32", 10 + i);
		add(p, prefix, 7);
	}
}

static void test_every_change_rematches_what_it_touches(void **state)
{
	static const change_fn changes[] = {
		more_specific, covers_unmatched, wider, key_of_matched,
		key_gone, unrelated, sock_entry, sock_gone, many,
	};
	struct policy *p = policy_new();
	struct worker *w;

	(void)state;
	assert_non_null(p);
	add(p, "198.18.0.0/24", 1);
	w = worker_with_flows(p);
	assert_flows_match(w);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++)
		publish(w, changes[i]);
	free_worker(w);
}

/* An unrelated change leaves every flow on the entry it had: the very
 * object, shared by both versions (nothing was matched again). */
static void test_unrelated_change_keeps_entries(void **state)
{
	struct policy *p = policy_new();
	const struct policy_peer *before[2 * NFLOWS];
	struct worker *w;

	(void)state;
	assert_non_null(p);
	add(p, "198.18.0.0/24", 1);
	w = worker_with_flows(p);
	for (uint32_t i = 0; i < w->flows.cap; i++)
		before[i] = w->flows.flows[i].peer;
	publish(w, unrelated);
	for (uint32_t i = 0; i < w->flows.cap; i++)
		assert_ptr_equal(w->flows.flows[i].peer, before[i]);
	free_worker(w);
}

static void sock_set(struct policy *p, uint64_t cookie, bool listener,
		     struct policy_scope scope, const char *key_peer)
{
	struct policy_sock sock = { .cookie = cookie, .listener = listener };
	struct tcpao_keyring ring;
	struct tcpao_mkt m = key_for(key_peer, 9);
	char err[256];
	int rc;

	tcpao_keyring_init(&ring);
	assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
	assert_non_null(policy_sock_set(p, &sock, &scope, &ring, false, NULL, 0,
					&rc, err, sizeof(err)));
	tcpao_keyring_free(&ring);
}

#define LISTENER 88
#define ACCEPTED 10

/* A listener on port 179 and ACCEPTED connections to it from 198.18.0.50..
 * (the even ones with an accepted socket's entry of their own), and a flow
 * on another port. */
static struct worker *listener_worker(void)
{
	struct policy *p = policy_new();
	struct policy_scope any = { .local_port = 179 };
	struct worker *w = calloc(1, sizeof(*w));

	assert_non_null(p);
	assert_non_null(w);
	add(p, "198.18.0.0/24", 1);
	any.peer.family = AF_INET;
	sock_set(p, LISTENER, true, any, "198.18.0.50/32");
	w->state.fd = -1;
	w->policy = p;
	w->policy_epoch = 1;
	assert_int_equal(flow_table_init(&w->flows, 2 * NFLOWS), 0);
	for (int i = 0; i <= ACCEPTED; i++) {
		struct flow_key fk = { .lport = i < ACCEPTED ? 179 : 4179,
				       .rport = (uint16_t)(40000 + i) };
		char remote[32];
		struct flow *f;

		snprintf(remote, sizeof(remote), "198.18.0.%d", 50 + i);
		tcpao_addr_parse("198.18.0.1", &fk.local, NULL);
		tcpao_addr_parse(remote, &fk.remote, NULL);
		if (i < ACCEPTED && i % 2 == 0) {
			struct policy_scope own = { .peer = fk.remote, .peer_len = 32,
						    .local_port = 179, .remote_port = fk.rport };

			sock_set(p, 100 + (uint64_t)i, false, own, remote);
		}
		f = flow_insert(&w->flows, &fk);
		assert_non_null(f);
	}
	for (uint32_t k = 0; k < w->flows.count; k++) {
		struct flow *f = flow_live(&w->flows, k);

		f->peer = worker_policy_peer(w, &f->key);
		worker_refresh_keysel(w, f);
	}
	return w;
}

static void listener_key(struct policy *p)
{
	struct tcpao_mkt m = key_for("198.18.0.53/32", 9);

	assert_int_equal(policy_sock_add_key(p, LISTENER, &m), 0);
}

/* A listener's key changes: the flows on its port whose own entry wins
 * (accepted sockets') keep theirs, unlooked at; the others follow a full
 * match, the listener's port only. */
static void test_listener_change_leaves_accepted(void **state)
{
	struct worker *w = listener_worker();
	const struct policy *old = w->policy;
	struct policy *fresh = policy_clone(old);
	uint64_t epoch = w->policy_epoch;

	(void)state;
	assert_non_null(fresh);
	listener_key(fresh);
	worker_adopt_policy(w, fresh);
	policy_free((struct policy *)old);
	for (uint32_t k = 0; k < w->flows.count; k++) {
		struct flow *f = flow_live(&w->flows, k);
		bool own = f->key.lport == 179 && (f->key.rport - 40000) % 2 == 0;

		assert_ptr_equal(f->peer, worker_policy_peer(w, &f->key));
		if (own || f->key.lport != 179)
			assert_int_equal(f->policy_epoch, epoch); /* not matched again */
		if (f->key.rport == 40003) /* the key it gained serves it */
			assert_int_equal(f->peer->sock_cookie, LISTENER);
	}
	free_worker(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_change_rematches_what_it_touches),
		cmocka_unit_test(test_unrelated_change_keeps_entries),
		cmocka_unit_test(test_listener_change_leaves_accepted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
