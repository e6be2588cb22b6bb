// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One direction of a connection (lib/conn.c): which ISNs a segment's key
 * comes from, the traffic-key cache, and the result of verify for each
 * kind of segment. The MACs themselves are checked against RFC 9235 in
 * test_kdf_mac.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tcpao.h"
#include "pkt.h"

#define CISN 0x11111111u
#define SISN 0x22222222u

static struct tcpao_mkt mkt;
static struct tcpao_pool pool;

static int setup(void **state)
{
	(void)state;
	return tcpao_mkt_parse("id=9,alg=hmac(sha256),secret=conn,maclen=16",
			       &mkt, NULL, 0);
}

/* A client segment carrying an AO option of the key's length. */
static size_t segment(uint8_t *pkt, uint8_t flags, uint32_t seq, uint32_t ack,
		      struct tcpao_seg *seg)
{
	uint8_t ao[20] = { 29, 20, 9, 9 };
	static const uint8_t data[7] = "payload";
	struct pkt_spec s = {
		.family = AF_INET6, .src = "fd00::1", .dst = "fd00::2",
		.sport = 5000, .dport = 179, .seq = seq, .ack = ack,
		.flags = flags, .opts = ao, .optlen = sizeof(ao),
		.payload = data, .paylen = sizeof(data),
	};
	size_t len = pkt_build(&s, pkt, 128);

	assert_int_equal(tcpao_seg_parse(seg, pkt, len), TCPAO_SEG_OK);
	return len;
}

static void test_result_names(void **state)
{
	static const char *const want[] = {
		"good", "bad-mac", "key-not-found", "ao-required", "ao-md5",
		"no-isn", "malformed", "truncated",
	};

	(void)state;
	assert_int_equal(sizeof(want) / sizeof(want[0]), TCPAO_RESULT_COUNT);
	for (int r = 0; r < TCPAO_RESULT_COUNT; r++)
		assert_string_equal(tcpao_result_name((enum tcpao_result)r), want[r]);
	assert_string_equal(tcpao_result_name(TCPAO_RESULT_COUNT), "?");
}

/* Without both ISNs, a non-SYN segment can be neither signed nor checked;
 * a SYN carries its own. */
static void test_no_isn(void **state)
{
	uint8_t pkt[128];
	struct tcpao_seg seg;
	struct tcpao_dir dir;

	(void)state;
	segment(pkt, TCPAO_TH_ACK, CISN + 1, SISN + 1, &seg);
	tcpao_dir_init(&dir, &seg);
	assert_null(tcpao_dir_tk(&dir, &mkt, 1, &seg));
	assert_int_equal(tcpao_dir_verify(&dir, &mkt, 1, &seg, &pool), TCPAO_NO_ISN);
	assert_int_equal(tcpao_dir_sign(&dir, &mkt, 1, &seg, &pool), TCPAO_NO_ISN);
	tcpao_dir_set_disn(&dir, SISN);
	assert_int_equal(tcpao_dir_verify(&dir, &mkt, 1, &seg, &pool), TCPAO_NO_ISN);
	segment(pkt, TCPAO_TH_SYN, CISN, 0, &seg);
	assert_non_null(tcpao_dir_tk(&dir, &mkt, 1, &seg));
	assert_int_equal(tcpao_dir_sign(&dir, &mkt, 1, &seg, &pool), TCPAO_GOOD);
	assert_true(dir.have_sisn);
	assert_int_equal(dir.ctx.sisn, CISN);
	segment(pkt, TCPAO_TH_ACK, CISN + 1, SISN + 1, &seg);
	assert_int_equal(tcpao_dir_sign(&dir, &mkt, 1, &seg, &pool), TCPAO_GOOD);
}

