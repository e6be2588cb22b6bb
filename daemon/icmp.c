// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * ICMP errors about AO connections (RFC 5925 section 7.8).
 *
 * Hard errors (ICMPv4 destination unreachable codes 2-4 except 4 below,
 * ICMPv6 destination unreachable codes 1 and 4) that quote a segment of an
 * AO connection are dropped and counted (TCPAODroppedIcmps) unless the
 * policy entry accepts ICMPs. As Linux, only in synchronized states: a
 * connection that is still opening may be refused.
 *
 * The quoted segment is found behind IPv6 extension headers (hop-by-hop,
 * routing, destination options, fragment, AH), so that they do not hide
 * a hard error from the filter. An ICMP error that arrives in fragments
 * (its first fragment: later ones carry no ICMP header and are useless
 * without it) is never checked, as we do not reassemble: it is dropped
 * when it quotes an AO peer, or when its quote cannot be read; likewise
 * an error whose quote names an AO peer but whose ports cannot be read.
 * Counted in TCPAODroppedIcmps and TCPAODroppedIcmpsUnchecked.
 *
 * Path MTU (ICMPv4 fragmentation needed, ICMPv6 packet too big) is always
 * let through, with the MTU it announces lowered by the AO option's length,
 * so that the kernel sizes its segments to leave room for the option we
 * add. This differs from Linux, which drops fragmentation-needed on an AO
 * socket without accept_icmps: for a router, a BGP session that survives a
 * path MTU drop is worth more than ignoring a message whose worst forged
 * effect is smaller segments (the kernel never goes below its min_pmtu).
 */
#include <string.h>

#include "log.h"
#include "pmtu.h"
#include "worker.h"

#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP6_DST_UNREACH 1
#define ICMP6_PACKET_TOO_BIG 2

/* What an ICMP error says and which TCP segment it quotes. */
struct icmp_error {
	uint8_t *icmp;
	size_t icmplen;
	uint8_t type, code;
	bool v6;
	bool pmtu;                  /* frag-needed / packet-too-big */
	bool hard;                  /* a hard error RFC 5925 7.8 names */
	bool fragmented;            /* the first fragment of an ICMP error */
	struct flow_key key;        /* the quoted segment's flow */
	struct tcpao_addr outer_src, outer_dst;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* IPv6 extension headers walked to the upper layer (RFC 8200 4.1). */
#define NH_HOPOPTS 0
#define NH_ROUTING 43
#define NH_FRAGMENT 44
#define NH_AH 51
#define NH_DSTOPTS 60
#define NH_MAX_WALK 8

struct ip6_upper {
	size_t off;        /* of the upper-layer header */
	uint8_t proto;
	bool frag;         /* a fragment header was seen */
	bool later_frag;   /* ... with a non-zero offset: no upper header */
};

static bool is_ext(uint8_t nh)
{
	return nh == NH_HOPOPTS || nh == NH_ROUTING || nh == NH_FRAGMENT ||
	       nh == NH_AH || nh == NH_DSTOPTS;
}

/* The length of the extension header at p (of type nh). */
static size_t ext_len(uint8_t nh, const uint8_t *p)
{
	if (nh == NH_FRAGMENT)
		return 8;
	if (nh == NH_AH)
		return ((size_t)p[1] + 2) * 4;
	return ((size_t)p[1] + 1) * 8;
}

/* False when the chain does not fit in len or is too long to walk. */
static bool ip6_walk(struct ip6_upper *u, const uint8_t *p, size_t len)
{
	uint8_t nh = p[6];
	size_t off = 40;

	memset(u, 0, sizeof(*u));
	for (int n = 0; n <= NH_MAX_WALK && off <= len; n++) {
		uint8_t next;

		if (!is_ext(nh)) {
			u->off = off;
			u->proto = nh;
			return true;
		}
		if (n == NH_MAX_WALK || off + 8 > len)
			return false;
		if (nh == NH_FRAGMENT) {
			u->frag = true;
			u->later_frag |= (get16(p + off + 2) & 0xfff8) != 0;
		}
		next = p[off];
		off += ext_len(nh, p + off);
		nh = next;
	}
	return false;
}

enum quote {
	QUOTE_NONE,     /* no IP header to read (absent, cut short) */
	QUOTE_OTHER,    /* not an error quoting a TCP segment */
	QUOTE_TCP,      /* e->key is the quoted segment's flow */
	QUOTE_UNKNOWN,  /* IP, but its TCP ports cannot be read: only
			 * e->key.remote (the quoted destination) is set */
};

static void quote_addrs(struct icmp_error *e, const uint8_t *in, int family)
{
	size_t alen = family == AF_INET6 ? 16 : 4;
	size_t at = family == AF_INET6 ? 8 : 12;

	e->key.local.family = e->key.remote.family = (uint16_t)family;
	memcpy(e->key.local.bytes, in + at, alen);
	memcpy(e->key.remote.bytes, in + at + alen, alen);
}

/* The quoted header: our own segment, so its source is the local side.
 * Extension headers are walked, so that a hard error behind them meets
 * the same filter. */
static enum quote quoted_tcp(struct icmp_error *e, const uint8_t *in,
			     size_t len)
{
	struct ip6_upper u;
	size_t hl;

	if (len < (e->v6 ? 40u : 20u) || (in[0] >> 4) != (e->v6 ? 6 : 4))
		return QUOTE_NONE;
	if (e->v6) {
		quote_addrs(e, in, AF_INET6);
		if (!ip6_walk(&u, in, len) || u.later_frag)
			return QUOTE_UNKNOWN;
		if (u.proto != IPPROTO_TCP)
			return QUOTE_OTHER;
		hl = u.off;
	} else {
		hl = (size_t)(in[0] & 0x0f) * 4;
		if (hl < 20)
			return QUOTE_NONE;
		quote_addrs(e, in, AF_INET);
		if (in[9] != IPPROTO_TCP)
			return QUOTE_OTHER;
		if (get16(in + 6) & 0x1fff)
			return QUOTE_UNKNOWN; /* a later fragment: no ports */
	}
	if (len < hl + 4)
		return QUOTE_UNKNOWN;
	e->key.lport = get16(in + hl);
	e->key.rport = get16(in + hl + 2);
	return QUOTE_TCP;
}

/* The ICMP message of an IPv4 or IPv6 packet: its offset, 0 when it has
 * none (another protocol, a later fragment). Sets e->fragmented for the
 * first fragment of an ICMP message, which we never reassemble. */
static size_t icmp_offset(struct icmp_error *e, const uint8_t *pkt,
			  size_t len)
{
	struct ip6_upper u;
	size_t hl;

	if (e->v6) {
		if (len < 40 || !ip6_walk(&u, pkt, len) || u.later_frag ||
		    u.proto != IPPROTO_ICMPV6)
			return 0;
		e->fragmented = u.frag;
		hl = u.off;
	} else {
		hl = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < 20 || hl < 20 || pkt[9] != IPPROTO_ICMP ||
		    (get16(pkt + 6) & 0x1fff))
			return 0;
		e->fragmented = (get16(pkt + 6) & 0x2000) != 0; /* MF */
	}
	return len >= hl + 8 ? hl : 0;
}

