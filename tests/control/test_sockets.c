// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The socket API's requests (daemon/sockets.c, as the preload sends them),
 * root's key requests and reload (daemon/ops.c) through the control
 * server, the gc of a closed socket's entry and a key chain's rollover,
 * as root in a network namespace of the test's own, with each allocation
 * failing in turn (failalloc.h), once or with every one after it.
 * Whatever fails:
 *
 *   - every request gets a reply, "ok" or an error;
 *   - "ok" means the change is published, an error that it is not;
 *   - the peer sets hold every peer the published policy has keys for
 *     (a peer outside them would have its segments leave unsigned);
 *   - the same requests succeed once memory is back;
 *   - once the sockets are closed, the gc takes their entries out.
 *
 * What is lost on the way shows under ASan (LeakSanitizer): a count of
 * blocks would take an index's tombs, kept until its next rehash, for
 * leaks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "ctl.h"
#include "failalloc.h"
#include "ops.h"
#include "policy.h"
#include "rollover.h"
#include "rules.h"
#include "sockets.h"

#define LOCAL "198.18.0.1"
#define PORT 179
#define PEER1 "198.18.1.1"
#define PEER2 "198.18.1.2"
#define PEER3 "198.18.1.3"
#define KEY(peer, id) \
	"sndid=" #id ",rcvid=" #id ",alg=hmac(sha1),secret=hex:0102030405,peer=" peer "/32"
#define FLAGS "ao-required=0 accept-icmps=0 current=-1 rnext=-1"

static const struct control_client root = { .pid = 1, .uid = 0, .privileged = true };

static struct rules rules;
static struct daemon_ctx ctx;
static struct control *ctl;
static int client = -1;

/* ---- the daemon, in-process ------------------------------------------- */

static char conf_dir[] = "/tmp/tcpao-test-sockets-XXXXXX";
static char conf_path[sizeof(conf_dir) + 16], secret_path[sizeof(conf_dir) + 16];

/* tcpao.conf and the secret file of its keys, 0600 in a 0700 directory. */
static void conf_files(void)
{
	FILE *f;

	assert_non_null(mkdtemp(conf_dir));
	snprintf(conf_path, sizeof(conf_path), "%s/tcpao.conf", conf_dir);
	snprintf(secret_path, sizeof(secret_path), "%s/secret", conf_dir);
	f = fopen(secret_path, "w");
	assert_non_null(f);
	fputs("a-test-secret\n", f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(secret_path, 0600), 0);
}

static int daemon_up(void **state)
{
	char err[256];
	int sv[2];

	(void)state;
	if (geteuid() != 0 || unshare(CLONE_NEWNET) ||
	    system("ip link set lo up && ip route add local 198.18.0.0/15 dev lo") ||
	    system("ipset list -n >/dev/null 2>&1"))
		return 0; /* each test skips */
	rules_init(&rules, 100, 1);
	conf_files();
	ctx = (struct daemon_ctx){ .policy = policy_new(), .rules = &rules,
				   .config_path = conf_path, .chain_timer = -1 };
	assert_non_null(ctx.policy);
	assert_int_equal(rules_update_sets(&rules, ctx.policy, err, sizeof(err)), 0);
	ctl = control_new(&daemon_ops, &ctx);
	assert_non_null(ctl);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(control_adopt(ctl, sv[1], &root), 0);
	client = sv[0];
	return 0;
}

static int daemon_down(void **state)
{
	(void)state;
	if (client < 0)
		return 0;
	close(client);
	unlink(conf_path);
	unlink(secret_path);
	rmdir(conf_dir);
	control_close(ctl);
	rules_remove(&rules);
	policy_free(ctx.policy);
	return 0;
}

/* One request, with fd (if >= 0) in SCM_RIGHTS: 0 for "ok", else the
 * error's -errno (-EPIPE: the server hung up); the reply's text in
 * text[len] when text is given. */