/* The SYN-ACK names the ISN it acknowledges. */
static void test_synack_learns_disn(void **state)
{
	uint8_t pkt[128];
	struct tcpao_seg seg;
	struct tcpao_dir dir;

	(void)state;
	segment(pkt, TCPAO_TH_SYN | TCPAO_TH_ACK, SISN, CISN + 1, &seg);
	tcpao_dir_init(&dir, &seg);
	assert_int_equal(tcpao_dir_sign(&dir, &mkt, 1, &seg, &pool), TCPAO_GOOD);
	assert_true(dir.have_sisn && dir.have_disn);
	assert_int_equal(dir.ctx.sisn, SISN);
	assert_int_equal(dir.ctx.disn, CISN);
}

/* Keys are derived once per (MKT version, ISNs): the SYN's (disn 0) and
 * the connection's differ; a new serial derives again; the cache holds
 * TCPAO_TK_CACHE keys and then reuses its slots. */
static void test_tk_cache(void **state)
{
	uint8_t pkt[128], pkt2[128];
	struct tcpao_seg syn, data;
	struct tcpao_dir dir;
	const struct tcpao_tk *k_syn, *k_data, *k;

	(void)state;
	segment(pkt, TCPAO_TH_SYN, CISN, 0, &syn);
	segment(pkt2, TCPAO_TH_ACK, CISN + 1, SISN + 1, &data);
	tcpao_dir_init(&dir, &syn);
	tcpao_dir_observe(&dir, &syn);
	tcpao_dir_set_disn(&dir, SISN);
	k_syn = tcpao_dir_tk(&dir, &mkt, 1, &syn);
	k_data = tcpao_dir_tk(&dir, &mkt, 1, &data);
	assert_non_null(k_syn);
	assert_non_null(k_data);
	assert_ptr_not_equal(k_syn, k_data);
	assert_memory_not_equal(&k_syn->keyed, &k_data->keyed, sizeof(k_syn->keyed));
	assert_ptr_equal(tcpao_dir_tk(&dir, &mkt, 1, &data), k_data);
	assert_ptr_equal(tcpao_dir_tk(&dir, &mkt, 1, &syn), k_syn);
	assert_int_equal(dir.next_slot, 2);
	/* Another MKT version: another key, in the next slot. */
	k = tcpao_dir_tk(&dir, &mkt, 2, &data);
	assert_ptr_not_equal(k, k_data);
	assert_int_equal(dir.next_slot, 3);
	/* The last free slot, then the oldest is reused. */
	k = tcpao_dir_tk(&dir, &mkt, 3, &data);
	assert_int_equal(dir.next_slot, 0);
	k = tcpao_dir_tk(&dir, &mkt, 4, &data); /* evicts the SYN key */
	assert_ptr_equal(k, k_syn);
	assert_int_equal(dir.cache[0].serial, 4);
	assert_ptr_equal(tcpao_dir_tk(&dir, &mkt, 1, &data), k_data);
	tcpao_dir_wipe(&dir);
}

