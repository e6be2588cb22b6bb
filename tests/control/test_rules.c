// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The peer sets (daemon/rules.c, daemon/ipset.c): member order and
 * duplicates, and, as root in a network namespace of the test's own, that
 * rules_update_sets() leaves the kernel's sets holding exactly the
 * policy's peers after each change, whether the change went member by
 * member (netlink) or whole (ipset restore, when netlink fails).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "failalloc.h"
#include "guard.h"
#include "helpers.h"
#include "ipset.h"
#include "members.h"
#include "policy.h"
#include "rules.h"

static char err[256];

/* helpers.c's helper_path(), but with a stand-in for ipset when set. */
const char *__real_helper_path(const char *name);
const char *__wrap_helper_path(const char *name);
static const char *ipset_stand_in;

const char *__wrap_helper_path(const char *name)
{
	return ipset_stand_in && !strcmp(name, "ipset") ? ipset_stand_in
							: __real_helper_path(name);
}

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
		assert_int_equal(policy_sock_remove(p, 0x51), 0);
		assert_int_equal(policy_sock_remove(p, 0x52), 0);
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

/* ---- sets changed from the entries a change made (issue 10) ------------ */

/* The next version, as the daemon publishes it: the sets follow the
 * entries the change made, and the old version goes. */
static struct policy *publish(struct rules *r, struct policy *old, struct policy *fresh)
{
	assert_int_equal(rules_change_sets(r, old, fresh, err, sizeof(err)), 0);
	policy_free(old);
	return fresh;
}

