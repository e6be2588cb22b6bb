// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * One direction of a connection: the sender's context, its SNE, and the
 * traffic keys derived for it (RFC 5925 sections 5.2, 6.2, 7.6).
 */
#include <string.h>

#include "tcpao.h"

static const char *const result_names[TCPAO_RESULT_COUNT] = {
	[TCPAO_GOOD] = "good",
	[TCPAO_BAD_MAC] = "bad-mac",
	[TCPAO_KEY_NOT_FOUND] = "key-not-found",
	[TCPAO_AO_REQUIRED] = "ao-required",
	[TCPAO_AO_MD5] = "ao-md5",
	[TCPAO_NO_ISN] = "no-isn",
	[TCPAO_MALFORMED] = "malformed",
	[TCPAO_TRUNCATED] = "truncated",
};

const char *tcpao_result_name(enum tcpao_result r)
{
	return r < TCPAO_RESULT_COUNT ? result_names[r] : "?";
}

void tcpao_dir_init(struct tcpao_dir *dir, const struct tcpao_seg *seg)
{
	memset(dir, 0, sizeof(*dir));
	dir->ctx.saddr = seg->saddr;
	dir->ctx.daddr = seg->daddr;
	dir->ctx.sport = seg->sport;
	dir->ctx.dport = seg->dport;
}

void tcpao_dir_set_disn(struct tcpao_dir *dir, uint32_t disn)
{
	dir->ctx.disn = disn;
	dir->have_disn = true;
}

void tcpao_dir_observe(struct tcpao_dir *dir, const struct tcpao_seg *seg)
{
	if (seg->flags & TCPAO_TH_SYN) {
		dir->ctx.sisn = seg->seq;
		dir->have_sisn = true;
		tcpao_sne_init(&dir->sne, seg->seq);
		if (seg->flags & TCPAO_TH_ACK)
			tcpao_dir_set_disn(dir, seg->ack - 1);
		return;
	}
	if (dir->have_sisn)
		tcpao_sne_advance(&dir->sne, seg->seq);
}

void tcpao_dir_wipe(struct tcpao_dir *dir)
{
	explicit_bzero(dir, sizeof(*dir));
}

/* The ISNs a segment's key is derived from: a SYN carries its own (and a
 * SYN-ACK acknowledges the peer's); the SYN's key has a zero peer ISN. */
static bool segment_isns(const struct tcpao_dir *dir,
			 const struct tcpao_seg *seg,
			 uint32_t *sisn, uint32_t *disn)
{
	if (seg->flags & TCPAO_TH_SYN) {
		*sisn = seg->seq;
		*disn = (seg->flags & TCPAO_TH_ACK) ? seg->ack - 1 : 0;
		return true;
	}
	*sisn = dir->ctx.sisn;
	*disn = dir->ctx.disn;
	return dir->have_sisn && dir->have_disn;
}

const struct tcpao_tk *tcpao_dir_tk(struct tcpao_dir *dir,
				    const struct tcpao_mkt *mkt,
				    uint64_t serial,
				    const struct tcpao_seg *seg)
{
	struct tcpao_tk_slot *slot;
	struct tcpao_ctx ctx = dir->ctx;

	if (!segment_isns(dir, seg, &ctx.sisn, &ctx.disn))
		return NULL;
	for (int i = 0; i < TCPAO_TK_CACHE; i++) {
		slot = &dir->cache[i];
		if (slot->serial == serial && slot->serial &&
		    slot->sisn == ctx.sisn && slot->disn == ctx.disn)
			return &slot->tk;
	}
	slot = &dir->cache[dir->next_slot];
	dir->next_slot = (uint8_t)((dir->next_slot + 1) % TCPAO_TK_CACHE);
	slot->serial = serial;
	slot->sisn = ctx.sisn;
	slot->disn = ctx.disn;
	tcpao_tk_derive(&slot->tk, mkt, &ctx);
	return &slot->tk;
}

static uint32_t segment_sne(const struct tcpao_dir *dir,
			    const struct tcpao_seg *seg)
{
	if ((seg->flags & TCPAO_TH_SYN) || !dir->have_sisn)
		return 0;
	return tcpao_sne_of(&dir->sne, seg->seq);
}

static bool macs_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
	uint8_t diff = 0;

	for (size_t i = 0; i < len; i++)
		diff |= a[i] ^ b[i];
	return !diff;
}

enum tcpao_result tcpao_dir_verify(struct tcpao_dir *dir,
				   const struct tcpao_mkt *mkt,
				   uint64_t serial,
				   const struct tcpao_seg *seg,
				   struct tcpao_pool *pool)
{
	uint8_t mac[TCPAO_MAX_MACLEN];
	const struct tcpao_tk *tk;

	if (!seg->opts.ao_off)
		return TCPAO_AO_REQUIRED;
	if (seg->opts.md5_off)
		return TCPAO_AO_MD5;
	if (seg->opts.ao_len != TCPAO_OPT_HDRLEN + mkt->maclen)
		return TCPAO_BAD_MAC;
	tk = tcpao_dir_tk(dir, mkt, serial, seg);
	if (!tk)
		return TCPAO_NO_ISN;
	tcpao_seg_mac(seg, tk, pool, segment_sne(dir, seg),
		      mkt->flags & TCPAO_MKT_EXCLUDE_OPT, mac, mkt->maclen);
	if (!macs_equal(mac, seg->tcp + seg->opts.ao_off + TCPAO_OPT_HDRLEN,
			mkt->maclen))
		return TCPAO_BAD_MAC;
	tcpao_dir_observe(dir, seg);
	return TCPAO_GOOD;
}

enum tcpao_result tcpao_dir_sign(struct tcpao_dir *dir,
				 const struct tcpao_mkt *mkt,
				 uint64_t serial,
				 struct tcpao_seg *seg,
				 struct tcpao_pool *pool)
{
	const struct tcpao_tk *tk;

	if (!seg->opts.ao_off ||
	    seg->opts.ao_len != TCPAO_OPT_HDRLEN + mkt->maclen)
		return TCPAO_MALFORMED;
	if (seg->opts.md5_off) /* the peer would refuse it (RFC 5925 2.2) */
		return TCPAO_AO_MD5;
	tk = tcpao_dir_tk(dir, mkt, serial, seg);
	if (!tk)
		return TCPAO_NO_ISN;
	tcpao_seg_mac(seg, tk, pool, segment_sne(dir, seg),
		      mkt->flags & TCPAO_MKT_EXCLUDE_OPT,
		      seg->tcp + seg->opts.ao_off + TCPAO_OPT_HDRLEN, mkt->maclen);
	tcpao_dir_observe(dir, seg);
	return TCPAO_GOOD;
}
