/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Members of tcpaod's hash:net peer sets, and changing them (and the
 * bitmap:port set of local ports) one member at a time over netlink: what
 * `ipset add` / `ipset del` send, without a fork and exec per change.
 * Creating and swapping whole sets stays with `ipset restore` (rules.c).
 */
#ifndef TCPAOD_IPSET_H
#define TCPAOD_IPSET_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpao.h"

/* One member: an IPv4 or IPv6 prefix of 1..32 (1..128) bits (hash:net
 * holds no /0). Host bits are clear. */
struct ipset_member {
	struct tcpao_addr prefix;
	uint8_t len;
};

/* Orders members (family, length, address); equal members compare 0. */
int ipset_member_cmp(const void *a, const void *b);

/* Sorts and removes duplicates; returns the new count. */
size_t ipset_members_unique(struct ipset_member *m, size_t n);

/* A change of the peer sets (IPv4 members in set4, IPv6 in set6) and of
 * the port set (bitmap:port). */
struct ipset_change {
	const char *set4, *set6, *setports;
	const struct ipset_member *add, *del;
	size_t nadd, ndel;
	const uint16_t *port_add, *port_del;
	size_t nport_add, nport_del;
};

/* Adds, then deletes. Adding a member already there, or deleting one that
 * is not, is no error. Returns 0, or a negative errno when a request
 * failed (the sets may then hold part of the change: the caller reloads
 * them whole). */
int ipset_change(const struct ipset_change *c);

/* How many members each named set holds (entries[i]; -1 when the set is
 * absent, IPSET_ENTRIES_UNKNOWN when the kernel does not say), from one
 * header-only dump of the sets: what `ipset list -t` prints as "Number of
 * entries", without a helper. Returns 0 or -errno. */
#define IPSET_ENTRIES_UNKNOWN LONG_MAX
int ipset_entries(const char *const names[], size_t n, long entries[]);

#endif
