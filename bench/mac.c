// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-mac: what one TCP-AO segment costs the engine, next to the bare MAC.
 *
 * For each algorithm and payload size it builds an IPv4 TCP segment with
 * the timestamps and AO options in memory and times, per segment:
 *   sign    tcpao_seg_parse + tcpao_dir_sign (warm traffic-key cache)
 *   verify  tcpao_seg_parse + tcpao_dir_verify
 *   egress  packet copy + parse + tcpao_seg_add_ao + sign + fix_checksum
 *   copy    the packet copy + parse alone (egress is also shown without it)
 *   nettle  the bare MAC: a pre-keyed nettle context over the same bytes
 *   openssl the bare MAC with libcrypto's EVP_MAC, re-initialised per
 *           message (EVP_MAC_init without a key) or duplicated from a keyed
 *           template (EVP_MAC_CTX_dup); the faster of the two is compared.
 * All the variants run interleaved in rounds (one chunk of each, then the
 * next round) because the machine is shared and noisy; the tables show
 * medians over rounds, and ratios are the median of the per-round ratios,
 * so both sides of a ratio were measured seconds apart at most.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <nettle/version.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "tcpao.h"

#define PKT_MAX 2048
#define MACLEN 12
#define ISN_LOCAL 0x1000a000u
#define ISN_PEER 0x7f00b000u

static const size_t payload_sizes[] = { 64, 1448 };
static const enum tcpao_alg bench_algs[] = {
	TCPAO_ALG_HMAC_SHA1, TCPAO_ALG_CMAC_AES128, TCPAO_ALG_HMAC_SHA256,
};
#define NSIZES (sizeof(payload_sizes) / sizeof(payload_sizes[0]))
#define NALGS (sizeof(bench_algs) / sizeof(bench_algs[0]))
#define NCASES (NSIZES * NALGS)

/* One algorithm and payload size: the packets, the keys, the contexts. */
struct mac_case {
	enum tcpao_alg alg;
	size_t payload;
	struct tcpao_mkt mkt;
	struct tcpao_dir tx, rx;     /* the sender's and the receiver's view */
	struct tcpao_pool pool;
	uint8_t plain[PKT_MAX];      /* as the kernel sends it: no AO */
	size_t plain_len;
	uint8_t to_sign[PKT_MAX];    /* with an AO option, signed in place */
	uint8_t to_verify[PKT_MAX];  /* signed, verified in place */
	size_t ao_pkt_len;
	uint8_t work[PKT_MAX];       /* egress scratch */
	uint8_t mac_input[PKT_MAX];  /* RFC 5925 5.1 message as one buffer */
	size_t mac_input_len;
	struct tcpao_tk nettle;      /* keyed with the traffic key */
	EVP_MAC_CTX *ossl;           /* keyed, re-initialised per message */
	EVP_MAC_CTX *ossl_tmpl;      /* keyed, duplicated per message */
	uint8_t out[64];
};

static void die(const char *what)
{
	fprintf(stderr, "bench-mac: %s\n", what);
	exit(1);
}

/* ---- building the segments --------------------------------------------- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* IPv4 198.18.0.1:40000 -> 198.18.0.2:179 with NOP NOP TS, as Linux sends
 * a data segment (or a SYN with no options when syn is set). */
static size_t build_plain(uint8_t *pkt, size_t payload, bool syn)
{
	size_t optlen = syn ? 0 : 12, len = 20 + 20 + optlen + payload;
	uint8_t *ip = pkt, *th = pkt + 20;

	memset(pkt, 0, len);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)len);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "198.18.0.1", ip + 12);
	inet_pton(AF_INET, "198.18.0.2", ip + 16);
	put16(th, 40000);
	put16(th + 2, 179);
	put32(th + 4, syn ? ISN_LOCAL : ISN_LOCAL + 1);
	put32(th + 8, syn ? 0 : ISN_PEER + 1);
	th[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	th[13] = syn ? TCPAO_TH_SYN : TCPAO_TH_ACK | 0x08 /* PSH */;
	put16(th + 14, 64240);
	if (!syn) {
		th[20] = th[21] = 1;
		th[22] = 8;
		th[23] = 10;
		put32(th + 24, 123456789);
		put32(th + 28, 987654321);
	}
	for (size_t i = 0; i < payload; i++)
		th[20 + optlen + i] = (uint8_t)(i * 7 + 1);
	return len;
}

static void parse_or_die(struct tcpao_seg *seg, uint8_t *pkt, size_t len)
{
	if (tcpao_seg_parse(seg, pkt, len) != TCPAO_SEG_OK)
		die("a built segment does not parse");
}

