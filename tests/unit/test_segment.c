// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole segments (lib/segment.c): parsing IPv4 / IPv6 with their corner
 * cases, inserting the AO option (SACK trimming, lengths, checksums) and
 * removing it again so that the receiver gets exactly what the peer built.
 * Packets under test sit in heap buffers of exactly their size, so that
 * ASan sees any access beyond them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tcpao.h"
#include "pkt.h"

#define V4SRC "198.18.0.1"
#define V4DST "198.18.0.2"
#define V6SRC "fd00::1"
#define V6DST "fd00::2"

static const uint8_t linux_syn_opts[20] = {
	2, 4, 0x05, 0xb4,                       /* MSS 1460 */
	4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,    /* SACK-permitted, TS */
	1, 3, 3, 7,                             /* NOP, window scale 7 */
};
static const uint8_t ts_opts[12] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6 };

/* NOP NOP TS, NOP NOP SACK with three blocks: 40 bytes, the most a pure
 * ACK carries. */
static const uint8_t ts_sack3_opts[40] = {
	1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6,
	1, 1, 5, 26,
	0, 0, 1, 0, 0, 0, 2, 0, /* block 1 (the newest) */
	0, 0, 3, 0, 0, 0, 4, 0,
	0, 0, 5, 0, 0, 0, 6, 0,
};

static uint8_t payload[1500];

static struct pkt_spec spec(int family)
{
	struct pkt_spec s = {
		.family = family,
		.src = family == AF_INET ? V4SRC : V6SRC,
		.dst = family == AF_INET ? V4DST : V6DST,
		.sport = 40000, .dport = 179, .seq = 1000, .ack = 2000,
		.flags = TCPAO_TH_ACK,
	};

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 1);
	return s;
}

/* Builds s into a heap buffer of exactly cap bytes (0: the packet's size). */
static uint8_t *build(const struct pkt_spec *s, size_t cap, size_t *len)
{
	uint8_t tmp[70000];
	uint8_t *p;

	*len = pkt_build(s, tmp, sizeof(tmp));
	assert_int_not_equal(*len, 0);
	p = malloc(cap ? cap : *len);
	assert_non_null(p);
	memcpy(p, tmp, *len);
	return p;
}

static enum tcpao_seg_status parse_exact(const uint8_t *pkt, size_t caplen,
					 struct tcpao_seg *seg)
{
	uint8_t *copy = malloc(caplen ? caplen : 1);
	enum tcpao_seg_status st;

	assert_non_null(copy);
	memcpy(copy, pkt, caplen);
	st = tcpao_seg_parse(seg, copy, caplen);
	free(copy);
	return st;
}

/* ---- parsing IPv4 -------------------------------------------------------- */

static void test_parse_ipv4(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	struct tcpao_addr src, dst;
	size_t len;
	uint8_t *p;

	(void)state;
	s.seq = 0xdeadbeef, s.ack = 0x01020304;
	s.flags = TCPAO_TH_ACK | TCPAO_TH_FIN;
	s.opts = ts_opts, s.optlen = sizeof(ts_opts);
	s.payload = payload, s.paylen = 33;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_addr_parse(V4SRC, &src, NULL), 0);
	assert_int_equal(tcpao_addr_parse(V4DST, &dst, NULL), 0);
	assert_true(tcpao_addr_equal(&seg.saddr, &src));
	assert_true(tcpao_addr_equal(&seg.daddr, &dst));
	assert_ptr_equal(seg.ip, p);
	assert_ptr_equal(seg.tcp, p + 20);
	assert_int_equal(seg.iplen, len);
	assert_int_equal(seg.iphlen, 20);
	assert_int_equal(seg.thlen, 32);
	assert_int_equal(seg.tcplen, 32 + 33);
	assert_int_equal(tcpao_seg_payload_len(&seg), 33);
	assert_int_equal(seg.sport, 40000);
	assert_int_equal(seg.dport, 179);
	assert_int_equal(seg.seq, 0xdeadbeef);
	assert_int_equal(seg.ack, 0x01020304);
	assert_int_equal(seg.flags, TCPAO_TH_ACK | TCPAO_TH_FIN);
	assert_true(tcpao_seg_checksum_ok(&seg));
	free(p);
}

static void test_parse_ipv4_options(void **state)
{
	static const uint8_t nops[4] = { 1, 1, 1, 0 };
	static const uint8_t rr[8] = { 7, 7, 4, 0, 0, 0, 0, 0 };
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.payload = payload, s.paylen = 10;
	s.ipopts = nops, s.ipoptlen = 4;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(seg.iphlen, 24);
	assert_ptr_equal(seg.tcp, p + 24);
	assert_int_equal(seg.seq, 1000);
	assert_int_equal(tcpao_seg_payload_len(&seg), 10);
	free(p);
	s.ipopts = rr, s.ipoptlen = 8;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(seg.iphlen, 28);
	assert_int_equal(seg.sport, 40000);
	free(p);
}

static void test_parse_ipv4_fragments(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.payload = payload, s.paylen = 100;
	static const uint16_t frags[] = { 0x2000, 0x0001, 0x2001, 0x1fff, 0x6000 };
	for (size_t i = 0; i < sizeof(frags) / sizeof(frags[0]); i++) {
		s.frag = frags[i];
		p = build(&s, 0, &len);
		assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_FRAGMENT);
		free(p);
	}
	s.frag = 0x4000; /* DF alone: a whole packet */
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	free(p);
}

