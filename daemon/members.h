/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The peer sets' members, each with how many of the policy's entries want
 * it (and the port set's ports, the same way): a policy change then
 * adds to the sets only the members whose count leaves 0 and deletes
 * only those whose count comes to 0, at the cost of the entries it
 * changed, never of the whole policy. A member some entry still wants
 * is never deleted (fail closed). Main thread only.
 */
#ifndef TCPAOD_MEMBERS_H
#define TCPAOD_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipset.h"
#include "policy.h"

struct member_slot;

struct member_counts {
	struct member_slot *slots; /* open addressing; count 0 slots stay */
	size_t nslots, used;
	size_t family[2];          /* members wanted, IPv4 and IPv6 */
	uint32_t *ports;           /* 65,536 counts, NULL until needed */
	size_t nports;             /* ports wanted */
};

/* What a change did: members and ports whose count left 0, came to 0. */
struct members_delta {
	struct ipset_member *add, *del;
	size_t nadd, ndel, cap_add, cap_del;
	uint16_t *port_add, *port_del;
	size_t nport_add, nport_del, cap_port_add, cap_port_del;
};

void members_free(struct member_counts *m);
/* The counts of a whole policy (what the sets hold once loaded from it). */
int members_reset(struct member_counts *m, const struct policy *policy);
/* Counts what one entry wants, +1 each (sign > 0) or -1 (sign < 0),
 * noting in d the members and ports that come in or go. 0 or -ENOMEM. */
int members_count(struct member_counts *m, const struct policy_peer *p, int sign,
		  struct members_delta *d);
/* Replacing entry o by p, its copy changed by one key at most
 * (policy_peer.delta_of): counts that key and the required port, the
 * comings in (sign > 0) or the goings (sign < 0). 1 when counted, 0 when
 * p is not such a copy of o (count both whole), or -ENOMEM. */
int members_count_change(struct member_counts *m, const struct policy_peer *o,
			 const struct policy_peer *p, int sign,
			 struct members_delta *d);
void members_delta_free(struct members_delta *d);
/* Every member wanted, sorted (ipset_members_unique()); *out NULL when
 * none. 0 or -ENOMEM. */
int members_list(const struct member_counts *m, struct ipset_member **out, size_t *n);

#endif