/* Both views of the direction learn the ISNs, as from the handshake. */
static void init_dirs(struct mac_case *c)
{
	uint8_t syn[64];
	struct tcpao_seg seg;

	parse_or_die(&seg, syn, build_plain(syn, 0, true));
	tcpao_dir_init(&c->tx, &seg);
	tcpao_dir_observe(&c->tx, &seg);
	tcpao_dir_set_disn(&c->tx, ISN_PEER);
	c->rx = c->tx;
}

/* The MAC's message (RFC 5925 section 5.1) as one contiguous buffer:
 * SNE, pseudo-header, TCP header with checksum and MAC zeroed, payload. */
static void build_mac_input(struct mac_case *c, const struct tcpao_seg *seg)
{
	uint8_t *m = c->mac_input;

	put32(m, 0); /* SNE: no wrap yet */
	memcpy(m + 4, seg->saddr.bytes, 4);
	memcpy(m + 8, seg->daddr.bytes, 4);
	m[12] = 0;
	m[13] = IPPROTO_TCP;
	put16(m + 14, (uint16_t)seg->tcplen);
	memcpy(m + 16, seg->tcp, seg->tcplen);
	put16(m + 16 + 16, 0);
	memset(m + 16 + seg->opts.ao_off + TCPAO_OPT_HDRLEN, 0, MACLEN);
	c->mac_input_len = 16 + seg->tcplen;
}

/* ---- bare MACs ---------------------------------------------------------- */

/* nettle's digest functions leave the context keyed for the next message,
 * so the bare MAC needs no copy: the least work nettle can do. */
static void nettle_mac(struct mac_case *c)
{
	const uint8_t *in = c->mac_input;
	size_t len = c->mac_input_len;

	switch (c->alg) {
	case TCPAO_ALG_HMAC_SHA1:
		hmac_sha1_update(&c->nettle.keyed.sha1, len, in);
		hmac_sha1_digest(&c->nettle.keyed.sha1, MACLEN, c->out);
		break;
	case TCPAO_ALG_HMAC_SHA256:
		hmac_sha256_update(&c->nettle.keyed.sha256, len, in);
		hmac_sha256_digest(&c->nettle.keyed.sha256, MACLEN, c->out);
		break;
	default:
		cmac_aes128_update(&c->nettle.keyed.cmac, len, in);
		cmac_aes128_digest(&c->nettle.keyed.cmac, MACLEN, c->out);
		break;
	}
}

static EVP_MAC_CTX *ossl_keyed(enum tcpao_alg alg, const uint8_t *key,
			       size_t keylen)
{
	bool hmac = alg != TCPAO_ALG_CMAC_AES128;
	EVP_MAC *mac = EVP_MAC_fetch(NULL, hmac ? "HMAC" : "CMAC", NULL);
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;

	if (!mac)
		die("libcrypto has no HMAC/CMAC");
	ctx = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (!ctx)
		die("EVP_MAC_CTX_new failed");
	if (hmac)
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			alg == TCPAO_ALG_HMAC_SHA1 ? "SHA1" : "SHA256", 0);
	else
		params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
			"AES-128-CBC", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(ctx, key, keylen, params))
		die("EVP_MAC_init with a key failed");
	return ctx;
}

static void ossl_finish(EVP_MAC_CTX *ctx, struct mac_case *c)
{
	uint8_t full[EVP_MAX_MD_SIZE];
	size_t outl;

	if (!EVP_MAC_update(ctx, c->mac_input, c->mac_input_len) ||
	    !EVP_MAC_final(ctx, full, &outl, sizeof(full)))
		die("EVP_MAC update/final failed");
	memcpy(c->out, full, MACLEN);
}

static void ossl_mac_reinit(struct mac_case *c)
{
	if (!EVP_MAC_init(c->ossl, NULL, 0, NULL))
		die("EVP_MAC_init(NULL) failed");
	ossl_finish(c->ossl, c);
}

static void ossl_mac_dup(struct mac_case *c)
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(c->ossl_tmpl);

	if (!ctx)
		die("EVP_MAC_CTX_dup failed");
	ossl_finish(ctx, c);
	EVP_MAC_CTX_free(ctx);
}

/* ---- the engine, as the daemon calls it -------------------------------- */

static void engine_sign(struct mac_case *c)
{
	struct tcpao_seg seg;

	tcpao_seg_parse(&seg, c->to_sign, c->ao_pkt_len);
	if (tcpao_dir_sign(&c->tx, &c->mkt, 1, &seg, &c->pool) != TCPAO_GOOD)
		die("sign failed");
}

