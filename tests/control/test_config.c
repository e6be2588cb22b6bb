// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao.conf (daemon/config.c): good files become the expected policy;
 * every kind of bad file is refused with "FILE:LINE: message", and no
 * message ever carries a secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char dir[64];
static char err[512];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/tcpao-config-test.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static const char *path_of(const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static int parse(const char *text, struct policy **p)
{
	return config_parse(text, strlen(text), "test.conf", dir, p, err, sizeof(err));
}

static int load(const char *name, struct policy **p)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return config_load(path, p, err, sizeof(err));
}

/* ---- good files -------------------------------------------------------- */

static const char good_conf[] =
	"# BGP with two routers\n"
	"peer 198.18.0.2/32 {\n"
	"    local 198.18.0.1; remote-port 179;   # active side\n"
	"    ao-required yes; accept-icmps no;\n"
	"    key sndid 1 rcvid 2 alg hmac(sha1) secret \"correct horse\" maclen 12 exclude-options;\n"
	"    key id 3 alg cmac(aes128) secret hex:00112233445566778899aabbccddeeff;\n"
	"    current-key 1;\n"
	"}\n"
	"\n"
	"peer fd00::/64 { accept-icmps yes; ao-required no;\n"
	"  key id 7 alg hmac(sha256) secret-file bgp.key; }\n"
	"peer ::ffff:198.19.0.0/112 { local-port 179; key id 9 alg hmac(sha1) secret x; }\n";

static void test_good(void **state)
{
	struct policy *p;
	const struct policy_peer *e;

	(void)state;
	write_file("bgp.key", "hex:0102030405\n", 0600);
	assert_int_equal(parse(good_conf, &p), 0);
	assert_int_equal(p->n, 3);

	e = policy_entry(p, 0);
	assert_int_equal(e->scope.peer_len, 32);
	assert_int_equal(e->scope.local.family, AF_INET);
	assert_int_equal(e->scope.local_len, 32);
	assert_int_equal(e->scope.remote_port, 179);
	assert_int_equal(e->scope.local_port, 0);
	assert_true(e->ao_required);
	assert_false(e->accept_icmps);
	assert_int_equal(e->current_sndid, 1);
	assert_int_equal(e->rnext_rcvid, -1);
	assert_string_equal(e->origin, "test.conf:2");
	assert_int_equal(e->keys.n, 2);
	/* The last key listed is the newest, as if added in file order. */
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).sndid, 3);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).alg, TCPAO_ALG_CMAC_AES128);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).keylen, 16);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).key[15], 0xff);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 1)).sndid, 1);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 1)).rcvid, 2);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 1)).keylen, 13);
	assert_memory_equal((*tcpao_keyring_key(&e->keys, 1)).key, "correct horse", 13);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 1)).flags, TCPAO_MKT_EXCLUDE_OPT);

	e = policy_entry(p, 1);
	assert_int_equal(e->scope.peer.family, AF_INET6);
	assert_false(e->ao_required);
	assert_true(e->accept_icmps);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).alg, TCPAO_ALG_HMAC_SHA256);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).keylen, 5);
	assert_int_equal((*tcpao_keyring_key(&e->keys, 0)).key[4], 5);

	e = policy_entry(p, 2);
	assert_int_equal(e->scope.peer.family, AF_INET); /* mapped → IPv4 */
	assert_int_equal(e->scope.peer_len, 16);
	assert_int_equal(e->scope.local_port, 179);
	policy_free(p);
}

/* The daemon's packet mark, set for the whole file. */
static void test_mark(void **state)
{
	struct policy *p;

	(void)state;
	assert_int_equal(parse("peer 198.18.0.2 { }", &p), 0);
	assert_int_equal(p->mark, 0); /* none: the daemon's default */
	policy_free(p);
	assert_int_equal(parse("mark 0x100; # bit 8\npeer 198.18.0.2 { }", &p), 0);
	assert_int_equal(p->mark, 0x100);
	assert_int_equal(p->n, 1);
	policy_free(p);
	assert_int_equal(parse("peer 198.18.0.2 { }\nmark 4096;", &p), 0);
	assert_int_equal(p->mark, 4096);
	policy_free(p);
}

static void test_empty_and_comments(void **state)
{
	struct policy *p;

	(void)state;
	assert_int_equal(parse("", &p), 0);
	assert_int_equal(p->n, 0);
	policy_free(p);
	assert_int_equal(parse("# nothing\n\n   # at all\n", &p), 0);
	policy_free(p);
	/* A peer without keys: its unsigned traffic is refused. */
	assert_int_equal(parse("peer 198.18.0.0/15 { }", &p), 0);
	assert_int_equal(p->n, 1);
	assert_int_equal(policy_entry(p, 0)->keys.n, 0);
	assert_true(policy_entry(p, 0)->ao_required);
	policy_free(p);
}

