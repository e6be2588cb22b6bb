// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Key sets and key selection (lib/keyring.c, lib/keysel.c), with Linux's
 * list order: keys are added at the head, lookups take the first match.
 *
 * Linked with the allocators wrapped (failalloc.h): the engine's calls to
 * free() come through check_freed() below, which checks that the key
 * storage handed back holds no secret any more; an allocation can be made
 * to fail, and what is allocated is counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <malloc.h>

#include "failalloc.h"
#include "tcpao.h"

static const void *watched;      /* the key chunk expected to be freed */
static int watched_freed, watched_dirty;

/* A key of key() below: 16 bytes of 0xa0 | sndid. */
static bool key_at(const uint8_t *b)
{
	for (int i = 0; i < 16; i++)
		if ((b[i] & 0xf0) != 0xa0 || b[i] != b[0])
			return false;
	return true;
}

/* Every block the engine frees comes here (failalloc_on_free). */
static void check_freed(void *p)
{
	if (p == watched) {
		const uint8_t *b = p;
		size_t len = malloc_usable_size(p);

		watched_freed++;
		for (size_t i = 0; i + 16 <= len; i++)
			watched_dirty += key_at(b + i);
		watched = NULL;
	}
}

static struct tcpao_addr addr(const char *text)
{
	struct tcpao_addr a;

	assert_int_equal(tcpao_addr_parse(text, &a, NULL), 0);
	return a;
}

static struct tcpao_mkt key(const char *peer, uint8_t prefixlen, uint8_t sndid,
			    uint8_t rcvid)
{
	struct tcpao_mkt m = { .sndid = sndid, .rcvid = rcvid,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 16,
			       .prefixlen = prefixlen };

	m.peer = addr(peer);
	memset(m.key, 0xa0 | (sndid & 15), 16);
	assert_int_equal(tcpao_mkt_check(&m), 0);
	return m;
}

static int add(struct tcpao_keyring *r, const char *peer, uint8_t len,
	       uint8_t sndid, uint8_t rcvid)
{
	struct tcpao_mkt m = key(peer, len, sndid, rcvid);

	return tcpao_keyring_add(r, &m);
}

static void test_add_order(void **state)
{
	struct tcpao_keyring r;

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(r.n, 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 1, 11), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 2, 12), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 3, 13), 0);
	assert_int_equal(r.n, 3);
	/* Newest first, serials in order of addition, never reused. */
	assert_int_equal(tcpao_keyring_key(&r, 0)->sndid, 3);
	assert_int_equal(tcpao_keyring_key(&r, 1)->sndid, 2);
	assert_int_equal(tcpao_keyring_key(&r, 2)->sndid, 1);
	assert_true(tcpao_keyring_serial(&r, 0) > tcpao_keyring_serial(&r, 1) && tcpao_keyring_serial(&r, 1) > tcpao_keyring_serial(&r, 2));
	assert_true(tcpao_keyring_serial(&r, 2) > 0);
	/* The key is copied: secret and all. */
	assert_int_equal(tcpao_keyring_key(&r, 0)->keylen, 16);
	assert_int_equal(tcpao_keyring_key(&r, 0)->key[0], 0xa3);
	tcpao_keyring_free(&r);
	assert_int_equal(r.n, 0);
	assert_null(r.groups);
}

static void test_add_conflicts(void **state)
{
	struct tcpao_keyring r;

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(add(&r, "198.18.0.1", 32, 100, 100), 0);
	uint64_t serial = tcpao_keyring_serial(&r, 0);
	/* The selftest's duplicates: all EEXIST, the ring unchanged. */
	assert_int_equal(add(&r, "198.18.0.1", 32, 100, 100), -EEXIST);
	assert_int_equal(add(&r, "0.0.0.0", 0, 100, 100), -EEXIST);
	assert_int_equal(add(&r, "198.18.0.0", 16, 100, 100), -EEXIST);
	assert_int_equal(add(&r, "198.18.0.1", 32, 100, 101), -EEXIST);
	assert_int_equal(add(&r, "198.18.0.1", 32, 101, 100), -EEXIST);
	assert_int_equal(r.n, 1);
	assert_int_equal(tcpao_keyring_serial(&r, 0), serial);
	/* Other ids, or peers that do not overlap: fine. */
	assert_int_equal(add(&r, "198.18.0.1", 32, 101, 101), 0);
	assert_int_equal(add(&r, "198.18.0.2", 32, 100, 100), 0);
	assert_int_equal(add(&r, "fd00::1", 128, 100, 100), 0);
	assert_int_equal(r.n, 4);
	/* And a key for any IPv4 peer now clashes with all three. */
	assert_int_equal(add(&r, "0.0.0.0", 0, 101, 7), -EEXIST);
	assert_int_equal(add(&r, "0.0.0.0", 0, 7, 7), 0);
	tcpao_keyring_free(&r);

	/* The other order: the any key first. */
	tcpao_keyring_init(&r);
	assert_int_equal(add(&r, "0.0.0.0", 0, 100, 100), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 100, 100), -EEXIST);
	tcpao_keyring_free(&r);
}

/* Past the first allocation: order, contents and lookups survive. */
static void test_grow(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_addr p = addr("198.18.0.9");

	(void)state;
	tcpao_keyring_init(&r);
	for (int i = 0; i < 40; i++)
		assert_int_equal(add(&r, "198.18.0.0", 24, (uint8_t)i,
				     (uint8_t)(100 + i)), 0);
	assert_int_equal(r.n, 40);
	for (int i = 0; i < 40; i++) {
		assert_int_equal(tcpao_keyring_key(&r, i)->sndid, 39 - i);
		assert_int_equal(tcpao_keyring_key(&r, i)->key[0], 0xa0 | ((39 - i) & 15));
		assert_int_equal(tcpao_keyring_find_sndid(&r, &p, 0, (uint8_t)i), 39 - i);
		assert_int_equal(tcpao_keyring_find_rcvid(&r, &p, 0, (uint8_t)(100 + i)),
				 39 - i);
		assert_int_equal(tcpao_keyring_find_serial(&r, tcpao_keyring_serial(&r, i)), i);
	}
	tcpao_keyring_free(&r);
}

