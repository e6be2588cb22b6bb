// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Master key tuples (lib/mkt.c, lib/addr.c, lib/alg.c names) and the key
 * spec syntax (lib/keyspec.c). Errno values are those of Linux 6.12's
 * TCP_AO_ADD_KEY (net/ipv4/tcp_ao.c, selftests setsockopt-closed.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tcpao.h"

static struct tcpao_addr addr(const char *text)
{
	struct tcpao_addr a;

	assert_int_equal(tcpao_addr_parse(text, &a, NULL), 0);
	return a;
}

/* A valid key for 198.18.0.1/32; tests change one thing at a time. */
static struct tcpao_mkt base_key(void)
{
	struct tcpao_mkt m = {
		.sndid = 1, .rcvid = 2, .alg = TCPAO_ALG_HMAC_SHA1,
		.keylen = 6, .key = "secret", .prefixlen = 32,
	};

	m.peer = addr("198.18.0.1");
	return m;
}

static int check_peer(const char *peer, uint8_t prefixlen)
{
	struct tcpao_mkt m = base_key();

	m.peer = addr(peer);
	m.prefixlen = prefixlen;
	return tcpao_mkt_check(&m);
}

/* ---- tcpao_mkt_check ----------------------------------------------------- */

static void test_check_valid(void **state)
{
	struct tcpao_mkt m = base_key();

	(void)state;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	assert_int_equal(m.maclen, TCPAO_DEFAULT_MACLEN); /* 0 → 12 */
	assert_int_equal(m.peer.family, AF_INET);
}

static void test_check_keylen(void **state)
{
	struct tcpao_mkt m = base_key();

	(void)state;
	m.keylen = 80;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	m.keylen = 81;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.keylen = 255;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
}

static void test_check_maclen(void **state)
{
	(void)state;
	for (int alg = 0; alg < TCPAO_ALG_COUNT; alg++) {
		for (int maclen = 0; maclen < 256; maclen++) {
			struct tcpao_mkt m = base_key();
			int rc;

			m.alg = (enum tcpao_alg)alg;
			m.maclen = (uint8_t)maclen;
			rc = tcpao_mkt_check(&m);
			/* Linux: round_up(4 + maclen, 4) must fit in the 20
			 * bytes a SYN leaves, whatever the digest length. */
			if (maclen <= 16) {
				assert_int_equal(rc, 0);
				assert_int_equal(m.maclen, maclen ? maclen : 12);
			} else {
				assert_int_equal(rc, -EMSGSIZE);
			}
		}
	}
}

static void test_check_flags_ifindex(void **state)
{
	struct tcpao_mkt m = base_key();

	(void)state;
	m.flags = 0xff;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.flags = 1 << 2;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.flags = TCPAO_MKT_EXCLUDE_OPT;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	m.flags = 0;
	m.ifindex = 42;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.flags = TCPAO_MKT_IFINDEX;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	m.ifindex = 0; /* the flag with ifindex 0: the default VRF */
	assert_int_equal(tcpao_mkt_check(&m), 0);
	m.ifindex = -1;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
}

static void test_check_alg(void **state)
{
	struct tcpao_mkt m = base_key();
	enum tcpao_alg alg;

	(void)state;
	m.alg = TCPAO_ALG_COUNT;
	assert_int_equal(tcpao_mkt_check(&m), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("cmac(aes128)", &alg), 0);
	assert_int_equal(alg, TCPAO_ALG_CMAC_AES128);
	assert_string_equal(tcpao_alg_name(alg), "cmac(aes)");
	assert_int_equal(tcpao_alg_from_name("cmac(aes)", &alg), 0);
	assert_int_equal(alg, TCPAO_ALG_CMAC_AES128);
	assert_int_equal(tcpao_alg_from_name("hmac(sha1)", &alg), 0);
	assert_int_equal(alg, TCPAO_ALG_HMAC_SHA1);
	assert_string_equal(tcpao_alg_name(alg), "hmac(sha1)");
	assert_int_equal(tcpao_alg_from_name("hmac(sha256)", &alg), 0);
	assert_int_equal(alg, TCPAO_ALG_HMAC_SHA256);
	assert_string_equal(tcpao_alg_name(alg), "hmac(sha256)");
	assert_int_equal(tcpao_alg_from_name("imaginary hash algo", &alg), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("HMAC(SHA1)", &alg), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("", &alg), -ENOENT);
}

/* Several faults at once: the errno is that of the check Linux makes
 * first (keylen, address, flags, ifindex, algorithm, maclen). */
static void test_check_order(void **state)
{
	struct tcpao_mkt m;

	(void)state;
	m = base_key();
	m.keylen = 81, m.alg = TCPAO_ALG_COUNT, m.maclen = 100;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m = base_key();
	m.prefixlen = 8, m.alg = TCPAO_ALG_COUNT; /* host bits set */
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m = base_key();
	m.flags = 0xff, m.maclen = 100;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m = base_key();
	m.ifindex = 3, m.alg = TCPAO_ALG_COUNT;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m = base_key();
	m.alg = TCPAO_ALG_COUNT, m.maclen = 100;
	assert_int_equal(tcpao_mkt_check(&m), -ENOENT);
}

/* The selftest's address cases (setsockopt-closed.c), both families. */
static void test_check_peer(void **state)
{
	struct tcpao_mkt m = base_key();

	(void)state;
	assert_int_equal(check_peer("198.18.0.1", 32), 0);
	assert_int_equal(check_peer("198.18.0.0", 15), 0);
	assert_int_equal(check_peer("198.18.0.1", 33), -EINVAL);
	assert_int_equal(check_peer("198.18.0.1", 0), -EINVAL);  /* /0 + addr */
	assert_int_equal(check_peer("0.0.0.0", 0), 0);           /* any */
	assert_int_equal(check_peer("0.0.0.0", 32), -EINVAL);    /* any + /32 */
	assert_int_equal(check_peer("198.18.0.1", 16), -EINVAL); /* host bits */
	assert_int_equal(check_peer("198.19.0.0", 15), -EINVAL); /* bit 16 */
	assert_int_equal(check_peer("128.0.0.0", 1), 0);
	assert_int_equal(check_peer("192.0.0.0", 1), -EINVAL);
	assert_int_equal(check_peer("fd00::1", 128), 0);
	assert_int_equal(check_peer("fd00::", 8), 0);
	assert_int_equal(check_peer("fd00::1", 129), -EINVAL);
	assert_int_equal(check_peer("fd00::1", 64), -EINVAL);
	assert_int_equal(check_peer("fd00::1", 0), -EINVAL);
	assert_int_equal(check_peer("::", 0), 0);
	assert_int_equal(check_peer("::", 128), -EINVAL);
	assert_int_equal(check_peer("fd00:0:0:80::", 57), 0);
	assert_int_equal(check_peer("fd00:0:0:80::", 56), -EINVAL);

	/* Engine extension: AF_UNSPEC is any peer of either family. */
	memset(&m.peer, 0, sizeof(m.peer));
	m.prefixlen = 0;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	m.prefixlen = 8;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.peer.family = AF_UNIX;
	m.prefixlen = 0;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
}

/* Linux stores a v4-mapped key as IPv4; its prefix counts IPv4 bits. */
static void test_check_v4mapped(void **state)
{
	struct tcpao_mkt m = base_key();
	struct tcpao_addr v4 = addr("198.18.0.1");

	(void)state;
	m.peer = addr("::ffff:198.18.0.1");
	m.prefixlen = 32;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	assert_int_equal(m.peer.family, AF_INET);
	assert_true(tcpao_addr_equal(&m.peer, &v4));
	m.peer = addr("::ffff:198.18.0.0");
	m.prefixlen = 16;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	assert_int_equal(m.peer.family, AF_INET);
	m.peer = addr("::ffff:198.18.0.1");
	m.prefixlen = 33;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.peer = addr("::ffff:198.18.0.1");
	m.prefixlen = 0;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
	m.peer = addr("::ffff:0.0.0.0");
	m.prefixlen = 8;
	assert_int_equal(tcpao_mkt_check(&m), -EINVAL);
}

/* ---- matching ------------------------------------------------------------ */

static bool matches(const char *prefix, uint8_t len, const char *peer)
{
	struct tcpao_mkt m = base_key();
	struct tcpao_addr p = addr(peer);

	m.peer = addr(prefix);
	m.prefixlen = len;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	return tcpao_mkt_matches(&m, &p, 0);
}

static void test_matches_v4(void **state)
{
	(void)state;
	assert_true(matches("198.18.0.1", 32, "198.18.0.1"));
	assert_false(matches("198.18.0.1", 32, "198.18.0.2"));
	assert_true(matches("198.18.0.0", 24, "198.18.0.255"));
	assert_false(matches("198.18.0.0", 24, "198.18.1.0"));
	/* Prefixes ending inside a byte. */
	assert_true(matches("198.18.0.0", 15, "198.19.255.255"));
	assert_false(matches("198.18.0.0", 15, "198.20.0.0"));
	assert_false(matches("198.18.0.0", 15, "198.17.255.255"));
	assert_true(matches("198.18.0.0", 23, "198.18.1.7"));
	assert_false(matches("198.18.0.0", 23, "198.18.2.7"));
	assert_true(matches("128.0.0.0", 1, "255.0.0.1"));
	assert_false(matches("128.0.0.0", 1, "127.255.255.255"));
	assert_true(matches("198.18.0.4", 31, "198.18.0.5"));
	assert_false(matches("198.18.0.4", 31, "198.18.0.6"));
	/* 0.0.0.0/0: every IPv4 peer, no IPv6 peer. */
	assert_true(matches("0.0.0.0", 0, "198.18.0.1"));
	assert_true(matches("0.0.0.0", 0, "255.255.255.255"));
	assert_false(matches("0.0.0.0", 0, "fd00::1"));
	/* A v4-mapped peer is the IPv4 peer. */
	assert_true(matches("198.18.0.1", 32, "::ffff:198.18.0.1"));
	assert_true(matches("198.18.0.0", 15, "::ffff:198.19.1.1"));
	assert_false(matches("198.18.0.1", 32, "::ffff:198.18.0.2"));
	assert_true(matches("0.0.0.0", 0, "::ffff:198.18.0.1"));
	/* A v4-mapped key matches the IPv4 peer. */
	assert_true(matches("::ffff:198.18.0.1", 32, "198.18.0.1"));
	assert_true(matches("::ffff:198.18.0.1", 32, "::ffff:198.18.0.1"));
}

static void test_matches_v6(void **state)
{
	(void)state;
	assert_true(matches("fd00::1", 128, "fd00::1"));
	assert_false(matches("fd00::1", 128, "fd00::2"));
	assert_true(matches("fd00:1:2:3::", 64, "fd00:1:2:3:ffff::1"));
	assert_false(matches("fd00:1:2:3::", 64, "fd00:1:2:4::1"));
	assert_true(matches("fc00::", 7, "fdff::1"));
	assert_true(matches("fc00::", 7, "fc00::1"));
	assert_false(matches("fc00::", 7, "fe00::1"));
	assert_true(matches("fd00::", 127, "fd00::1"));
	assert_false(matches("fd00::", 127, "fd00::2"));
	assert_true(matches("fd00::80", 121, "fd00::ff"));
	assert_false(matches("fd00::80", 121, "fd00::7f"));
	/* Across the addresses' two 64-bit halves. */
	assert_true(matches("fd00:1:2:3:8000::", 65, "fd00:1:2:3:ffff::1"));
	assert_false(matches("fd00:1:2:3:8000::", 65, "fd00:1:2:3:7fff::1"));
	assert_false(matches("fd00:1:2:3:8000::", 65, "fd00:1:2:2:8000::"));
	assert_false(matches("fd00::1", 128, "fd01::1"));
	assert_true(matches("fd00::1:0:0", 96, "fd00::1:ffff:ffff"));
	assert_false(matches("fd00::1:0:0", 96, "fd00::2:0:0"));
	/* ::/0: every IPv6 peer, but neither IPv4 nor v4-mapped ones (as in
	 * Linux, where a v4-mapped peer is looked up as IPv4). */
	assert_true(matches("::", 0, "fd00::1"));
	assert_false(matches("::", 0, "198.18.0.1"));
	assert_false(matches("::", 0, "::ffff:198.18.0.1"));
	assert_false(matches("fd00::1", 128, "198.18.0.1"));
}

static void test_matches_any_family(void **state)
{
	struct tcpao_mkt m = base_key();
	struct tcpao_addr v4 = addr("198.18.0.1"), v6 = addr("fd00::1");

	(void)state;
	memset(&m.peer, 0, sizeof(m.peer));
	m.prefixlen = 0;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	assert_true(tcpao_mkt_matches(&m, &v4, 0));
	assert_true(tcpao_mkt_matches(&m, &v6, 0));
}

static void test_matches_ifindex(void **state)
{
	struct tcpao_mkt m = base_key();
	struct tcpao_addr p = addr("198.18.0.1");

	(void)state;
	assert_true(tcpao_mkt_matches(&m, &p, 0));
	assert_true(tcpao_mkt_matches(&m, &p, 7)); /* no flag: any device */
	m.flags = TCPAO_MKT_IFINDEX;
	m.ifindex = 7;
	assert_true(tcpao_mkt_matches(&m, &p, 7));
	assert_false(tcpao_mkt_matches(&m, &p, 8));
	assert_false(tcpao_mkt_matches(&m, &p, 0));
	m.ifindex = 0; /* the flag with 0: the default VRF only */
	assert_true(tcpao_mkt_matches(&m, &p, 0));
	assert_false(tcpao_mkt_matches(&m, &p, 7));
}

/* ---- conflicts ----------------------------------------------------------- */

static struct tcpao_mkt key_for(const char *peer, uint8_t len, uint8_t sndid,
				uint8_t rcvid)
{
	struct tcpao_mkt m = base_key();

	m.peer = addr(peer);
	m.prefixlen = len;
	m.sndid = sndid;
	m.rcvid = rcvid;
	assert_int_equal(tcpao_mkt_check(&m), 0);
	return m;
}

static void test_conflicts(void **state)
{
	struct tcpao_mkt a = key_for("198.18.0.1", 32, 100, 100);
	struct tcpao_mkt b;

	(void)state;
	/* The selftest's duplicate cases, all EEXIST in Linux. */
	assert_true(tcpao_mkt_conflicts(&a, &a));
	b = key_for("0.0.0.0", 0, 100, 100);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	assert_true(tcpao_mkt_conflicts(&b, &a));
	b = key_for("198.18.0.0", 16, 100, 100);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	assert_true(tcpao_mkt_conflicts(&b, &a));
	b = key_for("198.18.0.1", 32, 100, 101); /* rcvid differs only */
	assert_true(tcpao_mkt_conflicts(&a, &b));
	b = key_for("198.18.0.1", 32, 101, 100); /* sndid differs only */
	assert_true(tcpao_mkt_conflicts(&a, &b));
	/* Neither id shared: fine, even for the same peer. */
	b = key_for("198.18.0.1", 32, 101, 101);
	assert_false(tcpao_mkt_conflicts(&a, &b));
	/* sndid of one equal to rcvid of the other is no clash. */
	b = key_for("198.18.0.1", 32, 7, 100);
	a = key_for("198.18.0.1", 32, 100, 7);
	assert_false(tcpao_mkt_conflicts(&a, &b));
	/* Same ids, prefixes that do not overlap: fine. */
	a = key_for("198.18.0.0", 24, 100, 100);
	b = key_for("198.18.1.0", 24, 100, 100);
	assert_false(tcpao_mkt_conflicts(&a, &b));
	b = key_for("198.18.0.128", 25, 100, 100);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	b = key_for("198.18.0.0", 23, 100, 100);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	/* Other family: no overlap. */
	b = key_for("::", 0, 100, 100);
	assert_false(tcpao_mkt_conflicts(&a, &b));
	b = key_for("fd00::", 8, 100, 100);
	a = key_for("fd00::1", 128, 100, 1);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	a = key_for("fe80::1", 128, 100, 1);
	assert_false(tcpao_mkt_conflicts(&a, &b));
	/* A v4-mapped key overlaps the IPv4 key. */
	a = key_for("198.18.0.1", 32, 5, 5);
	b = key_for("::ffff:198.18.0.1", 32, 5, 6);
	assert_true(tcpao_mkt_conflicts(&a, &b));
	/* Any-family keys overlap everything. */
	memset(&b.peer, 0, sizeof(b.peer));
	b.prefixlen = 0;
	assert_true(tcpao_mkt_conflicts(&a, &b));
	assert_true(tcpao_mkt_conflicts(&b, &a));
}

/* Linux's ifindex rule for EEXIST is asymmetric: the existing key's device
 * counts; a new key without the flag is taken for the default VRF (0). */
static void test_conflicts_ifindex(void **state)
{
	struct tcpao_mkt old = key_for("198.18.0.1", 32, 1, 1);
	struct tcpao_mkt new = key_for("198.18.0.1", 32, 1, 1);

	(void)state;
	old.flags = TCPAO_MKT_IFINDEX, old.ifindex = 5;
	assert_false(tcpao_mkt_conflicts(&old, &new)); /* 5 vs default */
	assert_true(tcpao_mkt_conflicts(&new, &old));  /* no flag: all */
	new.flags = TCPAO_MKT_IFINDEX, new.ifindex = 5;
	assert_true(tcpao_mkt_conflicts(&old, &new));
	new.ifindex = 6;
	assert_false(tcpao_mkt_conflicts(&old, &new));
	old.ifindex = 0;
	new.flags = 0, new.ifindex = 0;
	assert_true(tcpao_mkt_conflicts(&old, &new)); /* VRF 0 vs default */
}

static void test_wipe(void **state)
{
	struct tcpao_mkt m = base_key();
	static const struct tcpao_mkt zero;

	(void)state;
	memset(m.key, 0x5a, sizeof(m.key));
	tcpao_mkt_wipe(&m);
	assert_memory_equal(&m, &zero, sizeof(m));
}

/* ---- key specs ----------------------------------------------------------- */

static char err[256];

static int parse(const char *spec, struct tcpao_mkt *m)
{
	err[0] = '\0';
	return tcpao_mkt_parse(spec, m, err, sizeof(err));
}

/* Fails with an error message that contains want. */
static void parse_fails(const char *spec, const char *want)
{
	struct tcpao_mkt m;
	static const struct tcpao_mkt zero;

	assert_int_equal(parse(spec, &m), -EINVAL);
	if (!strstr(err, want))
		fail_msg("spec '%s': message '%s' lacks '%s'", spec, err, want);
	/* Nothing of a rejected key is left behind, the secret included. */
	assert_memory_equal(&m, &zero, sizeof(m));
}

static void test_spec_every_field(void **state)
{
	struct tcpao_mkt m;
	struct tcpao_addr p = addr("198.18.0.0");

	(void)state;
	assert_int_equal(parse("sndid=1,rcvid=2,alg=hmac(sha256),secret=abc,"
			       "peer=198.18.0.0/15,maclen=16,exclude-options,"
			       "ifindex=3", &m), 0);
	assert_int_equal(m.sndid, 1);
	assert_int_equal(m.rcvid, 2);
	assert_int_equal(m.alg, TCPAO_ALG_HMAC_SHA256);
	assert_int_equal(m.keylen, 3);
	assert_memory_equal(m.key, "abc", 3);
	assert_true(tcpao_addr_equal(&m.peer, &p));
	assert_int_equal(m.prefixlen, 15);
	assert_int_equal(m.maclen, 16);
	assert_int_equal(m.flags, TCPAO_MKT_EXCLUDE_OPT | TCPAO_MKT_IFINDEX);
	assert_int_equal(m.ifindex, 3);
}

static void test_spec_defaults(void **state)
{
	struct tcpao_mkt m;

	(void)state;
	assert_int_equal(parse("id=7,alg=cmac(aes128),secret=x", &m), 0);
	assert_int_equal(m.sndid, 7);
	assert_int_equal(m.rcvid, 7);
	assert_int_equal(m.alg, TCPAO_ALG_CMAC_AES128);
	assert_string_equal(tcpao_alg_name(m.alg), "cmac(aes)");
	assert_int_equal(m.maclen, 12);
	assert_int_equal(m.flags, 0);
	assert_int_equal(m.peer.family, AF_UNSPEC); /* any peer */
	/* Order does not matter; a full-length prefix is the default. */
	assert_int_equal(parse("secret=x,peer=fd00::1,alg=hmac(sha1),rcvid=0,sndid=255", &m), 0);
	assert_int_equal(m.sndid, 255);
	assert_int_equal(m.rcvid, 0);
	assert_int_equal(m.peer.family, AF_INET6);
	assert_int_equal(m.prefixlen, 128);
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1", &m), 0);
	assert_int_equal(m.prefixlen, 32);
	/* Decimal ids: a leading zero is not octal. */
	assert_int_equal(parse("id=010,alg=hmac(sha1),secret=x", &m), 0);
	assert_int_equal(m.sndid, 10);
}

static void test_spec_v4mapped_peer(void **state)
{
	struct tcpao_mkt m;
	struct tcpao_addr v4 = addr("198.18.0.1");

	(void)state;
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=x,peer=::ffff:198.18.0.1", &m), 0);
	assert_int_equal(m.peer.family, AF_INET);
	assert_true(tcpao_addr_equal(&m.peer, &v4));
	assert_int_equal(m.prefixlen, 32);
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=x,peer=::ffff:198.18.0.0/112", &m), 0);
	assert_int_equal(m.peer.family, AF_INET);
	assert_int_equal(m.prefixlen, 16);
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=::ffff:198.18.0.0/64", "/96 to /128");
}

static void test_spec_secrets(void **state)
{
	struct tcpao_mkt m;
	char spec[400];
	static const uint8_t bin[] = { 0x00, 0xff, 0x10, 0xab };

	(void)state;
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=hex:00ff10AB", &m), 0);
	assert_int_equal(m.keylen, 4);
	assert_memory_equal(m.key, bin, 4);
	/* A text secret is taken as it is, "hex" without the colon too. */
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=hexagon", &m), 0);
	assert_int_equal(m.keylen, 7);
	assert_memory_equal(m.key, "hexagon", 7);
	/* 80 bytes of text, 80 bytes of hex: the most Linux takes. */
	snprintf(spec, sizeof(spec), "id=1,alg=hmac(sha1),secret=%080d", 0);
	assert_int_equal(parse(spec, &m), 0);
	assert_int_equal(m.keylen, 80);
	snprintf(spec, sizeof(spec), "id=1,alg=hmac(sha1),secret=hex:%0160d", 0);
	assert_int_equal(parse(spec, &m), 0);
	assert_int_equal(m.keylen, 80);
	snprintf(spec, sizeof(spec), "id=1,alg=hmac(sha1),secret=%081d", 0);
	parse_fails(spec, "secret: at most 80 bytes");
	snprintf(spec, sizeof(spec), "id=1,alg=hmac(sha1),secret=hex:%0162d", 0);
	parse_fails(spec, "secret: at most 80 bytes");
	parse_fails("id=1,alg=hmac(sha1),secret=hex:abc", "secret:");
	parse_fails("id=1,alg=hmac(sha1),secret=hex:zz", "secret:");
	parse_fails("id=1,alg=hmac(sha1),secret=hex:0g", "secret:");
}

static void test_spec_bad_numbers(void **state)
{
	(void)state;
	parse_fails("sndid=256,rcvid=1,alg=hmac(sha1),secret=x", "sndid: '256' is not a number 0-255");
	parse_fails("sndid=-1,rcvid=1,alg=hmac(sha1),secret=x", "sndid: '-1'");
	parse_fails("sndid=1,rcvid=abc,alg=hmac(sha1),secret=x", "rcvid: 'abc'");
	parse_fails("sndid=1,rcvid=,alg=hmac(sha1),secret=x", "rcvid: ''");
	parse_fails("sndid=1x,rcvid=1,alg=hmac(sha1),secret=x", "sndid: '1x'");
	parse_fails("sndid= 1,rcvid=1,alg=hmac(sha1),secret=x", "sndid: ' 1'");
	parse_fails("id=0x10,alg=hmac(sha1),secret=x", "id: '0x10'");
	parse_fails("id=99999999999999999999999,alg=hmac(sha1),secret=x", "id:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,maclen=0", "maclen: '0'");
	parse_fails("id=1,alg=hmac(sha1),secret=x,maclen=256", "maclen: '256'");
	parse_fails("id=1,alg=hmac(sha1),secret=x,maclen=twelve", "maclen:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,ifindex=eth0", "ifindex: 'eth0'");
	parse_fails("id=1,alg=hmac(sha1),secret=x,ifindex=2147483648", "ifindex:");
}

static void test_spec_maclen(void **state)
{
	struct tcpao_mkt m;

	(void)state;
	assert_int_equal(parse("id=1,alg=hmac(sha1),secret=x,maclen=16", &m), 0);
	assert_int_equal(m.maclen, 16);
	assert_int_equal(parse("id=1,alg=cmac(aes128),secret=x,maclen=1", &m), 0);
	assert_int_equal(m.maclen, 1);
	parse_fails("id=1,alg=hmac(sha256),secret=x,maclen=17", "maclen 17 does not fit");
	parse_fails("id=1,alg=hmac(sha1),secret=x,maclen=100", "maclen 100 does not fit");
}

static void test_spec_fields(void **state)
{
	(void)state;
	parse_fails("id=1,colour=blue,alg=hmac(sha1),secret=x", "unknown field 'colour'");
	parse_fails("id=1,alg=hmac(sha1),secret=x,colour=blue", "unexpected field after secret=");
	parse_fails("id=1,alg=hmac(sha1),secret=x,bogus", "unexpected field after secret=");
	parse_fails("id=1,bogus,alg=hmac(sha1),secret=x", "'bogus': expected NAME=VALUE");
	/* The tail of a secret with a comma is never echoed. */
	parse_fails("id=1,alg=hmac(sha1),secret=abc,tail-of-secret", "cannot contain ','");
	assert_null(strstr(err, "tail-of-secret"));
	parse_fails("id=1,alg=hmac(crc32),secret=x", "alg: unknown algorithm 'hmac(crc32)'");
	parse_fails("id=1,alg=,secret=x", "alg: unknown algorithm ''");
	parse_fails("id=1,alg=hmac(sha1),secret=x,exclude-options=yes", "exclude-options takes no value");
	parse_fails("id=1,sndid=2,alg=hmac(sha1),secret=x", "more than once");
	parse_fails("id=1,alg=hmac(sha1),secret=x,secret=y", "secret: given more than once");
	parse_fails("id=1,alg=hmac(sha1),alg=hmac(sha1),secret=x", "alg: given more than once");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1,peer=198.18.0.2", "peer: given more than once");
}

static void test_spec_missing(void **state)
{
	(void)state;
	parse_fails("rcvid=1,alg=hmac(sha1),secret=x", "sndid= and rcvid=");
	parse_fails("sndid=1,alg=hmac(sha1),secret=x", "sndid= and rcvid=");
	parse_fails("id=1,secret=x", "alg= is required");
	parse_fails("id=1,alg=hmac(sha1)", "secret= is required");
	parse_fails("", "sndid= and rcvid=");
	parse_fails(",,,", "sndid= and rcvid=");
}

static void test_spec_peer(void **state)
{
	(void)state;
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=300.1.1.1", "peer: '300.1.1.1' is not an address");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1/33", "peer: '198.18.0.1/33'");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1/", "peer:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1/x", "peer:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=fd00::1/129", "peer:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=host.example", "peer:");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1/16",
		    "peer: 198.18.0.1/16 has host bits set");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=fd00::1/64",
		    "peer: fd00::1/64 has host bits set");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=0.0.0.0/8",
		    "the any address 0.0.0.0 takes prefix /0");
	parse_fails("id=1,alg=hmac(sha1),secret=x,peer=198.18.0.1/0",
		    "prefix /0 is for the any address only");
}

