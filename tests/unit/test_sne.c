// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sequence number extension (lib/sne.c, RFC 5925 section 6.2), alone and
 * end to end: a connection that moves more than 4 GiB of sequence space
 * across several 2^32 wraps, signed one way and verified on a mirror.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tcpao.h"
#include "pkt.h"

#define TWO32 (1ull << 32)

/* ---- the SNE bookkeeping alone ------------------------------------------- */

static void test_init(void **state)
{
	struct tcpao_sne s;

	(void)state;
	tcpao_sne_init(&s, 0xfffffff0u);
	assert_int_equal(tcpao_sne_of(&s, 0xfffffff0u), 0);
	assert_int_equal(tcpao_sne_of(&s, 0xffffffffu), 0);
	assert_int_equal(tcpao_sne_of(&s, 0), 1);          /* just wrapped */
	assert_int_equal(tcpao_sne_of(&s, 0x7fffffefu), 1); /* 2^31-1 ahead */
}

/* Forward in steps of 1 GiB from just below 2^32: the SNE counts wraps. */
static void test_forward_several_wraps(void **state)
{
	struct tcpao_sne s;
	uint64_t pos = 0xffffff00u;

	(void)state;
	tcpao_sne_init(&s, (uint32_t)pos);
	for (int i = 0; i < 40; i++) {
		pos += 1u << 30;
		assert_int_equal(tcpao_sne_of(&s, (uint32_t)pos), pos >> 32);
		tcpao_sne_advance(&s, (uint32_t)pos);
		assert_int_equal(s.sne, pos >> 32);
	}
	assert_int_equal(s.sne, 10);
}

/* The largest step the rule allows, 2^31 - 1, over and over. */
static void test_largest_steps(void **state)
{
	struct tcpao_sne s;
	uint64_t pos = 12345;

	(void)state;
	tcpao_sne_init(&s, (uint32_t)pos);
	for (int i = 0; i < 9; i++) {
		pos += 0x7fffffffu;
		assert_int_equal(tcpao_sne_of(&s, (uint32_t)pos), pos >> 32);
		tcpao_sne_advance(&s, (uint32_t)pos);
	}
	assert_int_equal(s.sne, pos >> 32);
	assert_true(s.sne >= 4);
	/* 2^31 - 1 behind the newest: still the past. */
	assert_int_equal(tcpao_sne_of(&s, (uint32_t)(pos - 0x7fffffffu)),
			 (pos - 0x7fffffffu) >> 32);
}

/* Exactly 2^31 away is ambiguous; like Linux's before(), it counts as the
 * past, so it never moves the SNE forward. Numerically above the newest,
 * it is taken for the previous epoch: right after the ISN, SNE 2^32 - 1 (a
 * value no genuine segment has, so its MAC fails). */
static void test_half_window(void **state)
{
	struct tcpao_sne s;

	(void)state;
	tcpao_sne_init(&s, 0x10);
	assert_int_equal(tcpao_sne_of(&s, 0x80000010u), 0xffffffffu);
	assert_int_equal(tcpao_sne_of(&s, 0x8000000fu), 0);
	tcpao_sne_advance(&s, 0x80000010u);
	assert_int_equal(s.seq, 0x10);
	s.seq = 0x90000000u;
	s.sne = 3;
	assert_int_equal(tcpao_sne_of(&s, 0x10000000u), 3); /* behind, by 2^31 */
	assert_int_equal(tcpao_sne_of(&s, 0x0fffffffu), 4); /* ahead, wrapped */
	assert_int_equal(tcpao_sne_of(&s, 0x10000001u), 3); /* behind */
}

/* Segments around a wrap, in every order: each gets the SNE it was sent
 * with, and only the newest moves the reference. */