static void test_parse_ipv4_malformed(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.payload = payload, s.paylen = 20;
	p = build(&s, 0, &len); /* 60 bytes */
	for (int ihl = 0; ihl < 5; ihl++) {
		p[0] = (uint8_t)(0x40 | ihl);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	}
	p[0] = 0x4f; /* 60-byte IP header: no room for TCP */
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	p[0] = 0x45;
	/* Total length below the IP header, and below IP + TCP headers. */
	for (uint16_t tl = 0; tl < 40; tl++) {
		pkt_put16(p + 2, tl);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	}
	pkt_put16(p + 2, (uint16_t)len);
	/* Data offset below 5, and beyond the segment. */
	for (int doff = 0; doff < 5; doff++) {
		p[32] = (uint8_t)(doff << 4);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	}
	p[32] = 11 << 4; /* 44 > 40 bytes of TCP */
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	/* Bad TCP options. */
	p[32] = 6 << 4;
	p[40] = 8, p[41] = 0, p[42] = 0, p[43] = 0;
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	p[41] = 5;
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	p[41] = 4;
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_OK);
	free(p);
}

static void test_parse_not_tcp(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.proto = 17;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	p[9] = 1;
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	p[9] = 6;
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_OK);
	for (int v = 0; v < 16; v++) {
		if (v == 4 || v == 6)
			continue;
		p[0] = (uint8_t)(v << 4 | 5);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	}
	free(p);
	s = spec(AF_INET6);
	s.proto = 17;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	p[6] = 58; /* ICMPv6 */
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	p[6] = 59; /* no next header */
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_NOT_TCP);
	free(p);
}

/* Every length short of the whole packet, in a buffer of exactly that
 * length: TRUNCATED (never a read beyond), with the header fields filled
 * in once the TCP header is there. */
static void check_every_truncation(const struct pkt_spec *s)
{
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p = build(s, 0, &len);

	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_OK);
	size_t hdrs = (size_t)seg.iphlen + seg.thlen;
	for (size_t cap = 0; cap < len; cap++) {
		assert_int_equal(parse_exact(p, cap, &seg), TCPAO_SEG_TRUNCATED);
		if (cap >= hdrs) {
			assert_int_equal(seg.seq, s->seq);
			assert_int_equal(seg.sport, s->sport);
			assert_int_equal(seg.iplen, len);
		}
	}
	free(p);
}

static void test_parse_truncated(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	static const uint8_t hbh[8] = { 6, 0, 1, 4, 0, 0, 0, 0 };

	(void)state;
	s.opts = linux_syn_opts, s.optlen = sizeof(linux_syn_opts);
	s.payload = payload, s.paylen = 17;
	check_every_truncation(&s);
	s.ipopts = ts_opts, s.ipoptlen = 8; /* any 8 bytes will do */
	check_every_truncation(&s);
	s = spec(AF_INET6);
	s.opts = ts_opts, s.optlen = sizeof(ts_opts);
	s.payload = payload, s.paylen = 5;
	check_every_truncation(&s);
	s.ext = hbh, s.extlen = sizeof(hbh), s.ext_nh = 0;
	check_every_truncation(&s);
}

/* Ethernet pads short frames: bytes beyond the IP length are ignored. */
static void test_parse_trailer(void **state)
{
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p = build(&s, 64, &len);

	(void)state;
	memset(p + len, 0xee, 64 - len);
	assert_int_equal(tcpao_seg_parse(&seg, p, 64), TCPAO_SEG_OK);
	assert_int_equal(seg.iplen, len);
	assert_int_equal(tcpao_seg_payload_len(&seg), 0);
	assert_true(tcpao_seg_checksum_ok(&seg));
	free(p);
}

/* ---- parsing IPv6 -------------------------------------------------------- */

static void test_parse_ipv6(void **state)
{
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	struct tcpao_addr src;
	size_t len;
	uint8_t *p;

	(void)state;
	s.opts = ts_opts, s.optlen = sizeof(ts_opts);
	s.payload = payload, s.paylen = 1;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_addr_parse(V6SRC, &src, NULL), 0);
	assert_true(tcpao_addr_equal(&seg.saddr, &src));
	assert_int_equal(seg.iphlen, 40);
	assert_int_equal(seg.iplen, len);
	assert_int_equal(seg.tcplen, 33);
	assert_int_equal(seg.thlen, 32);
	assert_true(tcpao_seg_checksum_ok(&seg));
	free(p);
}

/* Hop-by-hop, routing, destination options and AH: all skipped. */
static const uint8_t ext_chain[8 + 24 + 8 + 24] = {
	43, 0, 1, 4, 0, 0, 0, 0,                        /* HBH, PadN */
	60, 2, 4, 0, 0, 0, 0, 0,                        /* routing, 24 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	51, 0, 1, 4, 0, 0, 0, 0,                        /* dest opts */
	6, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1,             /* AH, (4+2)*4 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static void test_parse_ipv6_extensions(void **state)
{
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.payload = payload, s.paylen = 9;
	s.ext = ext_chain, s.extlen = sizeof(ext_chain), s.ext_nh = 0;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_OK);
	assert_int_equal(seg.iphlen, 40 + sizeof(ext_chain));
	assert_int_equal(seg.seq, 1000);
	assert_int_equal(tcpao_seg_payload_len(&seg), 9);
	free(p);
	/* Each kind alone. */
	static const struct { size_t off, len; uint8_t type; } one[] = {
		{ 0, 8, 0 }, { 8, 24, 43 }, { 32, 8, 60 }, { 40, 24, 51 },
	};
	for (size_t i = 0; i < 4; i++) {
		uint8_t ext[24];

		memcpy(ext, ext_chain + one[i].off, one[i].len);
		ext[0] = 6;
		s.ext = ext, s.extlen = one[i].len, s.ext_nh = one[i].type;
		p = build(&s, 0, &len);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_OK);
		assert_int_equal(seg.iphlen, 40 + one[i].len);
		assert_int_equal(tcpao_seg_payload_len(&seg), 9);
		free(p);
	}
}

