// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Key ages across restarts (daemon/keyage.c): what one daemon saves, the
 * next one restores, for the same current key only; a file that is not
 * ours changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "keyage.h"
#include "policy.h"

static char dir[] = "/tmp/tcpao-keyage-XXXXXX";
static char err[256];

static void add(struct policy *p, const char *peer, int id)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)id, .rcvid = (uint8_t)id,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6, .key = "secret" };

	assert_int_equal(tcpao_addr_parse(peer, &m.peer, &m.prefixlen), 0);
	assert_int_equal(policy_add_key(p, &m, err, sizeof(err)), 0);
}

/* Two peers: 198.18.0.2 with keys 1 and 2 (current: the newest, 2), and
 * fd00::2 with key 7. */
static struct policy *two_peers(bool second_key)
{
	struct policy *p = policy_new();

	assert_non_null(p);
	add(p, "198.18.0.2/32", 1);
	if (second_key)
		add(p, "198.18.0.2/32", 2);
	add(p, "fd00::2/128", 7);
	return p;
}

static const struct policy_peer *entry(struct policy *p, const char *peer)
{
	struct tcpao_addr a;

	assert_int_equal(tcpao_addr_parse(peer, &a, NULL), 0);
	for (size_t i = 0; i < p->n; i++)
		if (policy_entry(p, i) && tcpao_addr_equal(&policy_entry(p, i)->scope.peer, &a))
			return policy_entry(p, i);
	fail_msg("no entry for %s", peer);
	return NULL;
}

static void write_raw(const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* One daemon's keys current since `old` saved, the next one's restored
 * and stamped at `now`. */
static void carry_over(struct policy *before, struct policy *after,
		       int64_t old, int64_t now)
{
	assert_true(old > 0);
	keyage_reset();
	policy_stamp_current(before, old);
	assert_int_equal(keyage_save(dir, before), 0);
	keyage_restore(dir, after);
	policy_stamp_current(after, now);
}

static void test_restart_keeps_ages(void **state)
{
	struct policy *before = two_peers(true), *after = two_peers(true);
	int64_t now = policy_now(), old = now / 2; /* since boot: > 0 */

	(void)state;
	/* The next daemon: new serials, same keys. */
	carry_over(before, after, old, now);
	assert_int_equal(entry(after, "198.18.0.2")->current_since, old);
	assert_int_equal(entry(after, "fd00::2")->current_since, old);
	/* Its later publishes leave the age alone. */
	policy_stamp_current(after, now + 10);
	assert_int_equal(entry(after, "198.18.0.2")->current_since, old);
	policy_free(before);
	policy_free(after);
}

static void test_other_current_key_starts_anew(void **state)
{
	struct policy *before = two_peers(true), *after = two_peers(false);
	int64_t now = policy_now(), old = now / 2; /* since boot: > 0 */

	(void)state;
	/* Key 2 is gone: 198.18.0.2 now signs with key 1, a new current key. */
	carry_over(before, after, old, now);
	assert_int_equal(entry(after, "198.18.0.2")->current_since, now);
	assert_int_equal(entry(after, "fd00::2")->current_since, old);
	policy_free(before);
	policy_free(after);
}

static void test_foreign_files_change_nothing(void **state)
{
	static const char *const junk[] = {
		"", "TCPAOKA1", "TCPAOKA1\x01\x00\x00\x00\x00\x00\x00\x00",
		"not a key-ages file at all, but long enough to be read as one......",
	};
	struct policy *p;
	int64_t now = policy_now();

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		p = two_peers(true);
		write_raw("key-ages", junk[i], strlen(junk[i]) + (i == 2 ? 8 : 0));
		keyage_restore(dir, p);
		policy_stamp_current(p, now);
		assert_int_equal(entry(p, "198.18.0.2")->current_since, now);
		policy_free(p);
	}
}

static void test_save_skips_unchanged(void **state)
{
	struct policy *p = two_peers(true);
	char path[256];

	(void)state;
	keyage_reset();
	policy_stamp_current(p, policy_now() / 2);
	assert_int_equal(keyage_save(dir, p), 0);
	snprintf(path, sizeof(path), "%s/key-ages", dir);
	assert_int_equal(unlink(path), 0);
	/* Nothing changed: nothing written. */
	assert_int_equal(keyage_save(dir, p), 0);
	assert_int_equal(access(path, F_OK), -1);
	/* A rotation: written. */
	policy_peer_find_mut(p, &entry(p, "198.18.0.2")->scope)->current_since -= 1;
	assert_int_equal(keyage_save(dir, p), 0);
	assert_int_equal(access(path, F_OK), 0);
	policy_free(p);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	keyage_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_keeps_ages),
		cmocka_unit_test(test_other_current_key_starts_anew),
		cmocka_unit_test(test_foreign_files_change_nothing),
		cmocka_unit_test(test_save_skips_unchanged),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
