// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * MAC algorithms and the pre-keyed contexts that compute them: RFC 5926's
 * (HMAC-SHA-1-96, AES-128-CMAC-96) and the other HMACs Linux accepts for
 * TCP-AO (any "hmac(...)" of its crypto API; we offer those nettle has).
 *
 * Two ways to key a traffic key (struct tcpao_tk), chosen per algorithm:
 *  - KEYED: the HMAC's inner and outer hashes are computed once; a message
 *    copies the inner state only. For the common algorithms, whose hash
 *    state is small (SHA-1, SHA-224/256, MD5, RIPEMD-160) and CMAC.
 *  - RAW: the key bytes are kept and the HMAC is keyed per message in the
 *    pool. For SHA-384/512 and SHA3-512, whose keyed contexts (650-850
 *    bytes) would more than double every traffic key kept in a flow's
 *    cache, for algorithms seldom used; it costs two more hash blocks per
 *    message.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <nettle/aes.h>
#include <nettle/md5.h>
#include <nettle/nettle-meta.h>
#include <nettle/ripemd160.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>
#include <nettle/sha3.h>

#include "tcpao.h"

/*
 * The one table of algorithm names. kernel[]: the names Linux's
 * setsockopt(TCP_AO_ADD_KEY) takes, exactly (the socket API matches it:
 * tcpao_alg_from_name); kernel[0] is the name Linux reports back. ops[]:
 * the other spellings operators write, accepted case-insensitively with
 * kernel[] by tcpao_alg_parse (tcpao.conf, key specs): RFC 5926's names,
 * BIRD's ("hmac sha1", "cmac aes128") and the same with a '-' where a
 * space cannot appear (key specs). docs/man/tcpao.conf.5 and tcpao.8 list
 * every name here; tests/unit/test_alg.c checks them.
 */
#define ALG_NAMES_MAX 4
static const struct {
	const char *kernel[2];
	const char *ops[ALG_NAMES_MAX];
	size_t digest_len;    /* = the traffic key's length, as Linux */
} algs[TCPAO_ALG_COUNT] = {
	[TCPAO_ALG_HMAC_SHA1] = { { "hmac(sha1)" },
		{ "HMAC-SHA-1-96", "hmac sha1", "hmac-sha1" }, SHA1_DIGEST_SIZE },
	[TCPAO_ALG_CMAC_AES128] = { { "cmac(aes)", "cmac(aes128)" },
		{ "AES-128-CMAC-96", "cmac aes128", "cmac-aes128" }, 16 },
	[TCPAO_ALG_HMAC_SHA256] = { { "hmac(sha256)" },
		{ "hmac sha256", "hmac-sha256" }, SHA256_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_SHA224] = { { "hmac(sha224)" },
		{ "hmac sha224", "hmac-sha224" }, SHA224_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_SHA384] = { { "hmac(sha384)" },
		{ "hmac sha384", "hmac-sha384" }, SHA384_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_SHA512] = { { "hmac(sha512)" },
		{ "hmac sha512", "hmac-sha512" }, SHA512_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_SHA3_512] = { { "hmac(sha3-512)" },
		{ "hmac sha3-512", "hmac-sha3-512" }, SHA3_512_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_MD5] = { { "hmac(md5)" },
		{ "hmac md5", "hmac-md5" }, MD5_DIGEST_SIZE },
	[TCPAO_ALG_HMAC_RMD160] = { { "hmac(rmd160)" },
		{ "hmac rmd160", "hmac-rmd160" }, RIPEMD160_DIGEST_SIZE },
};

int tcpao_alg_from_name(const char *name, enum tcpao_alg *alg)
{
	for (int i = 0; i < TCPAO_ALG_COUNT; i++)
		for (size_t j = 0; j < 2 && algs[i].kernel[j]; j++)
			if (!strcmp(name, algs[i].kernel[j])) {
				*alg = (enum tcpao_alg)i;
				return 0;
			}
	return -ENOENT;
}

int tcpao_alg_parse(const char *name, enum tcpao_alg *alg)
{
	for (int i = 0; i < TCPAO_ALG_COUNT; i++) {
		for (size_t j = 0; j < 2 && algs[i].kernel[j]; j++)
			if (!strcasecmp(name, algs[i].kernel[j]))
				goto found;
		for (size_t j = 0; j < ALG_NAMES_MAX && algs[i].ops[j]; j++)
			if (!strcasecmp(name, algs[i].ops[j]))
				goto found;
		continue;
found:
		*alg = (enum tcpao_alg)i;
		return 0;
	}
	return -ENOENT;
}