/* Algorithm names as operators write them: BIRD's two words, RFC 5926's. */
static void test_alg_names(void **state)
{
	static const struct { const char *conf; enum tcpao_alg alg; } t[] = {
		{ "peer 198.18.0.2 { key id 1 alg hmac sha1 secret x; }", TCPAO_ALG_HMAC_SHA1 },
		{ "peer 198.18.0.2 { key id 1 alg HMAC SHA256 secret x maclen 16; }", TCPAO_ALG_HMAC_SHA256 },
		{ "peer 198.18.0.2 { key id 1 alg cmac aes128 secret x; }", TCPAO_ALG_CMAC_AES128 },
		{ "peer 198.18.0.2 { key id 1 alg AES-128-CMAC-96 secret x; }", TCPAO_ALG_CMAC_AES128 },
		{ "peer 198.18.0.2 { key alg HMAC-SHA-1-96 id 1 secret x; }", TCPAO_ALG_HMAC_SHA1 },
		{ "peer 198.18.0.2 { key id 1 alg hmac-sha1 secret x; }", TCPAO_ALG_HMAC_SHA1 },
	};
	struct policy *p;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (parse(t[i].conf, &p))
			fail_msg("%s: %s", t[i].conf, err);
		assert_int_equal(tcpao_keyring_key(&policy_entry(p, 0)->keys, 0)->alg, t[i].alg);
		policy_free(p);
	}
	assert_int_equal(parse("peer 198.18.0.2 { key id 1 alg hmac sha3 secret x; }", &p), -ENOENT);
	assert_non_null(strstr(err, "unknown algorithm 'hmac'"));
}

/* ---- bad files --------------------------------------------------------- */

struct bad {
	const char *text;
	int rc;
	const char *message; /* expected to appear in err, with file:line */
};

