// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Verifying a capture's TCP-AO segments, as an observer of both directions.
 *
 * One MKT, as configured on either endpoint, verifies both directions: one
 * way the segments carry its sndid as KeyID, the other way its rcvid. So a
 * segment's candidate keys are those with sndid or rcvid equal to its KeyID
 * (and a peer prefix, if any, matching one of its endpoints); the first that
 * verifies wins. ISNs are learnt only from verified SYNs and SYN-ACKs, never
 * guessed: a segment whose ISNs were not seen is "no-isn".
 */
#include <stdio.h>
#include <string.h>

#include "verify.h"

/* At most this many AO 4-tuples (about 3 KB each, mostly cached keys). */
#define VERIFY_FLOWS_MAX (1u << 18)

#define TH_SYN_ACK (TCPAO_TH_SYN | TCPAO_TH_ACK)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

void verifier_init(struct verifier *v, const struct tcpao_mkt *keys,
		   size_t nkeys)
{
	memset(v, 0, sizeof(*v));
	v->keys = keys;
	v->nkeys = nkeys;
	flows_init(&v->flows, VERIFY_FLOWS_MAX);
}

void verifier_free(struct verifier *v)
{
	flows_free(&v->flows);
	tcpao_pool_wipe(&v->pool);
}

bool verify_stats_failed(const struct verify_stats *s)
{
	return s->results[TCPAO_BAD_MAC] || s->results[TCPAO_KEY_NOT_FOUND] ||
	       s->results[TCPAO_MALFORMED];
}

uint64_t verify_stats_unverifiable(const struct verify_stats *s)
{
	return s->results[TCPAO_NO_ISN] + s->results[TCPAO_TRUNCATED];
}

/* ---- one segment -------------------------------------------------------- */

/* A key is a candidate when one of its ids is the KeyID and its peer, if
 * it has one, is one of the endpoints. A capture has no ifindex: the key's
 * own is passed so that it never excludes the key. */
static bool key_fits(const struct tcpao_mkt *key, const struct tcpao_seg *seg)
{
	uint8_t id = seg->opts.keyid;

	if (key->sndid != id && key->rcvid != id)
		return false;
	return tcpao_mkt_matches(key, &seg->saddr, key->ifindex) ||
	       tcpao_mkt_matches(key, &seg->daddr, key->ifindex);
}

static bool have_candidates(const struct verifier *v,
			    const struct tcpao_seg *seg)
{
	for (size_t i = 0; i < v->nkeys; i++)
		if (key_fits(&v->keys[i], seg))
			return true;
	return false;
}

/* Tries the candidate keys, the one that verified last on this side first.
 * The key serial for the engine's traffic-key cache is index + 1. */
static enum tcpao_result try_keys(struct verifier *v, struct flow *flow,
				  int side, struct tcpao_dir *dir,
				  struct verify_outcome *o)
{
	const struct tcpao_seg *seg = &o->seg;
	int hint = flow->last_key[side];
	size_t tried = 0, wrong_len = 0;

	for (long n = -1; n < (long)v->nkeys; n++) {
		int i = n < 0 ? hint : (int)n;
		const struct tcpao_mkt *key;

		if (i < 0 || (n >= 0 && i == hint))
			continue;
		key = &v->keys[i];
		if (!key_fits(key, seg))
			continue;
		tried++;
		if (seg->opts.ao_len != TCPAO_OPT_HDRLEN + key->maclen) {
			wrong_len++;
			continue;
		}
		if (tcpao_dir_verify(dir, key, (uint64_t)i + 1, seg,
				     &v->pool) == TCPAO_GOOD) {
			flow->last_key[side] = i;
			o->key = i;
			snprintf(o->reason, sizeof(o->reason), "key %d", i + 1);
			return TCPAO_GOOD;
		}
	}
	if (wrong_len == tried)
		snprintf(o->reason, sizeof(o->reason),
			 "AO option of %u bytes: no candidate key has a %u-byte MAC",
			 seg->opts.ao_len, seg->opts.ao_len - TCPAO_OPT_HDRLEN);
	else
		snprintf(o->reason, sizeof(o->reason),
			 "MAC does not match (%zu candidate key%s)", tried,
			 tried == 1 ? "" : "s");
	return TCPAO_BAD_MAC;
}

/* Sets a direction's own ISN, as a SYN that carried it would. */
static void learn_isn(struct tcpao_dir *dir, uint32_t isn)
{
	struct tcpao_seg syn = { .flags = TCPAO_TH_SYN, .seq = isn };

	tcpao_dir_observe(dir, &syn);
}

/* ISNs are learnt from SYN and SYN-ACK segments: from a verified one always
 * (a new connection if its ISN is new), from one that fails only where the
 * connection has none yet. Then a wrong key or a damaged SYN still lets the
 * later segments be checked (and fail), while a forged SYN cannot disturb a
 * connection; and no segment can verify with wrong ISNs, as its MAC needs a
 * traffic key derived from the real ones. */

