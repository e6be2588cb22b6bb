// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Ingress: every segment from an AO peer is verified and accepted, or
 * dropped and counted. Nothing unverified reaches a protected socket.
 * Handshakes and closes leave with their AO option removed (the stack then
 * sees exactly the segment the peer built, with the MSS of a SYN lowered
 * by the longest AO option of the peer's keys); data and ACKs of an
 * established connection keep it (for_full_socket), so that their
 * verdicts copy nothing back and join batch verdicts (queue.h).
 */
#include <string.h>

#include "keycount.h"
#include "log.h"
#include "worker.h"

static bool is_syn(const struct tcpao_seg *seg)
{
	return (seg->flags & (TCPAO_TH_SYN | TCPAO_TH_ACK)) == TCPAO_TH_SYN;
}

static bool handshaking(const struct flow *f)
{
	return f->state == FLOW_SYN_SENT || f->state == FLOW_SYN_RECV;
}

/* The key whose rcvid is the segment's KeyID, preferring our rnext key
 * (as Linux does); -1 when none. */
static int find_key(const struct flow *f, uint8_t keyid)
{
	const struct tcpao_keyring *ring = &f->peer->keys;
	int i = tcpao_keyring_find_serial(ring, f->sel.rnext);

	if (i >= 0 && tcpao_keyring_key(ring, i)->rcvid == keyid)
		return i;
	return tcpao_keyring_find_rcvid(ring, &f->key.remote, f->l3index, keyid);
}

/* May a verified segment reach the stack with its AO option? Linux's
 * TCP without TCP-AO skips kind 29 on a full socket, but drops it on a
 * request socket (tcp_inbound_hash(): TCPAOBad), so only a flow whose
 * socket has sent from user space (egress set its uid: the kernel's full
 * socket exists) qualifies, and only plain ACK and data segments of the
 * established state; handshakes, FINs and RSTs go stripped as before. */
static bool for_full_socket(const struct flow *f, const struct tcpao_seg *seg)
{
	return f->state == FLOW_ESTABLISHED && f->uid != FLOW_UID_NONE &&
	       !(seg->flags & (TCPAO_TH_SYN | TCPAO_TH_FIN | TCPAO_TH_RST));
}

/* Hands a verified segment to the stack: as it came where the stack
 * takes it so (nothing copied back, and the verdict can join a batch;
 * the verdict's mark tells the guard it was verified), otherwise with
 * its AO option removed. */
static enum queue_verdict deliver(struct worker *w, struct flow *f,
				  struct tcpao_seg *seg, size_t *len)
{
	size_t room = 0;
	uint16_t before;

	if (for_full_socket(f, seg)) {
		stats_inc(&w->stats, STAT_KEPT_OPTION);
		return QUEUE_ACCEPT;
	}
	before = tcpao_seg_header_sum(seg);
	if (seg->flags & TCPAO_TH_SYN)
		room = tcpao_keyring_ao_room(&f->peer->keys, &f->key.remote, f->l3index);
	*len = tcpao_seg_strip_ao_room(seg, room);
	tcpao_seg_update_checksum(seg, before);
	return QUEUE_ACCEPT_MODIFIED;
}

/* A socket's per-key counters (TCP_AO_GET_KEYS) and, for a listener's
 * handshakes, its pkt_good, as Linux counts them on the listener. */
static void count_for_socket(const struct worker *w,
			     const struct policy_peer *p, uint64_t serial,
			     enum tcpao_result r)
{
	if (!p->sock_keycnt || (r != TCPAO_GOOD && r != TCPAO_BAD_MAC))
		return;
	keycount_inc(p->sock_keycnt, w->index, serial, r == TCPAO_GOOD);
	if (r == TCPAO_GOOD && p->sock_keycnt->listener)
		counter_inc(&p->sock_cnt[0]);
}

/* *serial: the key the segment was checked with, when one was found. */
static enum tcpao_result verify(struct worker *w, struct flow *f,
				const struct tcpao_seg *seg, uint64_t *serial)
{
	const struct tcpao_keyring *ring = &f->peer->keys;
	struct tcpao_dir *dir = &f->rx;
	int i;

	if (!seg->opts.ao_off)
		return TCPAO_AO_REQUIRED;
	if (seg->opts.md5_off)
		return TCPAO_AO_MD5;
	i = find_key(f, seg->opts.keyid);
	if (i < 0)
		return TCPAO_KEY_NOT_FOUND;
	*serial = tcpao_keyring_serial(ring, i);
	/* A SYN on an established flow (a late retransmission, or a replay)
	 * is checked with the SYN's key but must not reset the flow's ISN
	 * and SNE: verify it on a copy. */
	if ((seg->flags & TCPAO_TH_SYN) && !handshaking(f)) {
		w->scratch_dir = f->rx;
		dir = &w->scratch_dir;
	}
	return tcpao_dir_verify(dir, tcpao_keyring_key(ring, i), tcpao_keyring_serial(ring, i), seg,
				&w->pool);
}

/* MD5 without AO where AO is used. Linux then looks for an MD5 key only
 * (tcp_inbound_md5_hash()), finds none (no MD5 key may overlap an AO key,
 * and connect()/accept() drop the MD5 keys of an AO connection) and drops
 * the segment as TCPMD5Unexpected; a handshake that used AO counts it as
 * TCPAOBad. No socket counter moves. */
static bool md5_only(const struct tcpao_seg *seg)
{
	return !seg->opts.ao_off && seg->opts.md5_off;
}

static enum queue_verdict md5_unexpected(struct worker *w, const struct flow *f)
{
	stats_inc(&w->stats, f && f->state == FLOW_SYN_RECV ? STAT_AO_BAD
							     : STAT_MD5_UNEXPECTED);
	return QUEUE_DROP;
}

static enum queue_verdict on_flow(struct worker *w, struct flow *f,
				  struct tcpao_seg *seg, size_t *len)
{
	enum tcpao_result r;
	uint64_t before = f->sel.current, serial = 0;

	if (md5_only(seg))
		return md5_unexpected(w, f);
	worker_refresh_keysel(w, f);
	r = verify(w, f, seg, &serial);
	count_for_socket(w, f->peer, serial, r);
	if (r != TCPAO_GOOD) {
		worker_count_drop(w, f, r, seg);
		return QUEUE_DROP;
	}
	stats_inc(&w->stats, STAT_AO_GOOD);
	counter_inc(&f->cnt.good);
	f->peer_rnext = seg->opts.rnext;
	tcpao_keysel_follow_peer(&f->sel, &f->peer->keys, &f->key.remote, f->l3index,
				 seg->opts.rnext);
	if (f->sel.current != before)
		worker_flow_changed(w, f);
	/* The SYN-ACK tells our direction the peer's ISN. */
	if ((seg->flags & (TCPAO_TH_SYN | TCPAO_TH_ACK)) ==
	    (TCPAO_TH_SYN | TCPAO_TH_ACK) && handshaking(f)) {
		tcpao_dir_set_disn(&f->tx, seg->seq);
		worker_flow_changed(w, f);
	}
	flow_track_ingress(f, seg);
	f->last_seen_ms = w->now_ms;
	worker_note_seq(w, f);
	return deliver(w, f, seg, len);
}

/* A Linux server turns TCP timestamps off on an AO connection when SACK
 * is permitted (tcp_synack_options(): the option space). Our kernel does
 * not know that the connection uses AO, so the SYN it is handed loses its
 * timestamp option (NOPs in its place): its SYN-ACK then carries none, as
 * Linux's, and the segments have room for two SACK blocks. */
static void drop_timestamps_with_sack(struct tcpao_seg *seg)
{
	uint8_t *th = seg->tcp;
	size_t off = 20, ts = 0;
	bool sack = false;

	while (off < seg->thlen && th[off] != 0) {
		size_t len = th[off] == 1 ? 1 : 0;

		if (!len) {
			if (off + 1 >= seg->thlen || th[off + 1] < 2 ||
			    off + th[off + 1] > seg->thlen)
				return;
			len = th[off + 1];
		}
		if (th[off] == 4)
			sack = true;
		else if (th[off] == 8 && len == 10)
			ts = off;
		off += len;
	}
	if (sack && ts)
		memset(th + ts, 1, 10);
}

/* A passive open: a SYN verified with the key whose rcvid is its KeyID.
 * Current becomes the key whose sndid is the SYN's RNextKeyID, RNext the
 * key whose rcvid is its KeyID (Linux's choice on accept). */
static enum queue_verdict passive_open(struct worker *w,
				       const struct policy_peer *peer,
				       struct flow *old,
				       const struct flow_key *key,
				       struct tcpao_seg *seg, size_t *len)
{
	const struct tcpao_ringkey *rcv;
	struct tcpao_keysel sel = { 0 };
	struct tcpao_synkeys keys;
	enum tcpao_result r;
	struct flow *f;
	uint16_t before;

	if (seg->opts.md5_off) {
		worker_count_drop(w, NULL, TCPAO_AO_MD5, seg);
		return QUEUE_DROP;
	}
	tcpao_keyring_syn(&peer->keys, &key->remote, w->pkt_l3index, seg->opts.keyid,
			  seg->opts.rnext, &keys);
	if (!(rcv = keys.rcv)) {
		worker_count_drop(w, NULL, TCPAO_KEY_NOT_FOUND, seg);
		return QUEUE_DROP;
	}
	sel.rnext = rcv->serial;
	/* No key with sndid == RNextKeyID: Linux sends no SYN-ACK; we keep
	 * the flow keyless, so egress drops the SYN-ACK the same way. */
	sel.current = keys.snd ? keys.snd->serial : 0;
	/* Verified before anything changes: a forged SYN (a KeyID and a
	 * 4-tuple are on the wire) must not end the flow it names. */
	flow_rx_start(&w->scratch_dir, key);
	r = tcpao_dir_verify(&w->scratch_dir, &rcv->mkt, rcv->serial, seg, &w->pool);
	count_for_socket(w, peer, rcv->serial, r);
	if (r != TCPAO_GOOD) {
		tcpao_dir_wipe(&w->scratch_dir);
		worker_count_drop(w, old, r, seg);
		return QUEUE_DROP;
	}
	if (old)
		worker_remove_flow(w, old);
	f = worker_insert_flow(w, key, FLOW_UID_NONE, true);
	if (!f) {
		tcpao_dir_wipe(&w->scratch_dir);
		return QUEUE_DROP;
	}
	flow_start(f, peer, &sel, FLOW_SYN_RECV, w->now_ms);
	f->rx = w->scratch_dir;
	tcpao_dir_wipe(&w->scratch_dir);
	stats_inc(&w->stats, STAT_AO_GOOD);
	counter_inc(&f->cnt.good);
	f->peer_rnext = seg->opts.rnext;
	tcpao_dir_set_disn(&f->tx, seg->seq);
	worker_flow_changed(w, f);
	before = tcpao_seg_header_sum(seg);
	*len = tcpao_seg_strip_ao_room(seg, keys.room);
	drop_timestamps_with_sack(seg);
	tcpao_seg_update_checksum(seg, before);
	return QUEUE_ACCEPT_MODIFIED;
}

/* A socket's key for this peer makes AO required, as in Linux
 * (tcp_ao_required(): any key matching the source address). */
static bool socket_key_matches(const struct policy_peer *peer,
			       const struct flow_key *key, int l3index)
{
	return peer->sock_cookie &&
	       tcpao_keyring_first(&peer->keys, &key->remote, l3index) >= 0;
}

/* A segment of no flow we know. */
static enum queue_verdict no_flow(struct worker *w, struct flow *old,
				  const struct flow_key *key,
				  struct tcpao_seg *seg, size_t *len)
{
	const struct policy_peer *peer = worker_policy_peer(w, key);

	if (!peer) {
		/* AO to a connection the policy does not protect: Linux drops
		 * it (no key) rather than accept it unverified. */
		if (!seg->opts.ao_off) {
			/* A plain connection on the 4-tuple of an AO flow
			 * whose entry is gone: that flow is over (egress
			 * sends nothing unsigned for it). */
			if (old && is_syn(seg))
				worker_remove_flow(w, old);
			else if (old)
				old->answers_plain = true;
			return QUEUE_ACCEPT;
		}
		worker_count_drop(w, NULL, TCPAO_KEY_NOT_FOUND, seg);
		return QUEUE_DROP;
	}
	if (!seg->opts.ao_off) {
		/* Migration: an entry that does not require AO lets a
		 * connection opened without it stay in the clear. */
		if (!peer->ao_required && !old &&
		    !socket_key_matches(peer, key, w->pkt_l3index))
			return QUEUE_ACCEPT;
		if (md5_only(seg))
			return md5_unexpected(w, NULL);
		worker_count_drop(w, NULL, TCPAO_AO_REQUIRED, seg);
		return QUEUE_DROP;
	}
	if (is_syn(seg))
		return passive_open(w, peer, old, key, seg, len);
	worker_count_drop(w, NULL, TCPAO_NO_ISN, seg);
	return QUEUE_DROP;
}

enum queue_verdict ingress_packet(struct worker *w, size_t *len)
{
	struct tcpao_seg seg;
	struct flow_key key;
	struct flow *f;

	switch (tcpao_seg_parse(&seg, w->pkt, *len)) {
	case TCPAO_SEG_OK:
		break;
	case TCPAO_SEG_NOT_TCP:
		return QUEUE_ACCEPT;
	case TCPAO_SEG_FRAGMENT:
		/* Never reassembled by us, never delivered unverified. */
		stats_inc(&w->stats, STAT_FRAGMENTS);
		return QUEUE_DROP;
	default:
		stats_inc(&w->stats, STAT_MALFORMED);
		return QUEUE_DROP;
	}
	flow_key_ingress(&key, &seg);
	f = flow_lookup(&w->flows, &key);
	if (f && f->l3index != w->pkt_l3index) {
		/* Its 4-tuple is a flow of another VRF (egress.c): refused,
		 * never checked with that VRF's keys, until that one ends. */
		if (!is_syn(&seg) || !flow_over(f)) {
			worker_count_drop(w, NULL, TCPAO_KEY_NOT_FOUND, &seg);
			return QUEUE_DROP;
		}
		worker_remove_flow(w, f);
		f = NULL;
	}
	if (!f && !is_syn(&seg))
		f = worker_restore_flow(w, &key);
	/* A new SYN on a finished flow, or a different SYN while we wait in
	 * SYN-RECV, starts over. */
	if (f && is_syn(&seg) &&
	    (f->state == FLOW_TIME_WAIT || f->state == FLOW_CLOSED ||
	     (f->state == FLOW_SYN_RECV && f->rx.ctx.sisn != seg.seq)))
		return no_flow(w, f, &key, &seg, len);
	if (!f || !f->peer)
		return no_flow(w, f, &key, &seg, len);
	return on_flow(w, f, &seg, len);
}
