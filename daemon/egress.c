// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Egress: every segment the kernel sends to an AO peer is signed here
 * (SYN, SYN-ACK, data, ACK, FIN, RST, TIME-WAIT ACKs), or dropped: a
 * protected peer never receives an unsigned segment from us.
 */
#include "log.h"
#include "pmtu.h"
#include "worker.h"

static bool is_syn(const struct tcpao_seg *seg)
{
	return (seg->flags & (TCPAO_TH_SYN | TCPAO_TH_ACK)) == TCPAO_TH_SYN;
}

/* A SYN starts a new connection on this 4-tuple unless it retransmits the
 * SYN of the flow we have. */
static bool starts_new_flow(const struct flow *f, const struct tcpao_seg *seg)
{
	if (!f)
		return true;
	if (f->state == FLOW_SYN_SENT)
		return f->tx.ctx.sisn != seg->seq;
	return f->state == FLOW_TIME_WAIT || f->state == FLOW_CLOSED;
}

/* An active open: the policy's keys for the peer, Linux's default choice
 * (or the entry's preference). NULL when the peer is not protected. */
static struct flow *open_flow(struct worker *w, struct flow *old,
			      const struct flow_key *key, bool *protected)
{
	const struct policy_peer *peer = worker_policy_peer(w, key);
	struct tcpao_keysel sel;
	struct flow *f;

	*protected = peer != NULL;
	/* A new connection on this 4-tuple: the old one is over. */
	if (old)
		worker_remove_flow(w, old);
	if (!peer || policy_peer_keysel(peer, &key->remote, w->pkt_l3index, &sel))
		return NULL;
	f = worker_insert_flow(w, key, w->pkt_uid, false);
	if (!f)
		return NULL;
	flow_start(f, peer, &sel, FLOW_SYN_SENT, w->now_ms);
	worker_flow_changed(w, f);
	return f;
}

/* The kernel holds packets to the path MTU we told it, which is the real
 * one minus the AO option: a full-size signed segment would be dropped
 * after our hook. Those go out through the raw socket instead (pmtu.h). */
static enum queue_verdict past_kernel_pmtu(struct worker *w, struct flow *f,
					   const struct tcpao_seg *seg)
{
	uint32_t gen = pmtu_generation();

	if (gen != f->pmtu_gen) {
		f->kernel_mtu = pmtu_kernel_mtu(&f->key.remote, w->now_ms);
		f->pmtu_gen = gen;
	}
	if (!f->kernel_mtu || seg->iplen <= f->kernel_mtu)
		return QUEUE_ACCEPT_MODIFIED;
	if (worker_send_raw(w, seg)) {
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	return QUEUE_DROP; /* the original: its signed copy is on its way */
}

static enum queue_verdict sign(struct worker *w, struct flow *f,
			       struct tcpao_seg *seg, size_t *len)
{
	const struct tcpao_mkt *mkt;
	uint64_t serial;
	uint16_t before = tcpao_seg_header_sum(seg);
	int rnext, n;

	/* An accepted socket's owner is known from its first segment. */
	if (!worker_flow_owner(w, f, w->pkt_uid)) {
		worker_remove_flow(w, f);
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	worker_refresh_keysel(w, f);
	mkt = flow_current_key(f, &serial);
	rnext = flow_rnext_rcvid(f);
	if (!mkt) {
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	n = tcpao_seg_add_ao(seg, sizeof(w->pkt), mkt->sndid,
			     (uint8_t)(rnext < 0 ? mkt->rcvid : rnext),
			     mkt->maclen);
	if (n < 0 || tcpao_dir_sign(&f->tx, mkt, serial, seg, &w->pool) !=
			     TCPAO_GOOD) {
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	tcpao_seg_update_checksum(seg, before);
	*len = (size_t)n;
	/* Our ISN is the peer direction's destination ISN. */
	if (seg->flags & TCPAO_TH_SYN)
		tcpao_dir_set_disn(&f->rx, seg->seq);
	flow_track_egress(f, seg);
	f->last_seen_ms = w->now_ms;
	worker_note_seq(w, f);
	stats_inc(&w->stats, STAT_AO_SIGNED);
	return past_kernel_pmtu(w, f, seg);
}

/* The same addresses and ports in another VRF while the flow lives (a
 * SYN after its end starts over): a connection the table cannot hold
 * beside it (flows are keyed by their 4-tuple). Dropped: it must not go
 * out with the other VRF's key. */
static enum queue_verdict other_vrf(struct worker *w, const struct flow *f)
{
	log_msg(LOG_NOTICE, "drop: port %u -> %u in VRF %d while its 4-tuple "
		"is a flow of VRF %d", f->key.lport, f->key.rport,
		w->pkt_l3index, f->l3index);
	stats_inc(&w->stats, STAT_EGRESS_DROPPED);
	return QUEUE_DROP;
}

enum queue_verdict egress_packet(struct worker *w, size_t *len)
{
	struct tcpao_seg seg;
	struct flow_key key;
	struct flow *f;
	bool protected = false;
	const struct policy_peer *peer;

	switch (tcpao_seg_parse(&seg, w->pkt, *len)) {
	case TCPAO_SEG_OK:
		break;
	case TCPAO_SEG_NOT_TCP:
		return QUEUE_ACCEPT;
	default:
		/* Our own stack does not fragment TCP before this hook; what
		 * we cannot sign does not leave. */
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	flow_key_egress(&key, &seg);
	f = flow_lookup(&w->flows, &key);
	if (f && f->l3index != w->pkt_l3index) {
		if (!is_syn(&seg) || !flow_over(f))
			return other_vrf(w, f);
		worker_remove_flow(w, f);
		f = NULL;
	}
	if (!f && !is_syn(&seg))
		f = worker_restore_flow(w, &key);
	if (is_syn(&seg) && starts_new_flow(f, &seg)) {
		f = open_flow(w, f, &key, &protected);
		if (!f && !protected)
			return QUEUE_ACCEPT;
	}
	if (f && f->peer)
		return sign(w, f, &seg, len);
	/* A connection we signed for whose entry is gone (its socket's keys
	 * were dropped, the policy changed): its peer takes nothing
	 * unsigned, as a Linux socket never loses AO. Only a RST to a plain
	 * segment may leave unsigned, as Linux sends it when the socket is
	 * gone; to an AO segment (e.g. a SYN that passed just before a
	 * listener's keys went) Linux sends none. */
	if (f && !((seg.flags & TCPAO_TH_RST) && f->answers_plain)) {
		stats_inc(&w->stats, STAT_EGRESS_DROPPED);
		return QUEUE_DROP;
	}
	/* No flow: a plain connection unless the policy protects the peer
	 * (then this is a reply to a segment of a connection we do not know,
	 * e.g. the kernel's RST to an AO segment: Linux sends none). */
	peer = worker_policy_peer(w, &key);
	/* A socket with a key for the peer never sends unsigned (Linux
	 * signs whatever such a socket sends, and sends no RST to an AO
	 * segment of no socket). */
	if (peer && peer->sock_cookie &&
	    tcpao_keyring_first(&peer->keys, &key.remote, w->pkt_l3index) >= 0)
		protected = true;
	if (!peer || (!peer->ao_required && !f && !protected))
		return QUEUE_ACCEPT;
	stats_inc(&w->stats, STAT_EGRESS_DROPPED);
	return QUEUE_DROP;
}
