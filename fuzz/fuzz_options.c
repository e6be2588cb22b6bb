// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: tcpao_opts_parse() on arbitrary option bytes behind a
 * 20-byte TCP base header. The header sits in a heap buffer of exactly its
 * length, so ASan catches any read beyond it; what the parser reports must
 * lie inside the header and agree with the bytes there.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_options: %s\n", #cond);        \
			abort();                                             \
		}                                                            \
	} while (0)

static void check_reported(const uint8_t *hdr, size_t hdrlen,
			   const struct tcpao_opts *o)
{
	if (o->ao_off) {
		CHECK(o->ao_off >= 20 && o->ao_off + o->ao_len <= hdrlen);
		CHECK(hdr[o->ao_off] == TCPAO_OPT_KIND);
		CHECK(hdr[o->ao_off + 1] == o->ao_len && o->ao_len >= 4);
		CHECK(hdr[o->ao_off + 2] == o->keyid);
		CHECK(hdr[o->ao_off + 3] == o->rnext);
	}
	if (o->md5_off)
		CHECK(o->md5_off >= 20 && o->md5_off + 2u <= hdrlen &&
		      hdr[o->md5_off] == TCPAO_MD5_OPT_KIND);
	if (o->mss_off)
		CHECK(o->mss_off >= 20 && o->mss_off + 4u <= hdrlen &&
		      hdr[o->mss_off] == 2 && hdr[o->mss_off + 1] == 4);
	if (o->sack_off)
		CHECK(o->sack_off >= 20 && o->sack_off + o->sack_len <= hdrlen &&
		      hdr[o->sack_off] == 5 && hdr[o->sack_off + 1] == o->sack_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = size < TCPAO_TCP_OPTSPACE ? size : TCPAO_TCP_OPTSPACE;
	uint8_t *hdr = malloc(20 + n);
	struct tcpao_opts o, again;
	enum tcpao_opts_status st;

	if (!hdr)
		return 0;
	memset(hdr, 0, 20);
	memcpy(hdr + 20, data, n);
	st = tcpao_opts_parse(hdr, 20 + n, &o);
	CHECK(st == TCPAO_OPTS_OK || st == TCPAO_OPTS_MALFORMED ||
	      st == TCPAO_OPTS_DUP_AO);
	if (st == TCPAO_OPTS_OK)
		check_reported(hdr, 20 + n, &o);
	/* Deterministic, and blind to the base header's contents. */
	memset(hdr, 0xff, 20);
	CHECK(tcpao_opts_parse(hdr, 20 + n, &again) == st);
	CHECK(!memcmp(&o, &again, sizeof(o)));
	free(hdr);
	return 0;
}
