// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verdict runs (daemon/queue.c, queue_verdict_run): plain accepts of
 * consecutive ids with one mark leave as one batch verdict for the last
 * id, after the verdicts before them; anything else ends a run; once a
 * packet may wait without a verdict (a failed send, a refused verdict),
 * no batch verdict at all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>

#include "mark.h"
#include "queue.h"

#define MARK 0x40000000u

struct sent {
	int type;        /* NFQNL_MSG_VERDICT or NFQNL_MSG_VERDICT_BATCH */
	uint32_t id, verdict, mark;
	bool has_mark, has_payload;
};

static struct queue q;

static int setup(void **state)
{
	memset(&q, 0, sizeof(q));
	q.fd = -1;
	q.num = 3;
	q.txcap = 1 << 20;
	q.tx = malloc(q.txcap);
	mark_set(MARK);
	return q.tx ? 0 : -1;
}

static int teardown(void **state)
{
	free(q.tx);
	return 0;
}

/* The verdict messages written so far (not sent: no socket). */
static int written(struct sent *out, int max)
{
	const struct nlmsghdr *nlh = (const void *)q.tx;
	int len = (int)q.txlen, n = 0;

	for (; mnl_nlmsg_ok(nlh, len) && n < max; nlh = mnl_nlmsg_next(nlh, &len)) {
		const struct nlattr *a;
		struct sent *s = &out[n++];

		memset(s, 0, sizeof(*s));
		s->type = NFNL_MSG_TYPE(nlh->nlmsg_type);
		mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
			if (mnl_attr_get_type(a) == NFQA_VERDICT_HDR) {
				const struct nfqnl_msg_verdict_hdr *v = mnl_attr_get_payload(a);

				s->id = ntohl(v->id);
				s->verdict = ntohl(v->verdict);
			} else if (mnl_attr_get_type(a) == NFQA_MARK) {
				s->mark = ntohl(mnl_attr_get_u32(a));
				s->has_mark = true;
			} else if (mnl_attr_get_type(a) == NFQA_PAYLOAD) {
				s->has_payload = true;
			}
		}
	}
	return n;
}

static void expect(const struct sent *s, int type, uint32_t id,
		   uint32_t verdict, uint32_t mark)
{
	assert_int_equal(s->type, type);
	assert_int_equal(s->id, id);
	assert_int_equal(s->verdict, verdict);
	assert_int_equal(s->has_mark, verdict == NF_ACCEPT);
	if (verdict == NF_ACCEPT)
		assert_int_equal(s->mark, mark | MARK);
}

static void test_runs(void **state)
{
	static const uint8_t pkt[40];
	struct sent s[16];

	for (uint32_t id = 1; id <= 3; id++)
		queue_verdict_run(&q, id, 0, QUEUE_ACCEPT, NULL, 0);
	assert_int_equal(written(s, 16), 0); /* the run waits */
	queue_verdict_run(&q, 4, 0, QUEUE_DROP, NULL, 0);
	queue_verdict_run(&q, 5, 0, QUEUE_ACCEPT, NULL, 0);
	queue_verdict_run(&q, 6, 7, QUEUE_ACCEPT, NULL, 0); /* another mark */
	queue_verdict_run(&q, 7, 7, QUEUE_ACCEPT, NULL, 0);
	queue_verdict_run(&q, 9, 7, QUEUE_ACCEPT, NULL, 0); /* a gap */
	queue_verdict_run(&q, 10, 7, QUEUE_ACCEPT_MODIFIED, pkt, sizeof(pkt));
	queue_verdict(&q, 11, 0, QUEUE_ACCEPT, NULL, 0);
	assert_int_equal(written(s, 16), 7);
	expect(&s[0], NFQNL_MSG_VERDICT_BATCH, 3, NF_ACCEPT, 0);
	expect(&s[1], NFQNL_MSG_VERDICT, 4, NF_DROP, 0);
	expect(&s[2], NFQNL_MSG_VERDICT, 5, NF_ACCEPT, 0);
	expect(&s[3], NFQNL_MSG_VERDICT_BATCH, 7, NF_ACCEPT, 7);
	expect(&s[4], NFQNL_MSG_VERDICT, 9, NF_ACCEPT, 7);
	expect(&s[5], NFQNL_MSG_VERDICT, 10, NF_ACCEPT, 7);
	assert_true(s[5].has_payload);
	expect(&s[6], NFQNL_MSG_VERDICT, 11, NF_ACCEPT, 0);
	assert_int_equal(q.tx_batches, 2);
}

/* A send that fails may leave packets waiting: batches stop for good. */
static void test_unsettled(void **state)
{
	struct sent s[16];

	queue_verdict_run(&q, 1, 0, QUEUE_DROP, NULL, 0);
	queue_verdict_run(&q, 2, 0, QUEUE_ACCEPT, NULL, 0);
	queue_verdict_run(&q, 3, 0, QUEUE_ACCEPT, NULL, 0);
	assert_int_not_equal(queue_flush(&q), 0); /* no socket */
	assert_int_not_equal(q.unsettled, 0);
	for (uint32_t id = 4; id <= 6; id++)
		queue_verdict_run(&q, id, 0, QUEUE_ACCEPT, NULL, 0);
	assert_int_equal(written(s, 16), 3);
	for (int i = 0; i < 3; i++)
		expect(&s[i], NFQNL_MSG_VERDICT, 4 + (uint32_t)i, NF_ACCEPT, 0);
}

/* An error reply to a verdict, as queue_recv would have received it. */
static void receive_error(int error)
{
	static uint8_t buf[256];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	struct queue_packet pkt;

	nlh->nlmsg_type = NLMSG_ERROR;
	e->error = error;
	q.iov[0].iov_base = buf;
	q.msgs[0].msg_len = nlh->nlmsg_len;
	assert_int_equal(queue_packet(&q, 0, &pkt), -EINVAL);
	assert_int_equal(pkt.id, 0);
}

/* A refused verdict may leave its packet waiting; "no such packet" not. */
static void test_refused(void **state)
{
	receive_error(-ENOENT);
	assert_int_equal(q.unsettled, 0);
	receive_error(-EINVAL);
	assert_int_equal(q.unsettled, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsettled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
