// SPDX-License-Identifier: GPL-2.0-or-later
/* Master key tuples (RFC 5925 section 3.1): checks and peer matching. */
#include <errno.h>
#include <string.h>

#include "tcpao.h"

#define MKT_KNOWN_FLAGS (TCPAO_MKT_IFINDEX | TCPAO_MKT_EXCLUDE_OPT)

int tcpao_mkt_check(struct tcpao_mkt *mkt)
{
	if (mkt->alg >= TCPAO_ALG_COUNT)
		return -ENOENT;
	if (mkt->flags & ~MKT_KNOWN_FLAGS)
		return -EINVAL;
	if (mkt->keylen > TCPAO_MAXKEYLEN)
		return -EINVAL;
	if (mkt->peer.family == AF_UNSPEC && mkt->prefixlen)
		return -EINVAL;
	if (mkt->peer.family != AF_INET && mkt->peer.family != AF_INET6 &&
	    mkt->peer.family != AF_UNSPEC)
		return -EINVAL;
	if (mkt->prefixlen > tcpao_addr_len(&mkt->peer) * 8)
		return -EINVAL;
	if (!(mkt->flags & TCPAO_MKT_IFINDEX) && mkt->ifindex)
		return -EINVAL;
	if (!mkt->maclen)
		mkt->maclen = TCPAO_DEFAULT_MACLEN;
	if (mkt->maclen > tcpao_alg_digest_len(mkt->alg) ||
	    TCPAO_OPT_HDRLEN + mkt->maclen > TCPAO_TCP_OPTSPACE)
		return -EMSGSIZE;
	return 0;
}

bool tcpao_mkt_matches(const struct tcpao_mkt *mkt,
		       const struct tcpao_addr *peer, int ifindex)
{
	struct tcpao_addr p = *peer;

	tcpao_addr_unmap(&p);
	if ((mkt->flags & TCPAO_MKT_IFINDEX) && mkt->ifindex &&
	    mkt->ifindex != ifindex)
		return false;
	if (mkt->peer.family == AF_UNSPEC)
		return true;
	return tcpao_addr_in_prefix(&p, &mkt->peer, mkt->prefixlen);
}

/* Prefixes overlap when the shorter one contains the longer one's address. */
static bool peers_overlap(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	uint8_t shorter = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;

	if (a->peer.family == AF_UNSPEC || b->peer.family == AF_UNSPEC)
		return true;
	if (a->peer.family != b->peer.family)
		return false;
	if ((a->flags & TCPAO_MKT_IFINDEX) && (b->flags & TCPAO_MKT_IFINDEX) &&
	    a->ifindex != b->ifindex)
		return false;
	return tcpao_addr_in_prefix(&a->peer, &b->peer, shorter);
}

bool tcpao_mkt_conflicts(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	return (a->sndid == b->sndid || a->rcvid == b->rcvid) &&
	       peers_overlap(a, b);
}

void tcpao_mkt_wipe(struct tcpao_mkt *mkt)
{
	explicit_bzero(mkt, sizeof(*mkt));
}