/* Serials given out of order (a reload keeps the old serials of unchanged
 * keys): every key is still found by its serial, a missing one is not. */
static void test_find_serial_any_order(void **state)
{
	static const uint64_t given[] = { 7, 90, 3, 12, 5, 44, 2, 60, 1 };
	struct tcpao_keyring r;
	size_t n = sizeof(given) / sizeof(given[0]);

	(void)state;
	tcpao_keyring_init(&r);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(add(&r, "198.18.0.0", 24, (uint8_t)i,
				     (uint8_t)(100 + i)), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tcpao_keyring_set(&r, i, given[i], 0), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(tcpao_keyring_find_serial(&r, given[i]), (int)i);
	assert_int_equal(tcpao_keyring_find_serial(&r, 4), -1);
	assert_int_equal(tcpao_keyring_find_serial(&r, 91), -1);
	assert_int_equal(tcpao_keyring_find_serial(&r, 0), -1);
	tcpao_keyring_free(&r);
	/* Empty. */
	assert_int_equal(tcpao_keyring_find_serial(&r, 1), -1);
}

/* The policy's pattern: each key added, then given a serial from a
 * counter of its own (larger than the ring's). Keys added after that, with
 * no serial set, come above them; every key is found by its serial
 * without the walk, through deletes too; a missing serial is not found. */
static void test_find_serial_set_in_order(void **state)
{
	struct tcpao_keyring r;
	uint64_t serial = 1000, gone;

	(void)state;
	tcpao_keyring_init(&r);
	for (int i = 0; i < 300; i++) {
		char a[32];

		snprintf(a, sizeof(a), "198.18.%d.%d", i / 256, i % 256);
		assert_int_equal(add(&r, a, 32, 1, 2), 0);
		if (i < 200)
			assert_int_equal(tcpao_keyring_set(&r, 0, serial++, 0), 0);
		else
			assert_true(tcpao_keyring_serial(&r, 0) > tcpao_keyring_serial(&r, 1));
	}
	assert_false(r.serials_unordered);
	gone = tcpao_keyring_serial(&r, 0); /* deleted first */
	for (size_t i = 0; i < r.n; i += 2) {
		struct tcpao_mkt k = *tcpao_keyring_key(&r, i);

		assert_int_equal(tcpao_keyring_del(&r, &k.peer, k.prefixlen, k.sndid,
						   k.rcvid), 0);
	}
	for (size_t i = 0; i < r.n; i++)
		assert_int_equal(tcpao_keyring_find_serial(&r, tcpao_keyring_serial(&r, i)),
				 (int)i);
	assert_int_equal(tcpao_keyring_find_serial(&r, 999), -1);
	assert_int_equal(tcpao_keyring_find_serial(&r, gone), -1);
	assert_false(r.serials_unordered);
	/* One serial out of order: found by the walk. */
	assert_int_equal(tcpao_keyring_set(&r, 5, 1, 0), 0);
	assert_true(r.serials_unordered);
	assert_int_equal(tcpao_keyring_find_serial(&r, 1), 5);
	tcpao_keyring_free(&r);
}

static void test_del(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_addr peer = addr("198.18.0.1"), other = addr("198.18.0.2");
	struct tcpao_addr net = addr("198.18.0.0");

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(add(&r, "198.18.0.1", 32, 1, 1), 0);
	assert_int_equal(add(&r, "198.18.0.0", 24, 2, 2), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 3, 3), 0);
	uint64_t s1 = tcpao_keyring_serial(&r, 2), s3 = tcpao_keyring_serial(&r, 0);
	/* Everything must match exactly. */
	assert_int_equal(tcpao_keyring_del(&r, &peer, 32, 2, 2), -ENOENT);
	assert_int_equal(tcpao_keyring_del(&r, &net, 16, 2, 2), -ENOENT);
	assert_int_equal(tcpao_keyring_del(&r, &other, 32, 1, 1), -ENOENT);
	assert_int_equal(tcpao_keyring_del(&r, &peer, 32, 1, 2), -ENOENT);
	assert_int_equal(tcpao_keyring_del(&r, &peer, 32, 2, 1), -ENOENT);
	assert_int_equal(r.n, 3);
	/* The middle one: the others keep their order and serials. */
	assert_int_equal(tcpao_keyring_del(&r, &net, 24, 2, 2), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(tcpao_keyring_key(&r, 0)->sndid, 3);
	assert_int_equal(tcpao_keyring_key(&r, 1)->sndid, 1);
	assert_int_equal(tcpao_keyring_serial(&r, 0), s3);
	assert_int_equal(tcpao_keyring_serial(&r, 1), s1);
	assert_int_equal(tcpao_keyring_del(&r, &net, 24, 2, 2), -ENOENT);
	/* A NULL peer matches any address. */
	assert_int_equal(tcpao_keyring_del(&r, NULL, 32, 3, 3), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(tcpao_keyring_key(&r, 0)->sndid, 1);
	assert_int_equal(tcpao_keyring_del(&r, &peer, 32, 1, 1), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(tcpao_keyring_del(&r, &peer, 32, 1, 1), -ENOENT);
	/* Deleted ids may be added again, with new serials. */
	assert_int_equal(add(&r, "198.18.0.1", 32, 1, 1), 0);
	assert_true(tcpao_keyring_serial(&r, 0) > s3);
	tcpao_keyring_free(&r);
}

static void test_lookups(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_addr a = addr("198.18.0.1"), b = addr("198.18.0.77");
	struct tcpao_addr c = addr("198.19.0.1"), mapped = addr("::ffff:198.18.0.1");
	struct tcpao_addr v6 = addr("fd00::1");

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(tcpao_keyring_first(&r, &a, 0), -1);
	assert_int_equal(add(&r, "198.18.0.0", 24, 1, 2), 0);  /* index 2 */
	assert_int_equal(add(&r, "198.18.0.1", 32, 3, 4), 0);  /* index 1 */
	assert_int_equal(add(&r, "fd00::", 64, 1, 2), 0);      /* index 0 */
	/* By rcvid: the key for the peer, not the one with the same id for
	 * another peer. */
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 0, 2), 2);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &b, 0, 2), 2);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &v6, 0, 2), 0);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 0, 4), 1);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &b, 0, 4), -1);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &c, 0, 2), -1);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 0, 3), -1); /* a sndid */
	/* By sndid. */
	assert_int_equal(tcpao_keyring_find_sndid(&r, &a, 0, 1), 2);
	assert_int_equal(tcpao_keyring_find_sndid(&r, &a, 0, 3), 1);
	assert_int_equal(tcpao_keyring_find_sndid(&r, &a, 0, 4), -1); /* a rcvid */
	assert_int_equal(tcpao_keyring_find_sndid(&r, &v6, 0, 1), 0);
	/* First for the peer: the newest matching, not the most specific
	 * (Linux takes the first in its list). */
	assert_int_equal(tcpao_keyring_first(&r, &a, 0), 1);
	assert_int_equal(tcpao_keyring_first(&r, &b, 0), 2);
	assert_int_equal(tcpao_keyring_first(&r, &v6, 0), 0);
	assert_int_equal(tcpao_keyring_first(&r, &c, 0), -1);
	/* A v4-mapped peer finds the IPv4 keys. */
	assert_int_equal(tcpao_keyring_first(&r, &mapped, 0), 1);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &mapped, 0, 2), 2);
	/* By serial. */
	assert_int_equal(tcpao_keyring_find_serial(&r, tcpao_keyring_serial(&r, 1)), 1);
	assert_int_equal(tcpao_keyring_find_serial(&r, 0), -1);
	assert_int_equal(tcpao_keyring_find_serial(&r, 9999), -1);
	tcpao_keyring_free(&r);
}

