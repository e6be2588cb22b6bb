// SPDX-License-Identifier: GPL-2.0-or-later
/* Master key tuples (RFC 5925 section 3.1): checks and peer matching. */
#include <errno.h>
#include <string.h>

#include "tcpao.h"

#define MKT_KNOWN_FLAGS (TCPAO_MKT_IFINDEX | TCPAO_MKT_EXCLUDE_OPT)

/* Linux's SYN option budget for AO: 40 bytes less MSS (4), timestamps with
 * SACK-permitted (12) and window scale (4), so maclen 16 at most. */
#define MKT_AO_SPACE (TCPAO_TCP_OPTSPACE - 4 - 12 - 4)

static bool addr_is_any(const struct tcpao_addr *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->bytes, zero, tcpao_addr_len(a));
}

static bool host_bits_clear(const struct tcpao_addr *a, uint8_t prefixlen)
{
	size_t len = tcpao_addr_len(a);

	for (size_t i = prefixlen / 8; i < len; i++) {
		uint8_t host = i == prefixlen / 8 ? 0xff >> (prefixlen % 8) : 0xff;

		if (a->bytes[i] & host)
			return false;
	}
	return true;
}

/* The peer rules of tcp_ao_verify_ipv4/6: a v4-mapped peer is kept as IPv4
 * (its prefix counts IPv4 bits); prefix 0 only with the any address, any
 * other prefix never with it; no host bits beyond the prefix. */
static int check_peer(struct tcpao_mkt *mkt)
{
	struct tcpao_addr *p = &mkt->peer;

	if (p->family == AF_UNSPEC)
		return mkt->prefixlen ? -EINVAL : 0;
	if (p->family != AF_INET && p->family != AF_INET6)
		return -EINVAL;
	if (p->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&p->v6)) {
		if (!mkt->prefixlen)
			return -EINVAL;
		tcpao_addr_unmap(p);
	}
	if (mkt->prefixlen > tcpao_addr_len(p) * 8)
		return -EINVAL;
	if (!mkt->prefixlen)
		return addr_is_any(p) ? 0 : -EINVAL;
	if (addr_is_any(p) || !host_bits_clear(p, mkt->prefixlen))
		return -EINVAL;
	return 0;
}

/* In the order of Linux's tcp_ao_add_cmd() and tcp_ao_parse_crypto(), so
 * that a key with several faults gets the errno Linux gives. */
int tcpao_mkt_check(struct tcpao_mkt *mkt)
{
	int rc;

	if (mkt->keylen > TCPAO_MAXKEYLEN)
		return -EINVAL;
	rc = check_peer(mkt);
	if (rc)
		return rc;
	if (mkt->flags & ~MKT_KNOWN_FLAGS)
		return -EINVAL;
	if (!(mkt->flags & TCPAO_MKT_IFINDEX) && mkt->ifindex)
		return -EINVAL;
	if (mkt->ifindex < 0)
		return -EINVAL;
	if (mkt->alg >= TCPAO_ALG_COUNT)
		return -ENOENT;
	if (!mkt->maclen)
		mkt->maclen = TCPAO_DEFAULT_MACLEN;
	if (((TCPAO_OPT_HDRLEN + mkt->maclen + 3u) & ~3u) > MKT_AO_SPACE)
		return -EMSGSIZE;
	if (mkt->maclen > tcpao_alg_digest_len(mkt->alg))
		return -EINVAL;
	return 0;
}

bool tcpao_mkt_matches(const struct tcpao_mkt *mkt,
		       const struct tcpao_addr *peer, int ifindex)
{
	struct tcpao_addr p = *peer;

	tcpao_addr_unmap(&p);
	if (!tcpao_mkt_in_vrf(mkt, ifindex))
		return false;
	if (mkt->peer.family == AF_UNSPEC)
		return true;
	return tcpao_addr_in_prefix(&p, &mkt->peer, mkt->prefixlen);
}

/* Prefixes overlap when the shorter one contains the longer one's address.
 * As in Linux, only the existing key's ifindex (a) counts, and a new key (b)
 * without the flag is taken for the default VRF. */
static bool peers_overlap(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	int b_ifindex = (b->flags & TCPAO_MKT_IFINDEX) ? b->ifindex : 0;
	uint8_t shorter = a->prefixlen < b->prefixlen ? a->prefixlen : b->prefixlen;

	if ((a->flags & TCPAO_MKT_IFINDEX) && a->ifindex != b_ifindex)
		return false;
	if (a->peer.family == AF_UNSPEC || b->peer.family == AF_UNSPEC)
		return true;
	if (a->peer.family != b->peer.family)
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
