// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host policy (daemon/policy.c): matching, key add/del/set with Linux's
 * errno values, clones, prefixes for the ipset, serials across reloads,
 * and every allocation of a change failed in turn (failalloc.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "failalloc.h"
#include "peerindex.h"
#include "policy.h"

static char err[256];

static struct tcpao_addr addr(const char *text)
{
	struct tcpao_addr a;

	assert_int_equal(tcpao_addr_parse(text, &a, NULL), 0);
	return a;
}

static struct tcpao_mkt key(const char *peer, int sndid, int rcvid)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)sndid, .rcvid = (uint8_t)rcvid,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6, .key = "secret" };

	if (peer)
		assert_int_equal(tcpao_addr_parse(peer, &m.peer, &m.prefixlen), 0);
	return m;
}

static struct policy_scope scope(const char *peer, const char *local,
				 uint16_t lport, uint16_t rport)
{
	struct policy_scope s = { .local_port = lport, .remote_port = rport };

	assert_int_equal(tcpao_addr_parse(peer, &s.peer, &s.peer_len), 0);
	if (local)
		assert_int_equal(tcpao_addr_parse(local, &s.local, &s.local_len), 0);
	return s;
}

static int add(struct policy *p, const char *peer, int sndid, int rcvid)
{
	struct tcpao_mkt m = key(peer, sndid, rcvid);

	return policy_add_key(p, &m, err, sizeof(err));
}

static int add_to(struct policy *p, struct policy_scope s, const char *peer,
		  int sndid, int rcvid)
{
	struct tcpao_mkt m = key(peer, sndid, rcvid);

	return policy_add_key_to(p, &s, &m, false, false, err, sizeof(err));
}

static const struct policy_peer *match(const struct policy *p, const char *local,
				       uint16_t lport, const char *remote, uint16_t rport)
{
	struct tcpao_addr l = addr(local), r = addr(remote);

	return policy_match(p, &l, lport, &r, rport);
}

/* ---- matching ---------------------------------------------------------- */

static void test_match_most_specific(void **state)
{
	struct policy *p = policy_new();
	const struct policy_peer *m;

	(void)state;
	assert_int_equal(add(p, "198.18.0.0/24", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.2/32", 2, 2), 0);
	assert_int_equal(add_to(p, scope("198.18.0.0/24", "198.18.1.1", 0, 0), NULL, 3, 3), 0);
	assert_int_equal(add_to(p, scope("198.18.0.0/24", "198.18.1.1", 0, 179), NULL, 4, 4), 0);

	m = match(p, "198.18.1.9", 5000, "198.18.0.2", 179);
	assert_non_null(m);
	assert_int_equal(m->scope.peer_len, 32); /* longest peer prefix first */
	m = match(p, "198.18.1.9", 5000, "198.18.0.7", 179);
	assert_int_equal((*tcpao_keyring_key(&m->keys, 0)).sndid, 1); /* local does not match 3, 4 */
	m = match(p, "198.18.1.1", 5000, "198.18.0.7", 80);
	assert_int_equal((*tcpao_keyring_key(&m->keys, 0)).sndid, 3); /* local beats none */
	m = match(p, "198.18.1.1", 5000, "198.18.0.7", 179);
	assert_int_equal((*tcpao_keyring_key(&m->keys, 0)).sndid, 4); /* a port beats none */
	assert_null(match(p, "198.18.1.1", 5000, "198.19.0.7", 179));
	assert_null(match(p, "fd00::1", 5000, "fd00::2", 179));
	policy_free(p);
}

static void test_match_mapped_and_v6(void **state)
{
	struct policy *p = policy_new();
	const struct policy_peer *m;

	(void)state;
	/* A mapped prefix is stored as IPv4, and mapped connections match. */
	assert_int_equal(add(p, "::ffff:198.18.0.0/120", 1, 1), 0);
	assert_int_equal(policy_entry(p, 0)->scope.peer.family, AF_INET);
	assert_int_equal(policy_entry(p, 0)->scope.peer_len, 24);
	assert_int_equal(tcpao_keyring_key(&policy_entry(p, 0)->keys, 0)->peer.family, AF_INET);
	assert_int_equal(tcpao_keyring_key(&policy_entry(p, 0)->keys, 0)->prefixlen, 24);
	m = match(p, "::ffff:198.18.1.1", 1, "::ffff:198.18.0.9", 2);
	assert_ptr_equal(m, policy_entry(p, 0));

	assert_int_equal(add(p, "fd00:1::/64", 2, 2), 0);
	m = match(p, "fd00:2::1", 1, "fd00:1::5", 2);
	assert_ptr_equal(m, policy_entry(p, 1));
	assert_null(match(p, "fd00:2::1", 1, "fd00:3::5", 2));
	/* Mapped with a prefix shorter than /96 has no IPv4 meaning. */
	assert_int_equal(add(p, "::ffff:0.0.0.0/64", 3, 3), -EINVAL);
	policy_free(p);
}

static void test_match_ties_go_first(void **state)
{
	struct policy *p = policy_new();

	(void)state;
	assert_int_equal(add_to(p, scope("198.18.0.0/24", NULL, 179, 0), NULL, 1, 1), 0);
	assert_int_equal(add_to(p, scope("198.18.0.0/24", NULL, 0, 179), NULL, 2, 2), 0);
	assert_ptr_equal(match(p, "198.18.1.1", 179, "198.18.0.1", 179), policy_entry(p, 0));
	assert_ptr_equal(match(p, "198.18.1.1", 1000, "198.18.0.1", 179), policy_entry(p, 1));
	assert_null(match(p, "198.18.1.1", 1000, "198.18.0.1", 1000));
	policy_free(p);
}

/* ---- adding keys ------------------------------------------------------- */

static void test_add_defaults(void **state)
{
	struct policy *p = policy_new();
	const struct policy_peer *e;

	(void)state;
	assert_int_equal(add(p, "198.18.0.2/32", 1, 2), 0);
	assert_int_equal(add(p, "198.18.0.2", 3, 4), 0); /* same entry */
	assert_int_equal(p->n, 1);
	e = policy_entry(p, 0);
	assert_true(e->ao_required);
	assert_false(e->accept_icmps);
	assert_int_equal(e->current_sndid, -1);
	assert_int_equal(e->rnext_rcvid, -1);
	assert_string_equal(e->origin, "runtime");
	assert_int_equal(e->keys.n, 2);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).sndid, 3); /* newest first */
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).maclen, TCPAO_DEFAULT_MACLEN);
	assert_true(tcpao_keyring_serial(&e->keys, 0) > tcpao_keyring_serial(&e->keys, 1));
	policy_free(p);
}

static void test_add_errors(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m;

	(void)state;
	assert_int_equal(add(p, NULL, 1, 1), -EINVAL);
	assert_non_null(strstr(err, "peer"));
	assert_int_equal(add(p, "198.18.0.1/24", 1, 1), -EINVAL);
	assert_non_null(strstr(err, "host bits"));
	m = key("198.18.0.1", 1, 1);
	m.keylen = 0;
	assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), -EINVAL);
	m = key("198.18.0.1", 1, 1);
	m.maclen = 21; /* longer than SHA-1's 20 bytes */
	assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), -EMSGSIZE);
	m = key("198.18.0.1", 1, 1);
	m.alg = TCPAO_ALG_COUNT;
	assert_int_not_equal(policy_add_key(p, &m, err, sizeof(err)), 0);
	/* A scope whose peer differs from the key's. */
	assert_int_equal(add_to(p, scope("198.18.0.0/24", NULL, 0, 0), "198.18.1.0/24", 1, 1), -EINVAL);
	/* Local and peer of different families. */
	assert_int_equal(add_to(p, scope("198.18.0.0/24", "fd00::1", 0, 0), NULL, 1, 1), -EINVAL);
	assert_int_equal(p->n, 0);
	policy_free(p);
}