static int ask_text(const char *request, int fd, char *text, size_t len)
{
	char frame[4096];
	size_t at = 0;
	int rc = 1;

	/* Sent as the preload sends it; read here, allocating nothing (the
	 * allocations that fail are the daemon's). */
	assert_int_equal(tcpao_ctl_send_many(client, &request, 1, fd), 0);
	for (int spins = 0; spins < 100000; spins++) {
		ssize_t n;

		control_handle(ctl);
		n = recv(client, frame, sizeof(frame) - 1, MSG_DONTWAIT);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0)
			return -EPIPE;
		frame[n] = '\0';
		if (text && at < len)
			at += (size_t)snprintf(text + at, len - at, "%s", frame + 1);
		if (rc == 1)
			rc = !strncmp(frame + 1, "ok", 2) ? 0 : -atoi(frame + 1 + strlen("error "));
		if (frame[0] == '.')
			return rc;
	}
	fail_msg("no reply to %s", request);
	return -ETIMEDOUT;
}

static int ask(const char *request, int fd)
{
	return ask_text(request, fd, NULL, 0);
}

/* The daemon's counter `name` (`tcpao stat`). */
static unsigned long long counter(const char *name)
{
	char text[16384], want[80];
	const char *at;

	assert_int_equal(ask_text("stat", -1, text, sizeof(text)), 0);
	snprintf(want, sizeof(want), "name=%s value=", name);
	at = strstr(text, want);
	assert_non_null(at);
	return strtoull(at + strlen(want), NULL, 10);
}

/* ---- sockets ------------------------------------------------------------ */

static struct sockaddr_in sin_of(const char *addr, uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };

	assert_int_equal(inet_pton(AF_INET, addr, &sa.sin_addr), 1);
	return sa;
}

static int listener_up(void)
{
	struct sockaddr_in sa = sin_of(LOCAL, PORT);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* A connection from peer to the listener: the accepted end in *acc. */
static int connect_from(const char *peer, int listener, int *acc)
{
	static uint16_t port = 30000;
	struct sockaddr_in from = sin_of(peer, port++), to = sin_of(LOCAL, PORT);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	assert_true(c >= 0);
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(c, (struct sockaddr *)&from, sizeof(from)), 0);
	assert_int_equal(connect(c, (struct sockaddr *)&to, sizeof(to)), 0);
	*acc = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(*acc >= 0);
	return c;
}

static uint64_t cookie_of(int fd)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len), 0);
	return c;
}

/* The keys of fd's entry in the published policy (-1: no entry). */
static int keys_of(int fd)
{
	const struct policy_peer *e = policy_sock_entry(ctx.policy, cookie_of(fd));

	return e ? (int)e->keys.n : -1;
}

/* ---- the peer sets ------------------------------------------------------ */

struct sets {
	char text[4096]; /* `ipset save` members, one a line */
	int missing;
};

static void find_member(const struct tcpao_addr *prefix, uint8_t len, void *arg)
{
	struct sets *s = arg;
	char addr[INET6_ADDRSTRLEN], line[INET6_ADDRSTRLEN + 8];

	inet_ntop(prefix->family, prefix->bytes, addr, sizeof(addr));
	if (len == 32)
		snprintf(line, sizeof(line), "\n%s\n", addr);
	else
		snprintf(line, sizeof(line), "\n%s/%u\n", addr, len);
	if (!strstr(s->text, line)) {
		print_error("%s/%u has keys and is not in the peer sets\n", addr, len);
		s->missing++;
	}
}

/* Every peer prefix of the published policy is in the peer sets. */
static void assert_sets_cover_policy(void)
{
	struct sets s = { .text = "\n" };
	FILE *f = popen("ipset save tcpao4 | sed -n 's/^add [^ ]* //p'", "r");
	size_t off = 1;

	assert_non_null(f);
	while (off < sizeof(s.text) - 1 && fgets(s.text + off, (int)(sizeof(s.text) - off), f))
		off += strlen(s.text + off);
	assert_int_equal(pclose(f), 0);
	policy_foreach_prefix(ctx.policy, find_member, &s);
	assert_int_equal(s.missing, 0);
}

