// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The flow table's owner accounting (daemon/flow.c): flows per uid under
 * random inserts and removals match a plain count (the backward-shift
 * deletion keeps every probe chain whole), and flow_oldest picks the
 * flow that entered the state first, from per-state lists that stay
 * whole under random inserts, moves and removals; the live list names every
 * flow in use exactly once, and flow_gc frees what has idled out; the
 * walk of the flows to one remote address finds exactly those.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"

#define CAP 256
#define UIDS 40

static void key_of(struct flow_key *k, uint32_t i)
{
	memset(k, 0, sizeof(*k));
	k->local.family = k->remote.family = AF_INET;
	k->local.bytes[0] = 10;
	k->remote.bytes[0] = 192;
	k->lport = (uint16_t)(1000 + i);
	k->rport = 179;
}

static void test_uid_counts(void **state)
{
	struct flow_table t;
	struct flow *slot[CAP] = { 0 };
	uint32_t want[UIDS] = { 0 };

	(void)state;
	assert_int_equal(flow_table_init(&t, CAP), 0);
	srand(5925);
	for (int round = 0; round < 20000; round++) {
		uint32_t i = (uint32_t)rand() % CAP;
		struct flow_key k;

		if (slot[i]) {
			if (slot[i]->uid != FLOW_UID_NONE)
				want[slot[i]->uid]--;
			flow_remove(&t, slot[i]);
			slot[i] = NULL;
		} else {
			uint32_t uid = (uint32_t)rand() % (UIDS + 1);

			key_of(&k, i);
			slot[i] = flow_insert(&t, &k);
			assert_non_null(slot[i]);
			assert_int_equal(slot[i]->uid, FLOW_UID_NONE);
			if (uid < UIDS) { /* UIDS: no owner */
				flow_set_uid(&t, slot[i], uid);
				flow_set_uid(&t, slot[i], (uid + 1) % UIDS);
				want[uid]++;
			}
		}
		for (uint32_t u = 0; u < UIDS; u++)
			assert_int_equal(flow_uid_count(&t, u), want[u]);
	}
	assert_int_equal(flow_uid_count(&t, FLOW_UID_NONE), 0);
	flow_table_free(&t);
}

static void test_oldest(void **state)
{
	struct flow_table t;
	struct flow_key k;
	struct flow *f[4];
	enum flow_state st[4] = { FLOW_ESTABLISHED, FLOW_SYN_RECV,
				  FLOW_SYN_RECV, FLOW_CLOSED };

	(void)state;
	assert_int_equal(flow_table_init(&t, 8), 0);
	/* Into their states in the order 0, 2, 1, 3. */
	for (uint32_t i = 0; i < 4; i++) {
		key_of(&k, i);
		f[i] = flow_insert(&t, &k);
	}
	for (uint32_t i = 0; i < 4; i++) {
		uint32_t j = i == 1 ? 2 : i == 2 ? 1 : i;

		f[j]->state = st[j];
		flow_recount(&t, f[j]);
	}
	assert_ptr_equal(flow_oldest(&t, FLOW_SYN_RECV), f[2]);
	assert_ptr_equal(flow_oldest(&t, FLOW_CLOSED), f[3]);
	assert_null(flow_oldest(&t, FLOW_TIME_WAIT));
	assert_null(flow_oldest(&t, FLOW_STATE_COUNT));
	assert_int_equal(flow_count_states(&t, 1u << FLOW_SYN_RECV), 2);
	assert_int_equal(flow_count_states(&t, 1u << FLOW_SYN_RECV |
					       1u << FLOW_ESTABLISHED), 3);
	f[2]->state = FLOW_ESTABLISHED;
	flow_recount(&t, f[2]);
	assert_ptr_equal(flow_oldest(&t, FLOW_SYN_RECV), f[1]);
	assert_int_equal(flow_count_states(&t, 1u << FLOW_SYN_RECV), 1);
	/* Back into a state: the newest there. */
	f[2]->state = FLOW_SYN_RECV;
	flow_recount(&t, f[2]);
	assert_ptr_equal(flow_oldest(&t, FLOW_SYN_RECV), f[1]);
	flow_remove(&t, f[1]);
	assert_ptr_equal(flow_oldest(&t, FLOW_SYN_RECV), f[2]);
	flow_remove(&t, f[2]);
	assert_null(flow_oldest(&t, FLOW_SYN_RECV));
	assert_int_equal(flow_count_states(&t, 1u << FLOW_SYN_RECV), 0);
	assert_int_equal(flow_count_states(&t, 1u << FLOW_ESTABLISHED), 1);
	assert_int_equal(flow_count_states(&t, ~0u), 2);
	flow_table_free(&t);
}