static void test_reorder_around_wrap(void **state)
{
	struct tcpao_sne s;

	(void)state;
	tcpao_sne_init(&s, 0xfffff000u);
	tcpao_sne_advance(&s, 0xffffff00u);
	/* A segment from after the wrap arrives early. */
	assert_int_equal(tcpao_sne_of(&s, 0x00000010u), 1);
	tcpao_sne_advance(&s, 0x00000010u);
	assert_int_equal(s.sne, 1);
	assert_int_equal(s.seq, 0x10);
	/* The late ones from before the wrap keep SNE 0 ... */
	assert_int_equal(tcpao_sne_of(&s, 0xffffff80u), 0);
	tcpao_sne_advance(&s, 0xffffff80u);
	assert_int_equal(s.sne, 1);
	assert_int_equal(s.seq, 0x10);
	/* ... and so do retransmissions of them, much later. */
	tcpao_sne_advance(&s, 0x40000000u);
	assert_int_equal(tcpao_sne_of(&s, 0xfffff000u), 0);
	assert_int_equal(tcpao_sne_of(&s, 0x00000000u), 1);
	assert_int_equal(tcpao_sne_of(&s, 0x3fffffffu), 1);
	assert_int_equal(tcpao_sne_of(&s, 0x40000000u), 1);
	assert_int_equal(tcpao_sne_of(&s, 0x40000001u), 1);
	assert_int_equal(tcpao_sne_of(&s, 0xc0000001u), 0);
	/* A retransmission of the newest changes nothing. */
	tcpao_sne_advance(&s, 0x40000000u);
	assert_int_equal(s.sne, 1);
	assert_int_equal(s.seq, 0x40000000u);
}

/* The SNE itself wraps after 2^32 wraps (RFC 5925: a 32-bit counter). */
static void test_sne_counter_wraps(void **state)
{
	struct tcpao_sne s = { .seq = 0xfffffff0u, .sne = 0xffffffffu };

	(void)state;
	assert_int_equal(tcpao_sne_of(&s, 0x10), 0);
	s.seq = 0x10, s.sne = 0;
	assert_int_equal(tcpao_sne_of(&s, 0xfffffff0u), 0xffffffffu);
}

/* Random walks checked against 64-bit positions: forward steps up to
 * 2^31 - 1, and segments from anywhere in the 2^31 - 1 before the newest. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_random_walk(void **state)
{
	(void)state;
	for (int run = 0; run < 20; run++) {
		uint64_t isn = rng() & 0xffffffffu, high = isn;
		struct tcpao_sne s;

		tcpao_sne_init(&s, (uint32_t)isn);
		for (int i = 0; i < 20000; i++) {
			uint64_t r = rng(), pos;

			if (r % 3) { /* forward */
				pos = high + (rng() % 0x7fffffffu) + 1;
			} else {     /* old: reordered or retransmitted */
				uint64_t back = rng() % 0x7fffffffu;

				pos = high - (back > high - isn ? high - isn : back);
			}
			if (tcpao_sne_of(&s, (uint32_t)pos) != (uint32_t)(pos >> 32))
				fail_msg("run %d step %d: pos %llx high %llx: sne %u", run,
					 i, (unsigned long long)pos,
					 (unsigned long long)high,
					 tcpao_sne_of(&s, (uint32_t)pos));
			tcpao_sne_advance(&s, (uint32_t)pos);
			if (pos > high)
				high = pos;
			assert_int_equal(s.seq, (uint32_t)high);
			assert_int_equal(s.sne, (uint32_t)(high >> 32));
		}
	}
}

/* ---- end to end ---------------------------------------------------------- */

/* A client at 198.18.0.1 sending to a server at 198.18.0.2, ISN close to
 * 2^32. "tx" signs what the client sends; "rx" is the server's view of the
 * same direction and verifies. */
struct link {
	struct tcpao_mkt client, server;
	struct tcpao_dir tx, rx;
	struct tcpao_pool pool;
	uint32_t cisn, sisn;
};

#define PAYLEN 100
#define PKTLEN (20 + 20 + 16 + PAYLEN)

/* A client segment at 64-bit stream position pos (the ISN is position
 * cisn), with its AO option, not yet signed. */