static void test_lookups_ifindex(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_mkt m = key("198.18.0.1", 32, 1, 1);
	struct tcpao_addr a = addr("198.18.0.1");

	(void)state;
	tcpao_keyring_init(&r);
	m.flags = TCPAO_MKT_IFINDEX, m.ifindex = 5;
	assert_int_equal(tcpao_keyring_add(&r, &m), 0);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 5, 1), 0);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 6, 1), -1);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 0, 1), -1);
	/* The same ids for the same peer in the default VRF: allowed. */
	m.flags = 0, m.ifindex = 0;
	assert_int_equal(tcpao_keyring_add(&r, &m), 0);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 0, 1), 0);
	assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, 5, 1), 0); /* newest */
	tcpao_keyring_free(&r);
}

/* ---- key selection ------------------------------------------------------- */

static void test_keysel_default(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_keysel sel = { 77, 78 };
	struct tcpao_addr a = addr("198.18.0.1"), b = addr("198.18.0.2");

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(tcpao_keysel_default(&sel, &r, &a, 0), -ENOENT);
	assert_int_equal(sel.current, 77); /* untouched on failure */
	assert_int_equal(sel.rnext, 78);
	/* Twenty keys, as the selftest: the default is the last added. */
	for (int i = 0; i < 20; i++)
		assert_int_equal(add(&r, "198.18.0.1", 32, (uint8_t)i,
				     (uint8_t)(i + 50)), 0);
	assert_int_equal(add(&r, "198.18.0.2", 32, 99, 99), 0);
	assert_int_equal(tcpao_keysel_default(&sel, &r, &a, 0), 0);
	assert_int_equal(sel.current, tcpao_keyring_serial(&r, 1));
	assert_int_equal(sel.rnext, tcpao_keyring_serial(&r, 1));
	assert_int_equal(tcpao_keyring_key(&r, 1)->sndid, 19);
	assert_int_equal(tcpao_keysel_default(&sel, &r, &b, 0), 0);
	assert_int_equal(sel.current, tcpao_keyring_serial(&r, 0));
	struct tcpao_addr none = addr("198.18.0.3");
	assert_int_equal(tcpao_keysel_default(&sel, &r, &none, 0), -ENOENT);
	tcpao_keyring_free(&r);
}

static void test_keysel_follow_peer(void **state)
{
	struct tcpao_keyring r;
	struct tcpao_keysel sel;
	struct tcpao_addr a = addr("198.18.0.1");

	(void)state;
	tcpao_keyring_init(&r);
	assert_int_equal(add(&r, "198.18.0.1", 32, 1, 101), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 2, 102), 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 3, 103), 0);
	assert_int_equal(add(&r, "198.18.0.2", 32, 4, 104), 0);
	assert_int_equal(tcpao_keysel_default(&sel, &r, &a, 0), 0);
	uint64_t k3 = sel.current, rnext = sel.rnext;
	assert_int_equal(tcpao_keyring_key(&r, tcpao_keyring_find_serial(&r, k3))->sndid, 3);

	/* The peer asks for key 1: current follows, rnext stays. */
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 1);
	assert_int_equal(tcpao_keyring_key(&r, tcpao_keyring_find_serial(&r, sel.current))->sndid, 1);
	assert_int_equal(sel.rnext, rnext);
	/* Asking for what is current changes nothing. */
	uint64_t k1 = sel.current;
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 1);
	assert_int_equal(sel.current, k1);
	/* An id we have no key for, a rcvid, or another peer's key:
	 * nothing happens. */
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 9);
	assert_int_equal(sel.current, k1);
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 102);
	assert_int_equal(sel.current, k1);
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 4);
	assert_int_equal(sel.current, k1);
	/* Flapping back and forth, as the selftest's rotation does. */
	for (int i = 0; i < 6; i++) {
		uint8_t want = (uint8_t)(i % 3 + 1);

		tcpao_keysel_follow_peer(&sel, &r, &a, 0, want);
		assert_int_equal(tcpao_keyring_key(&r, tcpao_keyring_find_serial(&r, sel.current))->sndid,
				 want);
	}
	/* The current key deleted: the peer's choice is still honoured. */
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 2);
	assert_int_equal(tcpao_keyring_del(&r, &a, 32, 2, 102), 0);
	assert_int_equal(tcpao_keyring_find_serial(&r, sel.current), -1);
	tcpao_keysel_follow_peer(&sel, &r, &a, 0, 3);
	assert_int_equal(sel.current, k3);
	tcpao_keyring_free(&r);
}