const char *tcpao_alg_names(enum tcpao_alg alg, size_t i)
{
	if (alg >= TCPAO_ALG_COUNT)
		return NULL;
	if (i < 2 && algs[alg].kernel[i])
		return algs[alg].kernel[i];
	i -= algs[alg].kernel[1] ? 2 : 1;
	return i < ALG_NAMES_MAX ? algs[alg].ops[i] : NULL;
}

const char *tcpao_alg_name(enum tcpao_alg alg)
{
	return alg < TCPAO_ALG_COUNT ? algs[alg].kernel[0] : "?";
}

size_t tcpao_alg_digest_len(enum tcpao_alg alg)
{
	return algs[alg].digest_len;
}

size_t tcpao_alg_traffic_key_len(enum tcpao_alg alg)
{
	return algs[alg].digest_len;
}

static void raw_set_key(union tcpao_mac_ctx *ctx, const uint8_t *key,
			size_t keylen)
{
	/* HMAC hashes keys longer than its block; our keys are <= 80. */
	if (keylen > sizeof(ctx->raw.key))
		keylen = sizeof(ctx->raw.key);
	memcpy(ctx->raw.key, key, keylen);
	ctx->raw.len = (uint8_t)keylen;
}

static void mac_ctx_set_key(union tcpao_mac_ctx *ctx, enum tcpao_alg alg,
			    const uint8_t *key, size_t keylen)
{
	switch (alg) {
	case TCPAO_ALG_HMAC_SHA1:
		hmac_sha1_set_key(&ctx->sha1, keylen, key);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		hmac_sha256_set_key(&ctx->sha256, keylen, key);
		break;
	case TCPAO_ALG_HMAC_SHA224:
		hmac_sha224_set_key(&ctx->sha256, keylen, key);
		break;
	case TCPAO_ALG_HMAC_MD5:
		hmac_md5_set_key(&ctx->md5, keylen, key);
		break;
	case TCPAO_ALG_HMAC_RMD160:
		hmac_ripemd160_set_key(&ctx->rmd160, keylen, key);
		break;
	case TCPAO_ALG_CMAC_AES128:
		/* Callers give CMAC exactly 16 bytes (kdf.c reduces others). */
		cmac_aes128_set_key(&ctx->cmac, key);
		break;
	case TCPAO_ALG_HMAC_SHA384:
	case TCPAO_ALG_HMAC_SHA512:
	case TCPAO_ALG_HMAC_SHA3_512:
		raw_set_key(ctx, key, keylen);
		break;
	default:
		break;
	}
}

void tcpao_tk_init(struct tcpao_tk *tk, enum tcpao_alg alg,
		   const uint8_t *key, size_t keylen)
{
	tk->alg = alg;
	mac_ctx_set_key(&tk->keyed, alg, key, keylen);
}

void tcpao_tk_wipe(struct tcpao_tk *tk)
{
	explicit_bzero(tk, sizeof(*tk));
}

/* Per message only the running state is copied: HMAC's inner hash, keyed,
 * or CMAC's empty chaining state; the rest of the keyed context stays in
 * tk. Copying the whole context showed in bench/mac.c on short segments.
 * RAW algorithms key the whole HMAC in the pool. */
void tcpao_mac_begin(struct tcpao_pool *pool, const struct tcpao_tk *tk)
{
	const union tcpao_mac_ctx *k = &tk->keyed;
	union tcpao_mac_work *w = &pool->work;

	pool->alg = tk->alg;
	pool->tk = tk;
	switch (tk->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		w->sha1 = k->sha1.inner;
		break;
	case TCPAO_ALG_HMAC_SHA256:
	case TCPAO_ALG_HMAC_SHA224:
		w->sha256 = k->sha256.inner;
		break;
	case TCPAO_ALG_HMAC_MD5:
		w->md5 = k->md5.inner;
		break;
	case TCPAO_ALG_HMAC_RMD160:
		w->rmd160 = k->rmd160.inner;
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_init(&w->cmac);
		break;
	case TCPAO_ALG_HMAC_SHA384:
		hmac_sha384_set_key(&w->sha512, k->raw.len, k->raw.key);
		break;
	case TCPAO_ALG_HMAC_SHA512:
		hmac_sha512_set_key(&w->sha512, k->raw.len, k->raw.key);
		break;
	case TCPAO_ALG_HMAC_SHA3_512:
		hmac_set_key(&w->sha3_512.outer, &w->sha3_512.inner,
			     &w->sha3_512.state, &nettle_sha3_512, k->raw.len,
			     k->raw.key);
		break;
	default:
		break;
	}
}

