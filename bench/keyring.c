// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-keyring: what one tcpao_keyring_add() costs as the ring grows, for
 * rings of 1,000 to 100,000 keys (a listener serving that many peers, one
 * /32 each, the same ids). Sizes are interleaved round by round and the
 * best round of each is kept (CPU time: the machine is shared), so the
 * printed ratio against 1,000 keys is measured side by side. A flat cost
 * gives ratios near 1; an insert linear in the ring's size gives ~n/1000.
 */
#include <arpa/inet.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcpao.h"

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Seconds per key to fill a ring with n keys. */
static double per_key(size_t n)
{
	struct tcpao_keyring r;
	struct tcpao_mkt m = { .sndid = 1, .rcvid = 1, .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret", .prefixlen = 32 };
	double t;

	tcpao_keyring_init(&r);
	m.peer.family = AF_INET;
	t = cpu_s();
	for (size_t i = 0; i < n; i++) {
		uint32_t a = htonl(0x0a000000u + (uint32_t)i);

		memcpy(m.peer.bytes, &a, 4);
		if (tcpao_keyring_add(&r, &m)) {
			fprintf(stderr, "bench-keyring: add %zu failed\n", i);
			exit(1);
		}
	}
	t = cpu_s() - t;
	tcpao_keyring_free(&r);
	return t / (double)n;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1000, 10000, 50000, 100000 };
	enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };
	int rounds = argc > 1 && !strcmp(argv[1], "--quick") ? 2 : 7;
	double best[NSIZES];

	/* Freed memory stays in the heap: page faults are not what is
	 * measured. One warm-up fill at the largest size first. */
	mallopt(M_MMAP_THRESHOLD, 1 << 30);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	per_key(sizes[NSIZES - 1]);
	for (int i = 0; i < NSIZES; i++)
		best[i] = 1e9;
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NSIZES; i++) {
			double t = per_key(sizes[i]);

			best[i] = t < best[i] ? t : best[i];
		}
	printf("%8s %12s %10s\n", "keys", "ns/key", "vs 1k");
	for (int i = 0; i < NSIZES; i++)
		printf("%8zu %12.0f %10.2f\n", sizes[i], best[i] * 1e9,
		       best[i] / best[0]);
	return 0;
}
