// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Whole IPv4 / IPv6 TCP segments: parsing, the MAC of RFC 5925 section 5.1,
 * inserting and removing the AO option, checksums.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>

#include "tcpao.h"

enum {
	IPPROTO_HOPOPTS_ = 0,
	IPPROTO_ROUTING_ = 43,
	IPPROTO_FRAGMENT_ = 44,
	IPPROTO_AH_ = 51,
	IPPROTO_DSTOPTS_ = 60,
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Finds the TCP header behind an IPv4 header; sets iplen, iphlen, addrs. */
static enum tcpao_seg_status parse_ipv4(struct tcpao_seg *seg, size_t caplen)
{
	const uint8_t *ip = seg->ip;

	if (caplen < 20)
		return TCPAO_SEG_TRUNCATED;
	seg->iphlen = (uint8_t)((ip[0] & 0x0f) * 4);
	seg->iplen = get16(ip + 2);
	if (seg->iphlen < 20 || seg->iplen < seg->iphlen)
		return TCPAO_SEG_MALFORMED;
	seg->saddr.family = seg->daddr.family = AF_INET;
	memcpy(seg->saddr.bytes, ip + 12, 4);
	memcpy(seg->daddr.bytes, ip + 16, 4);
	if (ip[9] != IPPROTO_TCP)
		return TCPAO_SEG_NOT_TCP;
	if (get16(ip + 6) & 0x3fff) /* MF or a fragment offset */
		return TCPAO_SEG_FRAGMENT;
	return TCPAO_SEG_OK;
}

static enum tcpao_seg_status parse_ipv6(struct tcpao_seg *seg, size_t caplen)
{
	const uint8_t *ip = seg->ip;
	size_t off = 40;
	uint8_t next;

	if (caplen < 40)
		return TCPAO_SEG_TRUNCATED;
	seg->iplen = 40 + (size_t)get16(ip + 4);
	seg->saddr.family = seg->daddr.family = AF_INET6;
	memcpy(seg->saddr.bytes, ip + 8, 16);
	memcpy(seg->daddr.bytes, ip + 24, 16);
	next = ip[6];
	for (int hops = 0; next != IPPROTO_TCP; hops++) {
		size_t len;

		if (next == IPPROTO_FRAGMENT_)
			return TCPAO_SEG_FRAGMENT;
		if (next != IPPROTO_HOPOPTS_ && next != IPPROTO_ROUTING_ &&
		    next != IPPROTO_DSTOPTS_ && next != IPPROTO_AH_)
			return TCPAO_SEG_NOT_TCP;
		if (hops > 8)
			return TCPAO_SEG_MALFORMED;
		if (off + 8 > caplen)
			return TCPAO_SEG_TRUNCATED;
		len = next == IPPROTO_AH_ ? ((size_t)ip[off + 1] + 2) * 4
					  : ((size_t)ip[off + 1] + 1) * 8;
		next = ip[off];
		off += len;
		if (off > seg->iplen)
			return TCPAO_SEG_MALFORMED;
	}
	if (off > 255)
		return TCPAO_SEG_MALFORMED;
	seg->iphlen = (uint8_t)off;
	return TCPAO_SEG_OK;
}

static enum tcpao_seg_status parse_tcp(struct tcpao_seg *seg, size_t caplen)
{
	uint8_t *th = seg->ip + seg->iphlen;
	size_t avail = caplen < seg->iplen ? caplen : seg->iplen;