/* ---- secrets are wiped --------------------------------------------------- */

/* The chunk of a ring's span (oldest first). */
static const struct tcpao_keychunk *chunk_of(const struct tcpao_keyring *r, size_t span)
{
	for (size_t g = 0; g < r->ngroups; span -= r->groups[g++].group->n)
		if (span < r->groups[g].group->n)
			return r->groups[g].group->s[span].chunk;
	fail();
	return NULL;
}

static void watch(const struct tcpao_keyring *r, size_t span)
{
	watched = chunk_of(r, span);
	watched_freed = watched_dirty = 0;
}

/* A chunk let go by its last holder (grown, copied away, merged, freed
 * with its ring) holds no key any more. */
static void test_free_wipes(void **state)
{
	struct tcpao_keyring r, c;

	(void)state;
	tcpao_keyring_init(&r);
	for (int i = 0; i < 4; i++)
		assert_int_equal(add(&r, "198.18.0.1", 32, (uint8_t)i, (uint8_t)i), 0);
	/* Growing the chunk frees the old one: wiped first. */
	watch(&r, 0);
	assert_int_equal(add(&r, "198.18.0.1", 32, 4, 4), 0);
	assert_int_equal(watched_freed, 1);
	assert_int_equal(watched_dirty, 0);
	/* A copy shares the chunk; its change copies it; the original's free
	 * lets go of the last holder. */
	assert_int_equal(tcpao_keyring_copy(&c, &r), 0);
	watch(&r, 0);
	assert_int_equal(tcpao_keyring_del(&c, NULL, 32, 4, 4), 0);
	assert_int_equal(watched_freed, 0);
	assert_ptr_not_equal(chunk_of(&c, 0), chunk_of(&r, 0));
	tcpao_keyring_free(&r);
	assert_int_equal(watched_freed, 1);
	assert_int_equal(watched_dirty, 0);
	assert_int_equal(r.n, 0);
	assert_null(r.groups);
	/* Two small chunks merged: the ones merged are wiped. */
	for (int i = 0; i < 200; i++)
		assert_int_equal(add(&c, "198.18.0.2", 32, (uint8_t)i, (uint8_t)i), 0);
	assert_int_equal(c.nspans, 2);
	watch(&c, 1);
	for (int i = 0; i < 60; i++)
		assert_int_equal(tcpao_keyring_del(&c, NULL, 32, (uint8_t)(199 - i),
						   (uint8_t)(199 - i)), 0);
	assert_int_equal(c.nspans, 2);
	for (int i = 0; i < 100; i++)
		assert_int_equal(tcpao_keyring_del(&c, NULL, 32, (uint8_t)i, (uint8_t)i), 0);
	assert_int_equal(c.nspans, 1);
	assert_int_equal(watched_freed, 1);
	assert_int_equal(watched_dirty, 0);
	/* And so does freeing the ring. */
	watch(&c, 0);
	tcpao_keyring_free(&c);
	assert_int_equal(watched_freed, 1);
	assert_int_equal(watched_dirty, 0);
	/* Freeing an empty or freed ring is harmless. */
	tcpao_keyring_free(&c);
}

/* ---- many keys --------------------------------------------------------- */

/* A ring with n keys of n different /32 peers (a listener serving n
 * peers), all with the same ids: each insert is accepted, and a clash is
 * still found whatever the ring's size. What it costs per key is measured
 * by bench/bench-keyring, not here. */