static const struct bad bad_files[] = {
	{ "peer 198.18.0.2 {\n", -EINVAL, "test.conf:2: missing '}' for the peer block opened at line 1" },
	{ "peer nonsense { }", -EINVAL, "test.conf:1: peer: expected an address or prefix" },
	{ "peer 198.18.0.2/33 { }", -EINVAL, "test.conf:1: peer: expected an address" },
	{ "peer 198.18.0.2 key id 1;", -EINVAL, "test.conf:1: peer: expected '{'" },
	{ "\n\nfoo bar;", -EINVAL, "test.conf:3: expected 'peer PREFIX { ... }'" },
	{ "peer 198.18.0.2 {\n ao-required yes\n}\n", -EINVAL, "test.conf:2: missing ';' after 'ao-required' statement" },
	{ "peer 198.18.0.2 {\n frobnicate 1;\n}", -EINVAL, "test.conf:2: unknown statement 'frobnicate'" },
	{ "peer 198.18.0.2 {\n ao-required maybe;\n}", -EINVAL, "test.conf:2: ao-required: expected yes or no, not 'maybe'" },
	{ "peer 198.18.0.2 {\n accept-icmps;\n}", -EINVAL, "test.conf:2: accept-icmps: expected yes or no" },
	{ "peer 198.18.0.2 {\n local 198.18.0.1;\n local 198.18.0.3;\n}", -EINVAL, "test.conf:3: 'local' given twice" },
	{ "peer 198.18.0.2 {\n local nowhere;\n}", -EINVAL, "test.conf:2: local: expected an address or prefix" },
	{ "peer 198.18.0.2 {\n local fd00::1;\n}", -EINVAL, "test.conf:1: local and peer addresses are of different families" },
	{ "peer 198.18.0.2 {\n remote-port 70000;\n}", -EINVAL, "test.conf:2: remote-port: expected a port 1-65535" },
	{ "peer 198.18.0.2 {\n local-port 0;\n}", -EINVAL, "test.conf:2: local-port: expected a port 1-65535" },
	{ "peer 198.18.0.1/24 { }", -EINVAL, "test.conf:1: peer: 198.18.0.1/24 has host bits set" },
	{ "peer 198.18.0.2 {\n key alg hmac(sha1) secret x;\n}", -EINVAL, "test.conf:2: key: sndid and rcvid (or id) are required" },
	{ "peer 198.18.0.2 {\n key id 1 secret x;\n}", -EINVAL, "test.conf:2: key: alg is required" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1);\n}", -EINVAL, "test.conf:2: key: secret or secret-file is required" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(md4) secret x;\n}", -ENOENT, "test.conf:2: key: unknown algorithm 'hmac(md4)'" },
	{ "peer 198.18.0.2 {\n key id 256 alg hmac(sha1) secret x;\n}", -EINVAL, "test.conf:2: key: id must be 0-255" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x maclen 21;\n}", -EMSGSIZE, "test.conf:2: key: maclen 21 is longer than hmac(sha1) allows (20)" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x maclen;\n}", -EINVAL, "test.conf:2: key: 'maclen' needs a value" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x secret-file k;\n}", -EINVAL, "test.conf:2: key: give one secret or secret-file" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret hex:abc;\n}", -EINVAL, "test.conf:2: key: hex secret needs an even" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret hex:zz;\n}", -EINVAL, "test.conf:2: key: hex secret has a non-hex digit" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret 123456789012345678901234567890123456789012345678901234567890123456789012345678901;\n}",
	  -EINVAL, "test.conf:2: key: secret longer than 80 bytes" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret-file /nonexistent/tcpao.key;\n}", -ENOENT, "test.conf:2: key: /nonexistent/tcpao.key: No such file" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x;\n key sndid 1 rcvid 5 alg hmac(sha1) secret y;\n}",
	  -EEXIST, "test.conf:3: key: key sndid 1 rcvid 5 clashes with key sndid 1 rcvid 1 of peer 198.18.0.2/32" },
	{ "peer 198.18.0.0/24 {\n key id 1 alg hmac(sha1) secret x;\n}\npeer 198.18.0.2 {\n key sndid 4 rcvid 1 alg hmac(sha1) secret y;\n}",
	  -EEXIST, "test.conf:5: key: key sndid 4 rcvid 1 clashes with key sndid 1 rcvid 1 of peer 198.18.0.0/24 (test.conf:1)" },
	{ "peer 198.18.0.2 { }\npeer 198.18.0.2/32 { }", -EEXIST, "test.conf:2: peer 198.18.0.2/32 is already defined at test.conf:1" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x;\n current-key 2;\n}", -ENOENT, "test.conf:3: current-key 2: no key with that sndid" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret x;\n rnext-key 300;\n}", -EINVAL, "test.conf:3: rnext-key: expected a key id 0-255" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret \"open\n}", -EINVAL, "test.conf:2: unterminated quoted string" },
	{ "peer 198.18.0.2 {\n key id 1 alg\x01 hmac(sha1);\n}", -EINVAL, "test.conf:2: unexpected byte 0x01" },
	{ "peer 198.18.0.2 {\n peer 198.18.0.3 { }\n}", -EINVAL, "test.conf:2: missing ';' after 'peer' statement" },
	{ "peer 198.18.0.2 {\n ; \n}", -EINVAL, "test.conf:2: expected a statement" },
	{ "peer 198.18.0.2 { } }", -EINVAL, "test.conf:1: expected 'peer PREFIX { ... }'" },
	{ "peer 198.18.0.2 {\n key id 1 alg hmac(sha1) maclne 12 secret x;\n}", -EINVAL, "test.conf:2: key: unknown attribute 'maclne'" },
	{ "peer ::ffff:0.0.0.0/64 { }", -EINVAL, "test.conf:1: peer: an IPv4-mapped prefix must be /96 or longer" },
	{ "mark 0;", -EINVAL, "test.conf:1: mark: expected one nonzero 32-bit value" },
	{ "mark 0x100000000;", -EINVAL, "test.conf:1: mark: expected one nonzero" },
	{ "mark 0x10 0x20;", -EINVAL, "test.conf:1: mark: expected one nonzero" },
	{ "mark 0x10;\nmark 0x10;", -EINVAL, "test.conf:2: 'mark' given twice" },
	{ "mark 0x10", -EINVAL, "test.conf:1: missing ';' after 'mark' statement" },
};

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		const struct bad *b = &bad_files[i];
		struct policy *p = (struct policy *)1;
		int rc;

		err[0] = '\0';
		rc = parse(b->text, &p);
		if (rc != b->rc || !strstr(err, b->message))
			fail_msg("case %zu: rc %d (want %d), message \"%s\" (want \"%s\")",
				 i, rc, b->rc, err, b->message);
		assert_null(p);
	}
}

/* An unquoted secret with a space, or any other mistake, never appears
 * in the message. */