	seg->tcplen = seg->iplen - seg->iphlen;
	if (seg->tcplen < 20)
		return TCPAO_SEG_MALFORMED;
	if (avail < (size_t)seg->iphlen + 20)
		return TCPAO_SEG_TRUNCATED;
	seg->thlen = (uint8_t)((th[12] >> 4) * 4);
	if (seg->thlen < 20 || seg->thlen > seg->tcplen)
		return TCPAO_SEG_MALFORMED;
	if (avail < (size_t)seg->iphlen + seg->thlen)
		return TCPAO_SEG_TRUNCATED;
	seg->tcp = th;
	seg->sport = get16(th);
	seg->dport = get16(th + 2);
	seg->seq = get32(th + 4);
	seg->ack = get32(th + 8);
	seg->flags = th[13];
	if (tcpao_opts_parse(th, seg->thlen, &seg->opts) != TCPAO_OPTS_OK)
		return TCPAO_SEG_MALFORMED;
	return caplen < seg->iplen ? TCPAO_SEG_TRUNCATED : TCPAO_SEG_OK;
}

enum tcpao_seg_status tcpao_seg_parse(struct tcpao_seg *seg, uint8_t *pkt,
				      size_t caplen)
{
	enum tcpao_seg_status st;

	memset(seg, 0, sizeof(*seg));
	seg->ip = pkt;
	if (caplen < 1)
		return TCPAO_SEG_TRUNCATED;
	switch (pkt[0] >> 4) {
	case 4:
		st = parse_ipv4(seg, caplen);
		break;
	case 6:
		st = parse_ipv6(seg, caplen);
		break;
	default:
		return TCPAO_SEG_NOT_TCP;
	}
	if (st != TCPAO_SEG_OK)
		return st;
	return parse_tcp(seg, caplen);
}

size_t tcpao_seg_payload_len(const struct tcpao_seg *seg)
{
	return seg->tcplen - seg->thlen;
}

static size_t pseudo_header(const struct tcpao_seg *seg, uint8_t *ph)
{
	size_t alen = tcpao_addr_len(&seg->saddr);

	memcpy(ph, seg->saddr.bytes, alen);
	memcpy(ph + alen, seg->daddr.bytes, alen);
	if (seg->saddr.family == AF_INET) {
		ph[8] = 0;
		ph[9] = IPPROTO_TCP;
		put16(ph + 10, (uint16_t)seg->tcplen);
		return 12;
	}
	put16(ph + 32, 0);
	put16(ph + 34, (uint16_t)seg->tcplen);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = IPPROTO_TCP;
	return 40;
}

/* The MAC's message up to the payload (RFC 5925 section 5.1) in one
 * buffer: SNE, pseudo-header, TCP header with the checksum and the MAC
 * zeroed (with exclude_opts only the base header and the AO option). One
 * MAC update for all of it instead of seven small ones. */
#define MAC_HEADER_MAX (4 + 40 + 60)

static size_t mac_header(const struct tcpao_seg *seg, uint32_t sne,
			 bool exclude_opts, uint8_t *out)
{
	const uint8_t *th = seg->tcp;
	size_t ao = seg->opts.ao_off, aolen = seg->opts.ao_len;
	uint8_t *p = out, *mac;

	put16(p, (uint16_t)(sne >> 16));
	put16(p + 2, (uint16_t)sne);
	p += 4;
	p += pseudo_header(seg, p);
	memcpy(p, th, 20);
	put16(p + 16, 0); /* checksum */
	p += 20;
	if (exclude_opts) {
		memcpy(p, th + ao, aolen);
		mac = p + TCPAO_OPT_HDRLEN;
		p += aolen;
	} else {
		memcpy(p, th + 20, seg->thlen - 20u);
		mac = p + (ao - 20) + TCPAO_OPT_HDRLEN;
		p += seg->thlen - 20u;
	}
	memset(mac, 0, aolen - TCPAO_OPT_HDRLEN);
	return (size_t)(p - out);
}

void tcpao_seg_mac(const struct tcpao_seg *seg, const struct tcpao_tk *tk,
		   struct tcpao_pool *pool, uint32_t sne, bool exclude_opts,
		   uint8_t *mac, size_t maclen)
{
	uint8_t hdr[MAC_HEADER_MAX];

	tcpao_mac_begin(pool, tk);
	tcpao_mac_update(pool, hdr, mac_header(seg, sne, exclude_opts, hdr));
	tcpao_mac_update(pool, seg->tcp + seg->thlen, tcpao_seg_payload_len(seg));
	tcpao_mac_end(pool, mac, maclen);
}

/* ---- editing ----------------------------------------------------------- */

static void set_lengths(struct tcpao_seg *seg, uint8_t thlen, size_t iplen)
{
	seg->tcplen = iplen - seg->iphlen;
	seg->iplen = iplen;
	seg->thlen = thlen;
	seg->tcp[12] = (uint8_t)((thlen / 4) << 4 | (seg->tcp[12] & 0x0f));
	if (seg->saddr.family == AF_INET) {
		put16(seg->ip + 2, (uint16_t)iplen);
		put16(seg->ip + 10, 0);
		put16(seg->ip + 10, (uint16_t)~tcpao_csum_fold(
			tcpao_csum_add(0, seg->ip, seg->iphlen)));
	} else {
		put16(seg->ip + 4, (uint16_t)(iplen - 40));
	}
}

/* Replaces the options with opts[0..len), moving the payload. */
static int replace_options(struct tcpao_seg *seg, size_t cap,
			   const uint8_t *opts, size_t len)
{
	size_t old_end = (size_t)seg->iphlen + seg->thlen;
	size_t new_end = (size_t)seg->iphlen + 20 + len;
	size_t payload = tcpao_seg_payload_len(seg);

	if (new_end + payload > cap || new_end + payload > 0xffff)
		return -EMSGSIZE;
	memmove(seg->ip + new_end, seg->ip + old_end, payload);
	memcpy(seg->tcp + 20, opts, len);
	set_lengths(seg, (uint8_t)(20 + len), new_end + payload);
	return tcpao_opts_parse(seg->tcp, seg->thlen, &seg->opts) ? -EINVAL : 0;
}

/* Bytes taken by the option at off. The AO option counts with the NOPs
 * that pad it to a word (add_ao and Linux lay it out so), so that removing
 * it gives back the other options exactly as the peer's stack built them. */
static size_t option_span(const struct tcpao_seg *seg, size_t off)
{
	const uint8_t *th = seg->tcp;
	size_t end, pad_end;

	if (th[off] == 1)
		return 1;
	/* Callers only edit parsed segments; never loop on a bad length. */
	if (off + 1 >= seg->thlen || th[off + 1] < 2)
		return seg->thlen - off;
	end = off + th[off + 1];
	if (off != seg->opts.ao_off)
		return th[off + 1];
	pad_end = off + ((th[off + 1] + 3u) & ~3u);
	while (end < pad_end && end < seg->thlen && th[end] == 1)
		end++;
	return end - off;
}

/* Copies the options other than AO (and EOL padding) to out, keeping as
 * many SACK blocks as room allows. Returns the length or -EMSGSIZE. */
static int copy_other_options(const struct tcpao_seg *seg, uint8_t *out,
			      size_t room)
{
	const uint8_t *th = seg->tcp;
	size_t off = 20, n = 0, fixed = 0;
	size_t sack_blocks = 0;

	/* First pass: how much do the options other than SACK take? */
	for (off = 20; off < seg->thlen && th[off] != 0;) {
		size_t len = option_span(seg, off);

		if (off == seg->opts.sack_off)
			sack_blocks = (len - 2) / 8;
		else if (off != seg->opts.ao_off)
			fixed += len;
		off += len;
	}
	if (fixed > room)
		return -EMSGSIZE;
	while (sack_blocks && fixed + 2 + 8 * sack_blocks > room)
		sack_blocks--;
	for (off = 20; off < seg->thlen && th[off] != 0;) {
		size_t len = option_span(seg, off);

		if (off == seg->opts.sack_off) {
			if (sack_blocks) {
				memcpy(out + n, th + off, 2 + 8 * sack_blocks);
				out[n + 1] = (uint8_t)(2 + 8 * sack_blocks);
				n += 2 + 8 * sack_blocks;
			}
		} else if (off != seg->opts.ao_off) {
			memcpy(out + n, th + off, len);
			n += len;
		}
		off += len;
	}
	return (int)n;
}

static size_t pad_to_word(uint8_t *opts, size_t len)
{
	while (len % 4)
		opts[len++] = 1; /* NOP */
	return len;
}

int tcpao_seg_add_ao(struct tcpao_seg *seg, size_t cap, uint8_t keyid,
		     uint8_t rnext, uint8_t maclen)
{
	uint8_t opts[TCPAO_TCP_OPTSPACE];
	size_t aolen = TCPAO_OPT_HDRLEN + (size_t)maclen;
	size_t n;
	int rest, rc;

	if (seg->opts.ao_off || aolen > TCPAO_TCP_OPTSPACE)
		return -EINVAL;
	/* AO first, as Linux places it; then the others, word-aligned. */
	opts[0] = TCPAO_OPT_KIND;
	opts[1] = (uint8_t)aolen;
	opts[2] = keyid;
	opts[3] = rnext;
	memset(opts + 4, 0, maclen);
	n = pad_to_word(opts, aolen);
	rest = copy_other_options(seg, opts + n, sizeof(opts) - n);
	if (rest < 0)
		return rest;
	n = pad_to_word(opts, n + (size_t)rest);
	if (n > sizeof(opts))
		return -EMSGSIZE;
	rc = replace_options(seg, cap, opts, n);
	return rc ? rc : (int)seg->iplen;
}

size_t tcpao_ao_room(uint8_t maclen)
{
	return (TCPAO_OPT_HDRLEN + (size_t)maclen + 3u) & ~(size_t)3u;
}

size_t tcpao_seg_strip_ao(struct tcpao_seg *seg)
{
	return tcpao_seg_strip_ao_room(seg, 0);
}

size_t tcpao_seg_strip_ao_room(struct tcpao_seg *seg, size_t room)
{
	uint8_t opts[TCPAO_TCP_OPTSPACE];
	size_t aolen = (seg->opts.ao_len + 3u) & ~3u;
	int n;

	if (!seg->opts.ao_off)
		return seg->iplen;
	n = copy_other_options(seg, opts, sizeof(opts));
	if (n < 0)
		return seg->iplen;
	if (replace_options(seg, seg->iplen, opts, pad_to_word(opts, (size_t)n)))
		return seg->iplen;
	if (room > aolen)
		aolen = room;
	if ((seg->flags & TCPAO_TH_SYN) && seg->opts.mss_off) {
		uint8_t *mss = seg->tcp + seg->opts.mss_off + 2;
		uint16_t v = get16(mss);

		put16(mss, v > aolen ? (uint16_t)(v - aolen) : v);
	}
	return seg->iplen;
}

/* ---- checksums --------------------------------------------------------- */

/* Sums 32-bit words into 64 bits: since
 * 2^16 = 1 mod 0xffff, the folded result is the one's complement sum of
 * the 16-bit words (RFC 1071), and zero only when they all are. About
 * twice as fast as 16 bits at a time over a full segment. */
uint32_t tcpao_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0;