static void engine_verify(struct mac_case *c)
{
	struct tcpao_seg seg;

	tcpao_seg_parse(&seg, c->to_verify, c->ao_pkt_len);
	if (tcpao_dir_verify(&c->rx, &c->mkt, 1, &seg, &c->pool) != TCPAO_GOOD)
		die("verify failed");
}

static void packet_copy(struct mac_case *c, struct tcpao_seg *seg)
{
	memcpy(c->work, c->plain, c->plain_len);
	tcpao_seg_parse(seg, c->work, c->plain_len);
}

static void engine_copy_only(struct mac_case *c)
{
	struct tcpao_seg seg;

	packet_copy(c, &seg);
}

static void engine_egress(struct mac_case *c)
{
	struct tcpao_seg seg;

	packet_copy(c, &seg);
	if (tcpao_seg_add_ao(&seg, sizeof(c->work), 1, 1, MACLEN) < 0 ||
	    tcpao_dir_sign(&c->tx, &c->mkt, 1, &seg, &c->pool) != TCPAO_GOOD)
		die("egress failed");
	tcpao_seg_fix_checksum(&seg);
}

/* ---- setting up a case, with a cross-check of all three MACs ----------- */

static void init_case(struct mac_case *c, enum tcpao_alg alg, size_t payload)
{
	uint8_t key[TCPAO_MAX_MACLEN];
	size_t keylen = tcpao_alg_traffic_key_len(alg);
	const uint8_t *signed_mac;
	struct tcpao_seg seg;
	int len;

	memset(c, 0, sizeof(*c));
	c->alg = alg;
	c->payload = payload;
	c->mkt.alg = alg;
	c->mkt.sndid = c->mkt.rcvid = 1;
	c->mkt.keylen = 16;
	memcpy(c->mkt.key, "bench-mac secret", 16);
	if (tcpao_mkt_check(&c->mkt))
		die("bad MKT");
	init_dirs(c);

	c->plain_len = build_plain(c->plain, payload, false);
	memcpy(c->to_sign, c->plain, c->plain_len);
	parse_or_die(&seg, c->to_sign, c->plain_len);
	len = tcpao_seg_add_ao(&seg, sizeof(c->to_sign), 1, 1, MACLEN);
	if (len < 0)
		die("tcpao_seg_add_ao failed");
	c->ao_pkt_len = (size_t)len;
	if (tcpao_dir_sign(&c->tx, &c->mkt, 1, &seg, &c->pool) != TCPAO_GOOD)
		die("first sign failed");
	tcpao_seg_fix_checksum(&seg);
	memcpy(c->to_verify, c->to_sign, c->ao_pkt_len);
	build_mac_input(c, &seg);

	/* The bare MACs use the traffic key the engine derived. */
	tcpao_kdf(&c->mkt, &c->tx.ctx, key);
	tcpao_tk_init(&c->nettle, alg, key, keylen); /* the library's keying */
	c->ossl = ossl_keyed(alg, key, keylen);
	c->ossl_tmpl = ossl_keyed(alg, key, keylen);
	explicit_bzero(key, sizeof(key));

	signed_mac = seg.tcp + seg.opts.ao_off + TCPAO_OPT_HDRLEN;
	nettle_mac(c);
	if (memcmp(c->out, signed_mac, MACLEN))
		die("nettle's bare MAC differs from the engine's");
	ossl_mac_reinit(c);
	if (memcmp(c->out, signed_mac, MACLEN))
		die("OpenSSL's bare MAC (init) differs from the engine's");
	ossl_mac_dup(c);
	if (memcmp(c->out, signed_mac, MACLEN))
		die("OpenSSL's bare MAC (dup) differs from the engine's");
	engine_verify(c);
	engine_egress(c);
	if (memcmp(c->work, c->to_verify, c->ao_pkt_len))
		die("egress built a different packet");
}

static void free_case(struct mac_case *c)
{
	EVP_MAC_CTX_free(c->ossl);
	EVP_MAC_CTX_free(c->ossl_tmpl);
	tcpao_dir_wipe(&c->tx);
	tcpao_dir_wipe(&c->rx);
	tcpao_pool_wipe(&c->pool);
	tcpao_tk_wipe(&c->nettle);
	tcpao_mkt_wipe(&c->mkt);
}

/* ---- timing ------------------------------------------------------------- */