static void client_segment(struct link *l, uint64_t pos, uint8_t flags,
			   uint8_t *pkt, struct tcpao_seg *seg)
{
	uint8_t ao[16] = { 29, 16, l->client.sndid, l->client.rcvid };
	uint8_t payload[PAYLEN];
	struct pkt_spec s = {
		.family = AF_INET, .src = "198.18.0.1", .dst = "198.18.0.2",
		.sport = 40000, .dport = 179, .seq = (uint32_t)pos,
		.ack = l->sisn + 1, .flags = flags, .opts = ao, .optlen = 16,
	};

	for (int i = 0; i < PAYLEN; i++)
		payload[i] = (uint8_t)(pos >> 8) ^ (uint8_t)i;
	if (!(flags & TCPAO_TH_SYN)) {
		s.payload = payload;
		s.paylen = PAYLEN;
	} else {
		s.ack = 0;
	}
	assert_int_not_equal(pkt_build(&s, pkt, PKTLEN), 0);
	assert_int_equal(tcpao_seg_parse(seg, pkt, PKTLEN), TCPAO_SEG_OK);
}

static void sign(struct link *l, uint64_t pos, uint8_t *pkt)
{
	struct tcpao_seg seg;

	client_segment(l, pos, TCPAO_TH_ACK, pkt, &seg);
	assert_int_equal(tcpao_dir_sign(&l->tx, &l->client, 1, &seg, &l->pool),
			 TCPAO_GOOD);
}

/* The server receives pkt: a copy, as a wire would deliver it. */
static enum tcpao_result deliver(struct link *l, const uint8_t *pkt)
{
	uint8_t copy[PKTLEN];
	struct tcpao_seg seg;

	memcpy(copy, pkt, PKTLEN);
	assert_int_equal(tcpao_seg_parse(&seg, copy, PKTLEN), TCPAO_SEG_OK);
	return tcpao_dir_verify(&l->rx, &l->server, 1, &seg, &l->pool);
}

static void link_open(struct link *l)
{
	uint8_t pkt[PKTLEN];
	struct tcpao_seg seg;

	memset(l, 0, sizeof(*l));
	assert_int_equal(tcpao_mkt_parse("sndid=5,rcvid=6,alg=hmac(sha1),secret=wrap-test,peer=198.18.0.2",
					 &l->client, NULL, 0), 0);
	assert_int_equal(tcpao_mkt_parse("sndid=6,rcvid=5,alg=hmac(sha1),secret=wrap-test,peer=198.18.0.1",
					 &l->server, NULL, 0), 0);
	l->cisn = 0xffff0000u;
	l->sisn = 0x12345678u;
	client_segment(l, l->cisn, TCPAO_TH_SYN, pkt, &seg);
	tcpao_dir_init(&l->tx, &seg);
	tcpao_dir_init(&l->rx, &seg);
	assert_int_equal(tcpao_dir_sign(&l->tx, &l->client, 1, &seg, &l->pool),
			 TCPAO_GOOD);
	assert_int_equal(deliver(l, pkt), TCPAO_GOOD);
	/* Both learn the server's ISN (from the SYN-ACK in a real flow). */
	tcpao_dir_set_disn(&l->tx, l->sisn);
	tcpao_dir_set_disn(&l->rx, l->sisn);
}

#define NSENT 64

static void test_end_to_end_wraps(void **state)
{
	static struct link l;
	static uint8_t sent[NSENT][PKTLEN];
	uint64_t pos[NSENT];
	uint8_t again[PKTLEN];
	int n = 0;

	(void)state;
	link_open(&l);
	/* 1 + 3 GiB + ... in steps of 256 MiB to 2 GiB - 1: over 12 GiB,
	 * three wraps of the 32-bit sequence number. */
	pos[0] = l.cisn + 1;
	for (n = 0; n < NSENT; n++) {
		if (n)
			pos[n] = pos[n - 1] + (n % 4 == 3 ? 0x7fffffffu
							  : (uint64_t)(n % 4 + 1) << 28);
		sign(&l, pos[n], sent[n]);
		assert_int_equal(deliver(&l, sent[n]), TCPAO_GOOD);
	}
	assert_true(pos[NSENT - 1] - pos[0] > 3 * TWO32);
	assert_int_equal(l.rx.sne.sne, pos[NSENT - 1] >> 32);
	assert_int_equal(l.tx.sne.sne, pos[NSENT - 1] >> 32);

	/* Retransmissions of everything within 2^31 - 1 behind the newest,
	 * pre-wrap ones included: the copy kept verifies, and the sender
	 * signing the same segment again produces the very same bytes. */
	int retransmitted = 0;
	for (int i = 0; i < NSENT; i++) {
		if (pos[NSENT - 1] - pos[i] >= 0x80000000u)
			continue;
		assert_int_equal(deliver(&l, sent[i]), TCPAO_GOOD);
		sign(&l, pos[i], again);
		assert_memory_equal(again, sent[i], PKTLEN);
		retransmitted++;
	}
	assert_true(retransmitted >= 2);
	assert_int_equal(l.rx.sne.seq, (uint32_t)pos[NSENT - 1]);
}

