// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-publish: what a worker pays to adopt a new policy (daemon/worker.c,
 * worker_adopt_policy) as its flow table fills, in-process: a policy of
 * 10,000 peers (one /32 key each), a worker holding F flows to them, and
 * one published change, measured for F = 0, 1,000, 10,000 and 60,000
 * (sizes interleaved round by round, the best round kept):
 *
 *   other   a key for a peer no flow goes to (a new entry)
 *   own     a key for the peer of one flow (that flow's entry changes)
 *
 * The worker's packets wait while it adopts. Printed: microseconds per
 * publish, and nanoseconds per flow held (what each flow adds).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "flow.h"
#include "policy.h"
#include "worker.h"

#define PEERS 10000
#define MAX_FLOWS 65536

/* Peer i of 198.18.0.0/15. */
static struct tcpao_addr peer_of(uint32_t i)
{
	return v4(0xc6120000u + i);
}

static void add_key(struct policy *p, uint32_t peer, int id)
{
	struct tcpao_mkt m = { .sndid = (uint8_t)id, .rcvid = (uint8_t)id,
			       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
			       .key = "secret", .prefixlen = 32 };
	char err[256];

	m.peer = peer_of(peer);
	if (policy_add_key(p, &m, err, sizeof(err)))
		die(err);
}

/* A worker with `flows` flows from 198.19.255.254, spread over the peers. */
static struct worker *worker_of(size_t flows)
{
	struct worker *w = calloc(1, sizeof(*w));
	struct policy *p = policy_new();

	if (!w || !p || flow_table_init(&w->flows, MAX_FLOWS))
		die("out of memory");
	for (uint32_t i = 0; i < PEERS; i++)
		add_key(p, i, 1);
	w->state.fd = -1;
	w->policy = p;
	w->policy_epoch = 1;
	for (size_t i = 0; i < flows; i++) {
		struct flow_key fk = { .local = peer_of(131070),
				       .lport = (uint16_t)(1024 + i / PEERS),
				       .remote = peer_of((uint32_t)(i % PEERS)),
				       .rport = 179 };
		struct flow *f = flow_insert(&w->flows, &fk);

		if (!f)
			die("flow table full");
		f->peer = worker_policy_peer(w, &fk);
	}
	return w;
}

/* Seconds for one publish of a change made by adding a key. */
static double publish(struct worker *w, uint32_t peer, int id)
{
	const struct policy *old = w->policy;
	struct policy *fresh = policy_clone(old);
	double t0;

	if (!fresh)
		die("out of memory");
	add_key(fresh, peer, id);
	t0 = now_s();
	worker_adopt_policy(w, fresh);
	t0 = now_s() - t0;
	policy_free((struct policy *)old);
	return t0;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 0, 1000, 10000, 60000 };
	enum { NSIZES = sizeof(sizes) / sizeof(sizes[0]) };
	bool quick = argc > 1 && !strcmp(argv[1], "--quick");
	int rounds = quick ? 3 : 10, batch = 20;
	struct worker *w[NSIZES];
	double best[NSIZES][2];
	uint32_t fresh_peer = PEERS;

	for (int i = 0; i < NSIZES; i++) {
		w[i] = worker_of(sizes[i]);
		best[i][0] = best[i][1] = 1e9;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < NSIZES; i++) {
			double other = 0, own = 0;

			for (int b = 0; b < batch; b++) {
				other += publish(w[i], fresh_peer++, 1);
				/* a second key for peer 0, whose flows the
				 * 1,000-flow and larger tables hold */
				own += publish(w[i], 0, 2 + (r * batch + b) % 200);
			}
			best[i][0] = other / batch < best[i][0] ? other / batch : best[i][0];
			best[i][1] = own / batch < best[i][1] ? own / batch : best[i][1];
		}
	printf("%8s %12s %12s %14s %14s\n", "flows", "other-us", "own-us",
	       "other-ns/flow", "own-ns/flow");
	for (int i = 0; i < NSIZES; i++) {
		double n = sizes[i] ? (double)sizes[i] : 1;

		printf("%8zu %12.2f %12.2f %14.1f %14.1f\n", sizes[i],
		       best[i][0] * 1e6, best[i][1] * 1e6,
		       (best[i][0] - best[0][0]) * 1e9 / n,
		       (best[i][1] - best[0][1]) * 1e9 / n);
	}
	return 0;
}
