// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Writes the captures that tests/verify/test_verify.py runs `tcpao verify`
 * on, into a directory of the build tree:
 *
 *   gen-captures VECTORS OUTDIR          the fixed set (see main)
 *   gen-captures --volume N OUTFILE      one connection of N segments
 *
 * The RFC 9235 packets are written as they are (their MACs come from the
 * RFC, not from us), in every supported link type and file format, and as
 * damaged copies. The SNE captures are signed here with the engine's KDF and
 * MAC, but with an SNE computed here from 64-bit sequence positions, so that
 * they test the verifier's SNE tracking rather than repeat it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"
#include "vectors.h"

/* ---- capture files ------------------------------------------------------ */

enum format { PCAP_USEC, PCAP_NSEC, PCAPNG };

enum {
	LT_NULL = 0, LT_ETHER = 1, LT_RAW = 101, LT_LOOP = 108, LT_SLL = 113,
	LT_IPV4 = 228, LT_IPV6 = 229, LT_SLL2 = 276,
	LT_VLAN = 0x10001, /* Ethernet with two tags (ours, written as LT_ETHER) */
	LT_80211 = 105,    /* unsupported */
};

struct writer {
	FILE *f;
	enum format format;
	int linktype;
	unsigned frames;
};

static void put_le32(FILE *f, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	fwrite(b, 1, 4, f);
}

static void put_le16(FILE *f, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	fwrite(b, 1, 2, f);
}

/* dir/name, in a buffer that the next call reuses. */
static const char *in_dir(const char *dir, const char *name)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int file_linktype(int lt)
{
	return lt == LT_VLAN ? LT_ETHER : lt;
}

static void writer_open(struct writer *w, const char *path,
			enum format format, int linktype)
{
	w->f = fopen(path, "wb");
	if (!w->f) {
		perror(path);
		exit(1);
	}
	w->format = format;
	w->linktype = linktype;
	w->frames = 0;
	if (format == PCAPNG) {
		put_le32(w->f, 0x0a0d0d0a); /* section header block */
		put_le32(w->f, 28);
		put_le32(w->f, 0x1a2b3c4d);
		put_le16(w->f, 1);
		put_le16(w->f, 0);
		put_le32(w->f, 0xffffffff); /* section length: unknown */
		put_le32(w->f, 0xffffffff);
		put_le32(w->f, 28);
		put_le32(w->f, 1);          /* interface description block */
		put_le32(w->f, 20);
		put_le16(w->f, (uint16_t)file_linktype(linktype));
		put_le16(w->f, 0);
		put_le32(w->f, 262144);
		put_le32(w->f, 20);
		return;
	}
	put_le32(w->f, format == PCAP_NSEC ? 0xa1b23c4d : 0xa1b2c3d4);
	put_le16(w->f, 2);
	put_le16(w->f, 4);
	put_le32(w->f, 0);
	put_le32(w->f, 0);
	put_le32(w->f, 262144);
	put_le32(w->f, (uint32_t)file_linktype(linktype));
}

static void writer_close(struct writer *w)
{
	if (fclose(w->f)) {
		perror("fclose");
		exit(1);
	}
}

/* The link-layer header for an IP packet (or, with ethertype set, any
 * Ethernet payload) in w's link type. Returns its length. */
static size_t link_header(const struct writer *w, int ipver, uint16_t ethertype,
			  uint8_t *h)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1 };
	uint16_t type = ethertype ? ethertype : ipver == 6 ? 0x86dd : 0x0800;
	uint32_t af;

	switch (w->linktype) {
	case LT_ETHER:
		memcpy(h, macs, 12);
		h[12] = (uint8_t)(type >> 8), h[13] = (uint8_t)type;
		return 14;
	case LT_VLAN:
		memcpy(h, macs, 12);
		memcpy(h + 12, "\x88\xa8\x00\x64\x81\x00\x00\xc8", 8);
		h[20] = (uint8_t)(type >> 8), h[21] = (uint8_t)type;
		return 22;
	case LT_SLL:
		memset(h, 0, 16);
		h[1] = 4;  /* outgoing */
		h[3] = 1;  /* ARPHRD_ETHER */
		h[5] = 6;
		memcpy(h + 6, macs, 6);
		h[14] = (uint8_t)(type >> 8), h[15] = (uint8_t)type;
		return 16;
	case LT_SLL2:
		memset(h, 0, 20);
		h[0] = (uint8_t)(type >> 8), h[1] = (uint8_t)type;
		h[7] = 2;  /* ifindex */
		h[9] = 1;  /* ARPHRD_ETHER */
		h[11] = 6;
		memcpy(h + 12, macs, 6);
		return 20;
	case LT_NULL: /* host order of a Darwin capture: AF_INET6 is 30 */
		af = ipver == 6 ? 30 : 2;
		memcpy(h, &af, 4);
		return 4;
	case LT_LOOP: /* network order, OpenBSD: AF_INET6 is 24 */
		af = ipver == 6 ? 24 : 2;
		h[0] = 0, h[1] = 0, h[2] = 0, h[3] = (uint8_t)af;
		return 4;
	}
	return 0;
}

