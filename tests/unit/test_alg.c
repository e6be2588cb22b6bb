// SPDX-License-Identifier: GPL-2.0-or-later
/* The MAC algorithms beyond RFC 5926's (those Linux's TCP-AO also takes):
 * names as Linux's, HMAC test vectors (RFC 2202, 2286, 4231; HMAC-SHA3
 * as computed by Python's hmac), a key longer than SHA3-512's block,
 * incremental updates, truncation, and a KDF whose output is the digest
 * length (Linux's rule: 512 bits for hmac(sha512)). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "tcpao.h"

static const char jefe_msg[] = "what do ya want for nothing?";

static const struct {
	const char *name;
	size_t digest_len;
	const char *jefe; /* HMAC(key "Jefe", jefe_msg) */
} vectors[] = {
	{ "hmac(sha1)", 20, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79" },
	{ "hmac(sha224)", 28, "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44" },
	{ "hmac(sha256)", 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	{ "hmac(sha384)", 48, "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
			      "8e2240ca5e69e2c78b3239ecfab21649" },
	{ "hmac(sha512)", 64, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
			      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737" },
	{ "hmac(sha3-512)", 64, "5a4bfeab6166427c7a3647b747292b8384537cdb89afb3bf5665e4c5e709350b"
				"287baec921fd7ca0ee7a0c31d022a95e1fc92ba9d77df883960275beb4e62024" },
	{ "hmac(md5)", 16, "750c783e6ab0b503eaa86e310a5db738" },
	{ "hmac(rmd160)", 20, "dda6c0213a485a9e24f4742064a7f033b43c4069" },
};

static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = strlen(hex) / 2;

	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

static void mac(enum tcpao_alg alg, const void *key, size_t keylen,
		const void *msg, size_t len, size_t split, uint8_t *out,
		size_t outlen)
{
	struct tcpao_pool pool;
	struct tcpao_tk tk;

	tcpao_tk_init(&tk, alg, key, keylen);
	tcpao_mac_begin(&pool, &tk);
	tcpao_mac_update(&pool, msg, split);
	tcpao_mac_update(&pool, (const uint8_t *)msg + split, len - split);
	tcpao_mac_end(&pool, out, outlen);
	tcpao_tk_wipe(&tk);
	tcpao_pool_wipe(&pool);
}

static void test_names(void **state)
{
	enum tcpao_alg alg;

	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(tcpao_alg_from_name(vectors[i].name, &alg), 0);
		assert_string_equal(tcpao_alg_name(alg), vectors[i].name);
		assert_int_equal(tcpao_alg_digest_len(alg), vectors[i].digest_len);
		assert_int_equal(tcpao_alg_traffic_key_len(alg), vectors[i].digest_len);
		assert_true(vectors[i].digest_len <= TCPAO_MAX_MACLEN);
	}
	assert_int_equal(tcpao_alg_from_name("hmac(sha3-256)", &alg), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("sha512", &alg), -ENOENT);
}

/* Operators' names (tcpao_alg_parse): every name of the table parses to its
 * algorithm in any case; the socket API's tcpao_alg_from_name takes only
 * Linux's, exactly. */
static void test_operator_names(void **state)
{
	static const struct { const char *name; enum tcpao_alg alg; } ok[] = {
		{ "hmac(sha1)", TCPAO_ALG_HMAC_SHA1 },
		{ "HMAC(SHA1)", TCPAO_ALG_HMAC_SHA1 },
		{ "HMAC-SHA-1-96", TCPAO_ALG_HMAC_SHA1 },
		{ "hmac-sha-1-96", TCPAO_ALG_HMAC_SHA1 },
		{ "hmac sha1", TCPAO_ALG_HMAC_SHA1 },
		{ "hmac-sha1", TCPAO_ALG_HMAC_SHA1 },
		{ "cmac(aes)", TCPAO_ALG_CMAC_AES128 },
		{ "cmac(aes128)", TCPAO_ALG_CMAC_AES128 },
		{ "AES-128-CMAC-96", TCPAO_ALG_CMAC_AES128 },
		{ "cmac aes128", TCPAO_ALG_CMAC_AES128 },
		{ "CMAC-AES128", TCPAO_ALG_CMAC_AES128 },
		{ "hmac(sha256)", TCPAO_ALG_HMAC_SHA256 },
		{ "hmac sha256", TCPAO_ALG_HMAC_SHA256 },
		{ "Hmac-Sha256", TCPAO_ALG_HMAC_SHA256 },
		{ "hmac sha3-512", TCPAO_ALG_HMAC_SHA3_512 },
		{ "hmac-rmd160", TCPAO_ALG_HMAC_RMD160 },
	};
	static const char *const bad[] = {
		"", "hmac", "sha1", "hmac  sha1", "hmac(sha1", "aes-128-cmac",
		"hmac(sha3-256)", "keyed md5", "hmac-sha-256-96",
	};
	enum tcpao_alg alg;
	size_t names = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		alg = TCPAO_ALG_COUNT;
		if (tcpao_alg_parse(ok[i].name, &alg) || alg != ok[i].alg)
			fail_msg("'%s' not parsed as %d", ok[i].name, ok[i].alg);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!tcpao_alg_parse(bad[i], &alg))
			fail_msg("'%s' accepted", bad[i]);
	/* every name the table lists parses back to its algorithm */
	for (int a = 0; a < TCPAO_ALG_COUNT; a++) {
		const char *n;

		assert_string_equal(tcpao_alg_names((enum tcpao_alg)a, 0), tcpao_alg_name((enum tcpao_alg)a));
		for (size_t i = 0; (n = tcpao_alg_names((enum tcpao_alg)a, i)); i++, names++) {
			assert_int_equal(tcpao_alg_parse(n, &alg), 0);
			assert_int_equal(alg, a);
		}
	}
	assert_int_equal(names, 30); /* docs/man/tcpao.conf.5 lists them all */
	/* the socket API: Linux's names only, as Linux's setsockopt */
	assert_int_equal(tcpao_alg_from_name("hmac(sha1)", &alg), 0);
	assert_int_equal(tcpao_alg_from_name("cmac(aes128)", &alg), 0);
	assert_int_equal(tcpao_alg_from_name("HMAC-SHA-1-96", &alg), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("hmac sha1", &alg), -ENOENT);
	assert_int_equal(tcpao_alg_from_name("HMAC(SHA1)", &alg), -ENOENT);
}

/* Each vector whole, split at every point, and truncated to 12 bytes. */
static void test_hmac_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		uint8_t want[TCPAO_MAX_MACLEN], got[TCPAO_MAX_MACLEN];
		size_t n = unhex(vectors[i].jefe, want), len = strlen(jefe_msg);
		enum tcpao_alg alg;

		assert_int_equal(tcpao_alg_from_name(vectors[i].name, &alg), 0);
		for (size_t split = 0; split <= len; split++) {
			memset(got, 0, sizeof(got));
			mac(alg, "Jefe", 4, jefe_msg, len, split, got, n);
			if (memcmp(got, want, n))
				fail_msg("%s split %zu", vectors[i].name, split);
		}
		memset(got, 0xee, sizeof(got));
		mac(alg, "Jefe", 4, jefe_msg, len, 0, got, 12);
		assert_memory_equal(got, want, 12);
		assert_int_equal(got[12], 0xee);
	}
}