static void fill(size_t n)
{
	struct tcpao_keyring r;
	struct tcpao_mkt m = { .sndid = 1, .rcvid = 1, .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret", .prefixlen = 32 };

	tcpao_keyring_init(&r);
	m.peer.family = AF_INET;
	for (size_t i = 0; i < n; i++) {
		uint32_t a = htonl(0x0a000000u + (uint32_t)i);

		memcpy(m.peer.bytes, &a, 4);
		assert_int_equal(tcpao_keyring_add(&r, &m), 0);
	}
	assert_int_equal(tcpao_keyring_add(&r, &m), -EEXIST);
	assert_int_equal(r.n, n);
	tcpao_keyring_free(&r);
}

static void test_add_many(void **state)
{
	(void)state;
	fill(1000);
	fill(50000);
}

/* The lookups a ring's peer index answers (lib/keypeers.c) against a
 * walk of its keys, through random adds and deletes of host keys of a few
 * peers (several keys each, some bound to an ifindex) and copies. */
static int walk_ids(const struct tcpao_keyring *r, const struct tcpao_addr *peer,
		    int ifindex, int sndid, int rcvid)
{
	for (size_t i = 0; i < r->n; i++)
		if ((sndid < 0 || tcpao_keyring_key(r, i)->sndid == sndid) &&
		    (rcvid < 0 || tcpao_keyring_key(r, i)->rcvid == rcvid) &&
		    tcpao_mkt_matches(tcpao_keyring_key(r, i), peer, ifindex))
			return (int)i;
	return -1;
}

static int walk(const struct tcpao_keyring *r, const struct tcpao_addr *peer,
		int ifindex, int rcvid)
{
	return walk_ids(r, peer, ifindex, -1, rcvid);
}

static const struct tcpao_ringkey *at_or_null(const struct tcpao_keyring *r, int i)
{
	return i < 0 ? NULL : tcpao_keyring_at(r, (size_t)i);
}

/* The longest AO option among the keys matching peer, by walking. */
static size_t walk_room(const struct tcpao_keyring *r, const struct tcpao_addr *peer,
			int ifindex)
{
	size_t room = 0;

	for (size_t i = 0; i < r->n; i++)
		if (tcpao_mkt_matches(tcpao_keyring_key(r, i), peer, ifindex) &&
		    tcpao_ao_room(tcpao_keyring_key(r, i)->maclen) > room)
			room = tcpao_ao_room(tcpao_keyring_key(r, i)->maclen);
	return room;
}

static void test_peer_index_same_as_walk(void **state)
{
	static const char *const peers[] = { "198.18.0.1", "198.18.0.2", "fd00::1",
					     "fd00::2", "198.18.0.3", "::ffff:198.18.0.4" };
	struct tcpao_keyring r, c;
	unsigned seed = 7;

	(void)state;
	tcpao_keyring_init(&r);
	for (int step = 0; step < 6000; step++) {
		const char *p = peers[(seed = seed * 1103515245 + 12345) >> 16 & 3];
		uint8_t id = (uint8_t)((seed >> 8) % 40), len = strchr(p, ':') ? 128 : 32;
		/* sndid id + 1, rcvid id: a SYN's two ids name different keys */
		struct tcpao_mkt m = key(p, len, (uint8_t)(id + 1), id);
		struct tcpao_addr a = addr(peers[seed % 6]);
		struct tcpao_synkeys syn;

		if ((seed >> 4) % 5 == 0) {
			m.flags |= TCPAO_MKT_IFINDEX;
			m.ifindex = 3;
		}
		m.maclen = (uint8_t[]){ 4, 12, 16 }[(seed >> 20) % 3];
		if ((seed >> 12) % 3)
			tcpao_keyring_add(&r, &m);
		else
			tcpao_keyring_del(&r, &m.peer, len, (uint8_t)(id + 1), id);
		for (int ifx = 0; ifx <= 3; ifx += 3) {
			int first = walk(&r, &a, ifx, -1), snd = walk_ids(&r, &a, ifx, id, -1);

			assert_int_equal(tcpao_keyring_find_rcvid(&r, &a, ifx, id),
					 walk(&r, &a, ifx, id));
			assert_int_equal(tcpao_keyring_find_sndid(&r, &a, ifx, id), snd);
			assert_int_equal(tcpao_keyring_first(&r, &a, ifx), first);
			assert_ptr_equal(tcpao_keyring_lookup(&r, &a, ifx, -1, -1),
					 at_or_null(&r, first));
			assert_ptr_equal(tcpao_keyring_lookup(&r, &a, ifx, id, -1),
					 at_or_null(&r, snd));
			assert_int_equal(tcpao_keyring_ao_room(&r, &a, ifx), walk_room(&r, &a, ifx));
			tcpao_keyring_syn(&r, &a, ifx, id, (uint8_t)(id + 1), &syn);
			assert_ptr_equal(syn.rcv, at_or_null(&r, walk(&r, &a, ifx, id)));
			assert_ptr_equal(syn.snd, at_or_null(&r, walk_ids(&r, &a, ifx, id + 1, -1)));
			assert_int_equal(syn.room, walk_room(&r, &a, ifx));
		}
		{
			int at[256], k = 0;
			size_t n = tcpao_keyring_matching(&r, &a, 3, at, 256);

			assert_int_not_equal(n, SIZE_MAX);
			for (size_t i = r.n; i-- > 0;)
				if (tcpao_mkt_matches(tcpao_keyring_key(&r, i), &a, 3))
					assert_int_equal(at[k++], (int)i);
			assert_int_equal(k, (int)n);
		}
		if (tcpao_keyring_holds_peer(&r, &a) >= 0)
			assert_int_equal(tcpao_keyring_holds_peer(&r, &a),
					 walk(&r, &a, 0, -1) >= 0 || walk(&r, &a, 3, -1) >= 0);
		if (step % 500 == 0) {
			assert_int_equal(tcpao_keyring_copy(&c, &r), 0);
			tcpao_keyring_free(&r);
			r = c;
		}
	}
	assert_non_null(r.peers);
	tcpao_keyring_free(&r);
}

/* What malloc holds, mapped blocks included. */
static size_t heap_bytes(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

/* Keys added and deleted for ever, a few at a time: the clash index
 * (built by the first clash check, then kept by add and del) holds the
 * memory of the keys there are, not of every key there was. */
static void test_clash_index_under_churn(void **state)
{
	struct tcpao_keyring ring;
	struct tcpao_mkt m = key("198.18.0.0", 32, 1, 1);
	size_t before;

	(void)state;
	tcpao_keyring_init(&ring);
	for (uint32_t i = 0; i < 64; i++) { /* enough keys for an index */
		uint32_t be = htonl(0xc6130000u + i);

		memcpy(m.peer.bytes, &be, 4);
		assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
	}
	assert_true(tcpao_keyring_clashes(&ring, &m)); /* builds the index */
	before = heap_bytes();
	for (uint32_t i = 1; i <= 200000; i++) { /* 198.18.0.0/16, over and over */
		uint32_t be = htonl(0xc6120000u + i % 65536);

		memcpy(m.peer.bytes, &be, 4);
		assert_int_equal(tcpao_keyring_add(&ring, &m), 0);
		assert_int_equal(tcpao_keyring_del(&ring, &m.peer, 32, 1, 1), 0);
	}
	assert_true(heap_bytes() < before + 256 * 1024);
	tcpao_keyring_free(&ring);
}

/* ---- versions sharing chunks ------------------------------------------- */

/* The model: a ring's keys newest first, as plain arrays. */
struct model {
	struct tcpao_mkt k[1024];
	uint64_t serial[1024];
	size_t n;
};

static int model_first(const struct model *m, const struct tcpao_addr *peer, int rcvid)
{
	for (size_t i = 0; i < m->n; i++)
		if ((rcvid < 0 || m->k[i].rcvid == rcvid) && tcpao_mkt_matches(&m->k[i], peer, 0))
			return (int)i;
	return -1;
}

/* r holds what m holds, and its lookups answer as a walk of m does. */
static void same_as_model(const struct tcpao_keyring *r, const struct model *m,
			  const struct tcpao_addr *probe)
{
	assert_int_equal(r->n, m->n);
	assert_true(r->nspans <= 4 * r->n / 128 + 1);
	for (size_t i = 0; i < m->n; i++) {
		assert_memory_equal(tcpao_keyring_key(r, i), &m->k[i], sizeof(m->k[i]));
		assert_int_equal(tcpao_keyring_serial(r, i), m->serial[i]);
	}
	for (size_t i = 0; i < m->n; i += 1 + m->n / 16)
		assert_int_equal(tcpao_keyring_find_serial(r, m->serial[i]), (int)i);
	assert_int_equal(tcpao_keyring_first(r, probe, 0), model_first(m, probe, -1));
	for (int id = 0; id < 4; id++)
		assert_int_equal(tcpao_keyring_find_rcvid(r, probe, 0, (uint8_t)id),
				 model_first(m, probe, id));
}

static struct tcpao_mkt churn_key(unsigned *seed)
{
	unsigned x = (*seed = *seed * 1103515245 + 12345) >> 8;
	uint8_t id = (uint8_t)(x % 4);
	char text[64];

	if (x % 97 == 0) /* now and then a prefix: the peer index steps aside */
		return key("198.19.0.0", 24, (uint8_t)(10 + id), (uint8_t)(10 + id));
	if (x % 3 == 0)
		snprintf(text, sizeof(text), "fd00::%x", (x >> 4) % 300);
	else
		snprintf(text, sizeof(text), "198.18.%u.%u", (x >> 4) % 3, (x >> 6) % 100);
	return key(text, strchr(text, ':') ? 128 : 32, id, id);
}

/* Random adds and deletes (most of them of keys there are) against the
 * model, through copies: after each step the ring and every older version
 * still held answer as their models do, so a change never shows through
 * a chunk or an index page another version shares; the spans stay within
 * their bound, and the heap within what the keys need. */
static void model_add(struct model *m, const struct tcpao_mkt *k, uint64_t serial)
{
	memmove(m->k + 1, m->k, m->n * sizeof(m->k[0]));
	memmove(m->serial + 1, m->serial, m->n * sizeof(m->serial[0]));
	m->k[0] = *k;
	m->serial[0] = serial;
	m->n++;
}

/* 0, or -ENOENT when the model holds no such key. */
static int model_del(struct model *m, const struct tcpao_mkt *k)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct tcpao_mkt *h = &m->k[i];

		if (h->sndid != k->sndid || h->rcvid != k->rcvid ||
		    h->prefixlen != k->prefixlen || !tcpao_addr_equal(&h->peer, &k->peer))
			continue;
		m->n--;
		memmove(m->k + i, m->k + i + 1, (m->n - i) * sizeof(m->k[0]));
		memmove(m->serial + i, m->serial + i + 1, (m->n - i) * sizeof(m->serial[0]));
		return 0;
	}
	return -ENOENT;
}