static void test_parse_ipv6_fragment(void **state)
{
	static const uint8_t frag[8] = { 6, 0, 0, 0, 0, 0, 0, 1 };
	static const uint8_t hbh_frag[16] = { 44, 0, 1, 4, 0, 0, 0, 0,
					      6, 0, 0, 0, 0, 0, 0, 1 };
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	s.payload = payload, s.paylen = 30;
	s.ext = frag, s.extlen = 8, s.ext_nh = 44;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_FRAGMENT);
	free(p);
	s.ext = hbh_frag, s.extlen = 16, s.ext_nh = 0;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_FRAGMENT);
	free(p);
}

static void test_parse_ipv6_malformed(void **state)
{
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;
	uint8_t ext[8 * 12];

	(void)state;
	s.payload = payload, s.paylen = 8;
	p = build(&s, 0, &len);
	/* Payload length too short for a TCP header. */
	for (uint16_t pl = 0; pl < 20; pl++) {
		pkt_put16(p + 4, pl);
		assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	}
	free(p);
	/* An extension header longer than the payload length. */
	memcpy(ext, ext_chain, 8);
	ext[0] = 6;
	ext[1] = 200;
	s.ext = ext, s.extlen = 8, s.ext_nh = 0;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	free(p);
	/* Extension headers to the very end, no room for TCP. */
	ext[1] = 0;
	ext[0] = 6;
	s.paylen = 0;
	p = build(&s, 0, &len);
	pkt_put16(p + 4, 8);
	assert_int_equal(parse_exact(p, 48, &seg), TCPAO_SEG_MALFORMED);
	free(p);
	/* A chain of twelve destination-option headers. */
	for (int i = 0; i < 12; i++) {
		memcpy(ext + 8 * i, ext_chain + 32, 8);
		ext[8 * i] = i == 11 ? 6 : 60;
	}
	s.ext = ext, s.extlen = sizeof(ext), s.ext_nh = 60;
	p = build(&s, 0, &len);
	assert_int_equal(parse_exact(p, len, &seg), TCPAO_SEG_MALFORMED);
	free(p);
}

/* ---- adding the AO option ------------------------------------------------ */

/* A packet in a buffer of cap bytes, parsed. */
struct pkt {
	uint8_t *buf;
	size_t len, cap;
	struct tcpao_seg seg;
};

static void pkt_new(struct pkt *k, const struct pkt_spec *s, size_t extra)
{
	size_t len;
	uint8_t *tmp = build(s, 0, &len);

	k->cap = len + extra;
	k->len = len;
	k->buf = malloc(k->cap);
	assert_non_null(k->buf);
	memcpy(k->buf, tmp, len);
	free(tmp);
	assert_int_equal(tcpao_seg_parse(&k->seg, k->buf, len), TCPAO_SEG_OK);
}

static size_t aligned(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Checks what add_ao made of orig: AO first, then want_opts, the payload
 * untouched, every length field and the IPv4 header checksum right. */
static void check_added(const struct pkt *k, const uint8_t *orig, size_t origlen,
			uint8_t maclen, const uint8_t *want_opts, size_t want_len)
{
	const struct tcpao_seg *g = &k->seg;
	size_t aolen = 4 + (size_t)maclen, hdr = (size_t)g->iphlen + 20;
	size_t origthlen = (size_t)(orig[g->iphlen + 12] >> 4) * 4;
	size_t paylen = origlen - g->iphlen - origthlen;
	struct tcpao_seg check;

	assert_int_equal(g->thlen, 20 + aligned(aolen) + aligned(want_len));
	assert_int_equal(g->iplen, hdr + g->thlen - 20 + paylen);
	assert_int_equal(g->tcp[12] >> 4, g->thlen / 4);
	assert_int_equal(g->tcp[12] & 15, orig[g->iphlen + 12] & 15);
	if (g->saddr.family == AF_INET) {
		assert_int_equal(pkt_get16(k->buf + 2), g->iplen);
		assert_true(pkt_ip4_csum_ok(k->buf));
	} else {
		assert_int_equal(pkt_get16(k->buf + 4), g->iplen - 40);
	}
	/* IP header (but lengths and checksum) and the TCP base header. */
	assert_memory_equal(k->buf + g->iphlen, orig + g->iphlen, 12);
	assert_memory_equal(k->buf + g->iphlen + 13, orig + g->iphlen + 13, 7);
	/* AO first: kind, length, KeyID, RNextKeyID, zero MAC, NOPs. */
	assert_int_equal(g->tcp[20], 29);
	assert_int_equal(g->tcp[21], aolen);
	assert_int_equal(g->tcp[22], 0x3d);
	assert_int_equal(g->tcp[23], 0x54);
	for (size_t i = 4; i < aolen; i++)
		assert_int_equal(g->tcp[20 + i], 0);
	for (size_t i = aolen; i < aligned(aolen); i++)
		assert_int_equal(g->tcp[20 + i], 1);
	assert_memory_equal(g->tcp + 20 + aligned(aolen), want_opts, want_len);
	for (size_t i = want_len; i < aligned(want_len); i++)
		assert_int_equal(g->tcp[20 + aligned(aolen) + i], 1);
	assert_memory_equal(g->tcp + g->thlen, orig + g->iphlen + origthlen, paylen);
	/* The seg view matches the bytes. */
	assert_int_equal(g->opts.ao_off, 20);
	assert_int_equal(g->opts.ao_len, aolen);
	assert_int_equal(tcpao_seg_parse(&check, k->buf, g->iplen), TCPAO_SEG_OK);
	assert_int_equal(check.tcplen, g->tcplen);
	assert_int_equal(check.opts.sack_off, g->opts.sack_off);
	assert_int_equal(check.opts.mss_off, g->opts.mss_off);
}

static void add_and_check(int family, uint8_t flags, const uint8_t *opts,
			  size_t optlen, size_t paylen, uint8_t maclen,
			  const uint8_t *want_opts, size_t want_len)
{
	struct pkt_spec s = spec(family);
	struct pkt k;
	uint8_t *orig;
	size_t origlen;
	int rc;

	s.flags = flags;
	s.opts = opts, s.optlen = optlen;
	s.payload = payload, s.paylen = paylen;
	orig = build(&s, 0, &origlen);
	pkt_new(&k, &s, 40);
	rc = tcpao_seg_add_ao(&k.seg, k.cap, 0x3d, 0x54, maclen);
	assert_int_equal(rc, k.seg.iplen);
	assert_int_equal(rc, origlen + aligned(4 + maclen) + aligned(want_len) - optlen);
	check_added(&k, orig, origlen, maclen, want_opts, want_len);
	tcpao_seg_fix_checksum(&k.seg);
	assert_true(tcpao_seg_checksum_ok(&k.seg));
	assert_int_equal(pkt_tcp_csum(family, k.seg.saddr.bytes, k.seg.daddr.bytes,
				      k.seg.tcp, k.seg.tcplen), 0);
	free(k.buf);
	free(orig);
}

static void test_add_syn(void **state)
{
	static const uint8_t maclens[] = { 10, 12, 16, 1, 4 };

	(void)state;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		for (size_t i = 0; i < sizeof(maclens); i++) {
			add_and_check(family, TCPAO_TH_SYN, linux_syn_opts, 20, 0,
				      maclens[i], linux_syn_opts, 20);
			add_and_check(family, TCPAO_TH_SYN | TCPAO_TH_ACK,
				      linux_syn_opts, 20, 0, maclens[i],
				      linux_syn_opts, 20);
			add_and_check(family, TCPAO_TH_ACK, ts_opts, 12, 1448,
				      maclens[i], ts_opts, 12);
			add_and_check(family, TCPAO_TH_ACK, NULL, 0, 1,
				      maclens[i], NULL, 0);
			add_and_check(family, TCPAO_TH_RST, NULL, 0, 0,
				      maclens[i], NULL, 0);
		}
	}
}