static void test_add_eexist(void **state)
{
	struct policy *p = policy_new();

	(void)state;
	assert_int_equal(add(p, "198.18.0.2/32", 10, 20), 0);
	/* Linux's duplicates: same key, sndid only, rcvid only. */
	assert_int_equal(add(p, "198.18.0.2/32", 10, 20), -EEXIST);
	assert_int_equal(add(p, "198.18.0.2/32", 10, 21), -EEXIST);
	assert_int_equal(add(p, "198.18.0.2/32", 11, 20), -EEXIST);
	assert_non_null(strstr(err, "198.18.0.2/32"));
	/* An overlapping subnet in another entry, either order. */
	assert_int_equal(add(p, "198.18.0.0/16", 10, 99), -EEXIST);
	assert_int_equal(add(p, "198.18.0.0/16", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.3/32", 1, 7), -EEXIST);
	/* Disjoint peers may reuse ids. */
	assert_int_equal(add(p, "198.19.0.2/32", 10, 20), 0);
	assert_int_equal(add(p, "fd00::2/128", 10, 20), 0);
	/* Scopes that no connection can match both (different remote ports). */
	assert_int_equal(add_to(p, scope("198.20.0.2/32", NULL, 0, 179), NULL, 5, 5), 0);
	assert_int_equal(add_to(p, scope("198.20.0.2/32", NULL, 0, 646), NULL, 5, 5), 0);
	assert_int_equal(add_to(p, scope("198.20.0.2/32", NULL, 0, 0), NULL, 5, 6), -EEXIST);
	policy_free(p);
}

/* A runtime key for a peer joins every entry of that prefix (ports and
 * local address notwithstanding), or none of them. */
static void test_add_joins_every_entry_of_prefix(void **state)
{
	struct policy *p = policy_new();

	(void)state;
	assert_int_equal(add_to(p, scope("198.18.0.2/32", NULL, 0, 179), NULL, 1, 1), 0);
	/* Overlapping (local port 179 and remote port 179): ids must differ. */
	assert_int_equal(add_to(p, scope("198.18.0.2/32", "198.18.0.1", 179, 0), NULL, 1, 1), -EEXIST);
	assert_int_equal(p->n, 1); /* no empty entry left behind */
	assert_int_equal(add_to(p, scope("198.18.0.2/32", "198.18.0.1", 179, 0), NULL, 5, 5), 0);
	assert_int_equal(add(p, "198.18.0.2/32", 2, 2), 0);
	assert_int_equal(p->n, 2);
	assert_int_equal(policy_entry(p, 0)->keys.n, 2);
	assert_int_equal(policy_entry(p, 1)->keys.n, 2);
	assert_int_equal(tcpao_keyring_key(&policy_entry(p, 0)->keys, 0)->sndid, 2);
	assert_int_not_equal(tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0), tcpao_keyring_serial(&policy_entry(p, 1)->keys, 0));
	assert_ptr_equal(match(p, "198.18.0.9", 5000, "198.18.0.2", 179), policy_entry(p, 0));
	/* A clash in one of them: none gets the key. */
	assert_int_equal(add_to(p, scope("198.18.0.2/32", NULL, 0, 646), NULL, 3, 3), 0);
	assert_int_equal(add(p, "198.18.0.2/32", 3, 9), -EEXIST);
	assert_int_equal(policy_entry(p, 0)->keys.n, 2);
	assert_int_equal(policy_entry(p, 1)->keys.n, 2);
	/* Another prefix gets an entry of its own. */
	assert_int_equal(add(p, "198.18.0.0/24", 7, 7), 0);
	assert_int_equal(p->n, 4);
	policy_free(p);
}

static void test_add_set_current(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m = key("198.18.0.2", 7, 8);
	struct policy_scope s = scope("198.18.0.2/32", NULL, 0, 0);
	struct tcpao_keysel sel;
	struct tcpao_addr r = addr("198.18.0.2");

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 1, 2), 0);
	assert_int_equal(policy_add_key_to(p, &s, &m, true, false, err, sizeof(err)), 0);
	assert_int_equal(add(p, "198.18.0.2", 3, 4), 0);
	assert_int_equal(policy_entry(p, 0)->current_sndid, 7);
	assert_int_equal(policy_entry(p, 0)->rnext_rcvid, -1);
	assert_int_equal(policy_entry(p, 0)->current_epoch, 1);
	assert_int_equal(policy_entry(p, 0)->rnext_epoch, 0);
	assert_int_equal(policy_peer_keysel(policy_entry(p, 0), &r, 0, &sel), 0);
	assert_int_equal(sel.current, tcpao_keyring_serial(&policy_entry(p, 0)->keys, 1)); /* key 7 */
	assert_int_equal(sel.rnext, tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0));   /* newest: 3/4 */
	policy_free(p);
}

/* ---- deleting keys and moving preferences ------------------------------ */

static struct policy_key_ref ref(const char *peer, int sndid, int rcvid)
{
	struct policy_key_ref r = { .sndid = (uint8_t)sndid, .rcvid = (uint8_t)rcvid };

	if (peer)
		assert_int_equal(tcpao_addr_parse(peer, &r.peer, &r.peer_len), 0);
	return r;
}

static void test_del(void **state)
{
	struct policy *p = policy_new();
	struct policy_key_ref r;
	uint64_t kept;

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 100, 100), 0);
	assert_int_equal(add(p, "198.18.0.2", 200, 200), 0);
	kept = tcpao_keyring_serial(&policy_entry(p, 0)->keys, 1);
	r = ref("198.18.0.2", 101, 100);
	assert_int_equal(policy_del_key(p, &r, -1, -1, err, sizeof(err)), -ENOENT);
	r = ref("198.18.0.3", 100, 100);
	assert_int_equal(policy_del_key(p, &r, -1, -1, err, sizeof(err)), -ENOENT);
	/* Without an explicit preference any key may go, as on a closed socket. */
	r = ref("198.18.0.2", 200, 200);
	assert_int_equal(policy_del_key(p, &r, -1, -1, err, sizeof(err)), 0);
	assert_int_equal(policy_entry(p, 0)->keys.n, 1);
	assert_int_equal(tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0), kept);
	/* Deleting the last key keeps the entry (fail closed). */
	r = ref(NULL, 100, 100);
	assert_int_equal(policy_del_key(p, &r, -1, -1, err, sizeof(err)), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(policy_entry(p, 0)->keys.n, 0);
	policy_free(p);
}

static void test_del_busy(void **state)
{
	struct policy *p = policy_new();
	struct policy_key_ref r100 = ref("198.18.0.2", 100, 100);
	struct policy_key_ref r200 = ref("198.18.0.2", 200, 200);
	struct tcpao_addr peer = addr("198.18.0.2");
	uint64_t epoch;

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 100, 100), 0);
	assert_int_equal(add(p, "198.18.0.2", 200, 200), 0);
	assert_int_equal(add(p, "198.18.0.2", 10, 11), 0);
	assert_int_equal(policy_set_keysel(p, &peer, 32, 100, 200, err, sizeof(err)), 0);
	epoch = policy_entry(p, 0)->current_epoch;
	assert_int_equal(policy_del_key(p, &r100, -1, -1, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "current"));
	assert_int_equal(policy_del_key(p, &r200, -1, -1, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "rnext"));
	/* The replacement must exist and not be the key being deleted. */
	assert_int_equal(policy_del_key(p, &r100, 100, -1, err, sizeof(err)), -ENOENT);
	assert_int_equal(policy_del_key(p, &r100, 42, -1, err, sizeof(err)), -ENOENT);
	assert_int_equal(policy_del_key(p, &r200, -1, 99, err, sizeof(err)), -ENOENT);
	assert_int_equal(policy_entry(p, 0)->keys.n, 3);
	assert_int_equal(policy_del_key(p, &r100, 10, -1, err, sizeof(err)), 0);
	assert_int_equal(policy_entry(p, 0)->current_sndid, 10);
	assert_true(policy_entry(p, 0)->current_epoch > epoch);
	epoch = policy_entry(p, 0)->rnext_epoch;
	assert_int_equal(policy_del_key(p, &r200, -1, 11, err, sizeof(err)), 0);
	assert_true(policy_entry(p, 0)->rnext_epoch > epoch);
	assert_int_equal(policy_entry(p, 0)->rnext_rcvid, 11);
	assert_int_equal(policy_entry(p, 0)->keys.n, 1);
	policy_free(p);
}

