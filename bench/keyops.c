// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-keyops: what tcpaod's key operations cost as its host policy grows
 * from 1 to 100,000 keys (issue 10, "flat cost at scale"), in-process and
 * side by side. Each size is a daemon of its own (policy, peer sets in a
 * network namespace of its own, control server) holding N keys, one /32
 * peer each from 198.18.0.0/15. Every round, every size serves the same
 * requests through the real control path (text request, privilege check,
 * policy change, publish, peer sets over netlink):
 *
 *   add      key-add of a key for a new peer (a new entry, a new member
 *            of the peer set)
 *   del      key-del of that key (its entry stays, empty, as tcpaod
 *            leaves it, and so does its member)
 *   match    policy_match() alone, for an outgoing SYN: the entry the
 *            two lookups below start from (what they add is its keys')
 *   connect  the lookup an outgoing SYN of no flow costs a worker
 *            (policy_match() and the default key selection, egress.c)
 *   accept   the lookup an incoming SYN costs (policy_match(), the keys
 *            of its KeyID and RNextKeyID and the room its MSS leaves for
 *            the peer's longest option: ingress.c passive_open())
 *
 * Sizes are interleaved round by round and the best round of each kept
 * (the machine is shared), so the ratios against 1 key are measured in one
 * run. Flat costs give ratios near 1. Root (namespaces, ipset).
 *
 * --sockets: the same for one listening socket holding the N keys, through
 * the socket API's requests (keyops-sockets.c). BENCH_ROUNDS=N: N rounds
 * instead of 5 (2 with --quick), for a quieter read. The heap is the one
 * tcpaod.service gives the daemon (huge pages; GLIBC_TUNABLES= for 4 KB).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "keyops.h"
#include "ops.h"
#include "policy.h"
#include "rules.h"

struct daemon_under_test {
	size_t keys;
	double fill_s; /* policy_add_key() of its N keys, as a config load */
	int netns;
	struct rules rules;
	struct daemon_ctx ctx;
	struct control *ctl;
	int client;
	uint32_t fresh; /* new peers used so far, from the top of the /15 */
};

const struct control_client bench_root = { .pid = 1, .uid = 0, .privileged = true };
FILE *errout;

void die_errno(const char *what)
{
	fprintf(errout, "bench-keyops: %s: %s\n", what, strerror(errno));
	exit(1);
}

void peer_of(uint32_t i, struct tcpao_addr *a)
{
	*a = v4(0xc6120000u + i);
}

static struct policy *policy_of(size_t n)
{
	struct tcpao_mkt m = { .sndid = 1, .rcvid = 1, .alg = TCPAO_ALG_HMAC_SHA1,
			       .keylen = 6, .key = "secret", .prefixlen = 32 };
	struct policy *p = policy_new();
	char err[256];

	if (!p)
		die_errno("policy_new");
	for (size_t i = 0; i < n; i++) {
		peer_of((uint32_t)i, &m.peer);
		if (policy_add_key(p, &m, err, sizeof(err))) {
			fprintf(errout, "bench-keyops: key %zu: %s\n", i, err);
			exit(1);
		}
	}
	return p;
}

static void enter(const struct daemon_under_test *t)
{
	if (setns(t->netns, CLONE_NEWNET))
		die_errno("setns");
}

static void start(struct daemon_under_test *t, size_t keys)
{
	char err[256];
	int sv[2];

	t->keys = keys;
	t->fresh = 0;
	if (unshare(CLONE_NEWNET))
		die_errno("unshare (bench-keyops needs root)");
	t->netns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (t->netns < 0)
		die_errno("open netns");
	rules_init(&t->rules, 100, 1);
	t->fill_s = now_s();
	t->ctx = (struct daemon_ctx){ .policy = policy_of(keys), .rules = &t->rules,
				      .chain_timer = -1 };
	t->fill_s = now_s() - t->fill_s;
	if (rules_update_sets(&t->rules, t->ctx.policy, err, sizeof(err))) {
		fprintf(errout, "bench-keyops: peer sets: %s\n", err);
		exit(1);
	}
	t->ctl = control_new(&daemon_ops, &t->ctx);
	if (!t->ctl || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    control_adopt(t->ctl, sv[1], &bench_root))
		die_errno("control");
	t->client = sv[0];
}

static void stop(struct daemon_under_test *t)
{
	enter(t);
	close(t->client);
	control_close(t->ctl);
	rules_remove(&t->rules);
	policy_free(t->ctx.policy);
	close(t->netns);
}

void ask_ctl(struct control *ctl, int client, const char *request, int passfd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm = { 0 };
	struct iovec iov = { .iov_base = (void *)request, .iov_len = strlen(request) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	char frame[4096];
	bool first = true;
	ssize_t n;

	if (passfd >= 0) {
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &passfd, sizeof(int));
	}
	if (sendmsg(client, &msg, 0) < 0)
		die_errno("send");
	for (;;) {
		control_handle(ctl);
		n = recv(client, frame, sizeof(frame) - 1, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			die_errno("recv");
		frame[n] = '\0';
		if (first && strncmp(frame + 1, "ok", 2)) {
			fprintf(errout, "bench-keyops: %s: %s\n", request, frame + 1);
			exit(1);
		}
		first = false;
		if (frame[0] == '.')
			return;
	}
}

static void ask(struct daemon_under_test *t, const char *request)
{
	ask_ctl(t->ctl, t->client, request, -1);
}

enum op { OP_ADD, OP_DEL, OP_MATCH, OP_CONNECT, OP_ACCEPT, NOPS };
static const char *const op_names[NOPS] = { "add", "del", "match", "connect", "accept" };

/* What a worker does for a SYN of no flow; false when the peer has no key. */
static bool syn_lookup(const struct policy *policy, const struct tcpao_addr *local,
		       uint16_t lport, const struct tcpao_addr *peer, uint16_t pport,
		       uint8_t id, enum syn_lookup what)
{
	const struct policy_peer *p = policy_match(policy, local, lport, peer, pport);
	struct tcpao_synkeys keys;
	struct tcpao_keysel sel;

	if (!p)
		return false;
	if (what == SYN_MATCH)
		return true;
	if (what == SYN_CONNECT)
		return !policy_peer_keysel(p, peer, 0, &sel);
	tcpao_keyring_syn(&p->keys, peer, 0, id, id, &keys);
	return keys.rcv && keys.snd && keys.room > 0;
}

double lookup_s(const struct policy *policy, const struct tcpao_addr *local,
		uint16_t lport, size_t keys, uint16_t pport, uint8_t id,
		enum syn_lookup what)
{
	enum { SLICES = 10, PER_SLICE = 1024, PEERS = 16 };
	struct tcpao_addr peers[PEERS];
	double best = 1e9;

	for (size_t j = 0; j < PEERS; j++)
		peer_of((uint32_t)(keys < PEERS ? j % keys : j * (keys / PEERS)), &peers[j]);
	for (int s = 0; s < SLICES; s++) {
		double t0 = now_s(), t;
		size_t found = 0;

		for (int i = 0; i < PER_SLICE; i++)
			found += syn_lookup(policy, local, lport, &peers[i % PEERS], pport, id,
					    what);
		t = (now_s() - t0) / PER_SLICE;
		best = t < best ? t : best;
		if (found != PER_SLICE) {
			fprintf(errout, "bench-keyops: a SYN's peer has no key\n");
			exit(1);
		}
	}
	return best;
}

/* Seconds per operation, one batch of each on t. */
static void measure(struct daemon_under_test *t, int batch, double out[NOPS])
{
	struct tcpao_addr local, peer;
	char request[160], text[INET_ADDRSTRLEN];
	double t0;

	enter(t);
	out[OP_ADD] = out[OP_DEL] = 0;
	for (int i = 0; i < batch; i++) {
		peer_of(131070 - t->fresh++, &peer);
		inet_ntop(AF_INET, peer.bytes, text, sizeof(text));
		snprintf(request, sizeof(request),
			 "key-add sndid=7,rcvid=7,alg=hmac(sha1),secret=hex:0102030405,peer=%s/32",
			 text);
		t0 = now_s();
		ask(t, request);
		out[OP_ADD] += now_s() - t0;
		snprintf(request, sizeof(request), "key-del sndid=7,rcvid=7,peer=%s/32", text);
		t0 = now_s();
		ask(t, request);
		out[OP_DEL] += now_s() - t0;
	}
	out[OP_ADD] /= batch;
	out[OP_DEL] /= batch;
	peer_of(131071, &local);
	out[OP_MATCH] = lookup_s(t->ctx.policy, &local, 40000, t->keys, 179, 1, SYN_MATCH);
	out[OP_CONNECT] = lookup_s(t->ctx.policy, &local, 40000, t->keys, 179, 1, SYN_CONNECT);
	out[OP_ACCEPT] = lookup_s(t->ctx.policy, &local, 179, t->keys, 40000, 1, SYN_ACCEPT);
}

/* The daemon's heap as tcpaod.service gives it (transparent huge pages):
 * re-executed with the unit's GLIBC_TUNABLES unless the caller set its
 * own (GLIBC_TUNABLES= measures 4 KB pages). */
static void heap_as_the_unit(char **argv)
{
	if (getenv("GLIBC_TUNABLES"))
		return;
	if (setenv("GLIBC_TUNABLES", HEAP_TUNABLES, 1) == 0)
		execv("/proc/self/exe", argv);
	unsetenv("GLIBC_TUNABLES"); /* not re-executed: as it is */
}

/* Every size on one CPU: a process the scheduler keeps on a busier CPU
 * than the others ran its lookups 1.5x slower in every round (measured:
 * one size of five, a different one each run). Returns the CPU. */
static int one_cpu(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

int main(int argc, char **argv)
{
	enum { NSIZES = 8 };
	size_t sizes[NSIZES] = { 1, 100, 1000, 10000, 100000 };
	bool quick = argc > 1 && !strcmp(argv[argc - 1], "--quick");
	/* --quick: fewer and shorter rounds, every size. */
	int rounds = quick ? 2 : 5, batch = quick ? 5 : 20, nsizes = 5;
	const char *more = getenv("BENCH_ROUNDS"); /* a quieter read: more rounds */
	const char *only = getenv("BENCH_SIZES"); /* to profile: "1,100000" */
	struct daemon_under_test t[NSIZES];
	double best[NSIZES][NOPS];

	heap_as_the_unit(argv);
	printf("heap: GLIBC_TUNABLES=%s; cpu %d\n", getenv("GLIBC_TUNABLES") ?: "", one_cpu());
	errout = fdopen(dup(STDERR_FILENO), "w");
	if (!errout || !freopen("/dev/null", "w", stderr))
		return 1;
	if (geteuid() != 0) {
		fprintf(errout, "bench-keyops: needs root (network namespaces, ipset)\n");
		return 77;
	}
	if (more && atoi(more) > 0)
		rounds = atoi(more);
	for (nsizes = only ? 0 : nsizes; only && *only && nsizes < NSIZES; nsizes++) {
		char *end;

		sizes[nsizes] = strtoul(only, &end, 10);
		if (end == only || sizes[nsizes] < 1 || sizes[nsizes] > 120000) {
			fprintf(errout, "bench-keyops: BENCH_SIZES: 1 to 120000, by commas\n");
			return 2;
		}
		only = *end == ',' ? end + 1 : end;
	}
	if (argc > 1 && !strcmp(argv[1], "--sockets"))
		return bench_sockets(sizes, nsizes, rounds, batch);
	for (int i = 0; i < nsizes; i++) {
		start(&t[i], sizes[i]);
		for (int o = 0; o < NOPS; o++)
			best[i][o] = 1e9;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < nsizes; i++) {
			double got[NOPS];

			measure(&t[i], batch, got);
			for (int o = 0; o < NOPS; o++)
				best[i][o] = got[o] < best[i][o] ? got[o] : best[i][o];
		}
	printf("%8s %9s", "keys", "fill-s");
	for (int o = 0; o < NOPS; o++)
		printf(" %10s-us %6s", op_names[o], "vs 1");
	printf("\n");
	for (int i = 0; i < nsizes; i++) {
		printf("%8zu %9.2f", sizes[i], t[i].fill_s);
		for (int o = 0; o < NOPS; o++)
			printf(" %13.3f %6.2f", best[i][o] * 1e6, best[i][o] / best[0][o]);
		printf("\n");
	}
	for (int i = 0; i < nsizes; i++)
		stop(&t[i]);
	return 0;
}