static bool model_clashes(const struct model *m, const struct tcpao_mkt *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (tcpao_mkt_conflicts(&m->k[i], k))
			return true;
	return false;
}

/* Random adds and deletes (most of them of keys there are) against the
 * model, through copies: after each step the ring and an older version
 * still held answer as their models do, so a change never shows through
 * a chunk or an index page another version shares; the spans stay within
 * their bound, and the heap within what the keys need. */
static void test_churn_against_model(void **state)
{
	static struct model now, then;
	struct tcpao_keyring r, old;
	unsigned seed = 11;
	size_t before = 0, most = 0;
	bool held = false;

	(void)state;
	tcpao_keyring_init(&r);
	for (int step = 0; step < 20000; step++) {
		struct tcpao_mkt m = churn_key(&seed);
		struct tcpao_addr probe = churn_key(&seed).peer;
		bool grow = step < 8000 ? seed % 4 != 0 : seed % 2 == 0;

		if (step % 97 == 0) { /* a published version, held for a while */
			if (held) {
				same_as_model(&old, &then, &probe);
				tcpao_keyring_free(&old);
			}
			assert_int_equal(tcpao_keyring_copy(&old, &r), 0);
			then = now;
			held = true;
		}
		if (grow && r.n < 1000) {
			bool clash = model_clashes(&now, &m);

			assert_int_equal(tcpao_keyring_add(&r, &m), clash ? -EEXIST : 0);
			if (!clash) {
				assert_true(!now.n || tcpao_keyring_serial(&r, 0) > now.serial[0]);
				model_add(&now, &m, tcpao_keyring_serial(&r, 0));
			}
		} else {
			if (now.n && seed % 8) /* one that is there */
				m = now.k[(seed >> 3) % now.n];
			assert_int_equal(tcpao_keyring_del(&r, &m.peer, m.prefixlen, m.sndid,
							   m.rcvid), model_del(&now, &m));
		}
		same_as_model(&r, &now, &probe);
		if (held && step % 7 == 0)
			same_as_model(&old, &then, &probe);
		most = r.nspans > most ? r.nspans : most;
		if (step == 10000)
			before = heap_bytes();
	}
	assert_true(most >= 4); /* the keys spread over chunks */
	assert_non_null(r.peers);
	/* The second half churns at about the same size: no growth. */
	assert_true(heap_bytes() < before + 512 * 1024);
	if (held)
		tcpao_keyring_free(&old);
	tcpao_keyring_free(&r);
}

/* ---- past one group of spans -------------------------------------------- */

