// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-keyops --sockets: the socket API's key operations for ONE
 * listening socket holding N keys (one /32 peer each, sndid = rcvid = 100,
 * as Linux's bench-lookups fills its listener), through the requests the
 * preload sends (client/sockctl.c), in-process:
 *
 *   add          sock-key-add of a key for a new peer (TCP_AO_ADD_KEY)
 *   del          sock-key-del of that key (TCP_AO_DEL_KEY)
 *   match        policy_match() alone: the listener's entry, which the two
 *                lookups below start from (what they add is its keys')
 *   connect      a worker's key selection for a connection under the
 *                listener's entry (policy_match() + policy_peer_keysel())
 *   accept       a worker's lookup for a SYN from a covered peer
 *                (policy_match(), the keys of its KeyID / RNextKeyID and
 *                the room its MSS leaves for the peer's longest option)
 *   sock-accept  the request that registers an accepted socket (the
 *                listener's keys for its peer copied to its own entry)
 *
 * tcpaod's socket records are one process's state (sockets.c), and a
 * register runs a sock_diag gc of its namespace: so each size is a child
 * process with a namespace of its own, and the parent interleaves the
 * rounds (one round of every size, in turn) over pipes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "keyops.h"
#include "ops.h"
#include "policy.h"
#include "rules.h"

enum sop { S_ADD, S_DEL, S_MATCH, S_CONNECT, S_ACCEPT, S_SOCKACCEPT, NSOPS };
static const char *const sop_names[NSOPS] = { "add", "del", "match", "connect", "accept",
					      "sock-accept" };

#define LOCAL_PEER 130000u /* the listener's address */
#define LPORT 179
#define FLAGS "ao-required=0 accept-icmps=0 current=-1 rnext=-1"

struct sockbench {
	size_t keys;
	struct rules rules;
	struct daemon_ctx ctx;
	struct control *ctl;
	int client, listener;
	uint32_t fresh;   /* new peers used so far, from the top of the /15 */
	uint16_t cport;   /* the next client port of sock-accept */
};

static void addr_text(uint32_t i, char *buf, size_t len)
{
	struct tcpao_addr a;

	peer_of(i, &a);
	inet_ntop(AF_INET, a.bytes, buf, (socklen_t)len);
}

static struct sockaddr_in sin_of(uint32_t i, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct tcpao_addr a;

	peer_of(i, &a);
	memcpy(&sa.sin_addr, a.bytes, 4);
	return sa;
}

static void ask(struct sockbench *b, const char *request, int fd)
{
	ask_ctl(b->ctl, b->client, request, fd);
}

/* The whole /15 local (lo), so that real sockets can use its addresses. */
static void netns_up(void)
{
	if (unshare(CLONE_NEWNET))
		die_errno("unshare (bench-keyops needs root)");
	if (system("ip link set lo up && ip route add local 198.18.0.0/15 dev lo"))
		die_errno("ip route add local 198.18.0.0/15 dev lo");
}

static int listener_up(void)
{
	struct sockaddr_in sa = sin_of(LOCAL_PEER, LPORT);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 128))
		die_errno("listener");
	return fd;
}

/* What the preload sends for a listener with N keys: sock-begin, the
 * keys oldest first, sock-commit. */
static void register_listener(struct sockbench *b)
{
	char req[256], peer[INET_ADDRSTRLEN];

	ask(b, "sock-begin role=listen " FLAGS, b->listener);
	for (size_t i = 0; i < b->keys; i++) {
		addr_text((uint32_t)i, peer, sizeof(peer));
		snprintf(req, sizeof(req), "sock-key sndid=100,rcvid=100,alg=hmac(sha1),"
			 "secret=hex:0102030405,peer=%s/32,maclen=12", peer);
		ask(b, req, b->listener);
	}
	ask(b, "sock-commit " FLAGS, b->listener);
}

static void setup(struct sockbench *b, size_t keys)
{
	char err[256];
	int sv[2];

	memset(b, 0, sizeof(*b));
	b->keys = keys;
	b->cport = 20000;
	netns_up();
	rules_init(&b->rules, 100, 1);
	b->ctx = (struct daemon_ctx){ .policy = policy_new(), .rules = &b->rules,
				      .chain_timer = -1 };
	if (!b->ctx.policy)
		die_errno("policy_new");
	if (rules_update_sets(&b->rules, b->ctx.policy, err, sizeof(err))) {
		fprintf(errout, "bench-keyops: peer sets: %s\n", err);
		exit(1);
	}
	b->ctl = control_new(&daemon_ops, &b->ctx);
	if (!b->ctl || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) ||
	    control_adopt(b->ctl, sv[1], &bench_root))
		die_errno("control");
	b->client = sv[0];
	b->listener = listener_up();
	register_listener(b);
}

static void add_del(struct sockbench *b, int batch, double out[NSOPS])
{
	char req[256], peer[INET_ADDRSTRLEN];
	double t0;

	out[S_ADD] = out[S_DEL] = 0;
	for (int i = 0; i < batch; i++) {
		addr_text(131070 - b->fresh++, peer, sizeof(peer));
		snprintf(req, sizeof(req), "sock-key-add sndid=100,rcvid=100,alg=hmac(sha1),"
			 "secret=hex:0102030405,peer=%s/32,maclen=12 " FLAGS, peer);
		t0 = now_s();
		ask(b, req, b->listener);
		out[S_ADD] += now_s() - t0;
		snprintf(req, sizeof(req), "sock-key-del sndid=100,rcvid=100,peer=%s/32 "
			 FLAGS, peer);
		t0 = now_s();
		ask(b, req, b->listener);
		out[S_DEL] += now_s() - t0;
	}
	out[S_ADD] /= batch;
	out[S_DEL] /= batch;
}

static void lookups(struct sockbench *b, double out[NSOPS])
{
	struct tcpao_addr local;

	peer_of(LOCAL_PEER, &local);
	out[S_MATCH] = lookup_s(b->ctx.policy, &local, LPORT, b->keys, 40000, 100, SYN_MATCH);
	out[S_CONNECT] = lookup_s(b->ctx.policy, &local, LPORT, b->keys, 40000, 100, SYN_CONNECT);
	out[S_ACCEPT] = lookup_s(b->ctx.policy, &local, LPORT, b->keys, 40000, 100, SYN_ACCEPT);
}

/* A real connection from a covered peer (its own client port each time,
 * never the lookups' 40000), accepted and registered. */
static double sock_accept(struct sockbench *b)
{
	uint32_t peer = (uint32_t)(b->keys / 2);
	struct sockaddr_in from = sin_of(peer, b->cport++), to = sin_of(LOCAL_PEER, LPORT);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), a;
	double t0;

	if (c < 0 || bind(c, (struct sockaddr *)&from, sizeof(from)) ||
	    connect(c, (struct sockaddr *)&to, sizeof(to)))
		die_errno("connect");
	a = accept4(b->listener, NULL, NULL, SOCK_CLOEXEC);
	if (a < 0)
		die_errno("accept");
	t0 = now_s();
	ask(b, "sock-accept", a);
	t0 = now_s() - t0;
	close(a);
	close(c);
	return t0;
}