static void test_set_keysel(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_addr any = { .family = AF_UNSPEC };
	struct tcpao_addr peer = addr("198.18.0.2");

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.2", 2, 2), 0);
	assert_int_equal(add(p, "198.19.0.0/16", 2, 2), 0);
	assert_int_equal(policy_set_keysel(p, &peer, 32, 9, -1, err, sizeof(err)), -ENOENT);
	assert_int_equal(policy_set_keysel(p, &peer, 32, -1, -1, err, sizeof(err)), -EINVAL);
	assert_int_equal(policy_set_keysel(p, &peer, 24, 1, -1, err, sizeof(err)), -ENOENT);
	/* Without a peer: every entry that has the key. */
	assert_int_equal(policy_set_keysel(p, &any, 0, 2, 2, err, sizeof(err)), 0);
	assert_int_equal(policy_entry(p, 0)->current_sndid, 2);
	assert_int_equal(policy_entry(p, 1)->current_sndid, 2);
	assert_int_equal(policy_set_keysel(p, &any, 0, 1, -1, err, sizeof(err)), 0);
	assert_int_equal(policy_entry(p, 0)->current_sndid, 1);
	assert_int_equal(policy_entry(p, 1)->current_sndid, 2); /* has no key 1 */
	assert_int_equal(policy_entry(p, 0)->rnext_rcvid, 2);
	/* Only the preference that was set moves: setting the current key
	 * alone leaves live flows' rnext key alone, and the other way round. */
	assert_int_equal(policy_entry(p, 0)->current_epoch, 2);
	assert_int_equal(policy_entry(p, 0)->rnext_epoch, 1);
	assert_int_equal(policy_entry(p, 1)->current_epoch, 1);
	assert_int_equal(policy_entry(p, 1)->rnext_epoch, 1);
	policy_free(p);
}

static void test_keysel_default_and_missing(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_addr r = addr("198.18.0.2");
	struct tcpao_keysel sel;

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.2", 2, 2), 0);
	assert_int_equal(policy_peer_keysel(policy_entry(p, 0), &r, 0, &sel), 0);
	assert_int_equal(sel.current, tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0));
	assert_int_equal(sel.rnext, tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0));
	policy_entry_mut(p, 0)->keys.n = 0; /* as after deleting every key */
	assert_int_equal(policy_peer_keysel(policy_entry(p, 0), &r, 0, &sel), -ENOENT);
	policy_entry_mut(p, 0)->keys.n = 2;
	policy_free(p);
}

/* ---- snapshots --------------------------------------------------------- */

/* The current key's age: stamped when another key becomes the one new
 * connections sign with, kept across clones and same-key preferences. */
static void test_current_key_stamp(void **state)
{
	struct policy *p = policy_new(), *q;
	struct tcpao_addr b = addr("198.18.0.2");

	(void)state;
	assert_int_equal(add(p, "198.18.0.2/32", 1, 1), 0);
	policy_stamp_current(p, 100);
	assert_int_equal(policy_current_key(policy_entry(p, 0)), 0);
	assert_int_equal(policy_entry(p, 0)->current_since, 100);
	q = policy_clone(p);
	policy_stamp_current(q, 200);
	assert_int_equal(policy_entry(q, 0)->current_since, 100);
	/* a newer key is Linux's default current key */
	assert_int_equal(add(q, "198.18.0.2/32", 2, 2), 0);
	policy_stamp_current(q, 300);
	assert_int_equal(policy_entry(q, 0)->current_since, 300);
	/* preferring key 1 again: it is current from now on */
	assert_int_equal(policy_set_keysel(q, &b, 32, 1, -1, err, sizeof(err)), 0);
	policy_stamp_current(q, 400);
	assert_int_equal(policy_current_key(policy_entry(q, 0)), 1);
	assert_int_equal(policy_entry(q, 0)->current_since, 400);
	/* the same preference once more: the same key, the same age */
	assert_int_equal(policy_set_keysel(q, &b, 32, 1, -1, err, sizeof(err)), 0);
	policy_stamp_current(q, 500);
	assert_int_equal(policy_entry(q, 0)->current_since, 400);
	policy_free(p);
	policy_free(q);
}

