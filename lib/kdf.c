// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Traffic keys (RFC 5925 section 5.2, RFC 5926 section 3.1):
 *   traffic_key = PRF(master_key, i || "TCP-AO" || context || L)
 * with i = 1 and L the key length in bits. The context is the connection
 * as its sender sees it: addresses, ports, ISNs.
 */
#include <string.h>

#include "tcpao.h"

#define KDF_LABEL "TCP-AO"
#define KDF_INPUT_MAX (1 + 6 + 16 + 16 + 2 + 2 + 4 + 4 + 2)

static uint8_t *put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	p = put16(p, (uint16_t)(v >> 16));
	return put16(p, (uint16_t)v);
}

static size_t kdf_input(const struct tcpao_ctx *ctx, size_t out_bits,
			uint8_t *buf)
{
	size_t alen = tcpao_addr_len(&ctx->saddr);
	uint8_t *p = buf;

	*p++ = 1;
	memcpy(p, KDF_LABEL, 6);
	p += 6;
	memcpy(p, ctx->saddr.bytes, alen);
	p += alen;
	memcpy(p, ctx->daddr.bytes, alen);
	p += alen;
	p = put16(p, ctx->sport);
	p = put16(p, ctx->dport);
	p = put32(p, ctx->sisn);
	p = put32(p, ctx->disn);
	p = put16(p, (uint16_t)out_bits);
	return (size_t)(p - buf);
}

/* AES-CMAC takes a 16-byte key; RFC 5926 3.1.1.2 first reduces any other
 * length with AES-CMAC under the all-zero key. */
static void cmac_master_key(const struct tcpao_mkt *mkt, uint8_t key[16])
{
	static const uint8_t zero[16];
	struct cmac_aes128_ctx c;

	if (mkt->keylen == 16) {
		memcpy(key, mkt->key, 16);
		return;
	}
	cmac_aes128_set_key(&c, zero);
	cmac_aes128_update(&c, mkt->keylen, mkt->key);
	cmac_aes128_digest(&c, 16, key);
	explicit_bzero(&c, sizeof(c));
}

void tcpao_kdf(const struct tcpao_mkt *mkt, const struct tcpao_ctx *ctx,
	       uint8_t *out)
{
	size_t outlen = tcpao_alg_traffic_key_len(mkt->alg);
	uint8_t input[KDF_INPUT_MAX], cmac_key[16];
	size_t inlen = kdf_input(ctx, outlen * 8, input);
	struct tcpao_pool pool;
	struct tcpao_tk prf;

	if (mkt->alg == TCPAO_ALG_CMAC_AES128) {
		cmac_master_key(mkt, cmac_key);
		tcpao_tk_init(&prf, mkt->alg, cmac_key, sizeof(cmac_key));
		explicit_bzero(cmac_key, sizeof(cmac_key));
	} else {
		tcpao_tk_init(&prf, mkt->alg, mkt->key, mkt->keylen);
	}
	tcpao_mac_begin(&pool, &prf);
	tcpao_mac_update(&pool, input, inlen);
	tcpao_mac_end(&pool, out, outlen);
	tcpao_tk_wipe(&prf);
	tcpao_pool_wipe(&pool);
}

void tcpao_tk_derive(struct tcpao_tk *tk, const struct tcpao_mkt *mkt,
		     const struct tcpao_ctx *ctx)
{
	uint8_t key[TCPAO_MAX_MACLEN];

	tcpao_kdf(mkt, ctx, key);
	tcpao_tk_init(tk, mkt->alg, key, tcpao_alg_traffic_key_len(mkt->alg));
	explicit_bzero(key, sizeof(key));
}