static enum quote parse(struct icmp_error *e, uint8_t *pkt, size_t len)
{
	size_t hl;

	memset(e, 0, sizeof(*e));
	if (len < 1)
		return QUOTE_OTHER;
	e->v6 = (pkt[0] >> 4) == 6;
	if (!e->v6 && (pkt[0] >> 4) != 4)
		return QUOTE_OTHER;
	hl = icmp_offset(e, pkt, len);
	if (!hl)
		return QUOTE_OTHER;
	e->icmp = pkt + hl;
	e->icmplen = len - hl;
	e->type = e->icmp[0];
	e->code = e->icmp[1];
	if (e->v6) {
		e->pmtu = e->type == ICMP6_PACKET_TOO_BIG;
		e->hard = e->type == ICMP6_DST_UNREACH &&
			  (e->code == 1 || e->code == 4);
		e->outer_src.family = e->outer_dst.family = AF_INET6;
		memcpy(e->outer_src.bytes, pkt + 8, 16);
		memcpy(e->outer_dst.bytes, pkt + 24, 16);
	} else {
		e->pmtu = e->type == ICMP_DEST_UNREACH &&
			  e->code == ICMP_FRAG_NEEDED;
		e->hard = e->type == ICMP_DEST_UNREACH &&
			  (e->code == 2 || e->code == 3);
		e->outer_src.family = e->outer_dst.family = AF_INET;
		memcpy(e->outer_src.bytes, pkt + 12, 4);
		memcpy(e->outer_dst.bytes, pkt + 16, 4);
	}
	return quoted_tcp(e, e->icmp + 8, e->icmplen - 8);
}

static void icmp_checksum(struct icmp_error *e)
{
	uint32_t sum = 0;

	put16(e->icmp + 2, 0);
	if (e->v6) {
		sum = tcpao_csum_add(sum, e->outer_src.bytes, 16);
		sum = tcpao_csum_add(sum, e->outer_dst.bytes, 16);
		sum += (uint32_t)e->icmplen + IPPROTO_ICMPV6;
	}
	sum = tcpao_csum_add(sum, e->icmp, e->icmplen);
	put16(e->icmp + 2, (uint16_t)~tcpao_csum_fold(sum));
}

