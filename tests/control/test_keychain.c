// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Key chains: the schedule (daemon/keychain.c), the tcpao.conf grammar for
 * them (config.c), and the schedule applied to a policy (rollover.c), with
 * its allocations failed in turn (failalloc.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "failalloc.h"
#include "keychain.h"
#include "rollover.h"

#define T0 1764662400 /* 2025-12-02T08:00:00Z */

static void add_key(struct keychain *c, uint64_t id, int64_t s0, int64_t s1,
		    int64_t a0, int64_t a1)
{
	struct keychain_key *k = &c->keys[c->n++];

	memset(k, 0, sizeof(*k));
	k->id = id;
	k->mkt.sndid = k->mkt.rcvid = (uint8_t)id;
	k->send = (struct keychain_window){ s0, s1 };
	k->accept = (struct keychain_window){ a0, a1 };
}

/* Key 1 sends [T0, T0+100), key 2 from T0+90 on; accept 10 s wider. */
static void two_keys(struct keychain *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "c");
	add_key(c, 1, T0, T0 + 100, T0 - 10, T0 + 110);
	add_key(c, 2, T0 + 90, KEYCHAIN_NEVER, T0 + 80, KEYCHAIN_NEVER);
}

static void test_eval_rollover(void **state)
{
	struct keychain c;
	struct keychain_sched s;

	(void)state;
	two_keys(&c);
	keychain_eval(&c, T0 + 50, &s);
	assert_int_equal(s.active, 0);
	assert_false(s.gap);
	assert_int_equal(s.send, 1);
	assert_int_equal(s.accept, 1);
	assert_int_equal(s.next, T0 + 80);
	keychain_eval(&c, T0 + 80, &s);
	assert_int_equal(s.active, 0);
	assert_int_equal(s.accept, 3);
	assert_int_equal(s.next, T0 + 90);
	/* Both send-valid: the newest start wins. */
	keychain_eval(&c, T0 + 90, &s);
	assert_int_equal(s.send, 3);
	assert_int_equal(s.active, 1);
	assert_int_equal(s.next, T0 + 100);
	keychain_eval(&c, T0 + 105, &s);
	assert_int_equal(s.send, 2);
	assert_int_equal(s.accept, 3);
	assert_int_equal(s.next, T0 + 110);
	keychain_eval(&c, T0 + 110, &s);
	assert_int_equal(s.accept, 2);
	assert_int_equal(s.next, KEYCHAIN_NEVER);
}

static void test_eval_tolerance(void **state)
{
	struct keychain c;
	struct keychain_sched s;

	(void)state;
	two_keys(&c);
	c.tolerance = 5;
	keychain_eval(&c, T0 + 114, &s);
	assert_int_equal(s.accept, 3); /* 110 + 5 */
	assert_int_equal(s.next, T0 + 115);
	keychain_eval(&c, T0 + 75, &s);
	assert_int_equal(s.accept, 3); /* 80 - 5 */
	keychain_eval(&c, T0 + 74, &s);
	assert_int_equal(s.accept, 1);
	assert_int_equal(s.next, T0 + 75);
}

static void test_eval_gap(void **state)
{
	struct keychain c;
	struct keychain_sched s;

	(void)state;
	memset(&c, 0, sizeof(c));
	add_key(&c, 1, T0, T0 + 100, T0, T0 + 100);
	add_key(&c, 2, T0 + 200, T0 + 300, T0 + 200, T0 + 300);
	/* Before any key: the first to start is held. */
	keychain_eval(&c, T0 - 50, &s);
	assert_true(s.gap);
	assert_int_equal(s.active, 0);
	assert_int_equal(s.accept, 1);
	assert_int_equal(s.next, T0);
	/* Between: key 1 is held, still accepted. */
	keychain_eval(&c, T0 + 150, &s);
	assert_true(s.gap);
	assert_int_equal(s.active, 0);
	assert_int_equal(s.send, 0);
	assert_int_equal(s.accept, 1);
	assert_int_equal(s.next, T0 + 200);
	/* After all: the last one. */
	keychain_eval(&c, T0 + 400, &s);
	assert_true(s.gap);
	assert_int_equal(s.active, 1);
	assert_int_equal(s.accept, 2);
	assert_int_equal(s.next, KEYCHAIN_NEVER);
}

