// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer sets (daemon/rules.c, daemon/ipset.c): member order and
 * duplicates, and, as root in a network namespace of the test's own, that
 * rules_update_sets() leaves the kernel's sets holding exactly the
 * policy's peers after each change, whether the change went member by
 * member (netlink) or whole (ipset restore, when netlink fails).
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "ipset.h"
#include "policy.h"
#include "rules.h"

static char err[256];

static struct ipset_member member(const char *text)
{
	struct ipset_member m;

	assert_int_equal(tcpao_addr_parse(text, &m.prefix, &m.len), 0);
	return m;
}

static void test_members_unique(void **state)
{
	struct ipset_member m[] = {
		member("fd00::/64"), member("198.18.0.1/32"),
		member("198.18.0.0/24"), member("198.18.0.1/32"),
		member("fd00::/64"), member("198.18.0.0/16"),
	};
	size_t n = ipset_members_unique(m, 6);

	(void)state;
	assert_int_equal(n, 4);
	/* IPv4 first, shorter prefixes first. */
	assert_int_equal(m[0].len, 16);
	assert_int_equal(m[1].len, 24);
	assert_int_equal(m[2].len, 32);
	assert_int_equal(m[3].prefix.family, AF_INET6);
	assert_int_equal(ipset_members_unique(m, 0), 0);
}

/* ---- against the kernel (root) ----------------------------------------- */

static int add_peer(struct policy *p, const char *peer, int id)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)id, .rcvid = (uint8_t)id,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6, .key = "secret" };

	assert_int_equal(tcpao_addr_parse(peer, &m.peer, &m.prefixlen), 0);
	return policy_add_key(p, &m, err, sizeof(err));
}

/* The members of a set as `ipset save` prints them, sorted, one a line. */
static void set_members(const char *set, char *out, size_t len)
{
	char cmd[128], line[256];
	size_t off = 0;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ipset save %s | sed -n 's/^add [^ ]* //p' | LC_ALL=C sort", set);
	f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f) && off < len)
		off += (size_t)snprintf(out + off, len - off, "%s", line);
	assert_int_equal(pclose(f), 0);
}

static void assert_sets(const char *want4, const char *want6)
{
	char got[1024];

	set_members("tcpao4", got, sizeof(got));
	assert_string_equal(got, want4);
	set_members("tcpao6", got, sizeof(got));
	assert_string_equal(got, want6);
}

static int own_netns(void **state)
{
	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) ||
	    system("ipset list -n >/dev/null 2>&1") != 0)
		return -1;
	return 0;
}

static void test_sets_follow_policy(void **state)
{
	struct rules r;
	struct policy *p = policy_new();

	(void)state;
	if (own_netns(state))
		skip(); /* needs root and ipset */
	rules_init(&r, 100, 1);
	/* What an older tcpaod left: its set (default maxelem), a "-new"
	 * set of a killed run. Both give way to ours. */
	assert_int_equal(system("ipset create tcpao4 hash:net family inet && "
				"ipset create tcpao6-new hash:ip family inet6"), 0);
	assert_int_equal(add_peer(p, "198.18.0.0/24", 1), 0);
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("198.18.0.0/24\n", "");
	assert_int_equal(system("ipset list -t tcpao4 | grep -q 'maxelem 1048576' && "
				"ipset list -t tcpao6 | grep -q 'maxelem 1048576' && "
				"! ipset list -n | grep -q -- -new"), 0);

	/* Member by member: two peers more, one per family. */
	assert_int_equal(add_peer(p, "198.18.7.9/32", 2), 0);
	assert_int_equal(add_peer(p, "fd00::/64", 3), 0);
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("198.18.0.0/24\n198.18.7.9\n", "fd00::/64\n");
	assert_int_equal(r.reloads, 1);

	/* A peer gone (its entry removed), another one added. */
	policy_free(p);
	p = policy_new();
	assert_int_equal(add_peer(p, "198.18.7.9/32", 2), 0);
	assert_int_equal(add_peer(p, "fd00::/64", 3), 0);
	assert_int_equal(add_peer(p, "fd00:1::5/128", 4), 0);
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("198.18.7.9\n", "fd00:1::5\nfd00::/64\n");

	/* A /0 (a listener of any peer) is two /1. */
	{
		struct policy_scope any = { .peer.family = AF_INET, .peer_len = 0 };
		int rc;

		assert_non_null(policy_peer_get(p, &any, "test", &rc, err, sizeof(err)));
	}
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("0.0.0.0/1\n128.0.0.0/1\n198.18.7.9\n", "fd00:1::5\nfd00::/64\n");

	/* Listeners that require AO: their ports, member by member. */
	{
		struct policy_sock ps = { .cookie = 0x51, .uid = 65534, .listener = true };
		struct policy_scope sc = { .peer.family = AF_INET, .local_port = 4179 };
		struct policy_peer *e;
		char got[256];
		int rc;

		e = policy_sock_set(p, &ps, &sc, NULL, false, NULL, 0, &rc, err, sizeof(err));
		assert_non_null(e);
		e->ao_required = true;
		ps.cookie = 0x52;
		sc.local_port = 179;
		e = policy_sock_set(p, &ps, &sc, NULL, false, NULL, 0, &rc, err, sizeof(err));
		assert_non_null(e);
		e->ao_required = false; /* not required: not in the set */
		assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
		set_members("tcpaoports", got, sizeof(got));
		assert_string_equal(got, "4179\n");
		assert_int_equal(r.reloads, 1);
		e->ao_required = true;
		assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
		set_members("tcpaoports", got, sizeof(got));
		assert_string_equal(got, "179\n4179\n");
		assert_true(policy_sock_remove(p, 0x51));
		assert_true(policy_sock_remove(p, 0x52));
		assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
		set_members("tcpaoports", got, sizeof(got));
		assert_string_equal(got, "");
		assert_int_equal(r.reloads, 1);
	}

	/* Someone destroyed a set: netlink fails, the sets are rebuilt whole. */
	assert_int_equal(system("ipset destroy tcpao6"), 0);
	policy_free(p);
	p = policy_new();
	assert_int_equal(add_peer(p, "fd00:2::/48", 5), 0);
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("", "fd00:2::/48\n");
	assert_int_equal(r.reloads, 2);

	/* Nothing left. */
	policy_free(p);
	p = policy_new();
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	assert_sets("", "");
	assert_int_equal(r.reloads, 2);
	rules_remove(&r);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_unique),
		cmocka_unit_test(test_sets_follow_policy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