/* A SYN is verified on a fresh direction (its key needs no state). */
static enum tcpao_result verify_syn(struct verifier *v, struct flow *flow,
				    int side, struct verify_outcome *o)
{
	const struct tcpao_seg *seg = &o->seg;
	const struct tcpao_dir *mine = &flow->dir[side];
	struct tcpao_dir fresh;
	enum tcpao_result r;
	bool adopt;

	tcpao_dir_init(&fresh, seg);
	r = try_keys(v, flow, side, &fresh, o);
	if (r == TCPAO_GOOD)
		adopt = flow->client != side || !mine->have_sisn ||
			mine->ctx.sisn != seg->seq;
	else
		adopt = !flow->dir[0].have_sisn && !flow->dir[1].have_sisn;
	if (adopt) {
		if (r != TCPAO_GOOD)
			learn_isn(&fresh, seg->seq);
		flow_reset(flow);
		flow->client = side;
		flow->dir[side] = fresh;
		v->stats.handshakes++;
	}
	if (r == TCPAO_GOOD || adopt)
		tcpao_dir_set_disn(&flow->dir[!side], seg->seq);
	tcpao_dir_wipe(&fresh);
	return r;
}

/* A SYN-ACK carries both ISNs (its own, and the client's in its ACK), so
 * they are known even when the SYN was not captured. */
static enum tcpao_result verify_syn_ack(struct verifier *v, struct flow *flow,
					int side, struct verify_outcome *o)
{
	const struct tcpao_seg *seg = &o->seg;
	struct tcpao_dir *server = &flow->dir[side];
	struct tcpao_dir *client = &flow->dir[!side];
	uint32_t client_isn = seg->ack - 1;
	enum tcpao_result r;

	r = try_keys(v, flow, side, server, o);
	if (r != TCPAO_GOOD) {
		if (server->have_sisn ||
		    (client->have_sisn && client->ctx.sisn != client_isn))
			return r;
		tcpao_dir_observe(server, seg);
	}
	if (flow->client != !side || !client->have_sisn ||
	    client->ctx.sisn != client_isn) {
		flow_reset_dir(flow, !side);
		learn_isn(client, client_isn);
		flow->client = !side;
		v->stats.handshakes++;
	}
	tcpao_dir_set_disn(client, seg->seq);
	return r;
}

static enum tcpao_result no_isn(const struct tcpao_dir *dir,
				struct verify_outcome *o)
{
	const char *why = !dir->have_sisn && !dir->have_disn
		? "no handshake in the capture"
		: !dir->have_sisn ? "sender's SYN not in the capture"
				  : "receiver's SYN not in the capture";

	snprintf(o->reason, sizeof(o->reason), "ISN unknown: %s", why);
	return TCPAO_NO_ISN;
}

static enum tcpao_result verify_ao(struct verifier *v, struct flow *flow,
				   int side, struct verify_outcome *o)
{
	const struct tcpao_seg *seg = &o->seg;
	struct tcpao_dir *dir = &flow->dir[side];

	if (seg->flags & TCPAO_TH_SYN) {
		o->have_sne = true; /* a SYN's SNE is zero by definition */
		o->sne = 0;
	}
	if (seg->opts.md5_off) {
		snprintf(o->reason, sizeof(o->reason),
			 "TCP-AO and TCP-MD5 options together");
		return TCPAO_MALFORMED;
	}
	if (!have_candidates(v, seg)) {
		snprintf(o->reason, sizeof(o->reason),
			 "no key with sndid or rcvid %u", seg->opts.keyid);
		return TCPAO_KEY_NOT_FOUND;
	}
	if ((seg->flags & TH_SYN_ACK) == TCPAO_TH_SYN)
		return verify_syn(v, flow, side, o);
	if (seg->flags & TCPAO_TH_SYN)
		return verify_syn_ack(v, flow, side, o);
	if (!dir->have_sisn || !dir->have_disn)
		return no_isn(dir, o);
	o->have_sne = true;
	o->sne = tcpao_sne_of(&dir->sne, seg->seq);
	return try_keys(v, flow, side, dir, o);
}

/* When the engine could not hand back a TCP header (cut by the snaplen, or
 * with a bad length), reads what is there: ports, sequence numbers, flags,
 * and the options up to the cut, which may show the AO option. */
static bool read_partial_tcp(struct tcpao_seg *seg,
			     const struct capture_packet *pkt)
{
	size_t avail = pkt->caplen < seg->iplen ? pkt->caplen : seg->iplen;
	const uint8_t *th = pkt->ip + seg->iphlen;
	size_t hl;

	if (seg->iphlen < 20 || seg->iplen < seg->iphlen ||
	    avail < (size_t)seg->iphlen + 4)
		return false;
	avail -= seg->iphlen;
	seg->sport = get16(th);
	seg->dport = get16(th + 2);
	if (avail >= 8)
		seg->seq = get32(th + 4);
	if (avail >= 12)
		seg->ack = get32(th + 8);
	if (avail < 14)
		return true;
	seg->flags = th[13];
	hl = (size_t)(th[12] >> 4) * 4;
	tcpao_opts_parse(th, hl < avail ? hl : avail, &seg->opts);
	return true;
}