/* A pure ACK with timestamps and three SACK blocks fills the 40 bytes:
 * with AO, SACK blocks go (newest first kept), the AO option never. */
static void test_add_trims_sack(void **state)
{
	uint8_t want[40];

	(void)state;
	for (int f = 0; f < 2; f++) {
		int family = f ? AF_INET6 : AF_INET;

		/* AO 16: 24 bytes left = TS (12) + NOP NOP + one block. */
		memcpy(want, ts_sack3_opts, 24);
		want[15] = 10;
		add_and_check(family, TCPAO_TH_ACK, ts_sack3_opts, 40, 0, 12, want, 24);
		add_and_check(family, TCPAO_TH_ACK, ts_sack3_opts, 40, 0, 10, want, 24);
		/* AO 8: two blocks. */
		memcpy(want, ts_sack3_opts, 32);
		want[15] = 18;
		add_and_check(family, TCPAO_TH_ACK, ts_sack3_opts, 40, 0, 4, want, 32);
		/* AO 20: no block fits; the SACK option goes, the rest stays. */
		memcpy(want, ts_sack3_opts, 14);
		add_and_check(family, TCPAO_TH_ACK, ts_sack3_opts, 40, 0, 16, want, 14);
	}
	/* Four blocks without timestamps: two stay with AO 16. */
	uint8_t sack4[36] = { 1, 1, 5, 34 };
	for (int i = 4; i < 36; i++)
		sack4[i] = (uint8_t)i;
	memcpy(want, sack4, 20);
	want[3] = 18;
	add_and_check(AF_INET, TCPAO_TH_ACK, sack4, 36, 100, 12, want, 20);
}

static void test_add_does_not_fit(void **state)
{
	/* 36 bytes of options that are not SACK: nothing can go. */
	uint8_t opts[36] = { 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6, 253, 24 };
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg before;
	struct pkt k;
	uint8_t *orig;
	size_t origlen;

	(void)state;
	s.opts = opts, s.optlen = sizeof(opts);
	s.payload = payload, s.paylen = 50;
	orig = build(&s, 0, &origlen);
	pkt_new(&k, &s, 64);
	before = k.seg;
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12), -EMSGSIZE);
	assert_memory_equal(k.buf, orig, origlen);
	assert_memory_equal(&k.seg, &before, sizeof(before));
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 16), -EMSGSIZE);
	free(k.buf);
	/* 24 bytes: fits AO 16, not AO 20. */
	opts[13] = 12;
	s.optlen = 24;
	pkt_new(&k, &s, 64);
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 16), -EMSGSIZE);
	int rc = tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12);
	assert_int_equal(rc, k.seg.iplen);
	assert_int_equal(rc, k.len + 16);
	assert_int_equal(k.seg.thlen, 60);
	free(k.buf);
	free(orig);
}

/* The buffer: one byte short fails and leaves the packet as it was; the
 * exact size works (the buffer is exactly cap bytes: ASan checks). */
