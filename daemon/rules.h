/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The netfilter rules that send AO peers' packets to tcpaod's queues:
 *
 *   raw PREROUTING    -> tcpao-in : TCP from a peer in tcpao4/tcpao6 to a
 *                                   local address (fragments included),
 *                                   ICMP/ICMPv6 errors -> ingress queues;
 *                                   TCP from anyone with an AO option, or
 *                                   to a port in tcpaoports (listeners
 *                                   that require AO) -> ingress queues
 *   mangle POSTROUTING -> tcpao-out: TCP from a local address to a peer
 *                                   -> egress queues
 *
 * Raw PREROUTING runs before conntrack, so a forged packet leaves no state.
 * No --queue-bypass: with no daemon the packets are dropped (fail closed).
 * The backend is iptables-nft or iptables-legacy, whichever can queue.
 */
#ifndef TCPAOD_RULES_H
#define TCPAOD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipset.h"
#include "members.h"
#include "policy.h"

/* Where our jump into a chain is among its hook's rules: we put it first;
 * a rule inserted before it later (JUMP_LATER) is warned about, not
 * undone. */
enum rules_jump { JUMP_NONE, JUMP_FIRST, JUMP_LATER };

struct rules {
	const char *ipt4, *ipt6;      /* the iptables binaries in use */
	const char *restore4, *restore6;
	uint16_t egress_base;         /* queues egress_base .. + n - 1 */
	uint16_t ingress_base;        /* queues ingress_base .. + n - 1 */
	uint16_t icmp_queue;
	unsigned int nqueues;
	bool installed;
	/* The set members last loaded (sorted), when sets_loaded: later
	 * changes are applied member by member (ipset.h). */
	struct ipset_member *members;
	size_t nmembers;
	uint16_t *ports;              /* tcpaoports: required listeners' */
	size_t nports;
	bool sets_loaded;
	unsigned int reloads;         /* whole-set reloads so far */
	/* How many entries want each member and port (members.h), when
	 * counts_ok: a change is then applied from the entries it changed
	 * alone (rules_change_sets()), which leaves members and ports above
	 * stale until the next whole update rebuilds them from the counts. */
	struct member_counts counts;
	bool counts_ok, stale;
	/* What the last look at the ruleset saw, per family (v4, v6): where
	 * our jumps are (enum rules_jump), and whether all is there. */
	struct {
		int jump_in, jump_out;
		bool ok;
		bool warned_later; /* said that a rule precedes a jump */
	} seen[2];
	bool seen_sets_ok;
};

/* Queue numbers for n workers starting at base: egress base..base+n-1,
 * ingress base+n..base+2n-1, ICMP errors base+2n. */
void rules_init(struct rules *r, uint16_t base, unsigned int n);

/* Removes whatever a previous tcpaod (even a killed one) left, creates the
 * peer sets from the policy and the chains. */
int rules_install(struct rules *r, const struct policy *policy,
		  char *err, size_t errlen);
/* Makes the peer sets hold the policy's peer prefixes: the members that
 * changed are added, then the ones gone deleted, over netlink; the first
 * time, or when that fails, the sets are rebuilt whole (ipset restore:
 * build, then swap). Nothing to do when no prefix changed. A failed
 * delete is no failure: the member stays until the next change rebuilds
 * the sets whole. On failure (<0) over netlink no member the sets held is
 * gone; a rebuild that fails may have swapped a family's sets. */
int rules_update_sets(struct rules *r, const struct policy *policy,
		      char *err, size_t errlen);
/* The same for `fresh`, a change of `old` (the policy the sets were last
 * made to hold): when fresh is a clone of old, only the entries it
 * changed are looked at (policy_changes()); members whose count goes
 * from 0 are added (the guard first), then those whose count comes to 0
 * deleted (the guard after), so a member some entry wants is never
 * absent. Otherwise, or when that fails, rules_update_sets(), whose
 * rebuild fills the sets with old's members too and prunes them once
 * every swap is done. On failure (<0) the sets still hold every member
 * of old, wherever the change stopped: old can stay in force. */
int rules_change_sets(struct rules *r, const struct policy *old,
		      const struct policy *fresh, char *err, size_t errlen);
/* What of the installed rules is gone ("IPv4 jump", "peer set", ...), or
 * NULL when all is in place (or nothing was installed). The sets are
 * counted over netlink (cheap); the rulesets, with `rulesets`, through
 * iptables-save (two helpers: for when something changed). */
const char *rules_missing(struct rules *r, bool rulesets);
/* Whether changes to our rules are announced (iptables-nft: nf_tables
 * notifications); iptables-legacy announces nothing. */
bool rules_announced(const struct rules *r);
/* Installs again what rules_missing() found gone (the sets rebuilt
 * whole); everything, the long way, if that fails. */
int rules_restore(struct rules *r, const struct policy *policy,
		  char *err, size_t errlen);
/* Removes chains, jumps and sets. Safe to call twice. */
void rules_remove(struct rules *r);
/* Frees what r holds in memory, nothing in the kernel: a daemon that stops
 * leaves its rules and sets (closed until the next one). */
void rules_free(struct rules *r);

#endif
