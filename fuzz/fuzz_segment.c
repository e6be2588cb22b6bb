// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: a whole IPv4 / IPv6 packet through the engine, as the
 * datapath handles it. Parse; verify with fixed keys (those of RFC 9235,
 * so that the seeds verify); remove the AO option and fix the checksum;
 * then add an AO option into a larger buffer, sign, verify on a mirror
 * direction, and remove it again. Every buffer is exactly as long as it
 * claims to be, so ASan sees any access beyond it; the invariants below
 * abort() when broken.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz_segment: %s\n", #cond);        \
			abort();                                             \
		}                                                            \
	} while (0)

static const char *const specs[] = {
	"sndid=84,rcvid=61,alg=hmac(sha1),secret=testvector",
	"sndid=84,rcvid=61,alg=hmac(sha1),secret=testvector,exclude-options",
	"sndid=84,rcvid=61,alg=cmac(aes128),secret=testvector",
	"sndid=61,rcvid=84,alg=cmac(aes128),secret=testvector,exclude-options",
	"sndid=1,rcvid=2,alg=hmac(sha256),secret=hex:00112233,maclen=16",
	"sndid=3,rcvid=4,alg=hmac(sha1),secret=odd,maclen=10",
};
#define N_KEYS (sizeof(specs) / sizeof(specs[0]))

static struct tcpao_mkt keys[N_KEYS];
static struct tcpao_pool pool;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (tcpao_mkt_parse(specs[i], &keys[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz_segment: key %zu: %s\n", i, err);
			abort();
		}
	}
	return 0;
}

/* A direction that knows the connection's ISNs, taking them from the
 * segment itself as if it were the first after the handshake. */
static void dir_for(struct tcpao_dir *dir, const struct tcpao_seg *seg)
{
	struct tcpao_seg syn = *seg;

	tcpao_dir_init(dir, seg);
	syn.flags = TCPAO_TH_SYN;
	syn.seq = seg->seq - 1;
	tcpao_dir_observe(dir, &syn);
	tcpao_dir_set_disn(dir, seg->ack - 1);
}

static bool ip4_header_ok(const struct tcpao_seg *seg)
{
	return seg->saddr.family != AF_INET ||
	       tcpao_csum_fold(tcpao_csum_add(0, seg->ip, seg->iphlen)) == 0xffff;
}

/* add_ao, sign, verify on the other side, strip: on any packet the engine
 * accepted. The payload must come back untouched. */
static void roundtrip(const uint8_t *pkt, size_t len, const struct tcpao_mkt *mkt)
{
	size_t cap = len + TCPAO_TCP_OPTSPACE;
	uint8_t *buf = malloc(cap), *wire;
	struct tcpao_seg seg, rx_seg;
	struct tcpao_dir tx, rx;
	size_t paylen, payoff;
	int rc;

	if (!buf)
		return;
	memcpy(buf, pkt, len);
	CHECK(tcpao_seg_parse(&seg, buf, len) == TCPAO_SEG_OK);
	paylen = tcpao_seg_payload_len(&seg);
	payoff = (size_t)seg.iphlen + seg.thlen;
	dir_for(&tx, &seg);
	dir_for(&rx, &seg);
	rc = tcpao_seg_add_ao(&seg, cap, mkt->sndid, mkt->rcvid, mkt->maclen);
	if (rc < 0) {
		CHECK(!memcmp(buf, pkt, len)); /* a failed add changes nothing */
		goto out;
	}
	CHECK((size_t)rc == seg.iplen && (size_t)rc <= cap && seg.thlen <= 60);
	CHECK(seg.opts.ao_off == 20 && seg.opts.ao_len == 4 + mkt->maclen);
	CHECK(ip4_header_ok(&seg));
	CHECK(tcpao_seg_payload_len(&seg) == paylen);
	CHECK(!memcmp(seg.tcp + seg.thlen, pkt + payoff, paylen));
	if (seg.opts.md5_off) { /* AO and MD5 never go out together */
		CHECK(tcpao_dir_sign(&tx, mkt, 1, &seg, &pool) == TCPAO_AO_MD5);
		goto out;
	}
	CHECK(tcpao_dir_sign(&tx, mkt, 1, &seg, &pool) == TCPAO_GOOD);
	tcpao_seg_fix_checksum(&seg);

	wire = malloc((size_t)rc);
	if (!wire)
		goto out;
	memcpy(wire, buf, (size_t)rc);
	CHECK(tcpao_seg_parse(&rx_seg, wire, (size_t)rc) == TCPAO_SEG_OK);
	CHECK(tcpao_seg_checksum_ok(&rx_seg));
	CHECK(tcpao_dir_verify(&rx, mkt, 1, &rx_seg, &pool) == TCPAO_GOOD);
	CHECK(tcpao_seg_strip_ao(&rx_seg) <= (size_t)rc - 4 - mkt->maclen);
	CHECK(rx_seg.opts.ao_off == 0);
	CHECK(tcpao_seg_payload_len(&rx_seg) == paylen);
	CHECK(!memcmp(rx_seg.tcp + rx_seg.thlen, pkt + payoff, paylen));
	tcpao_seg_fix_checksum(&rx_seg);
	CHECK(tcpao_seg_checksum_ok(&rx_seg));
	CHECK(ip4_header_ok(&rx_seg));
	CHECK(tcpao_seg_parse(&rx_seg, wire, rx_seg.iplen) == TCPAO_SEG_OK);
	free(wire);
out:
	tcpao_dir_wipe(&tx);
	tcpao_dir_wipe(&rx);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcpao_seg seg;
	struct tcpao_dir dir;
	enum tcpao_seg_status st;
	uint8_t *pkt;
	size_t len;
	bool had_ao;

	if (size > 0xffff)
		return 0;
	pkt = malloc(size ? size : 1);
	if (!pkt)
		return 0;
	memcpy(pkt, data, size);
	st = tcpao_seg_parse(&seg, pkt, size);
	CHECK(st <= TCPAO_SEG_MALFORMED);
	if (st != TCPAO_SEG_OK)
		goto out;
	CHECK(seg.iplen <= size && seg.tcp == pkt + seg.iphlen);
	CHECK((size_t)seg.iphlen + seg.tcplen == seg.iplen);
	CHECK(seg.thlen >= 20 && seg.thlen <= seg.tcplen);

	for (size_t i = 0; i < N_KEYS; i++) {
		enum tcpao_result r;

		dir_for(&dir, &seg);
		r = tcpao_dir_verify(&dir, &keys[i], i + 1, &seg, &pool);
		CHECK(r < TCPAO_RESULT_COUNT);
		CHECK(r != TCPAO_NO_ISN);
		CHECK(seg.opts.ao_off || r == TCPAO_AO_REQUIRED);
		tcpao_dir_wipe(&dir);
	}

	/* Take the AO option out, as ingress does. */
	had_ao = seg.opts.ao_off;
	len = tcpao_seg_strip_ao(&seg);
	CHECK(len == seg.iplen && seg.opts.ao_off == 0);
	tcpao_seg_fix_checksum(&seg);
	CHECK(tcpao_seg_checksum_ok(&seg));
	CHECK(!had_ao || ip4_header_ok(&seg)); /* rewritten only when changed */
	CHECK(tcpao_seg_parse(&seg, pkt, len) == TCPAO_SEG_OK);

	/* And put one in, as egress does, with a key the packet picks. */
	roundtrip(pkt, len, &keys[seg.sport % N_KEYS]);
out:
	free(pkt);
	return 0;
}