static void test_add_buffer_size(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		struct pkt_spec s = spec(f ? AF_INET6 : AF_INET);
		struct pkt k;
		uint8_t *orig;
		size_t origlen;

		s.opts = ts_opts, s.optlen = 12;
		s.payload = payload, s.paylen = 77;
		orig = build(&s, 0, &origlen);
		pkt_new(&k, &s, 15);
		assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12), -EMSGSIZE);
		assert_memory_equal(k.buf, orig, origlen);
		free(k.buf);
		pkt_new(&k, &s, 16);
		assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12),
				 (int)origlen + 16);
		free(k.buf);
		free(orig);
	}
	/* The IP length field is 16 bits: no packet beyond 65535 bytes. */
	struct pkt_spec s = spec(AF_INET);
	struct pkt k;
	static uint8_t big[65535];

	s.payload = big, s.paylen = 65535 - 40 - 8;
	pkt_new(&k, &s, 100);
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 4), (int)65535);
	free(k.buf);
	s.paylen++;
	pkt_new(&k, &s, 100);
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 4), -EMSGSIZE);
	free(k.buf);
}

static void test_add_rejects(void **state)
{
	uint8_t ao[16] = { 29, 16, 1, 2 };
	struct pkt_spec s = spec(AF_INET);
	struct pkt k;

	(void)state;
	s.opts = ao, s.optlen = 16;
	pkt_new(&k, &s, 64);
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12), -EINVAL);
	free(k.buf);
	s.optlen = 0;
	pkt_new(&k, &s, 64);
	assert_int_equal(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 37), -EINVAL);
	free(k.buf);
}

/* ---- the round trip ------------------------------------------------------ */

/* original → add_ao → sign → (wire) → verify → strip → fix checksum must
 * give the original, but for the MSS of a SYN, lowered by the aligned AO
 * length so that the local stack leaves room for it. */
static void roundtrip(const struct pkt_spec *s, uint8_t maclen)
{
	struct tcpao_mkt tx_mkt = { .sndid = 0x3d, .rcvid = 0x54, .maclen = maclen,
				    .alg = TCPAO_ALG_HMAC_SHA256, .keylen = 5,
				    .key = "12345" };
	struct tcpao_mkt rx_mkt = tx_mkt;
	struct tcpao_dir tx, rx;
	struct tcpao_pool pool;
	struct pkt k;
	struct tcpao_seg seg;
	uint8_t *orig, *wire;
	size_t origlen;
	bool syn = s->flags & TCPAO_TH_SYN;

	rx_mkt.sndid = 0x54, rx_mkt.rcvid = 0x3d;
	assert_int_equal(tcpao_mkt_check(&tx_mkt), 0);
	assert_int_equal(tcpao_mkt_check(&rx_mkt), 0);
	orig = build(s, 0, &origlen);
	pkt_new(&k, s, 40);
	tcpao_dir_init(&tx, &k.seg);
	tcpao_dir_init(&rx, &k.seg);
	if (!syn) { /* the connection's ISNs, as a SYN would have set them */
		struct tcpao_seg first = k.seg;

		first.flags = TCPAO_TH_SYN;
		first.seq = s->seq - 1;
		tcpao_dir_observe(&tx, &first);
		tcpao_dir_observe(&rx, &first);
		tcpao_dir_set_disn(&tx, s->ack - 1);
		tcpao_dir_set_disn(&rx, s->ack - 1);
	}
	assert_true(tcpao_seg_add_ao(&k.seg, k.cap, 0x3d, 0x54, maclen) > 0);
	assert_int_equal(tcpao_dir_sign(&tx, &tx_mkt, 1, &k.seg, &pool), TCPAO_GOOD);
	tcpao_seg_fix_checksum(&k.seg);

	/* The receiver's copy, exactly as long as the packet. */
	wire = malloc(k.seg.iplen);
	assert_non_null(wire);
	memcpy(wire, k.buf, k.seg.iplen);
	assert_int_equal(tcpao_seg_parse(&seg, wire, k.seg.iplen), TCPAO_SEG_OK);
	assert_true(tcpao_seg_checksum_ok(&seg));
	assert_int_equal(tcpao_dir_verify(&rx, &rx_mkt, 1, &seg, &pool), TCPAO_GOOD);
	assert_int_equal(tcpao_seg_strip_ao(&seg), origlen);
	assert_int_equal(seg.opts.ao_off, 0);
	tcpao_seg_fix_checksum(&seg);
	assert_true(tcpao_seg_checksum_ok(&seg));

	/* What the original would be with the MSS lowered. */
	if (syn && seg.opts.mss_off) {
		uint8_t *th = orig + seg.iphlen, *mss = th + seg.opts.mss_off + 2;

		pkt_put16(mss, (uint16_t)(pkt_get16(mss) - aligned(4 + maclen)));
		pkt_put16(th + 16, 0);
		pkt_put16(th + 16, pkt_tcp_csum(s->family, seg.saddr.bytes,
						seg.daddr.bytes, th,
						origlen - seg.iphlen));
		assert_int_equal(pkt_get16(wire + seg.iphlen + seg.opts.mss_off + 2),
				 1460 - aligned(4 + maclen));
	}
	assert_memory_equal(wire, orig, origlen);
	if (s->family == AF_INET)
		assert_true(pkt_ip4_csum_ok(wire));
	tcpao_dir_wipe(&tx);
	tcpao_dir_wipe(&rx);
	free(wire);
	free(k.buf);
	free(orig);
}

