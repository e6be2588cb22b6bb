// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Admission to a full flow table (daemon/admit.c). A busy server's table
 * fills with TIME-WAIT flows: a verified passive open must still get a
 * slot (it evicts the TIME-WAIT flow that entered that state first; before
 * the fix it was refused, TCPAOFlowTableFull, for up to 120 s). What it
 * may take stays bounded: passive opens (replayed SYNs verify too) hold at
 * most the SYN-RECV share, a non-root uid evicts no TIME-WAIT flow, and
 * established flows are never evicted. Flows that are over (CLOSED) go
 * before TIME-WAIT, and TIME-WAIT before SYN-RECV.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "worker.h"

#define CAP 16

static struct worker *worker_new(void)
{
	struct worker *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->state.fd = -1;
	w->now_ms = 1; /* limit_log(): once */
	assert_int_equal(flow_table_init(&w->flows, CAP), 0);
	return w;
}

static void worker_free(struct worker *w)
{
	flow_table_free(&w->flows);
	free(w);
}

static struct flow_key key_of(uint32_t i)
{
	struct flow_key k;

	memset(&k, 0, sizeof(k));
	k.local.family = k.remote.family = AF_INET;
	k.local.bytes[0] = 198, k.local.bytes[1] = 18, k.local.bytes[3] = 1;
	k.remote.bytes[0] = 198, k.remote.bytes[1] = 18, k.remote.bytes[3] = 2;
	k.lport = 5003;
	k.rport = (uint16_t)(30000 + i);
	return k;
}

/* A flow admitted as ingress or egress admits it, moved to state. */
static struct flow *open_in(struct worker *w, uint32_t i, uint32_t uid,
			    bool passive, enum flow_state state)
{
	struct flow_key k = key_of(i);
	struct flow *f = worker_insert_flow(w, &k, uid, passive);

	if (f) {
		f->state = state;
		worker_flow_changed(w, f);
	}
	return f;
}

static uint32_t in_state(const struct worker *w, enum flow_state s)
{
	return flow_count_states(&w->flows, 1u << s);
}

/* Root fills the table, every connection over in TIME-WAIT. */
static void fill_time_wait(struct worker *w)
{
	for (uint32_t i = 0; i < CAP; i++)
		assert_non_null(open_in(w, i, 0, false, FLOW_TIME_WAIT));
	assert_int_equal(w->flows.count, CAP);
}

static void test_passive_evicts_time_wait(void **state)
{
	struct worker *w = worker_new();
	struct flow_key first = key_of(0), second = key_of(1);
	struct flow *f;

	(void)state;
	fill_time_wait(w);
	f = open_in(w, 100, FLOW_UID_NONE, true, FLOW_SYN_RECV);
	assert_non_null(f);
	assert_int_equal(w->stats.v[STAT_FLOW_TABLE_FULL], 0);
	assert_int_equal(w->stats.v[STAT_FLOW_EVICTED], 1);
	/* The first to enter TIME-WAIT went. */
	assert_null(flow_lookup(&w->flows, &first));
	assert_non_null(flow_lookup(&w->flows, &second));
	assert_int_equal(in_state(w, FLOW_TIME_WAIT), CAP - 1);
	worker_free(w);
}

/* Replayed SYNs verify: they take at most the SYN-RECV share (CAP / 4) of
 * a table full of TIME-WAIT, then evict each other. */
static void test_replays_bounded(void **state)
{
	struct worker *w = worker_new();

	(void)state;
	fill_time_wait(w);
	for (uint32_t i = 0; i < 3 * CAP; i++)
		assert_non_null(open_in(w, 100 + i, FLOW_UID_NONE, true,
					FLOW_SYN_RECV));
	assert_int_equal(in_state(w, FLOW_SYN_RECV), CAP / 4);
	assert_int_equal(in_state(w, FLOW_TIME_WAIT), CAP - CAP / 4);
	worker_free(w);
}

/* A non-root uid evicts no TIME-WAIT flow; root does; nobody evicts an
 * established flow. */
static void test_who_evicts(void **state)
{
	struct worker *w = worker_new();
	uint32_t i;

	(void)state;
	fill_time_wait(w);
	assert_null(open_in(w, 100, 1000, false, FLOW_SYN_SENT));
	assert_int_equal(w->stats.v[STAT_FLOW_TABLE_FULL], 1);
	assert_non_null(open_in(w, 101, 0, false, FLOW_SYN_SENT));
	worker_free(w);

	w = worker_new();
	for (i = 0; i < CAP; i++)
		assert_non_null(open_in(w, i, 0, false, FLOW_ESTABLISHED));
	assert_null(open_in(w, 100, FLOW_UID_NONE, true, FLOW_SYN_RECV));
	assert_null(open_in(w, 101, 0, false, FLOW_SYN_SENT));
	assert_int_equal(in_state(w, FLOW_ESTABLISHED), CAP);
	worker_free(w);
}

/* CLOSED before TIME-WAIT before SYN-RECV, each the first to enter. */
static void test_victim_order(void **state)
{
	struct worker *w = worker_new();
	struct flow *f[CAP];
	struct flow_key k;
	uint32_t i;

	(void)state;
	for (i = 0; i < CAP; i++)
		f[i] = open_in(w, i, 0, false, FLOW_ESTABLISHED);
	/* Entry order, not slot order: 9 then 3 go to SYN-RECV (as if so),
	 * 7 then 2 to TIME-WAIT, 5 then 11 to CLOSED. */
	f[9]->state = f[3]->state = FLOW_SYN_RECV;
	worker_flow_changed(w, f[9]), worker_flow_changed(w, f[3]);
	f[7]->state = f[2]->state = FLOW_TIME_WAIT;
	worker_flow_changed(w, f[7]), worker_flow_changed(w, f[2]);
	f[5]->state = f[11]->state = FLOW_CLOSED;
	worker_flow_changed(w, f[5]), worker_flow_changed(w, f[11]);
	for (i = 0; i < 6; i++) {
		static const uint32_t gone[] = { 5, 11, 7, 2, 9, 3 };

		assert_non_null(open_in(w, 100 + i, 0, false, FLOW_ESTABLISHED));
		k = key_of(gone[i]);
		assert_null(flow_lookup(&w->flows, &k));
	}
	assert_null(open_in(w, 200, 0, false, FLOW_ESTABLISHED));
	worker_free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passive_evicts_time_wait),
		cmocka_unit_test(test_replays_bounded),
		cmocka_unit_test(test_who_evicts),
		cmocka_unit_test(test_victim_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
