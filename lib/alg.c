// SPDX-License-Identifier: GPL-2.0-or-later
/* MAC algorithms of RFC 5926 and the pre-keyed contexts that compute them. */
#include <errno.h>
#include <string.h>

#include <nettle/aes.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "tcpao.h"

static const struct {
	const char *name;     /* as Linux reports it */
	const char *alias;    /* also accepted */
	size_t digest_len;
	size_t traffic_key_len;
} algs[TCPAO_ALG_COUNT] = {
	[TCPAO_ALG_HMAC_SHA1] = { "hmac(sha1)", NULL, SHA1_DIGEST_SIZE, SHA1_DIGEST_SIZE },
	[TCPAO_ALG_CMAC_AES128] = { "cmac(aes)", "cmac(aes128)", 16, 16 },
	[TCPAO_ALG_HMAC_SHA256] = { "hmac(sha256)", NULL, SHA256_DIGEST_SIZE, SHA256_DIGEST_SIZE },
};

int tcpao_alg_from_name(const char *name, enum tcpao_alg *alg)
{
	for (int i = 0; i < TCPAO_ALG_COUNT; i++) {
		if (!strcmp(name, algs[i].name) ||
		    (algs[i].alias && !strcmp(name, algs[i].alias))) {
			*alg = (enum tcpao_alg)i;
			return 0;
		}
	}
	return -ENOENT;
}

const char *tcpao_alg_name(enum tcpao_alg alg)
{
	return alg < TCPAO_ALG_COUNT ? algs[alg].name : "?";
}

size_t tcpao_alg_digest_len(enum tcpao_alg alg)
{
	return algs[alg].digest_len;
}

size_t tcpao_alg_traffic_key_len(enum tcpao_alg alg)
{
	return algs[alg].traffic_key_len;
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
	case TCPAO_ALG_CMAC_AES128:
		/* Callers give CMAC exactly 16 bytes (kdf.c reduces others). */
		cmac_aes128_set_key(&ctx->cmac, key);
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

/* Per message only the running state is copied: HMAC's inner hash, keyed
 * (96 or 112 bytes), or CMAC's empty chaining state; the rest of the
 * keyed context stays in tk. Copying the whole context (288-336 bytes)
 * showed in bench/mac.c on short segments. The state lives in the pool's
 * union: work.sha1.state, work.sha256.state, work.cmac.ctx. */
void tcpao_mac_begin(struct tcpao_pool *pool, const struct tcpao_tk *tk)
{
	pool->alg = tk->alg;
	pool->tk = tk;
	switch (tk->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		pool->work.sha1.state = tk->keyed.sha1.inner;
		break;
	case TCPAO_ALG_HMAC_SHA256:
		pool->work.sha256.state = tk->keyed.sha256.inner;
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_init(&pool->work.cmac.ctx);
		break;
	default:
		break;
	}
}

void tcpao_mac_update(struct tcpao_pool *pool, const void *data, size_t len)
{
	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		sha1_update(&pool->work.sha1.state, len, data);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		sha256_update(&pool->work.sha256.state, len, data);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_update(&pool->work.cmac.ctx, &pool->tk->keyed.cmac.cipher,
			       (nettle_cipher_func *)aes128_encrypt, len, data);
		break;
	default:
		break;
	}
}

/* HMAC's last step, as nettle's hmac_digest: the outer hash, keyed, over
 * the inner digest. */
static void hmac_sha1_end(struct tcpao_pool *pool, uint8_t *mac, size_t maclen)
{
	struct sha1_ctx *state = &pool->work.sha1.state;
	uint8_t inner[SHA1_DIGEST_SIZE];

	sha1_digest(state, sizeof(inner), inner);
	*state = pool->tk->keyed.sha1.outer;
	sha1_update(state, sizeof(inner), inner);
	sha1_digest(state, maclen, mac);
}

static void hmac_sha256_end(struct tcpao_pool *pool, uint8_t *mac,
			    size_t maclen)
{
	struct sha256_ctx *state = &pool->work.sha256.state;
	uint8_t inner[SHA256_DIGEST_SIZE];

	sha256_digest(state, sizeof(inner), inner);
	*state = pool->tk->keyed.sha256.outer;
	sha256_update(state, sizeof(inner), inner);
	sha256_digest(state, maclen, mac);
}

void tcpao_mac_end(struct tcpao_pool *pool, uint8_t *mac, size_t maclen)
{
	const struct tcpao_tk *tk = pool->tk;

	/* nettle truncates to the length asked for. */
	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		hmac_sha1_end(pool, mac, maclen);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		hmac_sha256_end(pool, mac, maclen);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac128_digest(&pool->work.cmac.ctx, &tk->keyed.cmac.key,
			       &tk->keyed.cmac.cipher,
			       (nettle_cipher_func *)aes128_encrypt, maclen, mac);
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