/* ---- the requests, failing -------------------------------------------- */

struct scene {
	int listener, conn, acc; /* -1: none */
	uint64_t gone;           /* the cookie of acc, once closed */
	bool shifted;            /* the test clock moved */
};

/* What a scenario does before its requests (nothing fails), its
 * requests (their first error, or 0), whether the change it asked for
 * is published, and what takes it out again besides closing the scene's
 * sockets (NULL: nothing). */
struct scenario {
	const char *name;
	void (*before)(struct scene *s);
	int (*requests)(struct scene *s);
	bool (*done)(const struct scene *s);
	void (*undo)(void);
};

static int register_listener(struct scene *s)
{
	int rc = ask("sock-begin role=listen " FLAGS, s->listener);

	rc = rc ?: ask("sock-key " KEY(PEER1, 1), s->listener);
	rc = rc ?: ask("sock-key " KEY(PEER2, 2), s->listener);
	return rc ?: ask("sock-commit " FLAGS, s->listener);
}

static void listener_only(struct scene *s)
{
	s->listener = listener_up();
}

static bool listener_registered(const struct scene *s)
{
	return keys_of(s->listener) == 2;
}

static void listener_registered_before(struct scene *s)
{
	listener_only(s);
	assert_int_equal(register_listener(s), 0);
}

static int key_add(struct scene *s)
{
	return ask("sock-key-add " KEY(PEER3, 3) " " FLAGS, s->listener);
}

static bool key_added(const struct scene *s)
{
	return keys_of(s->listener) == 3;
}

static int key_del(struct scene *s)
{
	return ask("sock-key-del sndid=2,rcvid=2,peer=" PEER2 "/32 " FLAGS, s->listener);
}

static bool key_deleted(const struct scene *s)
{
	return keys_of(s->listener) == 1;
}

static void connected_before(struct scene *s)
{
	listener_registered_before(s);
	s->conn = connect_from(PEER1, s->listener, &s->acc);
}

static int accept_register(struct scene *s)
{
	return ask("sock-accept", s->acc);
}

static bool accepted(const struct scene *s)
{
	return keys_of(s->acc) == 1;
}

/* Closes the scene's sockets; the gc takes their entries out. */
/* Host keys: what root's `tcpao key add` and `key del` send, for a
 * peer of its own each run (a key-del leaves the peer's entry, without
 * keys: a new peer's key-add makes its entry). */
static char host_peer[INET_ADDRSTRLEN];

static void next_host_peer(struct scene *s)
{
	static unsigned int n;

	(void)s;
	assert_true(n < 250);
	snprintf(host_peer, sizeof(host_peer), "198.18.2.%u", ++n);
}

static int host_key_add(struct scene *s)
{
	char req[160];

	(void)s;
	snprintf(req, sizeof(req), "key-add sndid=3,rcvid=3,alg=hmac(sha1),"
		 "secret=hex:0102030405,peer=%s/32", host_peer);
	return ask(req, -1);
}

static int host_key_del(struct scene *s)
{
	char req[96];

	(void)s;
	snprintf(req, sizeof(req), "key-del sndid=3,rcvid=3,peer=%s/32", host_peer);
	return ask(req, -1);
}

static struct tcpao_addr v4_of(const char *text)
{
	struct tcpao_addr a = { .family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, text, a.bytes), 1);
	return a;
}

/* A connection from LOCAL to the host peer has a key. */
static bool host_key_in(const struct scene *s)
{
	struct tcpao_addr local = v4_of(LOCAL), peer = v4_of(host_peer);
	const struct policy_peer *e = policy_match(ctx.policy, &local, 40000, &peer, PORT);

	(void)s;
	return e && e->keys.n > 0;
}

static void host_key_gone(void)
{
	assert_int_equal(host_key_del(NULL), 0);
}

static void host_key_before(struct scene *s)
{
	next_host_peer(s);
	assert_int_equal(host_key_add(s), 0);
}

static bool host_key_out(const struct scene *s)
{
	return !host_key_in(s);
}