void tcpao_mac_update(struct tcpao_pool *pool, const void *data, size_t len)
{
	union tcpao_mac_work *w = &pool->work;

	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		sha1_update(&w->sha1, len, data);
		break;
	case TCPAO_ALG_HMAC_SHA256:
	case TCPAO_ALG_HMAC_SHA224:
		sha256_update(&w->sha256, len, data);
		break;
	case TCPAO_ALG_HMAC_MD5:
		md5_update(&w->md5, len, data);
		break;
	case TCPAO_ALG_HMAC_RMD160:
		ripemd160_update(&w->rmd160, len, data);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_update(&w->cmac, &pool->tk->keyed.cmac.cipher,
			       (nettle_cipher_func *)aes128_encrypt, len, data);
		break;
	case TCPAO_ALG_HMAC_SHA384:
	case TCPAO_ALG_HMAC_SHA512:
		sha512_update(&w->sha512.state, len, data);
		break;
	case TCPAO_ALG_HMAC_SHA3_512:
		sha3_512_update(&w->sha3_512.state, len, data);
		break;
	default:
		break;
	}
}

/* HMAC's last step for the KEYED algorithms, as nettle's hmac_digest: the
 * outer hash, keyed (from tk), over the inner digest. */
static void keyed_hmac_end(const struct nettle_hash *h, void *state,
			   const void *outer, uint8_t *mac, size_t maclen)
{
	uint8_t inner[SHA256_DIGEST_SIZE]; /* the longest KEYED digest */

	h->digest(state, h->digest_size, inner);
	memcpy(state, outer, h->context_size);
	h->update(state, h->digest_size, inner);
	h->digest(state, maclen, mac);
	explicit_bzero(inner, sizeof(inner));
}

void tcpao_mac_end(struct tcpao_pool *pool, uint8_t *mac, size_t maclen)
{
	const union tcpao_mac_ctx *k = &pool->tk->keyed;
	union tcpao_mac_work *w = &pool->work;

	/* nettle truncates to the length asked for. */
	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		keyed_hmac_end(&nettle_sha1, &w->sha1, &k->sha1.outer,
			       mac, maclen);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		keyed_hmac_end(&nettle_sha256, &w->sha256,
			       &k->sha256.outer, mac, maclen);
		break;
	case TCPAO_ALG_HMAC_SHA224:
		keyed_hmac_end(&nettle_sha224, &w->sha256,
			       &k->sha256.outer, mac, maclen);
		break;
	case TCPAO_ALG_HMAC_MD5:
		keyed_hmac_end(&nettle_md5, &w->md5, &k->md5.outer, mac,
			       maclen);
		break;
	case TCPAO_ALG_HMAC_RMD160:
		keyed_hmac_end(&nettle_ripemd160, &w->rmd160,
			       &k->rmd160.outer, mac, maclen);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_digest(&w->cmac, &k->cmac.key, &k->cmac.cipher,
			       (nettle_cipher_func *)aes128_encrypt, maclen, mac);
		break;
	case TCPAO_ALG_HMAC_SHA384:
		hmac_sha384_digest(&w->sha512, maclen, mac);
		break;
	case TCPAO_ALG_HMAC_SHA512:
		hmac_sha512_digest(&w->sha512, maclen, mac);
		break;
	case TCPAO_ALG_HMAC_SHA3_512:
		hmac_digest(&w->sha3_512.outer, &w->sha3_512.inner,
			    &w->sha3_512.state, &nettle_sha3_512, maclen, mac);
		break;
	default:
		break;
	}
	pool->tk = NULL;
}

void tcpao_pool_wipe(struct tcpao_pool *pool)
{
	explicit_bzero(pool, sizeof(*pool));
}
