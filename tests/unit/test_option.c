// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * TCP option parsing (lib/option.c). Every header is copied into a heap
 * buffer of exactly its length, so that under ASan any read beyond the
 * header is caught.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include "tcpao.h"
#include "pkt.h"

/* Parses a 20-byte base header followed by opts[0..n). */
static enum tcpao_opts_status parse(const uint8_t *opts, size_t n,
				    struct tcpao_opts *out)
{
	uint8_t *hdr = malloc(20 + n);
	enum tcpao_opts_status st;

	assert_non_null(hdr);
	memset(hdr, 0, 20);
	if (n)
		memcpy(hdr + 20, opts, n);
	st = tcpao_opts_parse(hdr, 20 + n, out);
	free(hdr);
	return st;
}

#define PARSE(out, ...)                                                      \
	({                                                                   \
		static const uint8_t o_[] = { __VA_ARGS__ };                 \
		parse(o_, sizeof(o_), out);                                  \
	})

static void test_no_options(void **state)
{
	struct tcpao_opts o;

	(void)state;
	memset(&o, 0xaa, sizeof(o));
	assert_int_equal(parse(NULL, 0, &o), TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 0);
	assert_int_equal(o.md5_off, 0);
	assert_int_equal(o.mss_off, 0);
	assert_int_equal(o.sack_off, 0);
}

static void test_ao_found(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 29, 16, 61, 84, 1, 2, 3, 4, 5, 6, 7, 8, 9,
			       10, 11, 12),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 20);
	assert_int_equal(o.ao_len, 16);
	assert_int_equal(o.keyid, 61);
	assert_int_equal(o.rnext, 84);
	assert_int_equal(o.md5_off, 0);
}

/* An option list as Linux builds it for a data segment: NOP NOP TS, AO. */
static void test_ao_after_timestamps(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2,
			       29, 16, 7, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 32);
	assert_int_equal(o.keyid, 7);
	assert_int_equal(o.rnext, 9);
}

static void test_nop_runs(void **state)
{
	uint8_t opts[40];
	struct tcpao_opts o;

	(void)state;
	memset(opts, 1, sizeof(opts));
	assert_int_equal(parse(opts, 40, &o), TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 0);
	/* 24 NOPs, then AO (4 + 12) reaching the last byte exactly. */
	memset(opts, 1, 24);
	opts[24] = 29, opts[25] = 16, opts[26] = 3, opts[27] = 4;
	memset(opts + 28, 0xee, 12);
	assert_int_equal(parse(opts, 40, &o), TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 44);
	assert_int_equal(o.keyid, 3);
	/* One byte short: the AO option runs past the header. */
	assert_int_equal(parse(opts, 39, &o), TCPAO_OPTS_MALFORMED);
}

static void test_zero_and_one_length(void **state)
{
	struct tcpao_opts o;

	(void)state;
	/* Length 0 would loop forever if accepted; length 1 overlaps the
	 * next option. Both for an unknown kind and for AO itself. */
	assert_int_equal(PARSE(&o, 8, 0, 0, 0), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 8, 1, 0, 0), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 29, 0, 1, 1), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 29, 1, 1, 1), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 1, 1, 2, 0), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 1, 1, 19, 1), TCPAO_OPTS_MALFORMED);
}

static void test_truncated_after_kind(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 29), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 1, 1, 1, 29), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 1, 1, 1, 2), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 2, 4, 5, 180, 254), TCPAO_OPTS_MALFORMED);
}

static void test_length_past_header(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 2, 4, 5), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 29, 16, 1, 2, 0, 0, 0, 0),
			 TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 8, 255, 0, 0), TCPAO_OPTS_MALFORMED);
	/* Exactly to the end is fine. */
	assert_int_equal(PARSE(&o, 8, 4, 0, 0), TCPAO_OPTS_OK);
}

static void test_eol_then_garbage(void **state)
{
	struct tcpao_opts o;

	(void)state;
	/* After EOL nothing is parsed: neither the garbage nor an AO option
	 * hiding behind it. */
	assert_int_equal(PARSE(&o, 2, 4, 5, 180, 0, 29, 0, 255),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.mss_off, 20);
	assert_int_equal(o.ao_off, 0);
	assert_int_equal(PARSE(&o, 0, 29, 16, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			       0, 0, 0),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 0);
}

static void test_duplicate_ao(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 29, 4, 1, 1, 29, 4, 2, 2), TCPAO_OPTS_DUP_AO);
	assert_int_equal(PARSE(&o, 29, 16, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			       0, 0, 1, 1, 29, 6, 1, 1, 0, 0),
			 TCPAO_OPTS_DUP_AO);
}