/* Writes a frame holding data (an IP packet unless ethertype is given);
 * only the first caplen bytes of data are captured. */
static void write_frame(struct writer *w, const uint8_t *data, size_t len,
			size_t caplen, uint16_t ethertype)
{
	uint8_t frame[70000];
	size_t hl = link_header(w, data[0] >> 4, ethertype, frame);
	uint64_t usec = 1700000000ULL * 1000000 + 1000ULL * w->frames++;
	size_t cl = hl + caplen, wl = hl + len;

	memcpy(frame + hl, data, caplen);
	if (w->format == PCAPNG) {
		size_t padded = (cl + 3) & ~(size_t)3;

		put_le32(w->f, 6); /* enhanced packet block */
		put_le32(w->f, (uint32_t)(32 + padded));
		put_le32(w->f, 0);
		put_le32(w->f, (uint32_t)(usec >> 32));
		put_le32(w->f, (uint32_t)usec);
		put_le32(w->f, (uint32_t)cl);
		put_le32(w->f, (uint32_t)wl);
		memset(frame + cl, 0, padded - cl);
		fwrite(frame, 1, padded, w->f);
		put_le32(w->f, (uint32_t)(32 + padded));
		return;
	}
	put_le32(w->f, (uint32_t)(usec / 1000000));
	put_le32(w->f, (uint32_t)(usec % 1000000) *
			(w->format == PCAP_NSEC ? 1000 : 1));
	put_le32(w->f, (uint32_t)cl);
	put_le32(w->f, (uint32_t)wl);
	fwrite(frame, 1, cl, w->f);
}

static void write_ip(struct writer *w, const uint8_t *ip, size_t len)
{
	write_frame(w, ip, len, len, 0);
}

/* ---- the RFC 9235 packets ----------------------------------------------- */

static struct vector vec[64];

static const struct { int lt; enum format format; const char *suffix; } variants[] = {
	{ LT_RAW, PCAP_USEC, "raw.pcap" },
	{ -1, PCAP_USEC, "ipvx.pcap" }, /* LINKTYPE_IPV4 or LINKTYPE_IPV6 */
	{ LT_ETHER, PCAP_USEC, "ether.pcap" },
	{ LT_VLAN, PCAP_USEC, "vlan.pcap" },
	{ LT_SLL, PCAP_USEC, "sll.pcap" },
	{ LT_SLL2, PCAP_USEC, "sll2.pcap" },
	{ LT_NULL, PCAP_USEC, "null.pcap" },
	{ LT_LOOP, PCAP_USEC, "loop.pcap" },
	{ LT_ETHER, PCAP_NSEC, "nsec.pcap" },
	{ LT_ETHER, PCAPNG, "ether.pcapng" },
	{ LT_SLL2, PCAPNG, "sll2.pcapng" },
};

/* "4.1.1" -> "4-1" */
static void case_tag(const struct vector *v, char *tag)
{
	sprintf(tag, "%d-%d", v->section, v->exclude_opts ? 2 : 1);
}

static size_t tcp_offset(const uint8_t *ip)
{
	return ip[0] >> 4 == 4 ? (size_t)(ip[0] & 0x0f) * 4 : 40;
}

/* Frames that are not TCP-AO: an ARP request, an IS-IS hello (802.3 with
 * LLC), a UDP datagram and a plain TCP segment. Ethernet files only. */