/* Each state's list holds exactly its flows, in order of entry, each
 * linked both ways, and its length is nstate[]. */
static void assert_state_lists(const struct flow_table *t,
			       const uint64_t *entered)
{
	uint32_t total = 0;

	for (unsigned int s = 0; s < FLOW_STATE_COUNT; s++) {
		uint32_t n = 0, prev = 0;

		for (uint32_t i = t->state_head[s]; i;) {
			const struct flow *f = &t->flows[i - 1];

			assert_true(f->in_use);
			assert_int_equal(f->counted_state, s);
			assert_int_equal(f->state_prev, prev);
			if (prev)
				assert_true(entered[prev - 1] < entered[i - 1]);
			prev = i;
			i = f->state_next;
			assert_true(++n <= t->count);
		}
		assert_int_equal(t->state_tail[s], prev);
		assert_int_equal(n, t->nstate[s]);
		total += n;
	}
	assert_int_equal(total, t->count);
}

static void test_state_lists(void **state)
{
	struct flow_table t;
	struct flow *slot[CAP] = { 0 };
	uint64_t entered[CAP] = { 0 };
	struct flow_key k;

	(void)state;
	assert_int_equal(flow_table_init(&t, CAP), 0);
	srand(5927);
	for (int round = 1; round <= 50000; round++) {
		uint32_t i = (uint32_t)rand() % CAP;
		enum flow_state s = (enum flow_state)(rand() % FLOW_STATE_COUNT);

		if (!slot[i]) {
			key_of(&k, i);
			slot[i] = flow_insert(&t, &k);
			entered[slot[i] - t.flows] = (uint64_t)round;
		} else if (rand() % 4 == 0) {
			flow_remove(&t, slot[i]);
			slot[i] = NULL;
		} else {
			if (slot[i]->state != s)
				entered[slot[i] - t.flows] = (uint64_t)round;
			slot[i]->state = s;
			flow_recount(&t, slot[i]);
		}
		if (round % 499 == 0)
			assert_state_lists(&t, entered);
	}
	assert_state_lists(&t, entered);
	flow_table_free(&t);
}

/* live[0..count) holds exactly the slots in use, each once, each flow
 * knowing its place. */
static void assert_live_whole(const struct flow_table *t)
{
	uint32_t in_use = 0;
	unsigned char *seen = calloc(t->cap, 1);

	assert_non_null(seen);
	for (uint32_t i = 0; i < t->cap; i++)
		in_use += t->flows[i].in_use;
	assert_int_equal(in_use, t->count);
	for (uint32_t k = 0; k < t->count; k++) {
		assert_true(t->live[k] < t->cap);
		assert_true(t->flows[t->live[k]].in_use);
		assert_int_equal(t->flows[t->live[k]].live_at, k);
		assert_false(seen[t->live[k]]);
		seen[t->live[k]] = 1;
	}
	free(seen);
}

static void test_live_list(void **state)
{
	struct flow_table t;
	struct flow *slot[CAP] = { 0 };
	struct flow_key k;

	(void)state;
	assert_int_equal(flow_table_init(&t, CAP), 0);
	srand(5926);
	for (int round = 0; round < 20000; round++) {
		uint32_t i = (uint32_t)rand() % CAP;

		if (slot[i]) {
			flow_remove(&t, slot[i]);
			slot[i] = NULL;
		} else {
			key_of(&k, i);
			slot[i] = flow_insert(&t, &k);
			assert_non_null(slot[i]);
			slot[i]->last_seen_ms = (uint64_t)round;
		}
		if (round % 997 == 0)
			assert_live_whole(&t);
	}
	assert_live_whole(&t);
	/* The garbage collector walks the live list as it removes from it:
	 * every flow idle past its state's limit goes, the others stay. */
	for (uint32_t i = 0; i < CAP; i++)
		if (slot[i])
			slot[i]->last_seen_ms = i % 2 ? 0 : UINT64_MAX / 2;
	flow_gc(&t, UINT64_MAX / 2, NULL, NULL);
	assert_live_whole(&t);
	for (uint32_t k2 = 0; k2 < t.count; k2++)
		assert_int_equal(flow_live(&t, k2)->last_seen_ms, UINT64_MAX / 2);
	flow_table_free(&t);
}

#define PEERS 7 /* peer 0 of each family holds about half the flows */

static void remote_of(struct tcpao_addr *a, uint32_t peer)
{
	memset(a, 0, sizeof(*a));
	a->family = peer % 2 ? AF_INET6 : AF_INET;
	a->bytes[0] = 198;
	a->bytes[3] = (uint8_t)(peer / 2);
}