static struct policy_peer *listener(struct policy *p, uint64_t cookie, uint16_t port,
				    const char *peer)
{
	struct policy_sock ps = { .cookie = cookie, .uid = 65534, .listener = true };
	struct policy_scope sc = { .peer.family = AF_INET, .local_port = port };
	struct tcpao_mkt m = { .sndid = 9, .rcvid = 9, .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret" };
	struct tcpao_keyring ring;
	struct policy_peer *e;
	int rc;

	tcpao_keyring_init(&ring);
	assert_int_equal(tcpao_addr_parse(peer, &m.peer, &m.prefixlen), 0);
	assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
	e = policy_sock_set(p, &ps, &sc, &ring, false, NULL, 0, &rc, err, sizeof(err));
	tcpao_keyring_free(&ring);
	assert_non_null(e);
	e->ao_required = true;
	return e;
}

static void test_sets_follow_changes(void **state)
{
	struct policy_key_ref ref = { .peer_len = 32, .sndid = 2, .rcvid = 2 };
	struct policy *p = policy_new(), *q;
	struct rules r;
	char got[256];

	(void)state;
	if (own_netns(state))
		skip(); /* needs root and ipset */
	rules_init(&r, 100, 1);
	assert_int_equal(add_peer(p, "198.18.0.0/24", 1), 0);
	assert_int_equal(rules_update_sets(&r, p, err, sizeof(err)), 0);
	/* A new peer, a key more for a peer already there. */
	q = policy_clone(p);
	assert_int_equal(add_peer(q, "198.18.7.9/32", 2), 0);
	assert_int_equal(add_peer(q, "198.18.0.0/24", 3), 0);
	p = publish(&r, p, q);
	assert_sets("198.18.0.0/24\n198.18.7.9\n", "");
	/* Its key deleted: its entry, and its member, stay. */
	q = policy_clone(p);
	assert_int_equal(tcpao_addr_parse("198.18.7.9", &ref.peer, NULL), 0);
	assert_int_equal(policy_del_key(q, &ref, -1, -1, err, sizeof(err)), 0);
	p = publish(&r, p, q);
	assert_sets("198.18.0.0/24\n198.18.7.9\n", "");
	/* A listener requiring AO whose key's peer a host entry has too: its
	 * port comes and goes with it, the shared member stays. */
	q = policy_clone(p);
	listener(q, 0x61, 4179, "198.18.7.9/32");
	listener(q, 0x62, 4180, "fd00::5/128");
	p = publish(&r, p, q);
	assert_sets("198.18.0.0/24\n198.18.7.9\n", "fd00::5\n");
	set_members("tcpaoports", got, sizeof(got));
	assert_string_equal(got, "4179\n4180\n");
	q = policy_clone(p);
	assert_int_equal(policy_sock_remove(q, 0x61), 0);
	assert_int_equal(policy_sock_remove(q, 0x62), 0);
	p = publish(&r, p, q);
	assert_sets("198.18.0.0/24\n198.18.7.9\n", "");
	set_members("tcpaoports", got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(r.reloads, 1); /* never rebuilt whole */
	/* Not a clone (a reload): the whole way, from the stale lists. */
	q = policy_new();
	assert_int_equal(add_peer(q, "198.18.7.9/32", 2), 0);
	p = publish(&r, p, q);
	assert_sets("198.18.7.9\n", "");
	assert_int_equal(r.reloads, 1);
	rules_remove(&r);
	policy_free(p);
}

/* Each line of `lines` is a member of set (others may be too). */

/* Each line of `lines` is one of `in` ("\n" line "\n" each). */
static void assert_lines_in(const char *lines, const char *in, const char *what)
{
	char want[256];

	for (const char *l = lines; *l; l = strchr(l, '\n') + 1) {
		if (*l == '\n')
			continue;
		snprintf(want, sizeof(want), "\n%.*s", (int)(strchr(l, '\n') - l + 1), l);
		if (!strstr(in, want))
			fail_msg("%s lacks %s", what, want + 1);
	}
}

static void assert_set_holds(const char *set, const char *lines)
{
	char got[1024] = "\n";

	set_members(set, got + 1, sizeof(got) - 1);
	assert_lines_in(lines, got, set);
}

static const char *const old4 = "198.18.0.0/24\n198.18.7.9\n";
static const char *const new4 = "198.18.0.0/24\n198.18.9.0/26\n";

/* In a namespace of the test's own, the sets of a policy with a host
 * peer, a listener that requires AO (old4, port 4179) and `also`'s key,
 * if any. */
static struct policy *sets_of_old(struct rules *r, const char *also)
{
	struct policy *p;

	if (own_netns(NULL))
		skip(); /* needs root and ipset */
	p = policy_new();
	rules_init(r, 100, 1);
	assert_int_equal(add_peer(p, "198.18.0.0/24", 1), 0);
	if (also)
		assert_int_equal(add_peer(p, also, 4), 0);
	listener(p, 0x61, 4179, "198.18.7.9/32");
	assert_int_equal(rules_update_sets(r, p, err, sizeof(err)), 0);
	return p;
}

/* A guard holding these peers and ports, its maps pinned in a bpffs of
 * a mount namespace of the test's own: gone with the test, failed or not. */
static void guard_of(const struct ipset_member *m, size_t n, const uint16_t *ports,
		     size_t nports)
{
	assert_int_equal(unshare(CLONE_NEWNS), 0);
	assert_int_equal(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_int_equal(mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"), 0);
	if (guard_open(0x5a0, m, n, ports, nports, err, sizeof(err)))
		fail_msg("%s", err);
}

/* Appends "\n" line "\n" for each peer of family f (as `ipset save`
 * writes it: a host bare) or each port. */
static void held_lines(const struct ipset_member *m, size_t n, sa_family_t f,
		       char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < n; i++) {
		size_t off = strlen(out);

		if (m[i].prefix.family != f)
			continue;
		inet_ntop(f, m[i].prefix.bytes, a, sizeof(a));
		if (m[i].len == tcpao_addr_len(&m[i].prefix) * 8)
			snprintf(out + off, len - off, "\n%s\n", a);
		else
			snprintf(out + off, len - off, "\n%s/%u\n", a, m[i].len);
	}
}

/* The guard drops the peers it holds unless the workers marked their
 * segments, and only what the sets queue reaches the workers: it must
 * hold every peer (and required port) of the policy in force, and
 * nothing the sets do not queue (a peer with no key would be cut off). */
static void assert_guard_between(const char *in_force4, const char *in_force6,
				 const char *in_force_ports)
{
	static const struct { const char *set; sa_family_t f; } sets[3] = {
		{ "tcpao4", AF_INET }, { "tcpao6", AF_INET6 }, { "tcpaoports", 0 } };
	const char *in_force[3] = { in_force4, in_force6, in_force_ports };
	struct ipset_member *m;
	uint16_t *ports;
	size_t n, nports;

	assert_int_equal(guard_held(&m, &n, &ports, &nports), 0);
	for (int i = 0; i < 3; i++) {
		char held[2048] = "", queued[2048] = "\n";

		if (sets[i].f)
			held_lines(m, n, sets[i].f, held, sizeof(held));
		for (size_t k = 0; !sets[i].f && k < nports; k++)
			snprintf(held + strlen(held), sizeof(held) - strlen(held), "\n%u\n", ports[k]);
		set_members(sets[i].set, queued + 1, sizeof(queued) - 1);
		assert_lines_in(in_force[i], held, "the guard");
		assert_lines_in(held, queued, sets[i].set);
	}
	free(m);
	free(ports);
}

/* A change the sets cannot take (each allocation failing in turn, alone
 * and with every one after it) leaves every member of the policy in
 * force in them (rules.h): the caller keeps that policy. One that
 * succeeds has every member of the new one. Either way, the next change
 * leaves them exact. The guard follows: between the policy in force and
 * the sets, whatever failed. */
static void test_failed_change_keeps_old(void **state)
{
	struct rules r;
	struct policy *p = sets_of_old(&r, NULL), *q;

	(void)state;
	guard_of(r.members, r.nmembers, r.ports, r.nports);
	for (int and_after = 0; and_after < 2; and_after++) {
		bool fired = true;

		for (long n = 1; fired && n < 1000; n++) {
			int rc;

			q = policy_clone(p);
			assert_int_equal(policy_sock_remove(q, 0x61), 0);
			listener(q, 0x62, 4180, "fd00::5/128");
			assert_int_equal(add_peer(q, "198.18.9.0/26", 3), 0);
			failalloc_arm(n, and_after);
			rc = rules_change_sets(&r, p, q, err, sizeof(err));
			fired = failalloc_fired();
			assert_set_holds("tcpao4", rc ? old4 : new4);
			assert_set_holds("tcpao6", rc ? "" : "fd00::5\n");
			assert_guard_between(rc ? old4 : new4, rc ? "" : "fd00::5\n",
					     rc ? "4179\n" : "4180\n");
			if (rc) { /* p stays in force: the change again */
				assert_int_equal(rules_change_sets(&r, p, q, err, sizeof(err)), 0);
			} else { /* maybe members left over: back and forth */
				assert_int_equal(rules_change_sets(&r, q, p, err, sizeof(err)), 0);
				assert_sets(old4, "");
				assert_guard_between(old4, "", "4179\n");
				assert_int_equal(rules_change_sets(&r, p, q, err, sizeof(err)), 0);
			}
			assert_sets(new4, "fd00::5\n");
			assert_guard_between(new4, "fd00::5\n", "4180\n");
			assert_int_equal(rules_change_sets(&r, q, p, err, sizeof(err)), 0);
			assert_sets(old4, "");
			assert_guard_between(old4, "", "4179\n");
			policy_free(q);
		}
		assert_false(fired);
	}
	guard_remove_all();
	rules_remove(&r);
	policy_free(p);
}

/* The guard made to hold fewer peers and ports when no allocation
 * succeeds: the rest go all the same (a peer left in it, with no key in
 * force, would be cut off). */
static void test_guard_prunes_without_memory(void **state)
{
	struct ipset_member m[4] = { 0 };
	uint16_t ports[2] = { 4179, 4180 }, *held_ports;
	struct ipset_member *held;
	size_t n, nports;

	(void)state;
	if (own_netns(NULL))
		skip(); /* needs root */
	assert_int_equal(tcpao_addr_parse("198.18.0.0", &m[0].prefix, NULL), 0);
	assert_int_equal(tcpao_addr_parse("198.18.7.9", &m[1].prefix, NULL), 0);
	assert_int_equal(tcpao_addr_parse("198.18.9.0", &m[2].prefix, NULL), 0);
	assert_int_equal(tcpao_addr_parse("fd00::5", &m[3].prefix, NULL), 0);
	m[0].len = 24, m[1].len = 32, m[2].len = 26, m[3].len = 128;
	guard_of(m, 4, ports, 2);
	failalloc_arm(1, true);
	guard_peers(&m[1], 1, false);
	guard_ports(&ports[1], 1, false);
	failalloc_fired();
	assert_int_equal(guard_held(&held, &n, &held_ports, &nports), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ipset_member_cmp(&held[0], &m[1]), 0);
	assert_int_equal(nports, 1);
	assert_int_equal(held_ports[0], 4180);
	free(held);
	free(held_ports);
	guard_remove_all();
}

/* An ipset whose restore stops before the swap numbered $TCPAO_TEST_CUT
 * (from 0; 3: after every line) and fails, written to path. */
static void write_cut_ipset(char *path, size_t len)
{
	const char *real = __real_helper_path("ipset");
	char dir[] = "/tmp/tcpao-test-ipset-XXXXXX";
	FILE *f;

	assert_non_null(real);
	assert_non_null(mkdtemp(dir));
	snprintf(path, len, "%s/ipset", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n"
		   "[ \"$1\" = restore ] || exec %s \"$@\"\n"
		   "awk -v n=\"$TCPAO_TEST_CUT\" '/^swap /{ if (s++ == n) exit } { print }' |\n"
		   "\t%s restore\n"
		   "exit 1\n", real, real);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0700), 0);
}

/* A whole rebuild (ipset restore, not a transaction: it swaps the sets in
 * a family at a time) that stops at any of its swaps, or fails after all
 * of them: the change is refused, and every member of the policy in
 * force is in the sets, so that it can stay. The same change made next
 * leaves the sets exact. */
static void test_cut_rebuild_keeps_old(void **state)
{
	char stand_in[64], cut[2], got[64];
	struct rules r;
	struct policy *p = sets_of_old(&r, "fd00::7/128"), *q = policy_new();

	(void)state;
	guard_of(r.members, r.nmembers, r.ports, r.nports);
	/* A reload: each family and the ports change. */
	assert_int_equal(add_peer(q, "198.18.0.0/24", 1), 0);
	assert_int_equal(add_peer(q, "198.18.9.0/26", 3), 0);
	assert_int_equal(add_peer(q, "fd00::8/128", 5), 0);
	listener(q, 0x62, 4180, "fd00::5/128");
	write_cut_ipset(stand_in, sizeof(stand_in));
	for (int n = 0; n <= 3; n++) {
		snprintf(cut, sizeof(cut), "%d", n);
		setenv("TCPAO_TEST_CUT", cut, 1);
		ipset_stand_in = stand_in;
		r.sets_loaded = false; /* as after a failure: rebuilt whole */
		assert_int_equal(rules_change_sets(&r, p, q, err, sizeof(err)), -EIO);
		ipset_stand_in = NULL;
		assert_set_holds("tcpao4", old4);
		assert_set_holds("tcpao6", "fd00::7\n");
		assert_set_holds("tcpaoports", "4179\n");
		assert_guard_between(old4, "fd00::7\n", "4179\n");
		assert_int_equal(rules_change_sets(&r, p, q, err, sizeof(err)), 0);
		assert_sets(new4, "fd00::5\nfd00::8\n");
		set_members("tcpaoports", got, sizeof(got));
		assert_string_equal(got, "4180\n");
		assert_guard_between(new4, "fd00::5\nfd00::8\n", "4180\n");
		assert_int_equal(rules_change_sets(&r, q, p, err, sizeof(err)), 0);
		assert_sets(old4, "fd00::7\n");
		assert_guard_between(old4, "fd00::7\n", "4179\n");
	}
	guard_remove_all();
	unlink(stand_in);
	rmdir(dirname(stand_in));
	rules_remove(&r);
	policy_free(p);
	policy_free(q);
}

/* A socket's key added or deleted (twice, sometimes: then counted whole),
 * or its ao_required flipped: what sock-key-add / sock-key-del do. */
static void sock_key_change(struct policy *q, uint64_t cookie, const char *peer,
			    uint32_t x)
{
	struct tcpao_mkt k = { .sndid = (uint8_t)(x >> 21 & 3), .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret" };

	k.rcvid = k.sndid;
	assert_int_equal(tcpao_addr_parse(peer, &k.peer, &k.prefixlen), 0);
	for (uint32_t twice = 0; twice <= (x >> 25 & 1); twice++) {
		if (x >> 23 & 1)
			policy_sock_add_key(q, cookie, &k);
		else
			policy_sock_del_key(q, cookie, &k.peer, k.prefixlen, k.sndid, k.rcvid);
		k.sndid = k.rcvid = (uint8_t)(k.sndid + 4);
	}
	if (x >> 24 & 1)
		policy_sock_flags(policy_sock_entry_mut(q, cookie), !!(x >> 26 & 1), -1, -1, -1);
}

/* As rules.c counts a changed slot; by_key: how many by their one key. */
static int by_key;

static void count_slot(struct member_counts *m, const struct policy_peer *o,
		       const struct policy_peer *p, int sign, struct members_delta *d)
{
	int rc = o && p && o != p ? members_count_change(m, o, p, sign, d) : 0;

	assert_true(rc >= 0);
	by_key += rc;
	if (rc || o == p)
		return;
	if (sign > 0 && p)
		assert_int_equal(members_count(m, p, 1, d), 0);
	if (sign < 0 && o)
		assert_int_equal(members_count(m, o, -1, d), 0);
}

/* After random changes, the counts kept change by change are those of
 * the whole policy, and what they said to add and delete makes the one
 * list into the other. */
static void test_counts_follow_changes(void **state)
{
	struct member_counts m = { 0 }, whole = { 0 };
	struct policy *p = policy_new();
	unsigned seed = 3;

	(void)state;
	assert_int_equal(members_reset(&m, p), 0);
	for (int step = 0; step < 3000; step++) {
		struct policy *q = policy_clone(p);
		struct members_delta d = { 0 };
		struct ipset_member *a, *b;
		uint32_t x = (uint32_t)rand_r(&seed);
		size_t *slots, n, na, nb;
		char peer[64];

		snprintf(peer, sizeof(peer), "198.18.%u.%u/%u", x % 4, (x >> 2) % 4 * 64,
			 x >> 4 & 1 ? 32 : 26);
		if (x >> 20 & 1 && policy_sock_entry(q, 1 + (x >> 9 & 7))) {
			sock_key_change(q, 1 + (x >> 9 & 7), peer, x);
		} else if (x >> 8 & 1) {
			listener(q, 1 + (x >> 9 & 7), (uint16_t)(4000 + (x >> 12 & 3)), peer);
		} else if (x >> 14 & 1) {
			policy_sock_remove(q, 1 + (x >> 9 & 7));
		} else {
			add_peer(q, peer, (int)(x >> 16 & 3));
		}
		if (!policy_changes(q, p, &slots, &n)) { /* renumbered: whole */
			assert_int_equal(members_reset(&m, q), 0);
			n = 0;
		}
		for (int sign = 1; sign >= -1; sign -= 2)
			for (size_t i = 0; i < n; i++)
				count_slot(&m, policy_entry(p, slots[i]), policy_entry(q, slots[i]),
					   sign, &d);
		free(slots);
		assert_int_equal(members_reset(&whole, q), 0);
		assert_int_equal(members_list(&m, &a, &na), 0);
		assert_int_equal(members_list(&whole, &b, &nb), 0);
		assert_int_equal(na, nb);
		for (size_t i = 0; i < na; i++)
			assert_int_equal(ipset_member_cmp(&a[i], &b[i]), 0);
		assert_int_equal(m.nports, whole.nports);
		for (size_t i = 0; i < d.ndel; i++) /* nothing wanted goes */
			assert_null(bsearch(&d.del[i], b, nb, sizeof(*b), ipset_member_cmp));
		free(a);
		free(b);
		members_delta_free(&d);
		policy_free(p);
		p = q;
	}
	assert_true(by_key > 100);
	members_free(&m);
	members_free(&whole);
	policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members_unique),
		cmocka_unit_test(test_sets_follow_policy),
		cmocka_unit_test(test_sets_follow_changes),
		cmocka_unit_test(test_counts_follow_changes),
		cmocka_unit_test(test_failed_change_keeps_old),
		cmocka_unit_test(test_cut_rebuild_keeps_old),
		cmocka_unit_test(test_guard_prunes_without_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