/* Retransmission across the wrap itself: segments before and after it
 * interleaved, then all retransmitted after the stream moved on. */
static void test_end_to_end_retransmit_across_wrap(void **state)
{
	static struct link l;
	static uint8_t sent[8][PKTLEN];
	uint64_t pos[8];

	(void)state;
	link_open(&l);
	for (int i = 0; i < 8; i++)
		pos[i] = TWO32 - 3000 + (uint64_t)i * 1000; /* 3 before, 5 after */
	for (int i = 0; i < 8; i++)
		sign(&l, pos[i], sent[i]);
	/* Delivered out of order: after-wrap ones first. */
	static const int order[8] = { 4, 0, 6, 1, 3, 7, 2, 5 };
	for (int i = 0; i < 8; i++)
		assert_int_equal(deliver(&l, sent[order[i]]), TCPAO_GOOD);
	/* The stream moves 1 GiB on, then everything is retransmitted. */
	uint8_t later[PKTLEN];
	sign(&l, TWO32 + (1u << 30), later);
	assert_int_equal(deliver(&l, later), TCPAO_GOOD);
	for (int i = 0; i < 8; i++)
		assert_int_equal(deliver(&l, sent[i]), TCPAO_GOOD);
}

/* A segment recorded in one wrap epoch and replayed in the next, when its
 * 32-bit sequence number is current again, gets the new SNE: bad MAC. */
static void test_end_to_end_replay_previous_epoch(void **state)
{
	static struct link l;
	uint8_t old[PKTLEN], fresh[PKTLEN];
	uint64_t p0;

	(void)state;
	link_open(&l);
	p0 = l.cisn + 1000;
	sign(&l, p0, old);
	assert_int_equal(deliver(&l, old), TCPAO_GOOD);
	/* Run the stream to just before p0 + 2^32, in legal steps. */
	for (uint64_t p = p0; p + (1u << 30) < p0 + TWO32 - 5000;) {
		uint8_t pkt[PKTLEN];

		p += 1u << 30;
		sign(&l, p, pkt);
		assert_int_equal(deliver(&l, pkt), TCPAO_GOOD);
	}
	uint8_t near[PKTLEN];
	sign(&l, p0 + TWO32 - 5000, near);
	assert_int_equal(deliver(&l, near), TCPAO_GOOD);
	uint32_t sne_before = l.rx.sne.sne, seq_before = l.rx.sne.seq;

	/* The replay: same bytes, same seq, one epoch late. */
	assert_int_equal(deliver(&l, old), TCPAO_BAD_MAC);
	/* It moved nothing. */
	assert_int_equal(l.rx.sne.sne, sne_before);
	assert_int_equal(l.rx.sne.seq, seq_before);
	/* The segment legitimately sent at that position differs only in its
	 * MAC, and verifies. */
	sign(&l, p0 + TWO32, fresh);
	assert_memory_equal(fresh, old, 40 + 4);
	assert_memory_not_equal(fresh + 44, old + 44, 12);
	assert_memory_equal(fresh + 56, old + 56, PKTLEN - 56);
	assert_int_equal(deliver(&l, fresh), TCPAO_GOOD);
	assert_int_equal(deliver(&l, old), TCPAO_BAD_MAC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_forward_several_wraps),
		cmocka_unit_test(test_largest_steps),
		cmocka_unit_test(test_half_window),
		cmocka_unit_test(test_reorder_around_wrap),
		cmocka_unit_test(test_sne_counter_wraps),
		cmocka_unit_test(test_random_walk),
		cmocka_unit_test(test_end_to_end_wraps),
		cmocka_unit_test(test_end_to_end_retransmit_across_wrap),
		cmocka_unit_test(test_end_to_end_replay_previous_epoch),
	};

	return cmocka_run_group_tests_name("sne", tests, NULL, NULL);
}