static void test_clone_shares_until_changed(void **state)
{
	struct policy *p = policy_new(), *c;

	(void)state;
	assert_int_equal(add(p, "198.18.0.2", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.3", 1, 1), 0);
	policy_entry_mut(p, 1)->accept_icmps = true;
	c = policy_clone(p);
	assert_non_null(c);
	assert_int_equal(c->n, 2);
	assert_int_equal(c->next_serial, p->next_serial);
	assert_int_equal(tcpao_keyring_serial(&policy_entry(c, 0)->keys, 0), tcpao_keyring_serial(&policy_entry(p, 0)->keys, 0));
	assert_true(policy_entry(c, 1)->accept_icmps);
	assert_ptr_equal(policy_entry(c, 0), policy_entry(p, 0));
	/* Changing the clone leaves the original alone: the entry changed
	 * is the clone's own, the others still shared. */
	assert_int_equal(add(c, "198.18.0.2", 2, 2), 0);
	assert_int_equal(add(c, "198.18.0.4", 1, 1), 0);
	assert_ptr_not_equal(policy_entry(c, 0), policy_entry(p, 0));
	assert_ptr_not_equal(policy_entry(c, 0)->keys.groups[0].group->s[0].chunk,
			      policy_entry(p, 0)->keys.groups[0].group->s[0].chunk);
	assert_ptr_equal(policy_entry(c, 1), policy_entry(p, 1));
	assert_int_equal(policy_entry(p, 0)->keys.n, 1);
	assert_int_equal(p->n, 2);
	/* Serials stay unique across clones. */
	assert_true(tcpao_keyring_serial(&policy_entry(c, 0)->keys, 0) >= p->next_serial);
	policy_free(p);
	assert_int_equal(policy_entry(c, 0)->keys.n, 2);
	policy_free(c);
	c = policy_clone(&(struct policy){ .next_serial = 5 });
	assert_int_equal(c->n, 0);
	policy_free(c);
	policy_free(NULL);
}

/* The lengths present, found word by word, against one bit at a time:
 * random sets of IPv4 and IPv6 lengths, every `below` from -1 to 130. */
static void test_len_below(void **state)
{
	(void)state;
	srand(7);
	for (int round = 0; round < 200; round++) {
		struct peer_index ix;
		bool on[2][129] = { { false } };

		peer_index_init(&ix);
		for (int f = 0; f < 2; f++) {
			struct tcpao_addr a = { .family = f ? AF_INET6 : AF_INET };
			int max = f ? 128 : 32;

			for (int len = 0; len <= max; len++) {
				on[f][len] = rand() % 8 == 0;
				if (on[f][len])
					assert_int_equal(peer_index_add(&ix, &a, (uint8_t)len, 1), 0);
			}
		}
		for (int f = 0; f < 2; f++)
			for (int below = -1; below <= 130; below++) {
				int want = -1;

				for (int len = below > 129 ? 128 : below - 1; len >= 0; len--)
					if (on[f][len]) {
						want = len;
						break;
					}
				assert_int_equal(peer_index_len_below(&ix, f ? AF_INET6 : AF_INET,
								      below), want);
			}
		peer_index_free(&ix);
	}
}

/* Whether a and b agree in their first len bits (the model). */
static bool same_prefix(const struct tcpao_addr *a, const struct tcpao_addr *b, int len)
{
	if (a->family != b->family)
		return false;
	for (int i = 0; i < len; i++)
		if ((a->bytes[i / 8] ^ b->bytes[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* Exact prefixes found by their bits only: near addresses (one bit
 * flipped) at every length, IPv4 with bytes past its 4 set, against a
 * bit-by-bit model; then removed again. */
static void test_index_prefix_bits(void **state)
{
	enum { ADDS = 40 };
	(void)state;
	srand(11);
	for (int round = 0; round < 300; round++) {
		struct tcpao_addr base = { .family = rand() % 2 ? AF_INET6 : AF_INET }, add[ADDS];
		int max = base.family == AF_INET ? 32 : 128, lens[ADDS];
		struct peer_index ix;

		for (size_t i = 0; i < sizeof(base.bytes); i++)
			base.bytes[i] = (uint8_t)rand();
		peer_index_init(&ix);
		for (int i = 0; i < ADDS; i++) {
			add[i] = base;
			add[i].bytes[(rand() % max) / 8] ^= (uint8_t)(1 << rand() % 8);
			lens[i] = rand() % (max + 1);
			assert_int_equal(peer_index_add(&ix, &add[i], (uint8_t)lens[i], (uint32_t)i), 0);
		}
		for (int q = 0; q < 200; q++) {
			struct tcpao_addr look = base;
			int len = rand() % (max + 1);
			size_t n, want = 0;

			look.bytes[(rand() % max) / 8] ^= (uint8_t)(1 << rand() % 8);
			if (q % 2)
				look = add[rand() % ADDS];
			for (int i = 0; i < ADDS; i++)
				want += lens[i] == len && same_prefix(&add[i], &look, len);
			peer_index_ids(&ix, &look, (uint8_t)len, &n);
			assert_int_equal(n, want);
		}
		for (int i = 0; i < ADDS; i++)
			assert_int_equal(peer_index_del(&ix, &add[i], (uint8_t)lens[i], (uint32_t)i), 0);
		for (int i = 0; i < ADDS; i++) {
			size_t n;

			assert_null(peer_index_ids(&ix, &add[i], (uint8_t)lens[i], &n));
		}
		peer_index_free(&ix);
	}
}

static void test_covers(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_addr a;

	(void)state;
	a = addr("198.18.0.77");
	assert_false(policy_covers(p, &a));
	assert_int_equal(add(p, "198.18.0.0/24", 1, 1), 0);
	assert_int_equal(add_to(p, scope("198.18.0.0/24", NULL, 0, 179), NULL, 2, 2), 0);
	assert_int_equal(add(p, "fd00::/64", 1, 1), 0);
	a = addr("198.18.0.77");
	assert_true(policy_covers(p, &a));
	a = addr("::ffff:198.18.0.77");
	assert_true(policy_covers(p, &a));
	a = addr("198.18.1.77");
	assert_false(policy_covers(p, &a));
	policy_free(p);
}

static void test_adopt_serials(void **state)
{
	struct policy *old = policy_new(), *fresh = policy_new();
	struct tcpao_mkt changed = key("198.18.0.2", 2, 2);
	struct tcpao_addr peer = addr("198.18.0.2");
	uint64_t s1, s2;

	(void)state;
	assert_int_equal(add(old, "198.18.0.2", 1, 1), 0);
	assert_int_equal(add(old, "198.18.0.2", 2, 2), 0);
	assert_int_equal(policy_set_keysel(old, &peer, 32, 2, 2, err, sizeof(err)), 0);
	s1 = tcpao_keyring_serial(&policy_entry(old, 0)->keys, 1);
	s2 = tcpao_keyring_serial(&policy_entry(old, 0)->keys, 0);
	/* The file again: key 1 unchanged, key 2 with a new secret, key 3 new. */
	assert_int_equal(add(fresh, "198.18.0.2", 1, 1), 0);
	memcpy(changed.key, "other!", 6);
	assert_int_equal(policy_add_key(fresh, &changed, err, sizeof(err)), 0);
	assert_int_equal(add(fresh, "198.18.0.2", 3, 3), 0);
	policy_entry_mut(fresh, 0)->current_sndid = 2;
	policy_entry_mut(fresh, 0)->rnext_rcvid = 2;
	policy_adopt_serials(fresh, old);
	assert_int_equal(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 2), s1);
	assert_true(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 1) != s2);
	assert_true(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 1) >= old->next_serial);
	assert_true(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 0) >= old->next_serial);
	assert_true(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 0) != tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 1));
	assert_true(fresh->next_serial > tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, 0));
	assert_int_equal(policy_entry(fresh, 0)->current_epoch, policy_entry(old, 0)->current_epoch);
	assert_int_equal(policy_entry(fresh, 0)->rnext_epoch, policy_entry(old, 0)->rnext_epoch);
	policy_free(old);
	policy_free(fresh);
}

/* ---- origins, sockets, reload (issue 8) --------------------------------- */

static struct policy_peer *sock_entry(struct policy *p, uint64_t cookie,
				      uint32_t uid, bool listener,
				      struct policy_scope sc, const char *peer,
				      int sndid)
{
	struct policy_sock ps = { .cookie = cookie, .uid = uid, .listener = listener };
	struct tcpao_mkt m = key(peer, sndid, sndid);
	struct tcpao_keyring ring;
	struct policy_peer *e;
	int rc;

	tcpao_keyring_init(&ring);
	assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
	e = policy_sock_set(p, &ps, &sc, &ring, false, NULL, 0, &rc, err, sizeof(err));
	tcpao_keyring_free(&ring);
	assert_non_null(e);
	return e;
}

static void test_origins(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m = key("198.18.0.2/32", 1, 1);
	const struct policy_peer *e;
	char o[96];

	(void)state;
	assert_int_equal(policy_add_key_from(p, NULL, &m, POLICY_FROM_FILE, false,
					     false, err, sizeof(err)), 0);
	assert_int_equal(add(p, "198.18.0.2/32", 2, 2), 0);
	e = policy_peer_find(p, &(struct policy_scope){ .peer = m.peer, .peer_len = 32 });
	assert_non_null(e);
	assert_string_equal(policy_key_origin(e, 0, o, sizeof(o)), "runtime");
	assert_string_equal(policy_key_origin(e, 1, o, sizeof(o)), "file");
	e = sock_entry(p, 0xabc, 65534, false, scope("198.18.0.2", "198.18.0.1", 40000, 179),
		       "198.18.0.2", 3);
	assert_string_equal(policy_key_origin(e, 0, o, sizeof(o)),
			    "socket:uid=65534:cookie=2748");
	assert_int_equal(e->from, POLICY_FROM_SOCKET);
	policy_free(p);
}

/* Root's key operations never touch, nor clash with, a user's socket. */
static void test_host_ops_leave_sockets(void **state)
{
	struct policy *p = policy_new();
	const struct policy_peer *e;
	struct policy_key_ref ref = { .sndid = 5, .rcvid = 5 };

	(void)state;
	sock_entry(p, 0x77, 65534, false, scope("198.18.0.2", NULL, 0, 179), "198.18.0.2", 5);
	assert_int_equal(add(p, "198.18.0.2/32", 5, 5), 0);
	e = policy_sock_entry(p, 0x77);
	assert_int_equal(e->keys.n, 1);
	assert_int_equal(policy_del_key(p, &ref, -1, -1, err, sizeof(err)), 0);
	e = policy_sock_entry(p, 0x77);
	assert_int_equal(e->keys.n, 1);
	assert_int_equal(policy_set_keysel(p, &ref.peer, 0, 5, -1, err, sizeof(err)), -ENOENT);
	policy_free(p);
}

struct seen { char text[8][64]; size_t n; };

static void note_prefix(const struct tcpao_addr *pre, uint8_t len, void *arg)
{
	struct seen *s = arg;

	if (s->n < 8)
		policy_prefix_str(pre, len, s->text[s->n++], 64);
}