static void test_verify_results(void **state)
{
	uint8_t pkt[128], copy[128];
	struct tcpao_seg seg, rx_seg;
	struct tcpao_dir tx, rx;
	struct tcpao_mkt other = mkt;
	size_t len;

	(void)state;
	segment(pkt, TCPAO_TH_SYN, CISN, 0, &seg);
	tcpao_dir_init(&tx, &seg);
	tcpao_dir_init(&rx, &seg);
	assert_int_equal(tcpao_dir_sign(&tx, &mkt, 1, &seg, &pool), TCPAO_GOOD);
	assert_int_equal(tcpao_dir_verify(&rx, &mkt, 1, &seg, &pool), TCPAO_GOOD);
	tcpao_dir_set_disn(&tx, SISN);
	tcpao_dir_set_disn(&rx, SISN);
	len = segment(pkt, TCPAO_TH_ACK, CISN + 1, SISN + 1, &seg);
	assert_int_equal(tcpao_dir_sign(&tx, &mkt, 1, &seg, &pool), TCPAO_GOOD);

	/* Any bit flipped in what the MAC covers (addresses, length, TCP
	 * but its checksum) is a bad MAC. Traffic class, flow label and hop
	 * limit are not covered. */
	for (size_t i = 4; i < len; i++) {
		if (i == 7 || i == 40 + 16 || i == 40 + 17)
			continue;
		for (int bit = 0; bit < 8; bit++) {
			enum tcpao_result r;

			memcpy(copy, pkt, len);
			copy[i] ^= (uint8_t)(1 << bit);
			if (tcpao_seg_parse(&rx_seg, copy, len) != TCPAO_SEG_OK)
				continue;
			r = tcpao_dir_verify(&rx, &mkt, 1, &rx_seg, &pool);
			if (r != TCPAO_BAD_MAC && r != TCPAO_AO_REQUIRED)
				fail_msg("byte %zu bit %d: %s", i, bit, tcpao_result_name(r));
		}
	}
	/* The checksum is outside the MAC. */
	memcpy(copy, pkt, len);
	copy[56] ^= 0xff;
	assert_int_equal(tcpao_seg_parse(&rx_seg, copy, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_dir_verify(&rx, &mkt, 1, &rx_seg, &pool), TCPAO_GOOD);
	/* Another secret; another MAC length. */
	memcpy(copy, pkt, len);
	assert_int_equal(tcpao_seg_parse(&rx_seg, copy, len), TCPAO_SEG_OK);
	other.key[0] ^= 1;
	assert_int_equal(tcpao_dir_verify(&rx, &other, 7, &rx_seg, &pool), TCPAO_BAD_MAC);
	other = mkt;
	other.maclen = 12;
	assert_int_equal(tcpao_dir_verify(&rx, &other, 8, &rx_seg, &pool), TCPAO_BAD_MAC);
	assert_int_equal(tcpao_dir_sign(&tx, &other, 8, &rx_seg, &pool), TCPAO_MALFORMED);
	tcpao_dir_wipe(&tx);
	tcpao_dir_wipe(&rx);
}

/* No AO option: verify says AO required, sign refuses. */
static void test_no_ao(void **state)
{
	struct pkt_spec s = {
		.family = AF_INET, .src = "198.18.0.1", .dst = "198.18.0.2",
		.sport = 1, .dport = 2, .seq = 3, .ack = 4, .flags = TCPAO_TH_ACK,
	};
	uint8_t pkt[64];
	struct tcpao_seg seg;
	struct tcpao_dir dir;
	size_t len = pkt_build(&s, pkt, sizeof(pkt));

	(void)state;
	assert_int_equal(tcpao_seg_parse(&seg, pkt, len), TCPAO_SEG_OK);
	tcpao_dir_init(&dir, &seg);
	assert_int_equal(tcpao_dir_verify(&dir, &mkt, 1, &seg, &pool), TCPAO_AO_REQUIRED);
	assert_int_equal(tcpao_dir_sign(&dir, &mkt, 1, &seg, &pool), TCPAO_MALFORMED);
}

/* A failed verify teaches the direction nothing: no ISN from a forged
 * SYN, no SNE from a forged segment. */
static void test_failed_verify_learns_nothing(void **state)
{
	uint8_t pkt[128];
	struct tcpao_seg seg;
	struct tcpao_dir dir, before;

	(void)state;
	segment(pkt, TCPAO_TH_SYN, CISN, 0, &seg);
	tcpao_dir_init(&dir, &seg);
	before = dir;
	assert_int_equal(tcpao_dir_verify(&dir, &mkt, 1, &seg, &pool), TCPAO_BAD_MAC);
	assert_false(dir.have_sisn);
	assert_memory_equal(&dir.sne, &before.sne, sizeof(dir.sne));
	tcpao_dir_wipe(&dir);
	static const struct tcpao_dir zero;
	assert_memory_equal(&dir, &zero, sizeof(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_no_isn),
		cmocka_unit_test(test_synack_learns_disn),
		cmocka_unit_test(test_tk_cache),
		cmocka_unit_test(test_verify_results),
		cmocka_unit_test(test_no_ao),
		cmocka_unit_test(test_failed_verify_learns_nothing),
	};

	return cmocka_run_group_tests_name("conn", tests, setup, NULL);
}