	for (; len >= 4; len -= 4, p += 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		acc += be32toh(w);
	}
	if (len >= 2) {
		acc += get16(p);
		len -= 2;
		p += 2;
	}
	if (len)
		acc += (uint32_t)p[0] << 8;
	while (acc >> 32)
		acc = (acc & 0xffffffff) + (acc >> 32);
	return sum + tcpao_csum_fold((uint32_t)acc);
}

uint16_t tcpao_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t pseudo_header_sum(const struct tcpao_seg *seg)
{
	size_t alen = tcpao_addr_len(&seg->saddr);
	uint32_t sum = 0;

	sum = tcpao_csum_add(sum, seg->saddr.bytes, alen);
	sum = tcpao_csum_add(sum, seg->daddr.bytes, alen);
	return sum + IPPROTO_TCP + (uint32_t)seg->tcplen;
}

static uint16_t tcp_checksum(const struct tcpao_seg *seg)
{
	uint32_t sum = pseudo_header_sum(seg);

	sum = tcpao_csum_add(sum, seg->tcp, seg->tcplen);
	return (uint16_t)~tcpao_csum_fold(sum);
}

/* A checksum that comes out 0x0000 is written as 0xffff, the other zero
 * of one's complement: every receiver sums the field in and accepts both.
 * Linux 6.12 takes a received TCP-AO segment whose checksum field is zero
 * for one of its own outbound ones (tcp_ao_hash_pseudoheader(): "Can we
 * rely on checksum being zero to mean outbound pkt?") and puts the
 * addresses into the MAC's pseudo-header the other way round, so it
 * refuses such a segment as a bad MAC (1 segment in 65,536). */
