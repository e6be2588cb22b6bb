/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guard: netfilter BPF programs (guard.bpf.c) that drop what tcpaod's
 * rules should have queued and did not, a second line of defence that
 * `nft flush ruleset`, `iptables -F` or `iptables-restore` do not touch:
 *
 *   IPv4/IPv6 POST_ROUTING, after mangle: local TCP to an AO peer that
 *       does not carry the tcpao mark (mark.h) -> drop
 *   IPv4/IPv6 LOCAL_IN, with IP defragmentation: TCP without the mark
 *       from an AO peer, to the local port of a listener that requires
 *       AO, or with a kind-29 option from anyone -> drop
 *
 * Every packet the daemon accepts carries the mark, so the guard passes
 * it. The links and maps are pinned in bpffs under
 * <bpffs>/tcpao/netns-<cookie>/<generation>/ so that they outlive the
 * daemon: stopped or killed, the host stays closed. A new daemon attaches
 * its own generation, then removes the older ones: no gap.
 */
#ifndef TCPAOD_GUARD_H
#define TCPAOD_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipset.h"

/* Loads, attaches and pins a guard for the peers given, passing the mark;
 * then removes older guards of this namespace. -ENOTSUP when the kernel
 * has no netfilter BPF links (the caller warns and goes on without). */
int guard_open(uint32_t mark, const struct ipset_member *m, size_t n,
	       const uint16_t *ports, size_t nports, char *err, size_t errlen);
/* Makes the peer maps hold exactly m[0..n). With add_only, members not in
 * m stay (a peer is added to the guard before the sets, removed after). */
int guard_peers(const struct ipset_member *m, size_t n, bool add_only);
/* Removes these peers from the guard's maps (the rest stays). */
void guard_forget(const struct ipset_member *m, size_t n);
/* The same for the ports of listeners that require AO (p sorted). */
int guard_ports(const uint16_t *p, size_t n, bool add_only);
void guard_forget_ports(const uint16_t *p, size_t n);
/* The peers and ports in the guard's maps, in two arrays the caller
 * frees (unsorted). -ENOENT without a guard, -ENOMEM. */
int guard_held(struct ipset_member **peers, size_t *npeers, uint16_t **ports,
	       size_t *nports);
/* True while our guard is attached and pinned; pins removed by hand are
 * put back. */
bool guard_check(void);
/* Drops counted by the guard: egress unsigned, ingress from a peer,
 * ingress kind 29 from others, ingress to a port that requires AO. All 0
 * without a guard. */
#define GUARD_DROPS 4
void guard_drops(uint64_t out[GUARD_DROPS]);
/* Closes our descriptors; the pinned guard stays. */
void guard_close(void);
/* Removes every tcpao guard of this namespace (pins included). */
void guard_remove_all(void);

#endif
