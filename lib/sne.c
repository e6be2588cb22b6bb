// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sequence number extension (RFC 5925 section 6.2): the count of times a
 * direction's 32-bit sequence number has wrapped. A segment's SNE is judged
 * against the newest sequence number seen, within 2^31 either side, so that
 * retransmissions and reordering across a wrap get the SNE they were sent
 * with.
 */
#include "tcpao.h"

static bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

void tcpao_sne_init(struct tcpao_sne *s, uint32_t isn)
{
	s->seq = isn;
	s->sne = 0;
}

uint32_t tcpao_sne_of(const struct tcpao_sne *s, uint32_t seq)
{
	if (seq_before(seq, s->seq))
		return seq > s->seq ? s->sne - 1 : s->sne; /* older, maybe pre-wrap */
	return seq < s->seq ? s->sne + 1 : s->sne;         /* newer, maybe wrapped */
}

void tcpao_sne_advance(struct tcpao_sne *s, uint32_t seq)
{
	if (seq_before(seq, s->seq))
		return;
	s->sne = tcpao_sne_of(s, seq);
	s->seq = seq;
}
