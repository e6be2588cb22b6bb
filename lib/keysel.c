// SPDX-License-Identifier: GPL-2.0-or-later
/* Which MKT signs what we send, and which one we ask the peer to use. */
#include <errno.h>

#include "tcpao.h"

int tcpao_keysel_default(struct tcpao_keysel *sel,
			 const struct tcpao_keyring *ring,
			 const struct tcpao_addr *peer, int ifindex)
{
	const struct tcpao_ringkey *k = tcpao_keyring_lookup(ring, peer, ifindex, -1, -1);

	if (!k)
		return -ENOENT;
	sel->current = sel->rnext = k->serial;
	return 0;
}

void tcpao_keysel_follow_peer(struct tcpao_keysel *sel,
			      const struct tcpao_keyring *ring,
			      const struct tcpao_addr *peer, int ifindex,
			      uint8_t rnext)
{
	int cur = tcpao_keyring_find_serial(ring, sel->current);
	int want;

	if (cur >= 0 && tcpao_keyring_key(ring, cur)->sndid == rnext)
		return;
	want = tcpao_keyring_find_sndid(ring, peer, ifindex, rnext);
	if (want >= 0)
		sel->current = tcpao_keyring_serial(ring, want);
}