/* A big ring's model: each key named by a number (its peer), newest first. */
struct big_model {
	uint32_t x[16384];
	uint64_t serial[16384];
	uint8_t tag[16384];
	size_t n;
};

static struct tcpao_mkt numbered(uint32_t x)
{
	char text[32];

	snprintf(text, sizeof(text), "198.18.%u.%u", x >> 8 & 0xff, x & 0xff);
	return key(text, 32, 1, 1);
}

static void big_check_key(const struct tcpao_keyring *r, const struct big_model *m, size_t i)
{
	/* numbered()'s peer without its text: this runs for every key */
	const uint8_t want[4] = { 198, 18, m->x[i] >> 8 & 0xff, m->x[i] & 0xff };

	assert_memory_equal(tcpao_keyring_key(r, i)->peer.bytes, want, 4);
	assert_int_equal(tcpao_keyring_serial(r, i), m->serial[i]);
	assert_int_equal(tcpao_keyring_at(r, i)->tag, m->tag[i]);
}

/* Every key, a sample of serials and peers, and the bounds: adjacent
 * chunks of a group hold more than 64 keys, adjacent groups more than 16
 * spans (but where merges stopped at a group's edge). */
static void big_same(const struct tcpao_keyring *r, const struct big_model *m)
{
	assert_int_equal(r->n, m->n);
	assert_true(r->nspans <= 4 * r->n / 128 + r->ngroups);
	assert_true(r->ngroups <= 4 * r->nspans / TCPAO_KEYGROUP + 1);
	for (size_t i = 0; i < m->n; i++)
		big_check_key(r, m, i);
	for (size_t i = 0; i < m->n; i += 1 + m->n / 64) {
		struct tcpao_mkt k = numbered(m->x[i]);

		assert_int_equal(tcpao_keyring_find_serial(r, m->serial[i]), (int)i);
		assert_int_equal(tcpao_keyring_first(r, &k.peer, 0), (int)i);
	}
}

/* The model after key x was added to r (at its head). */
static void model_added(struct big_model *m, const struct tcpao_keyring *r, uint32_t x)
{
	memmove(m->x + 1, m->x, m->n * sizeof(m->x[0]));
	memmove(m->serial + 1, m->serial, m->n * sizeof(m->serial[0]));
	memmove(m->tag + 1, m->tag, m->n * sizeof(m->tag[0]));
	m->x[0] = x;
	m->serial[0] = tcpao_keyring_serial(r, 0);
	m->tag[0] = 0;
	m->n++;
}

static void model_deleted(struct big_model *m, size_t i)
{
	m->n--;
	memmove(m->x + i, m->x + i + 1, (m->n - i) * sizeof(m->x[0]));
	memmove(m->serial + i, m->serial + i + 1, (m->n - i) * sizeof(m->serial[0]));
	memmove(m->tag + i, m->tag + i + 1, (m->n - i) * sizeof(m->tag[0]));
}

static void big_add(struct tcpao_keyring *r, struct big_model *m, uint32_t x)
{
	struct tcpao_mkt k = numbered(x);

	assert_int_equal(tcpao_keyring_add(r, &k), 0);
	model_added(m, r, x);
}

static void big_del(struct tcpao_keyring *r, struct big_model *m, size_t i)
{
	struct tcpao_mkt k = numbered(m->x[i]);

	assert_int_equal(tcpao_keyring_del(r, &k.peer, 32, 1, 1), 0);
	model_deleted(m, i);
}

/* 12,000 keys (94 chunks in 3 groups), then random deletes, adds and tag
 * changes, a shrink to 300 keys and a regrowth, through copies held for a
 * while: the ring and every copy answer as their models do after each
 * change (a change never shows through a group or chunk another version
 * shares), and spans and groups stay within their bounds. */
static void test_groups_against_model(void **state)
{
	static struct big_model now, then;
	struct tcpao_keyring r, old;
	uint32_t next = 0;
	unsigned seed = 7;
	bool held = false;
	size_t most = 0;

	(void)state;
	tcpao_keyring_init(&r);
	while (next < 12000)
		big_add(&r, &now, next++);
	big_same(&r, &now);
	for (int step = 0; step < 36000; step++) {
		unsigned x = (seed = seed * 1103515245 + 12345) >> 8;
		size_t target = step < 12000 ? 12000 : step < 26000 ? 300 : 8000;

		if (step % 97 == 0) {
			if (held) {
				big_same(&old, &then);
				tcpao_keyring_free(&old);
			}
			assert_int_equal(tcpao_keyring_copy(&old, &r), 0);
			then = now;
			held = true;
		}
		if (x % 10 == 0 && now.n) { /* a tag set, in place */
			size_t i = (x >> 4) % now.n;

			assert_int_equal(tcpao_keyring_set(&r, i, now.serial[i], (uint8_t)step), 0);
			now.tag[i] = (uint8_t)step;
		} else if (now.n > target || (now.n == target && x % 2)) {
			big_del(&r, &now, (x >> 4) % now.n);
		} else if (next < 65536) {
			big_add(&r, &now, next++);
		}
		if (now.n)
			big_check_key(&r, &now, (x >> 8) % now.n);
		if (step % 500 == 0)
			big_same(&r, &now);
		if (step == 25999) { /* shrunk: the groups merged on the way */
			assert_true(r.n <= 300);
			assert_int_equal(r.ngroups, 1);
		}
		most = r.ngroups > most ? r.ngroups : most;
	}
	big_same(&r, &now);
	assert_true(most >= 3); /* the spans spread over groups */
	if (held)
		tcpao_keyring_free(&old);
	tcpao_keyring_free(&r);
}

/* A copy changed and then dropped (a change that failed later on, the
 * daemon's policy copy let go) leaves no trace in the clash checks of
 * the next copy of the same ring: a key added there does not clash
 * later, a key deleted there still does. */