/* A listener's scope is its keys' prefixes, never the /0; its entry is
 * every peer's on its port only when no other entry is the peer's. */
static void test_listener_scope(void **state)
{
	struct policy *p = policy_new();
	struct seen seen = { 0 };
	struct tcpao_addr a = addr("198.18.0.3"), b = addr("198.18.0.4");
	struct policy_peer *l;
	uint16_t ports[2];

	(void)state;
	l = sock_entry(p, 0x10, 65534, true, scope("0.0.0.0/0", NULL, 4179, 0), "198.18.0.3", 1);
	assert_int_equal(policy_foreach_prefix(p, NULL, NULL), 1);
	policy_foreach_prefix(p, note_prefix, &seen);
	assert_int_equal(seen.n, 1);
	assert_string_equal(seen.text[0], "198.18.0.3/32");
	assert_true(policy_covers(p, &a));
	assert_false(policy_covers(p, &b));
	assert_true(policy_listener_serves(l, &a));
	assert_false(policy_listener_serves(l, &b));
	assert_ptr_equal(match(p, "198.18.0.1", 4179, "198.18.0.3", 50000), l);
	/* A peer it has no key for: still its port's listener (its
	 * ao_required refuses, its counters count, as in Linux)... */
	assert_ptr_equal(match(p, "198.18.0.1", 4179, "198.18.0.4", 50000), l);
	assert_null(match(p, "198.18.0.1", 4180, "198.18.0.4", 50000));
	/* ...unless another entry is that peer's: root's policy comes first. */
	assert_int_equal(add(p, "198.18.0.4/32", 7, 7), 0);
	l = policy_sock_entry_mut(p, 0x10);
	assert_ptr_not_equal(match(p, "198.18.0.1", 4179, "198.18.0.4", 50000), l);
	assert_ptr_equal(match(p, "198.18.0.1", 4179, "198.18.0.3", 50000), l);
	/* Its port must reach the queue whoever sends only when it requires AO. */
	l->ao_required = false;
	assert_int_equal(policy_required_ports(p, ports, 2), 0);
	l->ao_required = true;
	assert_int_equal(policy_required_ports(p, ports, 2), 1);
	assert_int_equal(ports[0], 4179);
	policy_free(p);
}

/* ---- the index by peer prefix (issue 10) -------------------------------- */

/* An entry's slot, -1 for none. */
static long at(const struct policy *p, const struct policy_peer *e)
{
	for (size_t i = 0; e && i < p->n; i++)
		if (policy_entry(p, i) == e)
			return (long)i;
	return -1;
}

static unsigned spec_of(const struct policy_scope *s)
{
	unsigned local = s->local.family == AF_UNSPEC ? 0 : 1u + s->local_len;

	return (unsigned)s->peer_len << 16 | local << 2 | (!!s->local_port + !!s->remote_port);
}

/* policy_match()'s rule (policy.h) by a walk of every entry, no index. */
static const struct policy_peer *walk_match(const struct policy *p, const char *local,
					    uint16_t lport, const char *remote, uint16_t rport)
{
	struct tcpao_addr l = addr(local), r = addr(remote);
	const struct policy_peer *best = NULL, *listener = NULL;
	unsigned best_spec = 0;

	tcpao_addr_unmap(&l);
	tcpao_addr_unmap(&r);
	for (size_t i = 0; i < p->n; i++) {
		const struct policy_peer *e = policy_entry(p, i);
		const struct policy_scope *s = e ? &e->scope : NULL;
		unsigned spec;

		if (!e || !tcpao_addr_in_prefix(&r, &s->peer, s->peer_len) ||
		    (s->local.family != AF_UNSPEC && !tcpao_addr_in_prefix(&l, &s->local, s->local_len)) ||
		    (s->local_port && s->local_port != lport) || (s->remote_port && s->remote_port != rport))
			continue;
		if (e->sock_listener && !policy_listener_serves(e, &r)) {
			if (!listener || spec_of(s) > spec_of(&listener->scope))
				listener = e;
			continue;
		}
		spec = spec_of(s) | (e->sock_cookie ? 1u << 31 : 0);
		if (!best || spec > best_spec) {
			best = e;
			best_spec = spec;
		}
	}
	return best ? best : listener;
}

/* The index answers what the walk of every entry answers: the same entry
 * for every connection, host and socket entries, both families, nested
 * prefixes, local addresses and ports. */
static void test_index_matches_walk(void **state)
{
	static const char *const remotes[] = {
		"198.18.0.1", "198.18.0.2", "198.18.0.200", "198.18.1.7", "198.18.255.1",
		"198.19.0.1", "fd00::1", "fd00::2", "fd00:0:0:1::9", "fd01::1", "::ffff:198.18.0.2",
	};
	static const char *const locals[] = { "198.18.0.254", "198.18.9.9", "fd00::fe" };
	static const uint16_t ports[] = { 179, 4179, 40000 };
	struct policy *p = policy_new();

	(void)state;
	assert_int_equal(add(p, "198.18.0.0/16", 1, 1), 0);
	assert_int_equal(add(p, "198.18.0.0/24", 2, 2), 0);
	assert_int_equal(add(p, "198.18.0.2/32", 3, 3), 0);
	assert_int_equal(add_to(p, scope("198.18.0.2/32", "198.18.0.254/32", 179, 0), NULL, 4, 4), 0);
	assert_int_equal(add_to(p, scope("198.18.0.0/24", NULL, 0, 4179), NULL, 5, 5), 0);
	assert_int_equal(add(p, "fd00::/64", 1, 1), 0);
	assert_int_equal(add(p, "fd00::2/128", 2, 2), 0);
	sock_entry(p, 0x21, 65534, false, scope("198.18.0.200/32", "198.18.0.254/32", 40000, 179),
		   "198.18.0.200", 9);
	sock_entry(p, 0x22, 65534, true, scope("0.0.0.0/0", NULL, 4179, 0), "198.18.1.7", 1);
	for (size_t r = 0; r < sizeof(remotes) / sizeof(*remotes); r++)
		for (size_t l = 0; l < sizeof(locals) / sizeof(*locals); l++)
			for (size_t lp = 0; lp < 3; lp++)
				for (size_t rp = 0; rp < 3; rp++) {
					long a = at(p, match(p, locals[l], ports[lp], remotes[r], ports[rp]));
					long b = at(p, walk_match(p, locals[l], ports[lp], remotes[r], ports[rp]));

					if (a != b)
						fail_msg("%s:%u -> %s:%u: indexed %ld, walk %ld", locals[l],
							 ports[lp], remotes[r], ports[rp], a, b);
				}
	/* The most specific wins through the index too. */
	assert_int_equal(at(p, match(p, "198.18.0.254", 179, "198.18.0.2", 1)), 3);
	assert_ptr_equal(match(p, "198.18.9.9", 1, "198.18.7.7", 1), policy_entry(p, 0));
	assert_null(match(p, "198.18.9.9", 1, "198.20.0.1", 1));
	policy_free(p);
}

/* The clash check sees what overlaps, whichever side is longer: a key
 * of a /24 clashes with the same ids on a /32 inside it, and the other
 * way round; entries of disjoint prefixes never clash. */
static void test_index_clash_both_ways(void **state)
{
	struct policy *p = policy_new();

	(void)state;
	for (int i = 1; i <= 50; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "198.18.1.%d/32", i);
		assert_int_equal(add(p, peer, 7, 7), 0); /* disjoint: same ids fine */
	}
	assert_int_equal(add(p, "198.18.1.0/24", 7, 7), -EEXIST); /* over 50 /32s */
	assert_int_equal(add(p, "198.18.1.0/24", 8, 8), 0);
	assert_int_equal(add(p, "198.18.1.99/32", 8, 8), -EEXIST); /* under the /24 */
	assert_int_equal(add(p, "198.18.2.1/32", 8, 8), 0);
	assert_int_equal(policy_sock_remove(p, 0), -ENOENT);
	assert_int_equal(add(p, "198.18.1.1/32", 9, 9), 0);
	assert_non_null(policy_peer_find(p, &(struct policy_scope){
		.peer = addr("198.18.1.1"), .peer_len = 32 }));
	assert_int_equal(policy_peer_find(p, &(struct policy_scope){
		.peer = addr("198.18.1.1"), .peer_len = 32 })->keys.n, 2);
	policy_free(p);
}

