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

/* The quoted header: our own segment, so its source is the local side. */
static bool quoted_tcp(struct icmp_error *e, const uint8_t *in, size_t len)
{
	size_t hl, alen;
	int proto;

	if (e->v6) {
		if (len < 40 + 4 || in[6] != IPPROTO_TCP)
			return false;
		hl = 40;
		alen = 16;
		e->key.local.family = e->key.remote.family = AF_INET6;
		memcpy(e->key.local.bytes, in + 8, 16);
		memcpy(e->key.remote.bytes, in + 24, 16);
	} else {
		if (len < 20 || (in[0] >> 4) != 4)
			return false;
		hl = (size_t)(in[0] & 0x0f) * 4;
		proto = in[9];
		if (hl < 20 || len < hl + 4 || proto != IPPROTO_TCP)
			return false;
		alen = 4;
		e->key.local.family = e->key.remote.family = AF_INET;
		memcpy(e->key.local.bytes, in + 12, 4);
		memcpy(e->key.remote.bytes, in + 16, 4);
	}
	(void)alen;
	e->key.lport = get16(in + hl);
	e->key.rport = get16(in + hl + 2);
	return true;
}

static bool parse(struct icmp_error *e, uint8_t *pkt, size_t len)
{
	size_t hl;

	memset(e, 0, sizeof(*e));
	if (len < 1)
		return false;
	e->v6 = (pkt[0] >> 4) == 6;
	if (e->v6) {
		/* Only a plain header: an extension header chain in front of
		 * an ICMPv6 error is unusual enough to pass untouched. */
		if (len < 48 || pkt[6] != IPPROTO_ICMPV6)
			return false;
		hl = 40;
	} else {
		hl = (size_t)(pkt[0] & 0x0f) * 4;
		if ((pkt[0] >> 4) != 4 || hl < 20 || len < hl + 8 ||
		    pkt[9] != IPPROTO_ICMP || (get16(pkt + 6) & 0x3fff))
			return false;
	}
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
			    const struct tcpao_addr *remote)
{
	const struct tcpao_mkt *mkt = NULL;
	uint64_t serial;
	int i;

	if (f)
		mkt = flow_current_key(f, &serial);
	if (!mkt && peer) {
		i = tcpao_keyring_first(&peer->keys, remote, 0);
		if (i >= 0)
			mkt = &peer->keys.keys[i];
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

enum queue_verdict icmp_packet(struct worker *w, size_t *len)
{
	const struct policy_peer *peer;
	struct icmp_error e;
	struct flow *f;

	if (!parse(&e, w->pkt, *len))
		return QUEUE_ACCEPT;
	tcpao_addr_unmap(&e.key.local);
	tcpao_addr_unmap(&e.key.remote);
	f = flow_lookup(&w->flows, &e.key);
	peer = f ? f->peer : worker_policy_peer(w, &e.key);
	if (!peer)
		return QUEUE_ACCEPT;
	if (e.pmtu) {
		lower_mtu(w, &e, ao_room(f, peer, &e.key.remote));
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
