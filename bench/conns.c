// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-conns: what tcpaod's policy pays per connection of an AO socket
 * as one peer's connections pile up (a server's clients behind one
 * address, or TIME-WAIT sockets: each keeps its entry), in-process: a
 * policy with a host key for the peer and C connected sockets' entries to
 * it, for C = 1, 1,000, 10,000 and 60,000 (sizes interleaved round by
 * round, the best round kept):
 *
 *   commit   a new socket's entry on a clone (sock-commit of connect())
 *   close    a socket's entry removed on a clone (its destroy notification)
 *   lookup   a worker's match of one of the connections (its SYN)
 *
 * Printed: microseconds per operation, and each size's cost over the
 * 1-connection cost.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "policy.h"

#define NSIZES 4
#define NOPS 3
#define BATCH 200
#define LPORT_BASE 1024

static const size_t sizes[NSIZES] = { 1, 1000, 10000, 60000 };
static const char *const op_names[NOPS] = { "commit", "close", "lookup" };

#define PEER 0xc6120009u  /* 198.18.0.9 */
#define LOCAL 0xc6120001u /* 198.18.0.1 */

static struct tcpao_mkt mkt(void)
{
	struct tcpao_mkt m = { .sndid = 100, .rcvid = 100, .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret", .prefixlen = 32 };

	m.peer = v4(PEER);
	return m;
}

/* The entry connect() registers: the peer's port 179 from lport. */
static void commit(struct policy *p, uint64_t cookie, uint16_t lport)
{
	struct policy_sock ps = { .cookie = cookie, .uid = 1000 };
	struct policy_scope s = { .peer_len = 32, .local_port = lport, .remote_port = 179 };
	struct tcpao_mkt m = mkt();
	struct tcpao_keyring ring;
	char err[256];
	int rc;

	s.peer = v4(PEER);
	tcpao_keyring_init(&ring);
	if (tcpao_keyring_add(&ring, &m) ||
	    !policy_sock_set(p, &ps, &s, &ring, false, NULL, 0, &rc, err, sizeof(err)))
		die("policy_sock_set");
	tcpao_keyring_free(&ring);
}

static struct policy *policy_of(size_t conns)
{
	struct policy *p = policy_new();
	struct tcpao_mkt m = mkt();
	char err[256];

	if (!p || policy_add_key(p, &m, err, sizeof(err)))
		die("out of memory");
	for (size_t i = 0; i < conns; i++)
		commit(p, 1 + i, (uint16_t)(LPORT_BASE + i));
	return p;
}

/* One batch of each operation, seconds per operation. */
static void measure(struct policy **pp, size_t conns, double out[NOPS])
{
	struct tcpao_addr local = v4(LOCAL), remote = v4(PEER);
	uint64_t cookie = 1000000;
	double t0 = now_s();

	for (int i = 0; i < BATCH; i++) { /* commit, then close: size kept */
		struct policy *next = policy_clone(*pp);

		if (!next)
			die("out of memory");
		commit(next, cookie + (uint64_t)i, (uint16_t)(LPORT_BASE + conns + (size_t)i));
		policy_free(*pp);
		*pp = next;
	}
	out[0] = (now_s() - t0) / BATCH;
	t0 = now_s();
	for (int i = 0; i < BATCH; i++) {
		struct policy *next = policy_clone(*pp);

		if (!next || policy_sock_remove(next, cookie + (uint64_t)i))
			die("policy_sock_remove");
		policy_free(*pp);
		*pp = next;
	}
	out[1] = (now_s() - t0) / BATCH;
	t0 = now_s();
	for (int i = 0; i < BATCH * 50; i++) {
		uint16_t lport = (uint16_t)(LPORT_BASE + (size_t)i * 7919 % conns);

		if (!policy_match(*pp, &local, lport, &remote, 179))
			die("no match");
	}
	out[2] = (now_s() - t0) / (BATCH * 50);
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 && !strcmp(argv[1], "--quick") ? 3 : 10;
	struct policy *p[NSIZES];
	double best[NSIZES][NOPS];

	for (int s = 0; s < NSIZES; s++) {
		p[s] = policy_of(sizes[s]);
		for (int o = 0; o < NOPS; o++)
			best[s][o] = 1e9;
	}
	for (int r = 0; r < rounds; r++)
		for (int s = 0; s < NSIZES; s++) {
			double got[NOPS];

			measure(&p[s], sizes[s], got);
			for (int o = 0; o < NOPS; o++)
				best[s][o] = got[o] < best[s][o] ? got[o] : best[s][o];
		}
	printf("%-12s", "connections");
	for (int o = 0; o < NOPS; o++)
		printf("%14s µs  (x1)", op_names[o]);
	printf("\n");
	for (int s = 0; s < NSIZES; s++) {
		printf("%-12zu", sizes[s]);
		for (int o = 0; o < NOPS; o++)
			printf("%17.3f (%4.2f)", best[s][o] * 1e6, best[s][o] / best[0][o]);
		printf("\n");
		policy_free(p[s]);
	}
	return 0;
}