struct diffc { int add, change, drop; };

static void diff_count(void *arg, const char *what, const struct policy_peer *e, size_t k)
{
	struct diffc *c = arg;

	(void)e;
	(void)k;
	c->add += what[0] == 'a';
	c->change += what[0] == 'c';
	c->drop += what[0] == 'd';
}

/* A reload replaces the file's keys only: runtime keys and sockets'
 * entries survive with their serials (live flows keep them). */
static void test_reload_keeps_runtime_and_socket_keys(void **state)
{
	struct policy *old = policy_new(), *fresh = policy_new(), *fresh2 = policy_new();
	struct tcpao_mkt f1 = key("198.18.0.2/32", 1, 1);
	struct policy_scope s2 = scope("198.18.0.2/32", NULL, 0, 0);
	const struct policy_peer *e, *oe;
	struct diffc c = { 0 };
	size_t clashes;
	uint64_t runtime_serial, sock_serial;

	(void)state;
	assert_int_equal(policy_add_key_from(old, NULL, &f1, POLICY_FROM_FILE, false,
					     false, err, sizeof(err)), 0);
	assert_int_equal(add(old, "198.18.0.2/32", 2, 2), 0);
	assert_int_equal(policy_set_keysel(old, &f1.peer, 32, 2, 2, err, sizeof(err)), 0);
	assert_int_equal(add(old, "198.18.0.9/32", 3, 3), 0);
	sock_entry(old, 0x42, 65534, true, scope("0.0.0.0/0", NULL, 4179, 0), "198.18.0.3", 4);
	runtime_serial = tcpao_keyring_serial(&policy_peer_find(old, &s2)->keys, 0);
	sock_serial = tcpao_keyring_serial(&policy_sock_entry(old, 0x42)->keys, 0);
	/* The file still has key 1. */
	assert_int_equal(policy_add_key_from(fresh, NULL, &f1, POLICY_FROM_FILE, false,
					     false, err, sizeof(err)), 0);
	policy_adopt_serials(fresh, old);
	assert_int_equal(policy_keep_unfiled(fresh, old, &clashes), 0);
	assert_int_equal(clashes, 0);
	e = policy_peer_find(fresh, &s2);
	assert_non_null(e);
	assert_int_equal(e->keys.n, 2);
	assert_int_equal(tcpao_keyring_serial(&e->keys, 0), runtime_serial);
	assert_int_equal(tcpao_keyring_tag(&e->keys, 0), POLICY_KEY_RUNTIME);
	assert_int_equal(e->current_sndid, 2);
	oe = policy_peer_find(old, &s2);
	assert_int_equal(e->current_epoch, oe->current_epoch);
	assert_non_null(policy_peer_find(fresh, &(struct policy_scope){
		.peer = addr("198.18.0.9"), .peer_len = 32 }));
	assert_non_null(policy_sock_entry(fresh, 0x42));
	assert_int_equal(tcpao_keyring_serial(&policy_sock_entry(fresh, 0x42)->keys, 0), sock_serial);
	assert_true(fresh->next_serial >= old->next_serial);
	policy_diff(old, fresh, diff_count, &c);
	assert_int_equal(c.add + c.change + c.drop, 0);
	/* A file without key 1: only key 1 goes. */
	policy_adopt_serials(fresh2, old);
	assert_int_equal(policy_keep_unfiled(fresh2, old, &clashes), 0);
	policy_diff(old, fresh2, diff_count, &c);
	assert_int_equal(c.drop, 1);
	assert_int_equal(c.add + c.change, 0);
	policy_free(old);
	policy_free(fresh);
	policy_free(fresh2);
}

/* ---- versions sharing entries (issue 10) --------------------------------- */

/* What a reader sees of a policy: per slot, the entry's keys' serials. */
static void fingerprint(const struct policy *p, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < p->n && at < len; i++) {
		const struct policy_peer *e = policy_entry(p, i);

		at += (size_t)snprintf(buf + at, len - at, "|%zu:", i);
		for (size_t k = 0; e && k < e->keys.n && at < len; k++)
			at += (size_t)snprintf(buf + at, len - at, "%llu/%u.%u,",
					       (unsigned long long)tcpao_keyring_serial(&e->keys, k),
					       (*tcpao_keyring_key(&e->keys, k)).sndid, e->current_sndid + 1);
	}
}

/* Every kind of change on a clone leaves the original as it was, and
 * either may be freed first (ASan: no leak, no use after free). */
static void test_versions_stay_valid(void **state)
{
	static char before[8192], after[8192], again[8192];
	struct policy_key_ref ref = { .peer = addr("198.18.0.7"), .peer_len = 32,
				      .sndid = 1, .rcvid = 1 };

	(void)state;
	for (int first = 0; first < 2; first++) {
		struct policy *old = policy_new(), *fresh;
		char peer[32];

		for (int i = 0; i < 100; i++) {
			snprintf(peer, sizeof(peer), "198.18.0.%d/32", i);
			assert_int_equal(add(old, peer, 1, 1), 0);
		}
		sock_entry(old, 0x51, 1000, false, scope("198.18.1.1/32", NULL, 0, 179), "198.18.1.1", 3);
		fingerprint(old, before, sizeof(before));
		fresh = policy_clone(old);
		assert_int_equal(add(fresh, "198.18.0.7/32", 2, 2), 0);
		assert_int_equal(add(fresh, "198.18.2.0/24", 1, 1), 0);
		assert_int_equal(policy_set_keysel(fresh, &ref.peer, 32, 2, -1, err, sizeof(err)), 0);
		assert_int_equal(policy_del_key(fresh, &ref, 2, -1, err, sizeof(err)), 0);
		assert_int_equal(policy_sock_remove(fresh, 0x51), 0);
		fingerprint(old, after, sizeof(after));
		assert_string_equal(before, after);
		assert_non_null(policy_sock_entry(old, 0x51));
		assert_null(policy_sock_entry(fresh, 0x51));
		assert_int_equal(policy_entry(old, 7)->keys.n, 1);
		assert_int_equal(policy_entry(fresh, 7)->keys.n, 1);
		assert_int_equal(tcpao_keyring_key(&policy_entry(fresh, 7)->keys, 0)->sndid, 2);
		assert_ptr_equal(policy_entry(old, 8), policy_entry(fresh, 8));
		fingerprint(fresh, after, sizeof(after));
		policy_free(first ? fresh : old);
		if (first) {
			fingerprint(old, again, sizeof(again));
			assert_string_equal(before, again);
			policy_free(old);
		} else {
			fingerprint(fresh, again, sizeof(again));
			assert_string_equal(after, again);
			assert_ptr_equal(match(fresh, "198.18.9.9", 1, "198.18.0.7", 2),
					 policy_entry(fresh, 7));
			policy_free(fresh);
		}
	}
}

/* A change records the slots it changed: those and no others differ. */
static void test_changes_recorded(void **state)
{
	struct policy *old = policy_new(), *fresh;
	size_t *slots, n;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char peer[32];

		snprintf(peer, sizeof(peer), "198.18.0.%d/32", i);
		assert_int_equal(add(old, peer, 1, 1), 0);
	}
	fresh = policy_clone(old);
	assert_true(policy_changes(fresh, old, &slots, &n));
	assert_int_equal(n, 0);
	assert_int_equal(add(fresh, "198.18.0.3/32", 2, 2), 0);
	assert_int_equal(add(fresh, "198.18.0.1/32", 2, 2), 0);
	assert_int_equal(add(fresh, "198.18.0.3/32", 3, 3), 0);
	assert_true(policy_changes(fresh, old, &slots, &n));
	assert_int_equal(n, 2);
	assert_int_equal(slots[0], 1);
	assert_int_equal(slots[1], 3);
	free(slots);
	for (size_t i = 0; i < 5; i++)
		if (i != 1 && i != 3)
			assert_ptr_equal(policy_entry(old, i), policy_entry(fresh, i));
	/* Not a clone of it: compared whole. */
	assert_false(policy_changes(old, fresh, &slots, &n));
	policy_free(old);
	policy_free(fresh);
}