static void describe_damage(enum tcpao_seg_status st,
			    const struct capture_packet *pkt,
			    struct verify_outcome *o)
{
	const struct tcpao_seg *seg = &o->seg;

	if (st == TCPAO_SEG_TRUNCATED) {
		size_t want = seg->iplen ? seg->iplen : pkt->wirelen;

		snprintf(o->reason, sizeof(o->reason),
			 "captured %zu of %zu bytes (snaplen)", pkt->caplen, want);
	} else if (!seg->tcp) {
		snprintf(o->reason, sizeof(o->reason), "bad TCP header length");
	} else if (tcpao_opts_parse(seg->tcp, seg->thlen, &(struct tcpao_opts){ 0 }) ==
		   TCPAO_OPTS_DUP_AO) {
		snprintf(o->reason, sizeof(o->reason), "more than one AO option");
	} else {
		snprintf(o->reason, sizeof(o->reason), "malformed TCP options");
	}
}

static enum verify_direction direction_of(const struct flow *flow, int side)
{
	if (flow->client == FLOW_SIDE_UNKNOWN)
		return VERIFY_DIR_UNKNOWN;
	return flow->client == side ? VERIFY_DIR_CLIENT : VERIFY_DIR_SERVER;
}

/* An AO segment (or one of an AO 4-tuple whose options are unreadable). */
static int ao_segment(struct verifier *v, enum tcpao_seg_status st,
		      struct verify_outcome *o)
{
	struct flow *flow;
	int side;

	flow = flows_get(&v->flows, &o->seg, &side);
	if (!flow)
		return -1;
	v->stats.flows = v->flows.count;
	o->have_ao = o->seg.opts.ao_off != 0;
	if (st == TCPAO_SEG_OK) {
		o->result = verify_ao(v, flow, side, o);
	} else {
		o->result = st == TCPAO_SEG_TRUNCATED ? TCPAO_TRUNCATED
						      : TCPAO_MALFORMED;
		describe_damage(st, o->pkt, o);
	}
	o->direction = direction_of(flow, side);
	v->stats.ao_segments++;
	v->stats.results[o->result]++;
	return 1;
}

/* Fragments are not reassembled. The first fragment of an IPv4 TCP segment
 * that shows an AO option is reported malformed; the rest are counted. */
static int fragment(struct verifier *v, struct capture_packet *pkt,
		    struct verify_outcome *o)
{
	uint8_t *ip = pkt->ip;
	int rc;

	v->stats.fragments++;
	if ((ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP ||
	    (get16(ip + 6) & 0x1fff))
		return 0;
	ip[6] &= (uint8_t)~0x20; /* parse the first fragment on its own */
	if (tcpao_seg_parse(&o->seg, ip, pkt->caplen) != TCPAO_SEG_OK ||
	    !o->seg.opts.ao_off)
		return 0;
	rc = ao_segment(v, TCPAO_SEG_MALFORMED, o);
	if (rc == 1)
		snprintf(o->reason, sizeof(o->reason),
			 "IP fragment (not reassembled)");
	return rc;
}

int verifier_packet(struct verifier *v, struct capture_packet *pkt,
		    struct verify_outcome *o)
{
	enum tcpao_seg_status st;
	bool options_complete;
	struct flow *flow;
	int side;

	memset(o, 0, sizeof(*o));
	o->pkt = pkt;
	o->key = -1;
	st = tcpao_seg_parse(&o->seg, pkt->ip, pkt->caplen);
	if (st == TCPAO_SEG_NOT_TCP) {
		v->stats.non_tcp++;
		return 0;
	}
	if (st == TCPAO_SEG_FRAGMENT)
		return fragment(v, pkt, o);
	if (!o->seg.tcp && !read_partial_tcp(&o->seg, pkt)) {
		v->stats.unreadable_tcp++;
		return 0;
	}
	if (o->seg.opts.ao_off)
		return ao_segment(v, st, o);
	/* No AO option seen. Either the options were all there (a segment
	 * without AO), or they were cut or broken: on an AO 4-tuple that is
	 * worth reporting, elsewhere it is just an unreadable segment. */
	options_complete = o->seg.tcp && st != TCPAO_SEG_MALFORMED;
	flow = flows_find(&v->flows, &o->seg, &side);
	if (!options_complete && flow)
		return ao_segment(v, st, o);
	if (!options_complete)
		v->stats.unreadable_tcp++;
	else if (flow)
		v->stats.unsigned_segments++;
	else
		v->stats.plain_segments++;
	return 0;
}