static void test_roundtrip(void **state)
{
	static const uint8_t sack1[12] = { 1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0 };
	static const uint8_t hbh[8] = { 6, 0, 1, 4, 0, 0, 0, 0 };
	static const uint8_t maclens[] = { 10, 12, 16, 1, 5 };
	static const struct {
		uint8_t flags;
		const uint8_t *opts;
		size_t optlen, paylen;
	} shapes[] = {
		{ TCPAO_TH_SYN, linux_syn_opts, 20, 0 },
		{ TCPAO_TH_SYN | TCPAO_TH_ACK, linux_syn_opts, 20, 0 },
		{ TCPAO_TH_ACK, ts_opts, 12, 1448 },
		{ TCPAO_TH_ACK, ts_opts, 12, 0 },
		{ TCPAO_TH_ACK, NULL, 0, 0 },
		{ TCPAO_TH_ACK, NULL, 0, 1 },
		{ TCPAO_TH_ACK, sack1, 12, 0 },
		{ TCPAO_TH_ACK | TCPAO_TH_FIN, ts_opts, 12, 3 },
		{ TCPAO_TH_RST, NULL, 0, 0 },
	};
	int n = 0;

	(void)state;
	for (int f = 0; f < 3; f++) {
		struct pkt_spec s = spec(f ? AF_INET6 : AF_INET);

		if (f == 2)
			s.ext = hbh, s.extlen = 8, s.ext_nh = 0;
		for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
			s.flags = shapes[i].flags;
			s.opts = shapes[i].opts, s.optlen = shapes[i].optlen;
			s.payload = payload, s.paylen = shapes[i].paylen;
			s.ack = s.flags & TCPAO_TH_ACK ? 2000 : 0;
			for (size_t m = 0; m < sizeof(maclens); m++, n++)
				roundtrip(&s, maclens[m]);
		}
	}
	assert_int_equal(n, 3 * 9 * 5);
}

/* A peer may place AO after other options and follow an odd-length AO
 * with another option instead of NOPs: strip removes exactly the AO. */
static void test_strip_peer_layouts(void **state)
{
	uint8_t opts[28];
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	size_t len;
	uint8_t *p;

	(void)state;
	/* NOP NOP TS, then AO 16. */
	memcpy(opts, ts_opts, 12);
	memset(opts + 12, 0, 16);
	opts[12] = 29, opts[13] = 16;
	s.opts = opts, s.optlen = 28;
	s.payload = payload, s.paylen = 20;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_seg_strip_ao(&seg), len - 16);
	assert_int_equal(seg.thlen, 32);
	assert_memory_equal(seg.tcp + 20, ts_opts, 12);
	assert_memory_equal(seg.tcp + 32, payload, 20);
	tcpao_seg_fix_checksum(&seg);
	assert_true(tcpao_seg_checksum_ok(&seg));
	free(p);
	/* SYN: AO 14 then SACK-permitted (no NOPs), MSS. */
	static const uint8_t syn[20] = { 29, 14, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
					 4, 2, 2, 4, 0x05, 0xb4 };
	s.flags = TCPAO_TH_SYN;
	s.opts = syn, s.optlen = 20;
	s.paylen = 0;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_seg_strip_ao(&seg), len - 12);
	assert_int_equal(seg.thlen, 28);
	static const uint8_t left[8] = { 4, 2, 2, 4, 0x05, 0xa4, 1, 1 };
	assert_memory_equal(seg.tcp + 20, left, 8); /* MSS 1460 - 16 */
	free(p);
}

static void test_strip_edge_cases(void **state)
{
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	uint8_t *p, *orig;
	size_t len;

	(void)state;
	/* No AO: nothing changes. */
	s.opts = linux_syn_opts, s.optlen = 20;
	s.flags = TCPAO_TH_SYN;
	orig = build(&s, 0, &len);
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	assert_int_equal(tcpao_seg_strip_ao(&seg), len);
	assert_memory_equal(p, orig, len);
	free(p);
	free(orig);
	/* An MSS smaller than the AO option is left alone; a non-SYN's MSS
	 * option is not touched. */
	uint8_t opts[24] = { 29, 16, 1, 1, [16] = 2, 4, 0, 10, 1, 1, 1, 1 };
	for (int syn = 0; syn < 2; syn++) {
		s.opts = opts, s.optlen = 24;
		s.flags = syn ? TCPAO_TH_SYN : TCPAO_TH_ACK;
		opts[19] = 10;
		p = build(&s, 0, &len);
		assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
		tcpao_seg_strip_ao(&seg);
		assert_int_equal(pkt_get16(seg.tcp + 22), 10);
		free(p);
		opts[19] = 200;
		p = build(&s, 0, &len);
		assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
		tcpao_seg_strip_ao(&seg);
		assert_int_equal(pkt_get16(seg.tcp + 22), syn ? 200 - 16 : 200);
		free(p);
	}
}

/* The MSS of a delivered SYN leaves room for the longest AO option the
 * connection's keys may carry, never less than the SYN's own option. */
static void test_strip_mss_room(void **state)
{
	/* AO with a 4-byte MAC (8 bytes), then MSS 1440. */
	uint8_t opts[12] = { 29, 8, 1, 1, 0, 0, 0, 0, 2, 4, 0x05, 0xa0 };
	static const struct {
		uint8_t flags;
		size_t room;
		uint16_t mss;
	} cases[] = {
		{ TCPAO_TH_SYN, 0, 1440 - 8 },
		{ TCPAO_TH_SYN, 4, 1440 - 8 },   /* less than its own: own */
		{ TCPAO_TH_SYN, 16, 1440 - 16 },
		{ TCPAO_TH_SYN, 20, 1440 - 20 }, /* a 16-byte MAC's option */
		{ TCPAO_TH_SYN | TCPAO_TH_ACK, 20, 1440 - 20 },
		{ TCPAO_TH_ACK, 20, 1440 },      /* only a SYN's MSS */
	};
	struct pkt_spec s = spec(AF_INET6);
	struct tcpao_seg seg;
	uint8_t *p;
	size_t len;

	(void)state;
	assert_int_equal(tcpao_ao_room(1), 8);
	assert_int_equal(tcpao_ao_room(4), 8);
	assert_int_equal(tcpao_ao_room(10), 16);
	assert_int_equal(tcpao_ao_room(12), 16);
	assert_int_equal(tcpao_ao_room(16), 20);
	s.opts = opts, s.optlen = sizeof(opts);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s.flags = cases[i].flags;
		s.ack = s.flags & TCPAO_TH_ACK ? 2000 : 0;
		p = build(&s, 0, &len);
		assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
		assert_int_equal(tcpao_seg_strip_ao_room(&seg, cases[i].room),
				 len - 8);
		assert_int_equal(seg.opts.ao_off, 0);
		assert_int_equal(pkt_get16(seg.tcp + 22), cases[i].mss);
		tcpao_seg_fix_checksum(&seg);
		assert_true(tcpao_seg_checksum_ok(&seg));
		free(p);
	}
	/* An MSS no larger than the room is left alone. */
	opts[10] = 0, opts[11] = 20;
	s.flags = TCPAO_TH_SYN, s.ack = 0;
	p = build(&s, 0, &len);
	assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
	tcpao_seg_strip_ao_room(&seg, 20);
	assert_int_equal(pkt_get16(seg.tcp + 22), 20);
	free(p);
}