enum variant {
	V_NETTLE, V_OSSL_INIT, V_OSSL_DUP, V_SIGN, V_VERIFY, V_EGRESS, V_COPY,
	NVARIANTS
};

static void (*const run_one[NVARIANTS])(struct mac_case *) = {
	[V_NETTLE] = nettle_mac,
	[V_OSSL_INIT] = ossl_mac_reinit,
	[V_OSSL_DUP] = ossl_mac_dup,
	[V_SIGN] = engine_sign,
	[V_VERIFY] = engine_verify,
	[V_EGRESS] = engine_egress,
	[V_COPY] = engine_copy_only,
};

struct settings {
	double chunk_ns;   /* time per variant per round */
	int rounds;
};

struct samples {
	unsigned iters[NCASES][NVARIANTS];
	double *ns[NCASES][NVARIANTS]; /* ns per operation, one per round */
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double time_chunk(struct mac_case *c, enum variant v, unsigned iters)
{
	void (*fn)(struct mac_case *) = run_one[v];
	double t0 = now_ns();

	for (unsigned i = 0; i < iters; i++)
		fn(c);
	return (now_ns() - t0) / iters;
}

/* Iterations that make one chunk last about chunk_ns. */
static unsigned calibrate(struct mac_case *c, enum variant v, double chunk_ns)
{
	unsigned iters = 16;
	double per_op;

	time_chunk(c, v, iters); /* warm caches */
	for (;;) {
		per_op = time_chunk(c, v, iters);
		if (per_op * iters >= chunk_ns / 4 || iters >= 1u << 24)
			break;
		iters *= 2;
	}
	iters = (unsigned)(chunk_ns / per_op);
	return iters ? iters : 1;
}

static void measure(struct mac_case *cases, const struct settings *s,
		    struct samples *smp)
{
	for (size_t k = 0; k < NCASES; k++)
		for (int v = 0; v < NVARIANTS; v++) {
			smp->iters[k][v] = calibrate(&cases[k], (enum variant)v,
						     s->chunk_ns);
			smp->ns[k][v] = calloc((size_t)s->rounds, sizeof(double));
			if (!smp->ns[k][v])
				die("out of memory");
		}
	for (int r = 0; r < s->rounds; r++)
		for (size_t k = 0; k < NCASES; k++)
			for (int v = 0; v < NVARIANTS; v++)
				smp->ns[k][v][r] = time_chunk(&cases[k], (enum variant)v,
							      smp->iters[k][v]);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Quantile q (0..1) of n values; sorts a copy. */
static double quantile(const double *vals, int n, double q)
{
	double *tmp = malloc((size_t)n * sizeof(double)), r;

	if (!tmp)
		die("out of memory");
	memcpy(tmp, vals, (size_t)n * sizeof(double));
	qsort(tmp, (size_t)n, sizeof(double), cmp_double);
	r = tmp[(int)(q * (n - 1) + 0.5)];
	free(tmp);
	return r;
}

static double median_ns(const struct samples *smp, size_t k, enum variant v,
			int rounds)
{
	return quantile(smp->ns[k][v], rounds, 0.5);
}

/* Per-round (num - sub) / den, summarised as median and quartiles. */
struct ratio {
	double med, lo, hi;
};

static struct ratio ratio_of(const struct samples *smp, size_t k, int rounds,
			     enum variant num, int sub, enum variant den)
{
	double *r = malloc((size_t)rounds * sizeof(double));
	struct ratio out;