static void measure(struct sockbench *b, int batch, double out[NSOPS])
{
	add_del(b, batch, out);
	lookups(b, out);
	out[S_SOCKACCEPT] = 0;
	for (int i = 0; i < batch; i++)
		out[S_SOCKACCEPT] += sock_accept(b);
	out[S_SOCKACCEPT] /= batch;
}

/* A size's process: set up, then one round per byte read, its figures
 * written back; setup time first. */
static void child(size_t keys, int cmd, int res, int batch)
{
	struct sockbench b;
	double t0 = now_s(), got[NSOPS];
	char c;

	setup(&b, keys);
	got[0] = now_s() - t0;
	if (write(res, got, sizeof(got[0])) != sizeof(got[0]))
		exit(1);
	while (read(cmd, &c, 1) == 1) {
		measure(&b, batch, got);
		if (write(res, got, sizeof(got)) != sizeof(got))
			exit(1);
	}
	exit(0);
}

struct kid {
	pid_t pid;
	int cmd, res;
	double fill_s;
};

/* Spawns size k[n]; the child keeps none of its elders' pipes (or they
 * would never see their end). */
static void spawn(struct kid *k, int n, size_t keys, int batch)
{
	int cmd[2], res[2];

	if (pipe(cmd) || pipe(res))
		die_errno("pipe");
	fflush(NULL);
	k[n].pid = fork();
	if (k[n].pid < 0)
		die_errno("fork");
	if (!k[n].pid) {
		for (int i = 0; i < n; i++)
			close(k[i].cmd), close(k[i].res);
		close(cmd[1]);
		close(res[0]);
		child(keys, cmd[0], res[1], batch);
	}
	close(cmd[0]);
	close(res[1]);
	k[n].cmd = cmd[1];
	k[n].res = res[0];
	if (read(k[n].res, &k[n].fill_s, sizeof(k[n].fill_s)) != sizeof(k[n].fill_s))
		die_errno("a size's setup failed");
}

static void round_of(struct kid *k, double got[NSOPS])
{
	if (write(k->cmd, "m", 1) != 1 ||
	    read(k->res, got, sizeof(double) * NSOPS) != (ssize_t)(sizeof(double) * NSOPS))
		die_errno("a size's round failed");
}

static void print(const size_t *sizes, int nsizes, const struct kid *k,
		  double best[][NSOPS])
{
	printf("%8s %9s", "keys", "fill-s");
	for (int o = 0; o < NSOPS; o++)
		printf(" %14s-us %6s", sop_names[o], "vs 1");
	printf("\n");
	for (int i = 0; i < nsizes; i++) {
		printf("%8zu %9.2f", sizes[i], k[i].fill_s);
		for (int o = 0; o < NSOPS; o++)
			printf(" %17.3f %6.2f", best[i][o] * 1e6, best[i][o] / best[0][o]);
		printf("\n");
	}
}

int bench_sockets(const size_t *sizes, int nsizes, int rounds, int batch)
{
	struct kid k[16];
	double best[16][NSOPS];
	int status, rc = 0;

	for (int i = 0; i < nsizes; i++) {
		spawn(k, i, sizes[i], batch);
		for (int o = 0; o < NSOPS; o++)
			best[i][o] = 1e9;
	}
	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < nsizes; i++) {
			double got[NSOPS];

			round_of(&k[i], got);
			for (int o = 0; o < NSOPS; o++)
				best[i][o] = got[o] < best[i][o] ? got[o] : best[i][o];
		}
	print(sizes, nsizes, k, best);
	fflush(stdout);
	for (int i = 0; i < nsizes; i++) {
		close(k[i].cmd);
		waitpid(k[i].pid, &status, 0);
		rc |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	return rc;
}