static void write_other_traffic(struct writer *w)
{
	static const uint8_t arp[28] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	static const uint8_t isis[27] = { 0xfe, 0xfe, 0x03, 0x83, 0x1b, 0x01 };
	uint8_t udp[28] = { 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0,
			    198, 18, 0, 1, 198, 18, 0, 2, 0x30, 0x39, 0, 53, 0, 8 };
	uint8_t tcp[40] = { 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0,
			    198, 18, 0, 1, 198, 18, 0, 2, 0x9c, 0x40, 0, 22,
			    0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff };

	write_frame(w, arp, sizeof(arp), sizeof(arp), 0x0806);
	write_frame(w, isis, sizeof(isis), sizeof(isis), sizeof(isis));
	write_ip(w, udp, sizeof(udp));
	write_ip(w, tcp, sizeof(tcp));
}

static void write_case_variants(const char *dir, const struct vector *v4)
{
	char tag[8], name[64];

	case_tag(v4, tag);
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct writer w;
		int lt = variants[i].lt;

		if (lt < 0)
			lt = v4[0].pkt[0] >> 4 == 4 ? LT_IPV4 : LT_IPV6;
		snprintf(name, sizeof(name), "rfc-%s.%s", tag, variants[i].suffix);
		writer_open(&w, in_dir(dir, name), variants[i].format, lt);
		if (lt == LT_ETHER && variants[i].format == PCAP_USEC)
			write_other_traffic(&w);
		for (int p = 0; p < 4; p++)
			write_ip(&w, v4[p].pkt, v4[p].len);
		writer_close(&w);
	}
}

/* A copy of the four packets with one bit of packet `which` (1-4) flipped
 * at byte offset `at` from the TCP header (negative: from the end). */
static void write_flipped(const char *dir, const struct vector *v4,
			  const char *what, int which, long at)
{
	char tag[8], name[64];
	struct writer w;

	case_tag(v4, tag);
	snprintf(name, sizeof(name), "flip-%s-%s.pcap", tag, what);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	for (int p = 0; p < 4; p++) {
		uint8_t pkt[512];
		size_t len = v4[p].len;

		memcpy(pkt, v4[p].pkt, len);
		if (p + 1 == which) {
			size_t off = at < 0 ? len - (size_t)-at
					    : tcp_offset(pkt) + (size_t)at;
			pkt[off] ^= 0x01;
		}
		write_ip(&w, pkt, len);
	}
	writer_close(&w);
}

/* Offset of the AO option in an RFC packet's TCP header. */
static size_t ao_offset(const uint8_t *pkt)
{
	struct tcpao_seg seg;
	uint8_t copy[512];

	memcpy(copy, pkt, 512);
	tcpao_seg_parse(&seg, copy, sizeof(copy));
	return seg.opts.ao_off;
}

/* The four packets and packet 4 again without its AO option: a segment
 * without AO on a TCP-AO connection. */