	if (!r)
		die("out of memory");
	for (int i = 0; i < rounds; i++) {
		double n = smp->ns[k][num][i];

		if (sub >= 0)
			n -= smp->ns[k][sub][i];
		r[i] = n / smp->ns[k][den][i];
	}
	out.med = quantile(r, rounds, 0.5);
	out.lo = quantile(r, rounds, 0.25);
	out.hi = quantile(r, rounds, 0.75);
	free(r);
	return out;
}

/* ---- report ------------------------------------------------------------- */

static double mean_chunk_ms(const struct samples *smp, int rounds)
{
	double total = 0;

	for (size_t k = 0; k < NCASES; k++)
		for (int v = 0; v < NVARIANTS; v++)
			for (int r = 0; r < rounds; r++)
				total += smp->ns[k][v][r] * smp->iters[k][v];
	return total / 1e6 / (double)(NCASES * NVARIANTS * (size_t)rounds);
}

static const char *alg_label(enum tcpao_alg alg)
{
	return alg == TCPAO_ALG_CMAC_AES128 ? "cmac(aes128)" : tcpao_alg_name(alg);
}

static void print_ratio(struct ratio r)
{
	printf("  %5.2f (%4.2f-%4.2f)", r.med, r.lo, r.hi);
}

static void print_library_table(const struct mac_case *cases,
				const struct samples *smp, int rounds)
{
	printf("\nBare MAC, ns per message (median), nettle vs OpenSSL libcrypto\n");
	printf("%-13s %7s %9s %8s %9s %9s %22s\n", "algorithm", "payload",
	       "MAC bytes", "nettle", "ossl-init", "ossl-dup",
	       "nettle/openssl-best");
	for (size_t k = 0; k < NCASES; k++) {
		const struct mac_case *c = &cases[k];
		double oi = median_ns(smp, k, V_OSSL_INIT, rounds);
		double od = median_ns(smp, k, V_OSSL_DUP, rounds);
		enum variant best = oi <= od ? V_OSSL_INIT : V_OSSL_DUP;

		printf("%-13s %7zu %9zu %8.0f %9.0f %9.0f", alg_label(c->alg),
		       c->payload, c->mac_input_len,
		       median_ns(smp, k, V_NETTLE, rounds), oi, od);
		print_ratio(ratio_of(smp, k, rounds, V_NETTLE, -1, best));
		printf("\n");
	}
}

static void print_engine_table(const struct mac_case *cases,
			       const struct samples *smp, int rounds)
{
	printf("\nEngine per segment vs bare nettle MAC, ns (median) and ratio engine/bare\n");
	printf("%-13s %7s %6s %6s %20s %6s %20s %7s %5s %20s\n", "algorithm",
	       "payload", "bare", "sign", "sign/bare", "verify", "verify/bare",
	       "egress", "copy", "(egress-copy)/bare");
	for (size_t k = 0; k < NCASES; k++) {
		const struct mac_case *c = &cases[k];

		printf("%-13s %7zu %6.0f %6.0f", alg_label(c->alg), c->payload,
		       median_ns(smp, k, V_NETTLE, rounds),
		       median_ns(smp, k, V_SIGN, rounds));
		print_ratio(ratio_of(smp, k, rounds, V_SIGN, -1, V_NETTLE));
		printf(" %6.0f", median_ns(smp, k, V_VERIFY, rounds));
		print_ratio(ratio_of(smp, k, rounds, V_VERIFY, -1, V_NETTLE));
		printf(" %7.0f %5.0f", median_ns(smp, k, V_EGRESS, rounds),
		       median_ns(smp, k, V_COPY, rounds));
		print_ratio(ratio_of(smp, k, rounds, V_EGRESS, V_COPY, V_NETTLE));
		printf("\n");
	}
}

static void pin_to_current_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort */
}

static void usage(void)
{
	fprintf(stderr, "usage: bench-mac [--quick]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct settings s = { .chunk_ns = 2e6, .rounds = 251 };
	static struct mac_case cases[NCASES];
	static struct samples smp;
	double t0 = now_ns();

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			s = (struct settings){ .chunk_ns = 5e5, .rounds = 21 };
		else
			usage();
	}
	pin_to_current_cpu();
	for (size_t a = 0; a < NALGS; a++)
		for (size_t z = 0; z < NSIZES; z++)
			init_case(&cases[a * NSIZES + z], bench_algs[a],
				  payload_sizes[z]);

	printf("bench-mac: IPv4 TCP segment, timestamps + AO option (MAC %d bytes),\n"
	       "%d rounds of %d variants interleaved; "
	       "ratios: median (quartiles) of per-round ratios\n",
	       MACLEN, s.rounds, (int)(NCASES * NVARIANTS));
	printf("nettle %d.%d, %s\n", nettle_version_major(),
	       nettle_version_minor(), OpenSSL_version(OPENSSL_VERSION));
	fflush(stdout);
	measure(cases, &s, &smp);
	print_library_table(cases, &smp, s.rounds);
	print_engine_table(cases, &smp, s.rounds);
	printf("\nsign = parse + tcpao_dir_sign; verify = parse + tcpao_dir_verify;\n"
	       "egress = packet copy + parse + add_ao + sign + fix_checksum; "
	       "copy = packet copy + parse\n");
	printf("%.1f ms per variant per round on average, total %.1f s\n",
	       mean_chunk_ms(&smp, s.rounds), (now_ns() - t0) / 1e9);

	for (size_t k = 0; k < NCASES; k++) {
		free_case(&cases[k]);
		for (int v = 0; v < NVARIANTS; v++)
			free(smp.ns[k][v]);
	}
	return 0;
}