static void put_checksum(struct tcpao_seg *seg, uint16_t checksum)
{
	put16(seg->tcp + 16, checksum ? checksum : 0xffff);
}

void tcpao_seg_fix_checksum(struct tcpao_seg *seg)
{
	put16(seg->tcp + 16, 0);
	put_checksum(seg, tcp_checksum(seg));
}

/* RFC 1624: with a right checksum, the payload sums to the complement of
 * the pseudo-header and header (checksum included). The payload moves by
 * whole words when the header changes size, so its sum stays. */
uint16_t tcpao_seg_header_sum(const struct tcpao_seg *seg)
{
	return tcpao_csum_fold(
		tcpao_csum_add(pseudo_header_sum(seg), seg->tcp, seg->thlen));
}

void tcpao_seg_update_checksum(struct tcpao_seg *seg, uint16_t before)
{
	uint32_t sum = pseudo_header_sum(seg) + (uint16_t)~before;

	put16(seg->tcp + 16, 0);
	sum = tcpao_csum_add(sum, seg->tcp, seg->thlen);
	put_checksum(seg, (uint16_t)~tcpao_csum_fold(sum));
}

bool tcpao_seg_checksum_ok(const struct tcpao_seg *seg)
{
	return tcp_checksum(seg) == 0;
}