static void test_spec_overlong(void **state)
{
	char spec[600];
	struct tcpao_mkt m;

	(void)state;
	memset(spec, 'a', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	parse_fails(spec, "longer than 511");
	/* No error buffer, or a tiny one: still a clean failure. */
	assert_int_equal(tcpao_mkt_parse("id=1", &m, NULL, 0), -EINVAL);
	char tiny[4];
	assert_int_equal(tcpao_mkt_parse("id=1,colour=blue", &m, tiny, sizeof(tiny)), -EINVAL);
	assert_string_equal(tiny, "unk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_valid),
		cmocka_unit_test(test_check_keylen),
		cmocka_unit_test(test_check_maclen),
		cmocka_unit_test(test_check_flags_ifindex),
		cmocka_unit_test(test_check_alg),
		cmocka_unit_test(test_check_order),
		cmocka_unit_test(test_check_peer),
		cmocka_unit_test(test_check_v4mapped),
		cmocka_unit_test(test_matches_v4),
		cmocka_unit_test(test_matches_v6),
		cmocka_unit_test(test_matches_any_family),
		cmocka_unit_test(test_matches_ifindex),
		cmocka_unit_test(test_conflicts),
		cmocka_unit_test(test_conflicts_ifindex),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_spec_every_field),
		cmocka_unit_test(test_spec_defaults),
		cmocka_unit_test(test_spec_v4mapped_peer),
		cmocka_unit_test(test_spec_secrets),
		cmocka_unit_test(test_spec_bad_numbers),
		cmocka_unit_test(test_spec_maclen),
		cmocka_unit_test(test_spec_fields),
		cmocka_unit_test(test_spec_missing),
		cmocka_unit_test(test_spec_peer),
		cmocka_unit_test(test_spec_overlong),
	};

	return cmocka_run_group_tests_name("mkt", tests, NULL, NULL);
}