/* EOL-terminated lists (BSD stacks pad with EOL): what follows the EOL is
 * dropped on add, and the round trip keeps every option. */
static void test_eol_padded(void **state)
{
	static const uint8_t bsd[24] = { 2, 4, 5, 180, 1, 3, 3, 6, 1, 1, 8, 10,
					 0, 0, 0, 1, 0, 0, 0, 0, 4, 2, 0, 0 };
	struct pkt_spec s = spec(AF_INET);
	struct tcpao_seg seg;
	struct pkt k;

	(void)state;
	s.flags = TCPAO_TH_SYN;
	s.opts = bsd, s.optlen = 24;
	pkt_new(&k, &s, 40);
	assert_true(tcpao_seg_add_ao(&k.seg, k.cap, 1, 2, 12) > 0);
	assert_int_equal(k.seg.thlen, 20 + 16 + 24);
	assert_memory_equal(k.seg.tcp + 36, bsd, 22);
	assert_int_equal(tcpao_seg_strip_ao(&k.seg), k.len);
	assert_int_equal(tcpao_seg_parse(&seg, k.buf, k.len), TCPAO_SEG_OK);
	assert_memory_equal(seg.tcp + 20, bsd, 2);
	assert_memory_equal(seg.tcp + 24, bsd + 4, 18);
	assert_int_equal(pkt_get16(seg.tcp + 22), 1460 - 16);
	free(k.buf);
}

/* ---- checksums ----------------------------------------------------------- */

static void test_checksum_helpers(void **state)
{
	uint8_t buf[300];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0xff - i * 3);
	for (size_t n = 0; n <= sizeof(buf); n++)
		assert_int_equal(tcpao_csum_fold(tcpao_csum_add(0, buf, n)),
				 pkt_fold(pkt_sum(0, buf, n)));
	assert_int_equal(tcpao_csum_fold(0x1fffe), 0xffff);
	assert_int_equal(tcpao_csum_fold(0xffffffff), 0xffff);
	assert_int_equal(tcpao_csum_fold(0), 0);
}

static void test_checksum_detects(void **state)
{
	(void)state;
	for (int f = 0; f < 2; f++) {
		struct pkt_spec s = spec(f ? AF_INET6 : AF_INET);
		struct tcpao_seg seg;
		size_t len;
		uint8_t *p;

		s.opts = ts_opts, s.optlen = 12;
		s.payload = payload, s.paylen = 41; /* odd */
		p = build(&s, 0, &len);
		assert_int_equal(tcpao_seg_parse(&seg, p, len), TCPAO_SEG_OK);
		assert_true(tcpao_seg_checksum_ok(&seg));
		for (size_t i = seg.iphlen; i < len; i++) {
			p[i] ^= 0x10;
			assert_false(tcpao_seg_checksum_ok(&seg));
			p[i] ^= 0x10;
		}
		p[len - 1] ^= 1;
		tcpao_seg_fix_checksum(&seg);
		assert_true(tcpao_seg_checksum_ok(&seg));
		assert_int_equal(pkt_tcp_csum(s.family, seg.saddr.bytes, seg.daddr.bytes,
					      seg.tcp, seg.tcplen), 0);
		free(p);
	}
}

/* RFC 1624: the checksum updated from the header alone equals the full
 * recomputation, over random segments of both families, adding (with a
 * random MAC, any maclen, odd ones included) and stripping the option. */
static uint32_t rng_state = 0x2545f491;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static uint16_t checksum_field(const struct tcpao_seg *seg)
{
	return pkt_get16(seg->tcp + 16);
}

static void random_spec(struct pkt_spec *s, char *src, char *dst, size_t n)
{
	static const uint8_t flags[] = {
		TCPAO_TH_SYN, TCPAO_TH_SYN | TCPAO_TH_ACK, TCPAO_TH_ACK,
		TCPAO_TH_ACK | TCPAO_TH_FIN, TCPAO_TH_RST | TCPAO_TH_ACK,
	};
	uint32_t opts = rng() % 4;

	*s = spec(rng() % 2 ? AF_INET6 : AF_INET);
	if (s->family == AF_INET) {
		snprintf(src, n, "198.18.%u.%u", rng() % 256, rng() % 256);
		snprintf(dst, n, "198.19.%u.%u", rng() % 256, rng() % 256);
	} else {
		snprintf(src, n, "fd00:%x::%x:%x", rng() % 65536,
			 rng() % 65536, rng() % 65536);
		snprintf(dst, n, "fd%02x::%x", rng() % 256, rng() % 65536);
	}
	s->src = src, s->dst = dst;
	s->sport = (uint16_t)rng(), s->dport = (uint16_t)rng();
	s->seq = rng(), s->ack = rng();
	s->flags = flags[rng() % sizeof(flags)];
	s->opts = opts == 1 ? linux_syn_opts : opts == 2 ? ts_opts
		  : opts == 3 ? ts_sack3_opts : NULL;
	s->optlen = opts == 1 ? 20 : opts == 2 ? 12 : opts == 3 ? 40 : 0;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)rng();
	s->payload = payload;
	s->paylen = rng() % 4 ? rng() % 1461 : rng() % 8;
}