static bool same_by(const struct flow *f, const struct flow *g, enum flow_by by)
{
	return f->key.lport == g->key.lport &&
	       (by == FLOW_BY_LPORT ||
		(tcpao_addr_equal(&f->key.remote, &g->key.remote) && f->key.rport == g->key.rport));
}

static void assert_walks_whole(const struct flow_table *t)
{
	for (uint32_t p = 0; p < 2 * PEERS; p++) {
		struct tcpao_addr a;
		uint32_t want = 0, got = 0;

		remote_of(&a, p);
		for (uint32_t k = 0; k < t->count; k++)
			want += tcpao_addr_equal(&flow_live(t, k)->key.remote, &a);
		for (struct flow *f = flow_first_by(t, FLOW_BY_REMOTE, &a, 0, 0); f;
		     f = flow_next_by(t, FLOW_BY_REMOTE, f)) {
			assert_true(f->in_use);
			assert_true(tcpao_addr_equal(&f->key.remote, &a));
			assert_true(++got <= want);
		}
		assert_int_equal(got, want);
	}
	/* By ports too: the flows of one remote address and ports, from any
	 * local address; the flows on one local port. */
	for (uint32_t k = 0; k < t->count; k += 3) {
		const struct flow *g = flow_live(t, k);

		for (enum flow_by by = FLOW_BY_CONN; by <= FLOW_BY_LPORT; by++) {
			uint32_t want = 0, got = 0;

			for (uint32_t j = 0; j < t->count; j++)
				want += same_by(flow_live(t, j), g, by);
			for (struct flow *f = flow_first_by(t, by, &g->key.remote, g->key.lport,
							    g->key.rport);
			     f; f = flow_next_by(t, by, f)) {
				assert_true(f->in_use);
				assert_true(same_by(f, g, by));
				assert_true(++got <= want);
			}
			assert_int_equal(got, want);
		}
	}
}

static void test_flows_to_a_peer(void **state)
{
	struct flow_table t;
	struct flow *slot[CAP] = { 0 };
	struct flow_key k;

	(void)state;
	assert_int_equal(flow_table_init(&t, CAP), 0);
	srand(8177);
	for (int round = 0; round < 20000; round++) {
		uint32_t i = (uint32_t)rand() % CAP, r = (uint32_t)rand();

		if (slot[i]) {
			flow_remove(&t, slot[i]);
			slot[i] = NULL;
		} else {
			key_of(&k, i);
			remote_of(&k.remote, r % 2 ? (r >> 1) % (2 * PEERS) : 0);
			k.local.family = k.remote.family;
			/* Few ports, each from many local addresses. */
			k.lport = (uint16_t)(1000 + (r >> 8) % 3);
			k.local.bytes[3] = (uint8_t)i;
			slot[i] = flow_insert(&t, &k);
			assert_non_null(slot[i]);
		}
		if (round % 499 == 0)
			assert_walks_whole(&t);
	}
	assert_walks_whole(&t);
	flow_table_free(&t);
}

/* A table hands out every one of its cap flows, each once, then none;
 * a flow removed is handed out again; flows never needed stay unused
 * (fresh: the table faults in no memory for them). */
static void test_full_table(void **state)
{
	struct flow_table t;
	struct flow *f[CAP];
	struct flow_key k;

	(void)state;
	assert_int_equal(flow_table_init(&t, CAP), 0);
	assert_int_equal(t.fresh, 0);
	for (uint32_t round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < CAP; i++) {
			key_of(&k, i);
			f[i] = flow_insert(&t, &k);
			assert_non_null(f[i]);
			assert_true(f[i] >= t.flows && f[i] < t.flows + CAP);
			for (uint32_t j = 0; j < i; j++)
				assert_ptr_not_equal(f[i], f[j]);
		}
		key_of(&k, CAP);
		assert_null(flow_insert(&t, &k));
		flow_remove(&t, f[7]);
		assert_ptr_equal(flow_insert(&t, &k), f[7]);
		assert_null(flow_insert(&t, &k));
		for (uint32_t i = 0; i < CAP; i++)
			flow_remove(&t, f[i]);
		assert_int_equal(t.count, 0);
		assert_int_equal(t.fresh, CAP);
	}
	flow_table_free(&t);
	assert_int_equal(flow_table_init(&t, CAP), 0);
	key_of(&k, 1);
	for (int i = 0; i < 10; i++)
		flow_remove(&t, flow_insert(&t, &k));
	assert_int_equal(t.fresh, 1);
	flow_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_flows_to_a_peer),
		cmocka_unit_test(test_uid_counts),
		cmocka_unit_test(test_oldest),
		cmocka_unit_test(test_state_lists),
		cmocka_unit_test(test_live_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
