// SPDX-License-Identifier: GPL-2.0-or-later
/* MAC algorithms of RFC 5926 and the pre-keyed contexts that compute them. */
#include <errno.h>
#include <string.h>

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

static size_t mac_ctx_size(enum tcpao_alg alg)
{
	switch (alg) {
	case TCPAO_ALG_HMAC_SHA1:
		return sizeof(struct hmac_sha1_ctx);
	case TCPAO_ALG_HMAC_SHA256:
		return sizeof(struct hmac_sha256_ctx);
	default:
		return sizeof(struct cmac_aes128_ctx);
	}
}

void tcpao_mac_begin(struct tcpao_pool *pool, const struct tcpao_tk *tk)
{
	pool->alg = tk->alg;
	memcpy(&pool->work, &tk->keyed, mac_ctx_size(tk->alg));
}

void tcpao_mac_update(struct tcpao_pool *pool, const void *data, size_t len)
{
	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		hmac_sha1_update(&pool->work.sha1, len, data);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		hmac_sha256_update(&pool->work.sha256, len, data);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac_aes128_update(&pool->work.cmac, len, data);
		break;
	default:
		break;
	}
}

void tcpao_mac_end(struct tcpao_pool *pool, uint8_t *mac, size_t maclen)
{
	/* nettle truncates to the length asked for. */
	switch (pool->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		hmac_sha1_digest(&pool->work.sha1, maclen, mac);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		hmac_sha256_digest(&pool->work.sha256, maclen, mac);
		break;
	case TCPAO_ALG_CMAC_AES128:
		cmac_aes128_digest(&pool->work.cmac, maclen, mac);
		break;
	default:
		break;
	}
}

void tcpao_pool_wipe(struct tcpao_pool *pool)
{
	explicit_bzero(pool, sizeof(*pool));
}