static void test_short_ao(void **state)
{
	struct tcpao_opts o;

	(void)state;
	assert_int_equal(PARSE(&o, 29, 2, 1, 1), TCPAO_OPTS_MALFORMED);
	assert_int_equal(PARSE(&o, 29, 3, 1, 1), TCPAO_OPTS_MALFORMED);
	/* A MAC of zero bytes parses; the MAC length check of verify
	 * rejects it (test_ao_md5_verify below shows the verify path). */
	assert_int_equal(PARSE(&o, 29, 4, 1, 1), TCPAO_OPTS_OK);
	assert_int_equal(o.ao_len, 4);
}

static void test_ao_and_md5_offsets(void **state)
{
	struct tcpao_opts o;
	uint8_t opts[36];

	(void)state;
	/* MD5 (18 bytes) then AO (16), padded: both reported. */
	memset(opts, 0, sizeof(opts));
	opts[0] = 19, opts[1] = 18;
	opts[18] = 29, opts[19] = 16, opts[20] = 5, opts[21] = 6;
	opts[34] = opts[35] = 1;
	assert_int_equal(parse(opts, 36, &o), TCPAO_OPTS_OK);
	assert_int_equal(o.md5_off, 20);
	assert_int_equal(o.ao_off, 38);
	/* And AO first. */
	memset(opts, 0, sizeof(opts));
	opts[0] = 29, opts[1] = 16;
	opts[16] = 19, opts[17] = 18;
	opts[34] = opts[35] = 1;
	assert_int_equal(parse(opts, 36, &o), TCPAO_OPTS_OK);
	assert_int_equal(o.ao_off, 20);
	assert_int_equal(o.md5_off, 36);
}

static void test_mss_sack_found(void **state)
{
	struct tcpao_opts o;

	(void)state;
	/* A SYN's options: MSS, SACK-permitted, TS, NOP, WS. */
	assert_int_equal(PARSE(&o, 2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0,
			       0, 0, 1, 3, 3, 7),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.mss_off, 20);
	assert_int_equal(o.sack_off, 0); /* SACK-permitted is not SACK */
	/* NOP NOP SACK with two blocks. */
	assert_int_equal(PARSE(&o, 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0,
			       3, 0, 0, 0, 4),
			 TCPAO_OPTS_OK);
	assert_int_equal(o.sack_off, 22);
	assert_int_equal(o.sack_len, 18);
	/* An MSS option of the wrong length is not taken for the MSS. */
	assert_int_equal(PARSE(&o, 2, 6, 5, 180, 0, 0, 1, 1), TCPAO_OPTS_OK);
	assert_int_equal(o.mss_off, 0);
}

/* The verify path on segments carrying MD5: with AO too, TCPAO_AO_MD5;
 * alone, TCPAO_AO_REQUIRED. And a zero-length MAC is a bad MAC. */
static enum tcpao_result verify_with_opts(const uint8_t *opts, size_t n)
{
	struct pkt_spec s = {
		.family = AF_INET, .src = "198.18.0.1", .dst = "198.18.0.2",
		.sport = 1000, .dport = 179, .seq = 100, .ack = 200,
		.flags = TCPAO_TH_ACK, .opts = opts, .optlen = n,
	};
	struct tcpao_mkt mkt = { .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 3,
				 .key = "abc" };
	uint8_t pkt[128];
	struct tcpao_seg seg;
	struct tcpao_dir dir;
	struct tcpao_pool pool;
	size_t len = pkt_build(&s, pkt, sizeof(pkt));
	enum tcpao_result r;

	assert_int_equal(tcpao_mkt_check(&mkt), 0);
	assert_int_equal(tcpao_seg_parse(&seg, pkt, len), TCPAO_SEG_OK);
	tcpao_dir_init(&dir, &seg);
	tcpao_dir_set_disn(&dir, 1);
	dir.ctx.sisn = 99;
	dir.have_sisn = true;
	r = tcpao_dir_verify(&dir, &mkt, 1, &seg, &pool);
	tcpao_dir_wipe(&dir);
	return r;
}

static void test_ao_md5_verify(void **state)
{
	uint8_t opts[36] = { 0 };

	(void)state;
	opts[0] = 19, opts[1] = 18;
	opts[18] = 29, opts[19] = 16;
	opts[34] = opts[35] = 1;
	assert_int_equal(verify_with_opts(opts, 36), TCPAO_AO_MD5);
	memset(opts, 1, sizeof(opts));
	opts[0] = 29, opts[1] = 16, opts[16] = 19, opts[17] = 18;
	memset(opts + 2, 0, 14);
	memset(opts + 18, 0, 16);
	assert_int_equal(verify_with_opts(opts, 36), TCPAO_AO_MD5);
	memset(opts, 1, sizeof(opts));
	opts[0] = 19, opts[1] = 18;
	memset(opts + 2, 0, 16);
	assert_int_equal(verify_with_opts(opts, 20), TCPAO_AO_REQUIRED);
	memset(opts, 1, sizeof(opts));
	opts[0] = 29, opts[1] = 4;
	assert_int_equal(verify_with_opts(opts, 4), TCPAO_BAD_MAC);
}