static void test_dropped_copy_leaves_no_clash(void **state)
{
	struct tcpao_mkt extra = numbered(5000), held;
	struct tcpao_keyring r, w;

	(void)state;
	tcpao_keyring_init(&r);
	for (uint32_t x = 0; x < 40; x++) { /* past INDEX_FROM: the index answers */
		struct tcpao_mkt k = numbered(x);

		assert_int_equal(tcpao_keyring_add(&r, &k), 0);
	}
	held = numbered(7);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(tcpao_keyring_copy(&w, &r), 0);
		assert_int_equal(tcpao_keyring_add(&w, &extra), 0);
		tcpao_keyring_free(&w);
		assert_int_equal(tcpao_keyring_copy(&w, &r), 0);
		assert_int_equal(tcpao_keyring_del(&w, &held.peer, 32, 1, 1), 0);
		tcpao_keyring_free(&w);
		assert_int_equal(tcpao_keyring_copy(&w, &r), 0);
		assert_int_equal(tcpao_keyring_add(&w, &held), -EEXIST);
		assert_int_equal(tcpao_keyring_add(&w, &extra), 0);
		tcpao_keyring_free(&w);
	}
	tcpao_keyring_free(&r);
}

/* ---- allocation failures ----------------------------------------------- */

/* An add to a full chunk in a full group, and to a chunk with room. */
enum { OP_ADD, OP_ADD_ROOM, OP_DEL_SPARSE, OP_DEL_FULL, OP_SET, OP_COPY, NOPS };

/* Op on w, as the model m would have it after (when it succeeds). */
static int apply(int op, struct tcpao_keyring *w, struct big_model *m)
{
	size_t i = op == OP_DEL_SPARSE ? m->n - 300 : 100;
	struct tcpao_mkt k = numbered(op <= OP_ADD_ROOM ? 60000 : m->x[i]);
	struct tcpao_keyring c;
	int rc;

	switch (op) {
	case OP_ADD:
	case OP_ADD_ROOM:
		if (!(rc = tcpao_keyring_add(w, &k)))
			model_added(m, w, 60000);
		return rc;
	case OP_SET:
		if (!(rc = tcpao_keyring_set(w, i, m->serial[i], 77)))
			m->tag[i] = 77;
		return rc;
	case OP_COPY:
		if (!(rc = tcpao_keyring_copy(&c, w)))
			big_same(&c, m);
		else
			assert_int_equal(c.n, 0); /* left empty */
		tcpao_keyring_free(&c);
		return rc;
	}
	if (!(rc = tcpao_keyring_del(w, &k.peer, 32, 1, 1)))
		model_deleted(m, i);
	return rc;
}

/* Op on a copy of r (the model now) with its n-th allocation failing
 * (and every one after it, when and_after): true while it had an n-th. */
static bool fail_nth(int op, long n, bool and_after, const struct tcpao_keyring *r,
		     const struct big_model *now, int *failures)
{
	static struct big_model start, want;
	struct tcpao_keyring w;
	bool fired;
	int rc;

	assert_int_equal(tcpao_keyring_copy(&w, r), 0);
	start = *now;
	if (op == OP_ADD_ROOM)
		big_add(&w, &start, 60001);
	want = start;
	failalloc_arm(n, and_after);
	rc = apply(op, &w, &want);
	fired = failalloc_fired();
	if (rc) {
		assert_int_equal(rc, -ENOMEM);
		assert_true(fired);
		big_same(&w, &start);
		++*failures;
	} else {
		big_same(&w, &want);
	}
	tcpao_keyring_free(&w);
	return fired;
}

/* Each allocation of an add (a new chunk and group, or room in the
 * newest chunk), a delete (where chunks merge, and where they are full),
 * a tag set and a copy failed in turn (alone, and with every one after
 * it), on a ring of one full group whose chunks, groups and index pages a
 * held copy shares: the call says -ENOMEM and the ring answers as before
 * (or, where it could do without the allocation, as after), the held
 * copy never changes, and nothing leaks. */
static void test_enomem_anywhere(void **state)
{
	static struct big_model now;
	struct tcpao_keyring r, held;
	long before = failalloc_live();
	int failures = 0;

	(void)state;
	tcpao_keyring_init(&r);
	for (uint32_t x = 0; x < TCPAO_KEYGROUP * 128; x++)
		big_add(&r, &now, x);
	for (size_t k = 0; k < 450; k++) /* some of the oldest chunks half empty */
		big_del(&r, &now, 3000 + k);
	assert_int_equal(tcpao_keyring_copy(&held, &r), 0);
	for (int op = 0; op < 2 * NOPS; op++) {
		long n = 1;

		while (fail_nth(op % NOPS, n, op >= NOPS, &r, &now, &failures))
			assert_true(++n < 1000);
	}
	big_same(&held, &now);
	big_same(&r, &now);
	tcpao_keyring_free(&held);
	tcpao_keyring_free(&r);
	assert_true(failures >= 16); /* counted when written: 20 */
	assert_int_equal(failalloc_live(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_many),
		cmocka_unit_test(test_add_order),
		cmocka_unit_test(test_add_conflicts),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_del),
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_lookups_ifindex),
		cmocka_unit_test(test_keysel_default),
		cmocka_unit_test(test_keysel_follow_peer),
		cmocka_unit_test(test_free_wipes),
		cmocka_unit_test(test_find_serial_any_order),
		cmocka_unit_test(test_find_serial_set_in_order),
		cmocka_unit_test(test_peer_index_same_as_walk),
		cmocka_unit_test(test_clash_index_under_churn),
		cmocka_unit_test(test_churn_against_model),
		cmocka_unit_test(test_groups_against_model),
		cmocka_unit_test(test_dropped_copy_leaves_no_clash),
		cmocka_unit_test(test_enomem_anywhere),
	};

	failalloc_on_free = check_freed;
	return cmocka_run_group_tests_name("keyring", tests, NULL, NULL);
}