/* tcpao.conf reloaded (`tcpao reload`): one peer, then two. */
static void write_conf(bool second_peer)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	fprintf(f, "peer 198.18.3.1 { key id 4 alg hmac(sha1) secret-file %s; }\n", secret_path);
	if (second_peer)
		fprintf(f, "peer 198.18.3.2 { key id 4 alg hmac(sha1) secret-file %s; }\n",
			secret_path);
	assert_int_equal(fclose(f), 0);
}

static void conf_one_peer(struct scene *s)
{
	(void)s;
	write_conf(false);
	assert_int_equal(ask("reload", -1), 0);
	write_conf(true);
}

static int reload(struct scene *s)
{
	(void)s;
	return ask("reload", -1);
}

static bool second_peer_in(const struct scene *s)
{
	struct tcpao_addr local = v4_of(LOCAL), peer = v4_of("198.18.3.2");
	const struct policy_peer *e = policy_match(ctx.policy, &local, 40000, &peer, PORT);

	(void)s;
	return e && e->keys.n > 0;
}

/* A key chain's boundary passes (the test clock, as `tcpao clock shift`
 * moves it): the peer sends with key 2 from then on. A rollover the
 * peer sets refuse is tried again (the chain's timer, in a second). */
static void chain_before(struct scene *s)
{
	int64_t t = rollover_now();
	FILE *f = fopen(conf_path, "w");

	(void)s;
	assert_non_null(f);
	assert_int_equal(fchmod(fileno(f), 0600), 0);
	fprintf(f, "key-chain c {\n"
		"key id 1 alg hmac(sha1) secret-file %s send-lifetime %lld %lld;\n"
		"key id 2 alg hmac(sha1) secret-file %s send-lifetime %lld infinite;\n"
		"}\npeer 198.18.3.5 { key-chain c; }\n",
		secret_path, (long long)t - 100, (long long)t + 30, secret_path,
		(long long)t + 30);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(ask("reload", -1), 0);
}

static const struct policy_peer *chain_peer(void)
{
	struct tcpao_addr local = v4_of(LOCAL), peer = v4_of("198.18.3.5");

	return policy_match(ctx.policy, &local, 40000, &peer, PORT);
}

static bool sends_key_2(const struct scene *s)
{
	const struct policy_peer *e = chain_peer();

	(void)s;
	return e && e->current_sndid == 2;
}

static int boundary_passes(struct scene *s)
{
	if (!s->shifted) {
		int rc;

		assert_non_null(chain_peer());
		assert_int_equal(chain_peer()->current_sndid, 1);
		rc = ask("clock shift 60", -1);
		if (rc) /* not shifted */
			return rc;
		s->shifted = true;
	} else {
		daemon_rollover(&ctx);
	}
	return sends_key_2(s) ? 0 : -ENOMEM;
}

/* An accepted connection closed: the gc takes its entry out, or (no
 * memory) keeps it with its record for the next gc, which the harness's
 * retry is. Its error: the entry stays. */
static void accepted_before(struct scene *s)
{
	connected_before(s);
	assert_int_equal(accept_register(s), 0);
}

static int close_and_collect(struct scene *s)
{
	if (s->acc >= 0) { /* both ends: no socket left with its cookie */
		s->gone = cookie_of(s->acc);
		close(s->conn);
		close(s->acc);
		s->conn = s->acc = -1;
	}
	sockets_gc(&ctx);
	return policy_sock_entry(ctx.policy, s->gone) ? -ENOMEM : 0;
}

static bool collected(const struct scene *s)
{
	return s->gone && !policy_sock_entry(ctx.policy, s->gone);
}

static void scene_end(struct scene *s)
{
	int fds[] = { s->conn, s->acc, s->listener };
	uint64_t cookies[3] = { 0 };

	for (size_t i = 0; i < 3; i++)
		if (fds[i] >= 0) {
			cookies[i] = cookie_of(fds[i]);
			close(fds[i]);
		}
	sockets_gc(&ctx);
	for (size_t i = 0; i < 3; i++)
		assert_null(cookies[i] ? policy_sock_entry(ctx.policy, cookies[i]) : NULL);
}