/* ---- every option list of up to MAX_N bytes ------------------------------ */

static const uint8_t alphabet[] = { 0, 1, 2, 3, 4, 5, 19, 29 };
#define ALPHA sizeof(alphabet)
#define MAX_N 8

/* The rules, stated once more as the specification reads: options are
 * kind [len data]; EOL ends the list; NOP is one byte; any other option
 * needs a length byte, a length of at least 2 and no more than what is
 * left; AO needs at least 4 and may appear once. */
static enum tcpao_opts_status expected(const uint8_t *o, size_t n)
{
	bool ao = false;

	for (size_t i = 0; i < n;) {
		if (o[i] == 0)
			return TCPAO_OPTS_OK;
		if (o[i] == 1) {
			i++;
			continue;
		}
		if (n - i < 2 || o[i + 1] < 2 || o[i + 1] > n - i)
			return TCPAO_OPTS_MALFORMED;
		if (o[i] == 29 && ao)
			return TCPAO_OPTS_DUP_AO;
		if (o[i] == 29 && o[i + 1] < 4)
			return TCPAO_OPTS_MALFORMED;
		ao |= o[i] == 29;
		i += o[i + 1];
	}
	return TCPAO_OPTS_OK;
}

/* What an OK result reports must lie inside the header and be what the
 * bytes there say. */
static void check_reported(const uint8_t *hdr, size_t hdrlen,
			   const struct tcpao_opts *o)
{
	if (o->ao_off) {
		assert_true(o->ao_off >= 20 && o->ao_off + o->ao_len <= hdrlen);
		assert_int_equal(hdr[o->ao_off], 29);
		assert_int_equal(hdr[o->ao_off + 1], o->ao_len);
		assert_true(o->ao_len >= 4);
		assert_int_equal(hdr[o->ao_off + 2], o->keyid);
		assert_int_equal(hdr[o->ao_off + 3], o->rnext);
	}
	if (o->md5_off) {
		assert_true(o->md5_off >= 20 && o->md5_off + 2u <= hdrlen);
		assert_int_equal(hdr[o->md5_off], 19);
	}
	if (o->mss_off) {
		assert_true(o->mss_off >= 20 && o->mss_off + 4u <= hdrlen);
		assert_int_equal(hdr[o->mss_off], 2);
		assert_int_equal(hdr[o->mss_off + 1], 4);
	}
	if (o->sack_off) {
		assert_true(o->sack_off >= 20 && o->sack_off + o->sack_len <= hdrlen);
		assert_int_equal(hdr[o->sack_off], 5);
		assert_int_equal(hdr[o->sack_off + 1], o->sack_len);
	}
}

static void test_exhaustive_small(void **state)
{
	unsigned long cases = 0, ok = 0, malformed = 0, dup = 0;

	(void)state;
	for (size_t n = 0; n <= MAX_N; n++) {
		/* Exactly 20 + n bytes, so that ASan sees any overread. */
		uint8_t *hdr = calloc(1, 20 + n);
		size_t digits[MAX_N] = { 0 };

		assert_non_null(hdr);
		for (;;) {
			struct tcpao_opts o;
			enum tcpao_opts_status st;

			for (size_t i = 0; i < n; i++)
				hdr[20 + i] = alphabet[digits[i]];
			st = tcpao_opts_parse(hdr, 20 + n, &o);
			if (st != expected(hdr + 20, n))
				fail_msg("n=%zu: got %d, expected %d", n, st,
					 expected(hdr + 20, n));
			if (st == TCPAO_OPTS_OK)
				check_reported(hdr, 20 + n, &o), ok++;
			malformed += st == TCPAO_OPTS_MALFORMED;
			dup += st == TCPAO_OPTS_DUP_AO;
			cases++;
			size_t i = 0;
			while (i < n && ++digits[i] == ALPHA)
				digits[i++] = 0;
			if (i == n)
				break;
		}
		free(hdr);
	}
	/* Every outcome was exercised, over all 8^0 + ... + 8^8 lists. */
	assert_int_equal(cases, 19173961);
	assert_true(ok > 0 && malformed > 0 && dup > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_options),
		cmocka_unit_test(test_ao_found),
		cmocka_unit_test(test_ao_after_timestamps),
		cmocka_unit_test(test_nop_runs),
		cmocka_unit_test(test_zero_and_one_length),
		cmocka_unit_test(test_truncated_after_kind),
		cmocka_unit_test(test_length_past_header),
		cmocka_unit_test(test_eol_then_garbage),
		cmocka_unit_test(test_duplicate_ao),
		cmocka_unit_test(test_short_ao),
		cmocka_unit_test(test_ao_and_md5_offsets),
		cmocka_unit_test(test_mss_sack_found),
		cmocka_unit_test(test_ao_md5_verify),
		cmocka_unit_test(test_exhaustive_small),
	};

	return cmocka_run_group_tests_name("option", tests, NULL, NULL);
}
