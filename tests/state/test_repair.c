// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Repaired connections (daemon/repair.c, sock-repair): the flow a worker
 * claims carries the ISNs and SNEs it was given, each direction the right
 * way round, so that the two ends of a restored connection derive the same
 * traffic keys; a flow is claimed once, the newest repair wins, and an
 * entry waits while no policy entry covers the connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "repair.h"
#include "worker.h"

#define SLOTS 8

static char err[256];

static struct flow_key key_of(const char *local, uint16_t lport,
			      const char *remote, uint16_t rport)
{
	struct flow_key k = { .lport = lport, .rport = rport };

	assert_int_equal(tcpao_addr_parse(local, &k.local, NULL), 0);
	assert_int_equal(tcpao_addr_parse(remote, &k.remote, NULL), 0);
	return k;
}

static struct policy *policy_for(const char *peer)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m = { .sndid = 100, .rcvid = 100,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
			       .key = "secret" };

	assert_non_null(p);
	assert_int_equal(tcpao_addr_parse(peer, &m.peer, &m.prefixlen), 0);
	assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), 0);
	return p;
}

static void worker_init(struct worker *w, const struct policy *policy)
{
	memset(w, 0, sizeof(*w));
	w->policy = policy;
	w->state.fd = -1;
	assert_int_equal(flow_table_init(&w->flows, SLOTS), 0);
}

static void ctx_equal(const struct tcpao_ctx *a, const struct tcpao_ctx *b)
{
	assert_true(tcpao_addr_equal(&a->saddr, &b->saddr));
	assert_true(tcpao_addr_equal(&a->daddr, &b->daddr));
	assert_int_equal(a->sport, b->sport);
	assert_int_equal(a->dport, b->dport);
	assert_int_equal(a->sisn, b->sisn);
	assert_int_equal(a->disn, b->disn);
}

/* Both ends restored, each with its own view: A's send direction is B's
 * receive direction (same KDF context, same SNE), and the reverse. */
static void test_both_ends_agree(void **state)
{
	struct policy *pa = policy_for("198.18.0.2/32"), *pb = policy_for("198.18.0.1/32");
	struct flow_key ka = key_of("198.18.0.1", 40000, "198.18.0.2", 179);
	struct flow_key kb = key_of("198.18.0.2", 179, "198.18.0.1", 40000);
	struct repair_flow ra = { .key = ka, .snt_isn = 0x11111111,
				  .rcv_isn = 0x22222222, .snd_seq = 0xfffff000,
				  .snd_sne = 3, .rcv_seq = 0x100, .rcv_sne = 7 };
	struct repair_flow rb = { .key = kb, .snt_isn = 0x22222222,
				  .rcv_isn = 0x11111111, .snd_seq = 0x100,
				  .snd_sne = 7, .rcv_seq = 0xfffff000, .rcv_sne = 3 };
	struct worker wa, wb;
	struct flow *fa, *fb;
	uint64_t serial;

	(void)state;
	worker_init(&wa, pa);
	worker_init(&wb, pb);
	assert_int_equal(repair_start(&ra), 0);
	assert_int_equal(repair_start(&rb), 0);
	fa = worker_restore_flow(&wa, &ka);
	fb = worker_restore_flow(&wb, &kb);
	assert_non_null(fa);
	assert_non_null(fb);
	assert_int_equal(fa->state, FLOW_ESTABLISHED);
	assert_true(fa->tx.have_sisn && fa->tx.have_disn);
	assert_true(fa->rx.have_sisn && fa->rx.have_disn);
	assert_int_equal(fa->tx.ctx.sisn, 0x11111111);
	assert_int_equal(fa->tx.ctx.disn, 0x22222222);
	ctx_equal(&fa->tx.ctx, &fb->rx.ctx);
	ctx_equal(&fa->rx.ctx, &fb->tx.ctx);
	assert_int_equal(fa->tx.sne.seq, 0xfffff000);
	assert_int_equal(fa->tx.sne.sne, 3);
	assert_int_equal(fb->rx.sne.sne, 3);
	assert_int_equal(fa->rx.sne.sne, 7);
	/* The policy's key signs. */
	assert_non_null(flow_current_key(fa, &serial));
	assert_int_equal(flow_current_key(fa, &serial)->sndid, 100);
	/* Claimed once: another worker meeting it gets nothing. */
	flow_table_free(&wb.flows);
	worker_init(&wb, pb);
	assert_null(worker_restore_flow(&wb, &kb));
	flow_table_free(&wa.flows);
	flow_table_free(&wb.flows);
	policy_free(pa);
	policy_free(pb);
	repair_free();
}

/* Repaired again before any segment: the newest values win. */
static void test_newest_wins(void **state)
{
	struct policy *p = policy_for("198.18.0.2/32");
	struct flow_key k = key_of("198.18.0.1", 40001, "198.18.0.2", 179);
	struct repair_flow r = { .key = k, .snt_isn = 1, .rcv_isn = 2 };
	struct worker w;
	struct flow *f;

	(void)state;
	worker_init(&w, p);
	assert_int_equal(repair_start(&r), 0);
	r.snt_isn = 5;
	assert_int_equal(repair_start(&r), 0);
	f = worker_restore_flow(&w, &k);
	assert_non_null(f);
	assert_int_equal(f->tx.ctx.sisn, 5);
	assert_int_equal(f->rx.ctx.disn, 5);
	flow_table_free(&w.flows);
	policy_free(p);
	repair_free();
}

/* No key for the peer (yet): nothing is claimed, the entry waits. */
static void test_waits_for_policy(void **state)
{
	struct policy *other = policy_for("198.18.0.9/32");
	struct policy *p = policy_for("198.18.0.2/32");
	struct flow_key k = key_of("198.18.0.1", 40002, "198.18.0.2", 179);
	struct repair_flow r = { .key = k, .snt_isn = 9, .rcv_isn = 8 };
	struct worker w;

	(void)state;
	worker_init(&w, other);
	assert_int_equal(repair_start(&r), 0);
	assert_null(worker_restore_flow(&w, &k));
	assert_int_equal(w.flows.count, 0);
	w.policy = p;
	assert_non_null(worker_restore_flow(&w, &k));
	flow_table_free(&w.flows);
	policy_free(other);
	policy_free(p);
	repair_free();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ends_agree),
		cmocka_unit_test(test_newest_wins),
		cmocka_unit_test(test_waits_for_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