/* The space our AO option takes in this flow's segments. */
static unsigned int ao_room(const struct flow *f,
			    const struct policy_peer *peer,
			    const struct tcpao_addr *remote, int l3index)
{
	const struct tcpao_mkt *mkt = NULL;
	uint64_t serial;
	int i;

	if (f)
		mkt = flow_current_key(f, &serial);
	if (!mkt && peer) {
		i = tcpao_keyring_first(&peer->keys, remote, l3index);
		if (i >= 0)
			mkt = tcpao_keyring_key(&peer->keys, i);
	}
	return mkt ? (TCPAO_OPT_HDRLEN + mkt->maclen + 3u) & ~3u
		   : TCPAO_OPT_HDRLEN + TCPAO_DEFAULT_MACLEN;
}

static void lower_mtu(struct worker *w, struct icmp_error *e,
		      unsigned int room)
{
	uint32_t told = 0;

	if (e->v6) {
		uint32_t mtu = (uint32_t)get16(e->icmp + 4) << 16 |
			       get16(e->icmp + 6);

		if (mtu > room) {
			told = mtu - room;
			put16(e->icmp + 4, (uint16_t)(told >> 16));
			put16(e->icmp + 6, (uint16_t)told);
		}
	} else {
		uint16_t mtu = get16(e->icmp + 6);

		if (mtu > room) {
			told = mtu - room;
			put16(e->icmp + 6, (uint16_t)told);
		}
	}
	if (told)
		pmtu_note(&e->key.remote, told, w->now_ms);
	icmp_checksum(e);
	stats_inc(&w->stats, STAT_ICMP_PMTU);
}

/* An error about an AO peer that we cannot check (a fragment of it, or a
 * quote we cannot read): dropped, whatever the entry says, as no router
 * needs to fragment an ICMP error (576 / 1280 bytes at most). */
static enum queue_verdict unchecked(struct worker *w, const struct icmp_error *e,
				    struct flow *f)
{
	stats_inc(&w->stats, STAT_AO_DROPPED_ICMPS);
	stats_inc(&w->stats, STAT_ICMP_UNCHECKED);
	/* Reassembled, the kernel would have counted it (see below). */
	stats_inc(&w->stats, e->v6 ? STAT_ICMP6_DROPPED : STAT_ICMP4_DROPPED);
	if (f)
		counter_inc(&f->cnt.dropped_icmps);
	return QUEUE_DROP;
}

enum queue_verdict icmp_packet(struct worker *w, size_t *len)
{
	const struct policy_peer *peer;
	struct icmp_error e;
	struct flow *f;

	switch (parse(&e, w->pkt, *len)) {
	case QUOTE_OTHER:
		return QUEUE_ACCEPT;
	case QUOTE_NONE:
		/* A first fragment whose quote is in the next ones: the
		 * kernel would reassemble what we never saw. */
		return e.fragmented ? unchecked(w, &e, NULL) : QUEUE_ACCEPT;
	case QUOTE_UNKNOWN:
		return policy_covers(w->policy, &e.key.remote)
			       ? unchecked(w, &e, NULL) : QUEUE_ACCEPT;
	case QUOTE_TCP:
		break;
	}
	tcpao_addr_unmap(&e.key.local);
	tcpao_addr_unmap(&e.key.remote);
	f = flow_lookup(&w->flows, &e.key);
	if (f && f->l3index != w->pkt_l3index)
		f = NULL; /* another VRF's connection (egress.c) */
	peer = f ? f->peer : worker_policy_peer(w, &e.key);
	if (!peer)
		return QUEUE_ACCEPT;
	if (e.fragmented)
		return unchecked(w, &e, f);
	if (e.pmtu) {
		lower_mtu(w, &e, ao_room(f, peer, &e.key.remote, w->pkt_l3index));
		return QUEUE_ACCEPT_MODIFIED;
	}
	if (!e.hard || peer->accept_icmps)
		return QUEUE_ACCEPT;
	/* Linux ignores hard errors only once the connection is
	 * synchronized; the flow may live on another worker (its ICMP hashes
	 * elsewhere), then the policy alone decides. */
	if (f && (f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RECV))
		return QUEUE_ACCEPT;
	stats_inc(&w->stats, STAT_AO_DROPPED_ICMPS);
	/* The kernel never sees it: the preload adds these to the ICMP
	 * counters of /proc/net/snmp{,6}, which Linux raises before TCP
	 * ignores the message. */
	stats_inc(&w->stats, e.v6 ? STAT_ICMP6_DROPPED : STAT_ICMP4_DROPPED);
	if (f)
		counter_inc(&f->cnt.dropped_icmps);
	return QUEUE_DROP;
}