/* After random changes, each on a clone of the last version (as the
 * daemon makes them), with sockets' entries coming and going (holes,
 * renumbering), the index answers what a walk of every entry answers. */
static void test_index_random_changes(void **state)
{
	static const uint8_t lens[] = { 16, 24, 28, 32 };
	struct policy *p = policy_new();
	unsigned seed = 10;

	(void)state;
	for (int step = 0; step < 600; step++) {
		struct policy *next = policy_clone(p);
		uint32_t r = (uint32_t)rand_r(&seed);
		uint8_t len = lens[r % 4];
		uint32_t host = 0xc6120000u | ((r >> 4) & 0x3ff) << 4;
		struct policy_key_ref ref = { .peer_len = len, .sndid = (uint8_t)(r >> 20 & 3),
					      .rcvid = (uint8_t)(r >> 20 & 3) };
		char text[64];

		assert_non_null(next);
		ref.peer.family = AF_INET;
		host &= len == 32 ? ~0u : ~(~0u >> len);
		host = htonl(host);
		memcpy(ref.peer.bytes, &host, 4);
		policy_prefix_str(&ref.peer, len, text, sizeof(text));
		switch (r >> 24 & 3) {
		case 0:
		case 1:
			add(next, text, ref.sndid, ref.rcvid); /* may clash: fine */
			break;
		case 2:
			policy_del_key(next, &ref, -1, -1, err, sizeof(err));
			break;
		default:
			if (r >> 26 & 1)
				policy_sock_remove(next, 1 + (r >> 8 & 127));
			else if (len == 32 && r >> 28 & 1) /* a connection's */
				sock_entry(next, 1 + (r >> 8 & 127), 1000, false,
					   scope(text, NULL, 179, 40000 + (r >> 29 & 3)), text, 1);
			else
				sock_entry(next, 1 + (r >> 8 & 127), 1000, r >> 27 & 1,
					   scope(text, NULL, 179, 0), text, 1);
		}
		policy_free(p);
		p = next;
		if (step % 50)
			continue;
		for (uint32_t a = 0; a < 0x4000; a += 7) {
			uint32_t be = htonl(0xc6120000u | a);
			struct tcpao_addr remote = { .family = AF_INET };

			memcpy(remote.bytes, &be, 4);
			policy_prefix_str(&remote, 32, text, sizeof(text));
			text[strlen(text) - 3] = '\0';
			for (uint16_t rport = 39999; rport < 40004; rport++)
				assert_ptr_equal(match(p, "198.18.255.254", 179, text, rport),
						 walk_match(p, "198.18.255.254", 179, text, rport));
		}
		for (size_t i = 0; i < p->n; i++)
			if (policy_entry(p, i) && !policy_entry(p, i)->sock_cookie)
				assert_ptr_equal(policy_peer_find(p, &policy_entry(p, i)->scope),
						 policy_entry(p, i));
	}
	policy_free(p);
}

/* A server's connections to one peer (TIME-WAIT ones too) may be
 * thousands: each is found by its ports, never among its peer's entries,
 * so a change or a lookup costs the same at any number of them. */
static void test_connections_of_one_peer(void **state)
{
	struct policy *p = policy_new();
	struct tcpao_addr host = addr("198.18.0.9"), local;
	size_t n;

	(void)state;
	assert_int_equal(add(p, "198.18.0.0/24", 1, 1), 0);
	for (uint16_t port = 1; port <= 3000; port++) {
		struct policy *next = policy_clone(p);

		sock_entry(next, port, 1000, false, scope("198.18.0.9/32", NULL, port, 179),
			   "198.18.0.9", 2);
		policy_free(p);
		p = next;
	}
	assert_null(peer_index_ids(&p->ix.prefix, &host, 32, &n));
	for (uint16_t port = 1; port <= 3000; port += 7) {
		assert_int_equal(match(p, "198.18.0.1", port, "198.18.0.9", 179)->sock_cookie, port);
		assert_ptr_equal(match(p, "198.18.0.1", port, "198.18.0.9", 180), policy_entry(p, 0));
	}
	/* An IPv4 address is its 4 bytes: what the rest holds is not looked at. */
	memset(host.bytes + 4, 0xa5, sizeof(host.bytes) - 4);
	local = addr("198.18.0.1");
	assert_int_equal(policy_match(p, &local, 7, &host, 179)->sock_cookie, 7);
	/* The same scope again: the gone socket's entry makes way. */
	sock_entry(p, 5000, 1000, false, scope("198.18.0.9/32", NULL, 7, 179), "198.18.0.9", 2);
	assert_null(policy_sock_entry(p, 7));
	assert_int_equal(match(p, "198.18.0.1", 7, "198.18.0.9", 179)->sock_cookie, 5000);
	for (uint64_t c = 1; c <= 3000; c++)
		policy_sock_remove(p, c);
	assert_int_equal(match(p, "198.18.0.1", 7, "198.18.0.9", 179)->sock_cookie, 5000);
	assert_ptr_equal(match(p, "198.18.0.1", 8, "198.18.0.9", 179), policy_entry(p, 0));
	policy_free(p);
}

/* Sockets' entries removed by the hundred: the slots are renumbered
 * (compacted), the index rebuilt, the older version untouched. */
static void test_holes_renumbered(void **state)
{
	struct policy *p = policy_new(), *q;
	char peer[32];

	(void)state;
	assert_int_equal(add(p, "198.18.3.1/32", 1, 1), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(peer, sizeof(peer), "198.18.1.%d", i);
		sock_entry(p, 100 + (uint64_t)i, 1000, false, scope(peer, NULL, 179, 0), peer, 1);
	}
	assert_int_equal(add(p, "198.18.3.2/32", 1, 1), 0);
	q = policy_clone(p);
	for (int i = 0; i < 150; i++)
		assert_int_equal(policy_sock_remove(q, 100 + (uint64_t)i), 0);
	assert_true(q->n <= 100); /* renumbered once, at 102 holes */
	assert_int_equal(q->holes, 48);
	assert_int_equal(p->n, 202);
	assert_ptr_equal(match(q, "198.18.255.254", 179, "198.18.1.170", 1),
			 policy_sock_entry(q, 270));
	assert_ptr_equal(match(p, "198.18.255.254", 179, "198.18.1.7", 1),
			 policy_sock_entry(p, 107));
	assert_null(match(q, "198.18.255.254", 179, "198.18.1.7", 1));
	assert_ptr_equal(match(q, "198.18.255.254", 179, "198.18.3.2", 1),
			 policy_entry(q, q->n - 1));
	policy_free(p);
	policy_free(q);
}

/* ---- allocation failures ------------------------------------------------ */

enum { F_ADD_NEW, F_ADD_MORE, F_DEL, F_SOCK_ADD, F_SOCK_DEL, F_SOCK_SET,
       F_SOCK_REMOVE, F_KEYSEL, NF };

#define LISTENER 9000
#define CONN 9001

/* What a published policy shows of itself: its entries and what a few
 * connections match. */
struct snap {
	size_t n;
	const struct policy_peer *e[64];
	const struct policy_peer *m[6];
	size_t keys[64];
};