static void test_times(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(keychain_parse_time("2025-12-02T08:00:00Z", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(keychain_parse_time("2025-12-02T08:00:00+00:00", &t), 0);
	assert_int_equal(t, T0);
	assert_int_equal(keychain_parse_time("1764662400", &t), 0);
	assert_int_equal(t, T0);
	assert_int_not_equal(keychain_parse_time("2025-12-02T08:00:00+01:00", &t), 0);
	assert_int_not_equal(keychain_parse_time("2025-12-02", &t), 0);
	assert_int_not_equal(keychain_parse_time("99999999999999", &t), 0);
	assert_int_equal(keychain_parse_duration("90", &t), 0);
	assert_int_equal(t, 90);
	assert_int_equal(keychain_parse_duration("12h", &t), 0);
	assert_int_equal(t, 43200);
	assert_int_equal(keychain_parse_duration("2w", &t), 0);
	assert_int_equal(t, 1209600);
	assert_int_not_equal(keychain_parse_duration("-5", &t), 0);
	assert_int_not_equal(keychain_parse_duration("5y", &t), 0);
}

static const char chain_conf[] =
	"key-chain bgp {\n"
	"  accept-tolerance 5;\n"
	"  key id 1 alg hmac(sha1) secret one send-lifetime 1764662400 1764662500\n"
	"      accept-lifetime 1764662390 duration 120;\n"
	"  key id 2 alg cmac(aes128) secret two send-lifetime 2025-12-02T08:01:30Z infinite\n"
	"      accept-lifetime 2025-12-02T08:01:20Z;\n"
	"  key id 300 send-id 9 recv-id 10 alg hmac(sha256) secret three lifetime always;\n"
	"}\n"
	"peer 198.18.0.2 { key-chain bgp; remote-port 179; }\n";

static struct policy *parse_ok(const char *text)
{
	struct policy *p = NULL;
	char err[256] = "";

	if (config_parse(text, strlen(text), "t.conf", NULL, &p, err, sizeof(err)))
		fail_msg("%s", err);
	return p;
}

static void test_config_chain(void **state)
{
	struct policy *p = parse_ok(chain_conf);
	const struct keychain *c;

	(void)state;
	assert_non_null(p->chains);
	assert_int_equal(p->chains->n, 1);
	c = &p->chains->v[0];
	assert_string_equal(c->name, "bgp");
	assert_int_equal(c->tolerance, 5);
	assert_int_equal(c->n, 3);
	assert_int_equal(c->keys[0].send.end, T0 + 100);
	assert_int_equal(c->keys[0].accept.end, T0 - 10 + 120);
	assert_int_equal(c->keys[1].send.start, T0 + 90);
	assert_int_equal(c->keys[1].send.end, KEYCHAIN_NEVER);
	assert_int_equal(c->keys[1].accept.start, T0 + 80);
	assert_int_equal(c->keys[2].id, 300);
	assert_int_equal(c->keys[2].mkt.sndid, 9);
	assert_int_equal(c->keys[2].mkt.rcvid, 10);
	assert_int_equal(c->keys[2].send.start, KEYCHAIN_ALWAYS);
	assert_int_equal(p->n, 1);
	assert_int_equal(policy_entry(p, 0)->chain, 1);
	assert_int_equal(policy_entry(p, 0)->keys.n, 3); /* all, until scheduled */
	policy_free(p);
}

static int key_at(const struct policy_peer *e, uint8_t sndid)
{
	for (size_t i = 0; i < e->keys.n; i++)
		if ((*tcpao_keyring_key(&e->keys, i)).sndid == sndid)
			return (int)i;
	return -1;
}

static bool has_key(const struct policy_peer *e, uint8_t sndid)
{
	return key_at(e, sndid) >= 0;
}

static void test_apply(void **state)
{
	struct policy *p = parse_ok(chain_conf), *q;
	struct rollover_result r;
	uint64_t epoch, serial1;

	(void)state;
	/* Key 300 (always) started first... key 1 is the newest start. */
	assert_int_equal(rollover_apply(p, T0 + 50, &r), 0);
	assert_true(r.changed);
	assert_int_equal(r.next, T0 + 75);
	assert_int_equal(policy_entry(p, 0)->keys.n, 2);
	assert_true(has_key(policy_entry(p, 0), 1));
	assert_false(has_key(policy_entry(p, 0), 2));
	assert_int_equal(policy_entry(p, 0)->current_sndid, 1);
	assert_int_equal(policy_entry(p, 0)->rnext_rcvid, 1);
	epoch = policy_entry(p, 0)->current_epoch;
	serial1 = tcpao_keyring_serial(&policy_entry(p, 0)->keys, key_at(policy_entry(p, 0), 1));
	/* Same time again: nothing moves. */
	assert_int_equal(rollover_apply(p, T0 + 50, &r), 0);
	assert_false(r.changed);
	/* On a clone (as the daemon does), at key 2's start. */
	q = policy_clone(p);
	assert_int_equal(rollover_apply(q, T0 + 90, &r), 0);
	assert_true(r.changed);
	assert_true(has_key(policy_entry(q, 0), 2));
	assert_int_equal(policy_entry(q, 0)->current_sndid, 2);
	assert_int_equal(policy_entry(q, 0)->rnext_rcvid, 2);
	assert_int_equal(policy_entry(q, 0)->current_epoch, epoch + 1);
	/* Key 1 stays, with its serial: flows using it are untouched. */
	assert_int_equal(tcpao_keyring_serial(&policy_entry(q, 0)->keys, key_at(policy_entry(q, 0), 1)), serial1);
	/* Key 1's accept window (T0+110) plus the tolerance: gone at T0+115. */
	assert_int_equal(rollover_apply(q, T0 + 115, &r), 0);
	assert_false(has_key(policy_entry(q, 0), 1));
	assert_int_equal(policy_entry(q, 0)->keys.n, 2);
	/* A step backwards brings it back and moves the preference back. */
	assert_int_equal(rollover_apply(q, T0 + 50, &r), 0);
	assert_true(has_key(policy_entry(q, 0), 1));
	assert_int_equal(policy_entry(q, 0)->current_sndid, 1);
	policy_free(q);
	policy_free(p);
}

/* The schedule's step at T0+115 (key 1's accept window ends) on a clone
 * whose n-th allocation fails (and every one after it, when and_after):
 * the key leaves, or the schedule comes back within a second (never at
 * the next boundary, which may be days away, with the key still
 * accepted). True while the step had an n-th allocation. */
static bool apply_failing(const struct policy *p, long n, bool and_after)
{
	struct policy *q = policy_clone(p);
	struct rollover_result r;
	bool fired;

	assert_non_null(q);
	failalloc_arm(n, and_after);
	assert_int_equal(rollover_apply(q, T0 + 115, &r), 0);
	fired = failalloc_fired();
	if (has_key(policy_entry(q, 0), 1))
		assert_true(r.next <= T0 + 116);
	else
		assert_true(r.changed);
	policy_free(q);
	return fired;
}

static void test_apply_enomem(void **state)
{
	struct policy *p = parse_ok(chain_conf);
	struct rollover_result r;

	(void)state;
	assert_int_equal(rollover_apply(p, T0 + 90, &r), 0);
	assert_true(has_key(policy_entry(p, 0), 1));
	for (int all = 0; all < 2; all++)
		for (long n = 1; apply_failing(p, n, all); n++)
			assert_true(n < 1000);
	assert_true(has_key(policy_entry(p, 0), 1)); /* the clones', not p's */
	policy_free(p);
}

/* The parse of text with its n-th allocation failing (and every one
 * after it, when and_after): -ENOMEM and no policy, or the whole policy.
 * True while the parse had an n-th allocation. */
static bool parse_failing(const char *text, const struct policy *whole, long n,
			  bool and_after)
{
	struct policy *p = NULL;
	char err[256] = "";
	bool fired;
	int rc;

	failalloc_arm(n, and_after);
	rc = config_parse(text, strlen(text), "t.conf", NULL, &p, err, sizeof(err));
	fired = failalloc_fired();
	if (rc) {
		assert_int_equal(rc, -ENOMEM);
		assert_null(p);
		return fired;
	}
	assert_int_equal(p->n, whole->n);
	for (size_t i = 0; i < p->n; i++)
		assert_int_equal(policy_entry(p, i)->keys.n, policy_entry(whole, i)->keys.n);
	assert_int_equal(p->chains->n, whole->chains->n);
	policy_free(p);
	return fired;
}

/* A reload's parse with each of its allocations failed in turn: nothing
 * leaks. */
static void test_parse_enomem(void **state)
{
	static const char more[] =
		"peer 198.18.0.3 { key id 7 alg hmac(sha1) secret seven; }\n"
		"peer fd00::3 { key send-id 8 recv-id 8 alg cmac(aes128) secret eight; }\n";
	char text[sizeof(chain_conf) + sizeof(more)];
	long before = failalloc_live();
	struct policy *whole;

	(void)state;
	snprintf(text, sizeof(text), "%s%s", chain_conf, more);
	whole = parse_ok(text);
	for (int all = 0; all < 2; all++)
		for (long n = 1; parse_failing(text, whole, n, all); n++)
			assert_true(n < 5000);
	policy_free(whole);
	assert_int_equal(failalloc_live(), before);
}

/* rollover confirmed: the preference moves, the live connections' send
 * key does not (no current epoch bump); the RNextKeyID does. */
static void test_apply_confirmed(void **state)
{
	static const char conf[] =
		"key-chain c {\n rollover confirmed;\n"
		" key id 1 alg hmac(sha1) secret one send-lifetime 1764662400 1764662500;\n"
		" key id 2 alg hmac(sha1) secret two send-lifetime 1764662500;\n}\n"
		"peer 198.18.0.2 { key-chain c; }\n";
	struct policy *p = parse_ok(conf);
	struct rollover_result r;
	uint64_t cur, next;

	(void)state;
	assert_true(p->chains->v[0].confirmed);
	rollover_apply(p, T0 + 50, &r);
	cur = policy_entry(p, 0)->current_epoch;
	next = policy_entry(p, 0)->rnext_epoch;
	rollover_apply(p, T0 + 100, &r);
	assert_true(r.changed);
	assert_int_equal(policy_entry(p, 0)->current_sndid, 2);
	assert_int_equal(policy_entry(p, 0)->rnext_rcvid, 2);
	assert_int_equal(policy_entry(p, 0)->current_epoch, cur);
	assert_int_equal(policy_entry(p, 0)->rnext_epoch, next + 1);
	policy_free(p);
}

/* A reload of the same file: every key keeps its serial and the entry its
 * epochs, so no live connection is touched (ops.c's reload_build order). */
static void test_reload_keeps_serials(void **state)
{
	struct policy *old = parse_ok(chain_conf), *fresh = parse_ok(chain_conf);
	struct rollover_result r;
	size_t clashes = 0;

	(void)state;
	rollover_apply(old, T0 + 95, &r);
	policy_entry_mut(old, 0)->current_epoch += 5; /* as if moved a few times */
	policy_entry_mut(old, 0)->rnext_epoch += 5;
	rollover_inherit(fresh, old);
	rollover_apply(fresh, T0 + 95, &r);
	assert_false(r.changed); /* nothing moved: nothing logged */
	policy_adopt_serials(fresh, old);
	assert_int_equal(policy_keep_unfiled(fresh, old, &clashes), 0);
	assert_int_equal(clashes, 0);
	assert_int_equal(policy_entry(fresh, 0)->keys.n, policy_entry(old, 0)->keys.n);
	for (size_t i = 0; i < policy_entry(old, 0)->keys.n; i++) {
		int k = key_at(policy_entry(fresh, 0), tcpao_keyring_key(&policy_entry(old, 0)->keys, i)->sndid);

		assert_true(k >= 0);
		assert_int_equal(tcpao_keyring_serial(&policy_entry(fresh, 0)->keys, k), tcpao_keyring_serial(&policy_entry(old, 0)->keys, i));
	}
	assert_int_equal(policy_entry(fresh, 0)->current_epoch, policy_entry(old, 0)->current_epoch);
	assert_int_equal(policy_entry(fresh, 0)->rnext_epoch, policy_entry(old, 0)->rnext_epoch);
	assert_int_equal(policy_entry(fresh, 0)->chain, 1);
	policy_free(old);
	policy_free(fresh);
}

static void bad(const char *text, const char *want)
{
	struct policy *p = NULL;
	char err[256] = "";

	assert_int_not_equal(config_parse(text, strlen(text), "t.conf", NULL, &p, err, sizeof(err)), 0);
	assert_null(p);
	if (!strstr(err, want))
		fail_msg("'%s' does not say '%s'", err, want);
}

static void test_config_errors(void **state)
{
	(void)state;
	bad("peer 198.18.0.2 { key-chain nope; }\n", "t.conf:1: key-chain nope: not defined");
	bad("key-chain a {\n key id 1 alg hmac(sha1) secret x send-lifetime 200 100;\n}\n",
	    "t.conf:2: key: send-lifetime ends before it starts");
	bad("key-chain a {\n key id 1 alg hmac(sha1) secret x;\n key id 1 alg hmac(sha1) secret y;\n}\n",
	    "t.conf:3: key-chain a: key id 1 given twice");
	bad("key-chain a {\n key id 1 alg hmac(sha1) secret x send-lifetime tomorrow;\n}\n",
	    "t.conf:2: key: send-lifetime: 'tomorrow' is not a time");
	bad("key-chain a {\n key id 999 alg hmac(sha1) secret x;\n}\n", "t.conf:2: key: id 999 is above 255");
	bad("key-chain a { key id 1 alg hmac(sha1) secret x; }\nkey-chain a { }\n",
	    "t.conf:2: key-chain a: defined twice");
	bad("key-chain a { key id 1 alg hmac(sha1) secret x; }\npeer 198.18.0.2 {\n key-chain a;\n current-key 1;\n}\n",
	    "t.conf:4: current-key and rnext-key cannot be used with a key-chain");
	bad("key-chain a {\n tolerance 5;\n}\n", "t.conf:2: unknown statement 'tolerance' in a key-chain");
	bad("key-chain a {\n rollover sometimes;\n}\n", "t.conf:2: rollover: expected scheduled or confirmed");
	bad("key-chain a {\n key id 1 alg hmac(sha1) secret x;\n", "missing '}' for the key-chain opened at line 1");
}

/* Every truncation and many one-byte edits of a good file: parsed or
 * refused with "t.conf:LINE:", never a crash (run under ASan too). */
static void test_config_mutations(void **state)
{
	static const char subst[] = " ;{}\"#x0-\n";
	size_t n = strlen(chain_conf);
	char *text = malloc(n + 1);
	char err[256];

	(void)state;
	for (size_t len = 0; len <= n; len++) {
		struct policy *p = NULL;

		memcpy(text, chain_conf, len);
		if (config_parse(text, len, "t.conf", NULL, &p, err, sizeof(err)))
			assert_memory_equal(err, "t.conf:", 7);
		policy_free(p);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof(subst) - 1; j++) {
			struct policy *p = NULL;

			memcpy(text, chain_conf, n + 1);
			text[i] = subst[j];
			if (config_parse(text, n, "t.conf", NULL, &p, err, sizeof(err)))
				assert_memory_equal(err, "t.conf:", 7);
			policy_free(p);
		}
	free(text);
}

static void count_warn(void *arg, const char *msg)
{
	(void)msg;
	(*(int *)arg)++;
}

static void test_check(void **state)
{
	struct keychain c;
	int n = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	add_key(&c, 1, T0, T0 + 100, T0, T0 + 100);
	add_key(&c, 2, T0 + 200, T0 + 300, T0 + 200, T0 + 300);
	/* One gap (100-200) and the end at 300. */
	assert_int_equal(keychain_check(&c, T0 + 10, count_warn, &n), 2);
	assert_int_equal(n, 2);
	/* Later: key 1 expired, and the end. */
	assert_int_equal(keychain_check(&c, T0 + 250, NULL, NULL), 2);
	assert_int_equal(keychain_end(&c), T0 + 300);
	two_keys(&c);
	/* Overlap 90-100; no end. */
	assert_int_equal(keychain_check(&c, T0, NULL, NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eval_rollover),
		cmocka_unit_test(test_eval_tolerance),
		cmocka_unit_test(test_eval_gap),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_config_chain),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_apply_enomem),
		cmocka_unit_test(test_parse_enomem),
		cmocka_unit_test(test_reload_keeps_serials),
		cmocka_unit_test(test_apply_confirmed),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_config_mutations),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