/* A segment whose checksum comes out zero is written with 0xffff (Linux
 * 6.12 refuses a received TCP-AO segment whose field is zero): still right
 * for any receiver, by both the full and the incremental computation. */
static void test_checksum_never_zero(void **state)
{
	unsigned int seen = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		char src[64], dst[64];
		struct pkt_spec s;
		struct pkt k;
		uint16_t c, before;
		uint32_t w;
		uint8_t *word;

		random_spec(&s, src, dst, sizeof(src));
		pkt_new(&k, &s, 40);
		if (k.seg.tcplen < k.seg.thlen + 2u) {
			free(k.buf);
			continue;
		}
		/* Add the checksum into a payload word: the sum becomes -0, the
		 * checksum +0 (RFC 1624). */
		tcpao_seg_fix_checksum(&k.seg);
		c = checksum_field(&k.seg);
		word = k.seg.tcp + k.seg.thlen;
		w = (uint32_t)pkt_get16(word) + c;
		pkt_put16(word, (uint16_t)((w & 0xffff) + (w >> 16)));
		tcpao_seg_fix_checksum(&k.seg);
		assert_int_equal(checksum_field(&k.seg), 0xffff);
		assert_true(tcpao_seg_checksum_ok(&k.seg));
		assert_int_equal(pkt_tcp_csum(s.family, k.seg.saddr.bytes, k.seg.daddr.bytes,
					      k.seg.tcp, k.seg.tcplen), 0);
		/* The incremental way, from the right checksum. */
		before = tcpao_seg_header_sum(&k.seg);
		tcpao_seg_update_checksum(&k.seg, before);
		assert_int_equal(checksum_field(&k.seg), 0xffff);
		seen++;
		free(k.buf);
	}
	assert_true(seen > 100);
}

static void test_checksum_incremental(void **state)
{
	unsigned int added = 0, stripped = 0;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		char src[64], dst[64];
		struct pkt_spec s;
		struct pkt k;
		uint8_t maclen = (uint8_t)(1 + rng() % 32);
		uint16_t before, incremental;
		uint8_t *mac;

		random_spec(&s, src, dst, sizeof(src));
		pkt_new(&k, &s, 40);
		before = tcpao_seg_header_sum(&k.seg);
		if (tcpao_seg_add_ao(&k.seg, k.cap, (uint8_t)rng(),
				     (uint8_t)rng(), maclen) < 0) {
			free(k.buf);
			continue;
		}
		mac = k.seg.tcp + k.seg.opts.ao_off + 4;
		for (uint8_t j = 0; j < maclen; j++)
			mac[j] = (uint8_t)rng();
		tcpao_seg_update_checksum(&k.seg, before);
		incremental = checksum_field(&k.seg);
		tcpao_seg_fix_checksum(&k.seg);
		assert_int_equal(incremental, checksum_field(&k.seg));
		assert_int_equal(pkt_tcp_csum(s.family, k.seg.saddr.bytes,
					      k.seg.daddr.bytes, k.seg.tcp,
					      k.seg.tcplen), 0);
		added++;

		/* The receiver's side: parse the signed packet again. */
		assert_int_equal(tcpao_seg_parse(&k.seg, k.buf, k.seg.iplen),
				 TCPAO_SEG_OK);
		before = tcpao_seg_header_sum(&k.seg);
		tcpao_seg_strip_ao(&k.seg);
		tcpao_seg_update_checksum(&k.seg, before);
		incremental = checksum_field(&k.seg);
		tcpao_seg_fix_checksum(&k.seg);
		assert_int_equal(incremental, checksum_field(&k.seg));
		assert_true(tcpao_seg_checksum_ok(&k.seg));
		stripped++;
		free(k.buf);
	}
	/* Most segments take an option; SYNs with 40 bytes of options not. */
	assert_true(added > 2000);
	assert_int_equal(stripped, added);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv4_options),
		cmocka_unit_test(test_parse_ipv4_fragments),
		cmocka_unit_test(test_parse_ipv4_malformed),
		cmocka_unit_test(test_parse_not_tcp),
		cmocka_unit_test(test_parse_truncated),
		cmocka_unit_test(test_parse_trailer),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_parse_ipv6_extensions),
		cmocka_unit_test(test_parse_ipv6_fragment),
		cmocka_unit_test(test_parse_ipv6_malformed),
		cmocka_unit_test(test_add_syn),
		cmocka_unit_test(test_add_trims_sack),
		cmocka_unit_test(test_add_does_not_fit),
		cmocka_unit_test(test_add_buffer_size),
		cmocka_unit_test(test_add_rejects),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_strip_peer_layouts),
		cmocka_unit_test(test_strip_edge_cases),
		cmocka_unit_test(test_strip_mss_room),
		cmocka_unit_test(test_eol_padded),
		cmocka_unit_test(test_checksum_helpers),
		cmocka_unit_test(test_checksum_detects),
		cmocka_unit_test(test_checksum_incremental),
		cmocka_unit_test(test_checksum_never_zero),
	};

	return cmocka_run_group_tests_name("segment", tests, NULL, NULL);
}