static void write_unsigned(const char *dir, const struct vector *v4)
{
	char tag[8], name[64];
	struct tcpao_seg seg;
	uint8_t pkt[512];
	struct writer w;
	size_t len;

	case_tag(v4, tag);
	snprintf(name, sizeof(name), "unsigned-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	for (int p = 0; p < 4; p++)
		write_ip(&w, v4[p].pkt, v4[p].len);
	memcpy(pkt, v4[3].pkt, v4[3].len);
	tcpao_seg_parse(&seg, pkt, v4[3].len);
	len = tcpao_seg_strip_ao(&seg);
	tcpao_seg_fix_checksum(&seg);
	write_ip(&w, pkt, len);
	writer_close(&w);
}

static void write_damaged(const char *dir, const struct vector *v4)
{
	const uint8_t *p3 = v4[2].pkt;
	size_t ao = ao_offset(p3);
	char tag[8], name[64];
	struct writer w;

	write_flipped(dir, v4, "syn", 1, 14);          /* window */
	write_flipped(dir, v4, "synack", 2, 14);
	write_flipped(dir, v4, "header", 3, 14);
	write_flipped(dir, v4, "option", 3, 24);       /* TSval (not AO) */
	write_flipped(dir, v4, "mac", 3, (long)ao + 8); /* the MAC itself */
	write_flipped(dir, v4, "payload", 4, -1);
	write_flipped(dir, v4, "address", 4, -(long)v4[3].len + 12); /* saddr */

	case_tag(v4, tag);
	/* Captures that start after the SYN, or after the SYN-ACK. */
	snprintf(name, sizeof(name), "nosyn-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	for (int p = 1; p < 4; p++)
		write_ip(&w, v4[p].pkt, v4[p].len);
	writer_close(&w);
	snprintf(name, sizeof(name), "nohandshake-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	for (int p = 2; p < 4; p++)
		write_ip(&w, v4[p].pkt, v4[p].len);
	writer_close(&w);

	/* A SYN with another ISN (and so a bad MAC) in mid-connection. */
	snprintf(name, sizeof(name), "forged-syn-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	for (int p = 0; p < 4; p++) {
		uint8_t pkt[512];

		write_ip(&w, v4[p].pkt, v4[p].len);
		if (p != 1)
			continue;
		memcpy(pkt, v4[0].pkt, v4[0].len);
		pkt[tcp_offset(pkt) + 7] ^= 0x40; /* sequence number */
		write_ip(&w, pkt, v4[0].len);
	}
	writer_close(&w);

	write_unsigned(dir, v4);

	/* A snaplen that cuts the payload of the data segments, and one that
	 * cuts packet 3 inside its options, before the AO option. */
	snprintf(name, sizeof(name), "snaplen-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_ETHER);
	for (int p = 0; p < 4; p++)
		write_frame(&w, v4[p].pkt, v4[p].len,
			    p < 2 ? v4[p].len : v4[p].len - 20, 0);
	writer_close(&w);
	snprintf(name, sizeof(name), "snaphdr-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_SLL);
	for (int p = 0; p < 4; p++)
		write_frame(&w, v4[p].pkt, v4[p].len,
			    p == 2 ? tcp_offset(p3) + ao - 2 : v4[p].len, 0);
	writer_close(&w);
}

/* Packet 3 of a case with its options or IP header broken in different
 * ways, after a good handshake. IPv4 cases with options included (the TS
 * option sits in front of AO there: NOP NOP TS, 12 bytes at offset 20). */
static void write_malformed(const char *dir, const struct vector *v4)
{
	static const uint8_t bad_ao_len[12] = { 1, 1, 29, 3, 0, 0, 0, 0, 0, 0, 1, 1 };
	static const uint8_t second_ao[12] = { 29, 12, 61, 84 };
	static const uint8_t md5[12] = { 19, 12 };
	const struct vector *p3 = &v4[2];
	size_t th = tcp_offset(p3->pkt);
	char tag[8], name[64];
	uint8_t pkt[512];
	struct writer w;

	case_tag(v4, tag);
	snprintf(name, sizeof(name), "malformed-%s.pcap", tag);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	write_ip(&w, v4[0].pkt, v4[0].len);
	write_ip(&w, v4[1].pkt, v4[1].len);
	for (int k = 0; k < 3; k++) {
		const uint8_t *opts = k == 0 ? bad_ao_len : k == 1 ? second_ao : md5;

		memcpy(pkt, p3->pkt, p3->len);
		memcpy(pkt + th + 20, opts, 12);
		write_ip(&w, pkt, p3->len);
	}
	memcpy(pkt, p3->pkt, p3->len);  /* data offset beyond the segment */
	pkt[2] = 0, pkt[3] = (uint8_t)(th + 44);
	write_ip(&w, pkt, th + 44);
	memcpy(pkt, p3->pkt, p3->len);  /* first fragment (MF) */
	pkt[6] |= 0x20;
	write_ip(&w, pkt, p3->len);
	memcpy(pkt, p3->pkt, p3->len);  /* a later fragment */
	pkt[6] = 0x00, pkt[7] = 0x10;
	write_ip(&w, pkt, p3->len);
	write_ip(&w, v4[3].pkt, v4[3].len);
	writer_close(&w);
}

/* ---- signed synthetic connections (SNE) --------------------------------- */

struct synth {
	struct tcpao_mkt mkt;   /* as the client has it */
	struct tcpao_addr addr[2];
	uint16_t port[2];
	uint64_t pos[2];        /* next sequence position, 64-bit */
	uint32_t isn[2];
	struct writer *w;
	FILE *expect;           /* "FRAME SNE" per segment, or NULL */
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Builds, signs and writes one segment from side s: sequence position pos
 * (64-bit: its SNE is pos >> 32), payload of len bytes. */
static void synth_send(struct synth *c, int s, uint64_t pos, uint8_t flags,
		       size_t paylen)
{
	bool v6 = c->addr[0].family == AF_INET6;
	size_t iph = v6 ? 40 : 20, thl = 20 + 4 + c->mkt.maclen;
	size_t len = iph + thl + paylen;
	uint8_t pkt[2048] = { 0 }, *th = pkt + iph;
	struct tcpao_ctx ctx = { 0 };
	struct tcpao_pool pool;
	struct tcpao_seg seg;
	struct tcpao_tk tk;
	uint32_t sne = (uint32_t)(pos >> 32);

	thl = (thl + 3) & ~(size_t)3;
	len = iph + thl + paylen;
	if (v6) {
		pkt[0] = 0x60;
		pkt[4] = (uint8_t)((len - 40) >> 8), pkt[5] = (uint8_t)(len - 40);
		pkt[6] = IPPROTO_TCP, pkt[7] = 64;
		memcpy(pkt + 8, c->addr[s].bytes, 16);
		memcpy(pkt + 24, c->addr[!s].bytes, 16);
	} else {
		pkt[0] = 0x45;
		pkt[2] = (uint8_t)(len >> 8), pkt[3] = (uint8_t)len;
		pkt[6] = 0x40, pkt[8] = 64, pkt[9] = IPPROTO_TCP;
		memcpy(pkt + 12, c->addr[s].bytes, 4);
		memcpy(pkt + 16, c->addr[!s].bytes, 4);
	}
	if (!v6) {
		uint16_t sum = (uint16_t)~tcpao_csum_fold(tcpao_csum_add(0, pkt, 20));

		pkt[10] = (uint8_t)(sum >> 8), pkt[11] = (uint8_t)sum;
	}
	th[0] = (uint8_t)(c->port[s] >> 8), th[1] = (uint8_t)c->port[s];
	th[2] = (uint8_t)(c->port[!s] >> 8), th[3] = (uint8_t)c->port[!s];
	put32(th + 4, (uint32_t)pos);
	if (flags & TCPAO_TH_ACK)
		put32(th + 8, (uint32_t)c->pos[!s]);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = flags;
	th[14] = 0xff, th[15] = 0xff;
	th[20] = TCPAO_OPT_KIND;
	th[21] = (uint8_t)(4 + c->mkt.maclen);
	th[22] = s ? c->mkt.rcvid : c->mkt.sndid;
	th[23] = s ? c->mkt.sndid : c->mkt.rcvid;
	for (size_t i = 24 + c->mkt.maclen; i < thl; i++)
		th[i] = 1; /* NOP */
	for (size_t i = 0; i < paylen; i++)
		th[thl + i] = (uint8_t)(i * 7 + pos);
	if (tcpao_seg_parse(&seg, pkt, len) != TCPAO_SEG_OK) {
		fprintf(stderr, "gen-captures: built a bad segment\n");
		exit(1);
	}
	ctx.saddr = c->addr[s];
	ctx.daddr = c->addr[!s];
	ctx.sport = c->port[s];
	ctx.dport = c->port[!s];
	ctx.sisn = c->isn[s];
	ctx.disn = (flags & (TCPAO_TH_SYN | TCPAO_TH_ACK)) == TCPAO_TH_SYN ? 0 : c->isn[!s];
	tcpao_tk_derive(&tk, &c->mkt, &ctx);
	tcpao_seg_mac(&seg, &tk, &pool, sne,
		      c->mkt.flags & TCPAO_MKT_EXCLUDE_OPT,
		      th + 24, c->mkt.maclen);
	tcpao_seg_fix_checksum(&seg);
	tcpao_tk_wipe(&tk);
	write_ip(c->w, pkt, len);
	if (c->expect)
		fprintf(c->expect, "%u %u\n", c->w->frames, sne);
}

static void synth_init(struct synth *c, const char *spec, const char *a0,
		       const char *a1, uint32_t isn0, uint32_t isn1)
{
	char err[128];

	memset(c, 0, sizeof(*c));
	if (tcpao_mkt_parse(spec, &c->mkt, err, sizeof(err)) ||
	    tcpao_addr_parse(a0, &c->addr[0], NULL) ||
	    tcpao_addr_parse(a1, &c->addr[1], NULL)) {
		fprintf(stderr, "gen-captures: %s\n", err);
		exit(1);
	}
	c->port[0] = 40000;
	c->port[1] = 179;
	c->isn[0] = isn0;
	c->isn[1] = isn1;
}

/* The three-way handshake; positions start at the ISNs. */
static void synth_handshake(struct synth *c)
{
	c->pos[0] = c->isn[0];
	c->pos[1] = c->isn[1];
	synth_send(c, 0, c->pos[0]++, TCPAO_TH_SYN, 0);
	synth_send(c, 1, c->pos[1]++, TCPAO_TH_SYN | TCPAO_TH_ACK, 0);
	synth_send(c, 0, c->pos[0], TCPAO_TH_ACK, 0);
}

/* Both directions cross 2^32: the client four times (steps of 1.5 GB, each
 * within the 2 GB window), the server once; retransmissions of segments
 * from before a wrap arrive after it. */
static void write_sne(const char *dir, const char *name, const char *spec,
		      const char *a0, const char *a1)
{
	struct synth c;
	struct writer w;
	uint64_t step = 1500000000;
	char expect[256];

	synth_init(&c, spec, a0, a1, 0xffffff00u, 0xfffffff0u);
	writer_open(&w, in_dir(dir, name), PCAP_USEC, LT_RAW);
	snprintf(expect, sizeof(expect), "%s.expect", name);
	c.expect = fopen(in_dir(dir, expect), "w");
	if (!c.expect) {
		perror(expect);
		exit(1);
	}
	c.w = &w;
	synth_handshake(&c);
	for (int i = 0; i < 12; i++) {
		uint64_t before = c.pos[0];

		synth_send(&c, 0, c.pos[0], TCPAO_TH_ACK | 0x08, 100);
		c.pos[0] += 100;
		synth_send(&c, 1, c.pos[1], TCPAO_TH_ACK | 0x08, 10);
		c.pos[1] += 10;
		if (i % 4 == 3) /* a retransmission of the segment before */
			synth_send(&c, 0, before - step - 100,
				   TCPAO_TH_ACK | 0x08, 100);
		c.pos[0] += step;
	}
	fclose(c.expect);
	writer_close(&w);
	tcpao_mkt_wipe(&c.mkt);
}

/* One connection of n segments, for timing (SNE 0 throughout). */
static void write_volume(const char *path, long n)
{
	struct synth c;
	struct writer w;

	synth_init(&c, "sndid=61,rcvid=84,alg=hmac(sha1),secret=testvector",
		   "198.18.0.1", "198.18.0.2", 1000, 2000);
	writer_open(&w, path, PCAP_USEC, LT_RAW);
	c.w = &w;
	synth_handshake(&c);
	for (long i = 3; i < n; i++) {
		synth_send(&c, 0, c.pos[0], TCPAO_TH_ACK | 0x08, 100);
		c.pos[0] += 100;
	}
	writer_close(&w);
	tcpao_mkt_wipe(&c.mkt);
}

/* ---- main --------------------------------------------------------------- */

static void write_unsupported(const char *dir)
{
	struct writer w;

	writer_open(&w, in_dir(dir, "linktype-80211.pcap"), PCAP_USEC, LT_80211);
	writer_close(&w);
}

int main(int argc, char **argv)
{
	int n;

	if (argc == 4 && !strcmp(argv[1], "--volume")) {
		write_volume(argv[3], strtol(argv[2], NULL, 10));
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "usage: gen-captures VECTORS OUTDIR | --volume N FILE\n");
		return 2;
	}
	n = vectors_load(argv[1], vec, 64);
	if (n != 32) {
		fprintf(stderr, "gen-captures: %s: %d vectors, want 32\n", argv[1], n);
		return 1;
	}
	for (int i = 0; i < n; i += 4) {
		write_case_variants(argv[2], &vec[i]);
		write_damaged(argv[2], &vec[i]);
		if (vec[i].section == 4 && !vec[i].exclude_opts)
			write_malformed(argv[2], &vec[i]);
	}
	write_sne(argv[2], "sne-v4.pcap",
		  "sndid=61,rcvid=84,alg=hmac(sha1),secret=testvector",
		  "198.18.0.1", "198.18.0.2");
	write_sne(argv[2], "sne-v6.pcap",
		  "sndid=61,rcvid=84,alg=cmac(aes128),secret=testvector,exclude-options",
		  "fd00::1", "fd00::2");
	write_unsupported(argv[2]);
	return 0;
}