/* An 80-byte key (TCP_AO_MAXKEYLEN) is longer than SHA3-512's 72-byte
 * block: HMAC hashes it first. */
static void test_long_key(void **state)
{
	uint8_t key[80], want[64], got[64];

	(void)state;
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	unhex("ed8f84b0dd2951081cbc241544432206fad29003d629aca3f4eb17d99be2cd1c"
	      "883103759bd73b4582d4c7062f3cec94b8b523703e6bc98c6d3b438aedd6ed51", want);
	mac(TCPAO_ALG_HMAC_SHA3_512, key, sizeof(key), "tcpao", 5, 2, got, 64);
	assert_memory_equal(got, want, 64);
	unhex("a858ed2fdc6af2f509acf5bba2b2fad745903db50a1cdd88496cdbf45af4b2b2"
	      "b934549f9d8553095addac6d0c93822d916ab48e78fe8fd3c7162284fe92cc2f", want);
	mac(TCPAO_ALG_HMAC_SHA512, key, sizeof(key), "tcpao", 5, 3, got, 64);
	assert_memory_equal(got, want, 64);
}

/* KDF: L is the digest length in bits, the output that many bytes. */
static void test_kdf_lengths(void **state)
{
	struct tcpao_mkt mkt = { .keylen = 10, .key = "testvector" };
	struct tcpao_ctx ctx = { .sport = 40000, .dport = 179,
				 .sisn = 0x11223344, .disn = 0x55667788 };
	uint8_t want[64], got[TCPAO_MAX_MACLEN + 1];

	(void)state;
	ctx.saddr.family = ctx.daddr.family = AF_INET;
	inet_pton(AF_INET, "198.18.0.1", &ctx.saddr.v4);
	inet_pton(AF_INET, "198.18.0.2", &ctx.daddr.v4);

	mkt.alg = TCPAO_ALG_HMAC_SHA512;
	unhex("d674d66c55ae5c3736f0cf39f1bd5f696a4223386ddb1a82d31da6f3ce3b2202"
	      "9a30759223e9393076fb8ad210afda49f8f8687e99bed71c3f175b03ce51633f", want);
	memset(got, 0xee, sizeof(got));
	tcpao_kdf(&mkt, &ctx, got);
	assert_memory_equal(got, want, 64);
	assert_int_equal(got[64], 0xee);

	mkt.alg = TCPAO_ALG_HMAC_RMD160;
	unhex("7648c66b69234e97c996a0f3282f0d08974ae7bd", want);
	memset(got, 0xee, sizeof(got));
	tcpao_kdf(&mkt, &ctx, got);
	assert_memory_equal(got, want, 20);
	assert_int_equal(got[20], 0xee);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_operator_names),
		cmocka_unit_test(test_hmac_vectors),
		cmocka_unit_test(test_long_key),
		cmocka_unit_test(test_kdf_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