static void snap_take(const struct policy *p, struct snap *s)
{
	static const char *const peers[] = { "198.18.1.5", "198.18.1.6", "198.18.2.9",
					     "198.18.7.1", "198.18.7.77", "fd00::5" };

	memset(s, 0, sizeof(*s));
	s->n = p->n;
	assert_true(p->n <= 64);
	for (size_t i = 0; i < p->n; i++) {
		s->e[i] = policy_entry(p, i);
		s->keys[i] = s->e[i] ? s->e[i]->keys.n : 0;
	}
	for (size_t i = 0; i < 6; i++)
		s->m[i] = match(p, strchr(peers[i], ':') ? "fd00::1" : "198.18.0.1", 179,
				peers[i], 40000);
}

/* The policy a change starts from: host entries of one key and of two,
 * a /24, an IPv6 peer, a listener with keys and a connection's entry. */
static struct policy *published(void)
{
	struct policy *p = policy_new();
	char peer[32];

	for (int i = 1; i <= 20; i++) {
		snprintf(peer, sizeof(peer), "198.18.1.%d/32", i);
		assert_int_equal(add(p, peer, 1, 1), 0);
	}
	assert_int_equal(add(p, "198.18.1.5/32", 3, 3), 0);
	assert_int_equal(add(p, "198.18.2.0/24", 1, 1), 0);
	assert_int_equal(add(p, "fd00::5/128", 1, 1), 0);
	sock_entry(p, LISTENER, 1000, true, scope("0.0.0.0/0", NULL, 179, 0), "198.18.7.1/32", 5);
	sock_entry(p, CONN, 1000, false, scope("198.18.1.9/32", NULL, 40001, 179), "198.18.1.9/32", 7);
	return p;
}

/* Op on a clone; 0, or a negative errno. */
static int change(int op, struct policy *p)
{
	struct policy_sock ps = { .cookie = CONN, .uid = 1000 };
	struct policy_scope sc = scope("198.18.1.10/32", NULL, 40002, 179);
	struct tcpao_mkt m = key("198.18.7.77/32", 6, 6);
	struct tcpao_addr a7 = addr("198.18.7.1");
	struct policy_key_ref ref = { .peer = addr("198.18.1.6"), .peer_len = 32,
				      .sndid = 1, .rcvid = 1 };
	struct tcpao_keyring ring;
	int rc = 0;

	switch (op) {
	case F_ADD_NEW:
		return add(p, "198.18.9.1/32", 1, 1);
	case F_ADD_MORE:
		return add(p, "198.18.1.5/32", 2, 2);
	case F_DEL:
		return policy_del_key(p, &ref, -1, -1, err, sizeof(err));
	case F_SOCK_ADD:
		return policy_sock_add_key(p, LISTENER, &m);
	case F_SOCK_DEL:
		return policy_sock_del_key(p, LISTENER, &a7, 32, 5, 5);
	case F_SOCK_SET:
		tcpao_keyring_init(&ring);
		m = key("198.18.1.10/32", 8, 8);
		if ((rc = tcpao_keyring_add(&ring, &m)) == 0 &&
		    !policy_sock_set(p, &ps, &sc, &ring, false, NULL, 0, &rc, err, sizeof(err)))
			rc = rc ? rc : -ENOMEM;
		tcpao_keyring_free(&ring);
		return rc;
	case F_SOCK_REMOVE:
		return policy_sock_remove(p, CONN);
	}
	return policy_set_keysel(p, &ref.peer, 32, 1, 1, err, sizeof(err));
}

/* What a change that succeeded shows. */
static void changed(int op, const struct policy *p)
{
	const struct policy_peer *e;

	switch (op) {
	case F_ADD_NEW:
		assert_non_null(match(p, "198.18.0.1", 179, "198.18.9.1", 40000));
		break;
	case F_ADD_MORE:
		assert_int_equal(match(p, "198.18.0.1", 179, "198.18.1.5", 40000)->keys.n, 3);
		break;
	case F_DEL:
		e = match(p, "198.18.0.1", 179, "198.18.1.6", 40000);
		assert_true(!e || e->scope.peer_len != 32 || !e->keys.n);
		break;
	case F_SOCK_ADD:
	case F_SOCK_DEL:
		e = policy_sock_entry(p, LISTENER);
		assert_int_equal(e->keys.n, op == F_SOCK_ADD ? 2 : 0);
		break;
	case F_SOCK_SET: /* the socket's one entry, of its new scope */
		for (size_t i = 0, n = 0; i < p->n; i++)
			if (policy_entry(p, i) && policy_entry(p, i)->sock_cookie == CONN)
				assert_int_equal(++n, 1);
		assert_int_equal(policy_sock_entry(p, CONN)->scope.local_port, 40002);
		break;
	case F_SOCK_REMOVE:
		assert_null(policy_sock_entry(p, CONN));
		break;
	}
}

/* A socket's entry that could not be removed (the gc keeps its record and
 * publishes the rest): still found by its cookie, and gone at the next
 * try, from matching too. */
static void retry_remove(struct policy *p)
{
	assert_non_null(policy_sock_entry(p, CONN));
	assert_int_equal(policy_sock_remove(p, CONN), 0);
	assert_null(policy_sock_entry(p, CONN));
	assert_true(match(p, "198.18.0.1", 40001, "198.18.1.9", 179)->sock_cookie != CONN);
}

/* Each allocation of a change to a clone of a published policy failed in
 * turn (alone, and with every one after it): the change says -ENOMEM (or
 * did without), the clone can be let go (what the daemon does with it),
 * the published policy is unchanged and answers as before, and no block
 * leaks. */
static void test_enomem_anywhere(void **state)
{
	long before = failalloc_live();
	struct policy *p = published();
	struct snap was, now;
	int failures = 0;

	(void)state;
	snap_take(p, &was);
	for (int op = 0; op < 2 * NF; op++) { /* failing alone, then with all after */
		bool fired = true;

		for (long n = 1; fired; n++) {
			struct policy *fresh = policy_clone(p);
			int rc;

			assert_non_null(fresh);
			assert_true(n < 2000);
			failalloc_arm(n, op >= NF);
			rc = change(op % NF, fresh);
			fired = failalloc_fired();
			if (rc) {
				assert_int_equal(rc, -ENOMEM);
				assert_true(fired);
				failures++;
				if (op % NF == F_SOCK_REMOVE) /* the gc publishes it: */
					retry_remove(fresh);
			} else {
				changed(op % NF, fresh);
			}
			policy_free(fresh);
			snap_take(p, &now);
			assert_memory_equal(&now, &was, sizeof(was));
		}
	}
	policy_free(p);
	assert_true(failures >= 2 * NF);
	assert_int_equal(failalloc_live(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origins),
		cmocka_unit_test(test_host_ops_leave_sockets),
		cmocka_unit_test(test_listener_scope),
		cmocka_unit_test(test_index_matches_walk),
		cmocka_unit_test(test_index_clash_both_ways),
		cmocka_unit_test(test_reload_keeps_runtime_and_socket_keys),
		cmocka_unit_test(test_match_most_specific),
		cmocka_unit_test(test_match_mapped_and_v6),
		cmocka_unit_test(test_match_ties_go_first),
		cmocka_unit_test(test_add_defaults),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_add_eexist),
		cmocka_unit_test(test_add_joins_every_entry_of_prefix),
		cmocka_unit_test(test_add_set_current),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_del_busy),
		cmocka_unit_test(test_set_keysel),
		cmocka_unit_test(test_keysel_default_and_missing),
		cmocka_unit_test(test_current_key_stamp),
		cmocka_unit_test(test_clone_shares_until_changed),
		cmocka_unit_test(test_versions_stay_valid),
		cmocka_unit_test(test_changes_recorded),
		cmocka_unit_test(test_index_random_changes),
		cmocka_unit_test(test_holes_renumbered),
		cmocka_unit_test(test_len_below),
		cmocka_unit_test(test_index_prefix_bits),
		cmocka_unit_test(test_enomem_anywhere),
		cmocka_unit_test(test_covers),
		cmocka_unit_test(test_connections_of_one_peer),
		cmocka_unit_test(test_adopt_serials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