/* Runs sc with its n-th allocation failing (0: none); true when the
 * failure happened, that is when a later n may still fail. */
static bool run_failing(const struct scenario *sc, long n, bool and_after)
{
	struct scene s = { -1, -1, -1, 0, false };
	bool fired;
	int rc;

	sc->before(&s);
	failalloc_arm(n, and_after);
	rc = sc->requests(&s);
	fired = failalloc_fired();
	if (rc && rc != -ENOMEM && rc != -ENOBUFS)
		fail_msg("%s, allocation %ld failing: error %d", sc->name, n, rc);
	assert_sets_cover_policy();
	if (rc == 0 && !sc->done(&s))
		fail_msg("%s, allocation %ld failing: ok, and not published", sc->name, n);
	if (rc && sc->done(&s))
		fail_msg("%s, allocation %ld failing: an error, and published", sc->name, n);
	if (rc && (rc = sc->requests(&s)))
		fail_msg("%s, allocation %ld failing: the retry failed, error %d", sc->name, n, rc);
	assert_true(sc->done(&s));
	assert_sets_cover_policy();
	scene_end(&s);
	if (sc->undo)
		sc->undo();
	return fired;
}

static void fail_each_allocation(const struct scenario *sc)
{
	unsigned long long refused = counter("TCPAOChangesRefused");

	for (int and_after = 0; and_after < 2; and_after++) {
		long n = 1;

		while (run_failing(sc, n, and_after) && n < 10000)
			n++;
		assert_true(n > 1); /* the requests allocate */
		print_message("%s: %ld allocations\n", sc->name, n - 1);
	}
	/* Some were made, then put back (the peer sets could not take
	 * them): every scenario's but the gc's, whose removals stay. */
	refused = counter("TCPAOChangesRefused") - refused;
	print_message("%s: %llu changes refused\n", sc->name, refused);
	assert_true(!refused == !strcmp(sc->name, "test_gc_enomem"));
}

#define SCENARIO_TEST(fn, before_fn, requests_fn, done_fn, undo_fn)               \
	static void fn(void **state)                                             \
	{                                                                        \
		static const struct scenario sc = { #fn, before_fn, requests_fn,     \
						    done_fn, undo_fn };              \
		(void)state;                                                     \
		if (client < 0)                                                  \
			skip(); /* needs root and ipset */                       \
		fail_each_allocation(&sc);                                       \
	}

SCENARIO_TEST(test_register_enomem, listener_only, register_listener, listener_registered, NULL)
SCENARIO_TEST(test_key_add_enomem, listener_registered_before, key_add, key_added, NULL)
SCENARIO_TEST(test_key_del_enomem, listener_registered_before, key_del, key_deleted, NULL)
SCENARIO_TEST(test_accept_enomem, connected_before, accept_register, accepted, NULL)
SCENARIO_TEST(test_host_key_add_enomem, next_host_peer, host_key_add, host_key_in, host_key_gone)
SCENARIO_TEST(test_host_key_del_enomem, host_key_before, host_key_del, host_key_out, NULL)
SCENARIO_TEST(test_reload_enomem, conf_one_peer, reload, second_peer_in, NULL)
SCENARIO_TEST(test_gc_enomem, accepted_before, close_and_collect, collected, NULL)
SCENARIO_TEST(test_rollover_enomem, chain_before, boundary_passes, sends_key_2, NULL)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_enomem),
		cmocka_unit_test(test_key_add_enomem),
		cmocka_unit_test(test_key_del_enomem),
		cmocka_unit_test(test_accept_enomem),
		cmocka_unit_test(test_host_key_add_enomem),
		cmocka_unit_test(test_host_key_del_enomem),
		cmocka_unit_test(test_reload_enomem),
		cmocka_unit_test(test_gc_enomem),
		cmocka_unit_test(test_rollover_enomem),
	};

	return cmocka_run_group_tests(tests, daemon_up, daemon_down);
}