static void test_messages_hide_secrets(void **state)
{
	static const char *texts[] = {
		"peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret s3cr3tpart onemorepart;\n}",
		"peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret s3cr3tpart\n}",
		"peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret s3cr3tpart maclen 99;\n}",
		"peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret-file s3cr3tpart;\n}",
		"peer 198.18.0.2 {\n key id 1 alg hmac(sha1) secret hex:5ecre7;\n}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct policy *p;

		err[0] = '\0';
		assert_int_not_equal(parse(texts[i], &p), 0);
		assert_true(strlen(err) > 0);
		if (i == 3) /* a secret file's path is not a secret */
			continue;
		if (strstr(err, "onemorepart") || strstr(err, "s3cr3t") || strstr(err, "5ecre7"))
			fail_msg("case %zu leaks: %s", i, err);
	}
}

/* ---- files and their modes --------------------------------------------- */

static void test_load_modes(void **state)
{
	static const char inline_secret[] =
		"peer 198.18.0.2 { key id 1 alg hmac(sha1) secret x; }\n";
	static const char file_secret[] =
		"peer 198.18.0.2 { key id 1 alg hmac(sha1) secret-file k.key; }\n";
	struct policy *p;

	(void)state;
	write_file("a.conf", inline_secret, 0600);
	assert_int_equal(load("a.conf", &p), 0);
	assert_int_equal(policy_entry(p, 0)->keys.n, 1);
	assert_non_null(strstr(policy_entry(p, 0)->origin, "a.conf:1"));
	policy_free(p);

	write_file("a.conf", inline_secret, 0644);
	assert_int_equal(load("a.conf", &p), -EACCES);
	assert_non_null(strstr(err, "holds secrets but is readable by others"));
	assert_null(p);

	write_file("a.conf", "", 0666);
	assert_int_equal(load("a.conf", &p), -EACCES);
	assert_non_null(strstr(err, "writable by root alone"));
	write_file("a.conf", "", 0620);
	assert_int_equal(load("a.conf", &p), -EACCES);
	assert_non_null(strstr(err, "mode 620"));
	if (geteuid() == 0) { /* owned by another user */
		write_file("a.conf", "", 0600);
		assert_int_equal(chown(path_of("a.conf"), 65534, 65534), 0);
		assert_int_equal(load("a.conf", &p), -EACCES);
		assert_non_null(strstr(err, "owner 65534"));
		/* A directory others may write: the file could be swapped. */
		write_file("a.conf", "", 0600);
		assert_int_equal(chmod(dir, 0777), 0);
		assert_int_equal(load("a.conf", &p), -EACCES);
		assert_non_null(strstr(err, "its directory"));
		assert_int_equal(chmod(dir, 0700), 0);
	}

	/* Secret files: relative to the config, never readable by others. */
	write_file("b.conf", file_secret, 0644);
	write_file("k.key", "topsecret\n", 0600);
	assert_int_equal(load("b.conf", &p), 0);
	assert_int_equal(tcpao_keyring_key(&policy_entry(p, 0)->keys, 0)->keylen, 9);
	policy_free(p);
	write_file("k.key", "topsecret\n", 0604);
	assert_int_equal(load("b.conf", &p), -EACCES);
	assert_non_null(strstr(err, "b.conf:1: key: "));
	assert_non_null(strstr(err, "k.key: secret file is accessible by group or others (mode 604)"));
	write_file("k.key", "topsecret\n", 0640);
	assert_int_equal(load("b.conf", &p), -EACCES);
	assert_non_null(strstr(err, "(mode 640)"));
	if (geteuid() == 0) { /* a secret file of another user */
		write_file("k.key", "topsecret\n", 0600);
		assert_int_equal(chown(path_of("k.key"), 65534, 65534), 0);
		assert_int_equal(load("b.conf", &p), -EACCES);
		assert_non_null(strstr(err, "owned by uid 65534"));
	}
	write_file("k.key", "", 0600);
	assert_int_equal(load("b.conf", &p), -EINVAL);
	assert_non_null(strstr(err, "the secret is empty"));

	assert_int_equal(load("missing.conf", &p), -ENOENT);
	assert_non_null(strstr(err, "missing.conf: No such file"));
	assert_int_equal(config_load(dir, &p, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_load_bad_reports_file_line(void **state)
{
	struct policy *p;

	(void)state;
	write_file("c.conf", "peer 198.18.0.2 {\n\n  key id 1 alg hmac(sha1);\n}\n", 0600);
	assert_int_equal(load("c.conf", &p), -EINVAL);
	assert_non_null(strstr(err, "/c.conf:3: key: secret or secret-file is required"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_mark),
		cmocka_unit_test(test_alg_names),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_messages_hide_secrets),
		cmocka_unit_test(test_load_modes),
		cmocka_unit_test(test_load_bad_reports_file_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
