// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control protocol (daemon/control.c with client/ctl.c) over
 * socketpairs and a private path socket: requests reach the callbacks
 * parsed and checked, privilege is enforced, malformed and hostile
 * messages get error replies, large replies arrive whole, a client that
 * does not read never blocks the server, and no reply holds a secret.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "control.h"
#include "ctl.h"

/* ---- a fake daemon ----------------------------------------------------- */

struct fake {
	int calls;
	struct control_key_add add;
	struct control_key_del del;
	struct control_key_set set;
	int fail_with;
	size_t show_records;
	const char *show_value;
	struct policy *policy;
};

static struct fake fake;

static int fake_key_add(void *ctx, const struct control_key_add *req,
			struct control_reply *out)
{
	fake.calls++;
	fake.add = *req;
	return fake.fail_with;
}

static int fake_key_del(void *ctx, const struct control_key_del *req,
			struct control_reply *out)
{
	fake.calls++;
	fake.del = *req;
	if (fake.fail_with)
		return control_reply_error(out, fake.fail_with,
					   "key sndid %u is used by 3 live flows", req->ref.sndid);
	return 0;
}

static int fake_key_set(void *ctx, const struct control_key_set *req,
			struct control_reply *out)
{
	fake.calls++;
	fake.set = *req;
	return fake.fail_with;
}

static int fake_key_list(void *ctx, struct control_reply *out)
{
	fake.calls++;
	if (fake.policy)
		control_reply_keys(out, fake.policy);
	return 0;
}

static int fake_show(void *ctx, struct control_reply *out)
{
	struct tcpao_addr a;

	fake.calls++;
	tcpao_addr_parse("fd00::1", &a, NULL);
	for (size_t i = 0; i < fake.show_records; i++) {
		control_reply_record(out, "flow");
		control_reply_addr(out, "local", &a, 179);
		control_reply_u64(out, "n", i);
		control_reply_str(out, "note", fake.show_value ? fake.show_value : "-");
	}
	return 0;
}

static int fake_stat(void *ctx, struct control_reply *out)
{
	fake.calls++;
	control_reply_counter(out, "TCPAOGood", 42);
	control_reply_counter(out, "TCPAOBad", 0);
	return 0;
}

static int fake_reload(void *ctx, struct control_reply *out)
{
	fake.calls++;
	return fake.fail_with;
}

static const struct control_ops ops = {
	.key_add = fake_key_add, .key_del = fake_key_del, .key_set = fake_key_set,
	.key_list = fake_key_list, .show = fake_show, .stat = fake_stat,
	.reload = fake_reload,
};

/* ---- plumbing ---------------------------------------------------------- */

struct conn_pair {
	struct control *ctl;
	int client;
};

static const struct control_client root = { .pid = 1, .uid = 0, .privileged = true };
static const struct control_client nobody = { .pid = 2, .uid = 65534, .privileged = false };

static struct conn_pair pair(const struct control_client *who)
{
	struct conn_pair p;
	int sv[2];
	struct timeval tv = { 5, 0 };

	memset(&fake, 0, sizeof(fake));
	p.ctl = control_new(&ops, NULL);
	assert_non_null(p.ctl);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(control_adopt(p.ctl, sv[1], who), 0);
	p.client = sv[0];
	return p;
}

static void unpair(struct conn_pair *p)
{
	close(p->client);
	control_close(p->ctl);
	policy_free(fake.policy);
	fake.policy = NULL;
}

struct call {
	int fd;
	const char *request;
	struct tcpao_ctl_reply reply;
	int rc;
	atomic_bool done;
};

static void *client_thread(void *arg)
{
	struct call *c = arg;

	c->rc = tcpao_ctl_request(c->fd, c->request, &c->reply);
	atomic_store(&c->done, true);
	return NULL;
}

/* Runs the server loop until the client thread has its reply (5 s max). */
static void serve_until(struct control *ctl, atomic_bool *done)
{
	for (int i = 0; i < 5000 && !atomic_load(done); i++) {
		struct pollfd pfd = { .fd = control_fd(ctl), .events = POLLIN };

		if (poll(&pfd, 1, 1) > 0)
			control_handle(ctl);
	}
	assert_true(atomic_load(done));
}

/* One request through the real client; returns the reply status. */
static int ask(struct conn_pair *p, const char *request, struct tcpao_ctl_reply *reply)
{
	struct call c = { .fd = p->client, .request = request };
	pthread_t t;

	assert_int_equal(pthread_create(&t, NULL, client_thread, &c), 0);
	serve_until(p->ctl, &c.done);
	pthread_join(t, NULL);
	assert_int_equal(c.rc, 0);
	*reply = c.reply;
	return reply->status;
}

static int ask_status(struct conn_pair *p, const char *request)
{
	struct tcpao_ctl_reply r;
	int status = ask(p, request, &r);

	tcpao_ctl_reply_free(&r);
	return status;
}

/* Sends raw bytes and returns the whole reply text ("ok\n..." or
 * "error N ..."), read frame by frame (caller frees). */
static char *raw(struct conn_pair *p, const void *msg, size_t len)
{
	char *text = NULL, *frame = malloc(TCPAO_CTL_FRAME_MAX);
	size_t total = 0;
	ssize_t n;

	assert_non_null(frame);
	assert_int_equal(send(p->client, msg, len, 0), (ssize_t)len);
	for (;;) {
		for (int i = 0; i < 100; i++)
			control_handle(p->ctl);
		n = recv(p->client, frame, TCPAO_CTL_FRAME_MAX, 0);
		assert_true(n > 0);
		assert_true(frame[0] == '+' || frame[0] == '.');
		text = realloc(text, total + (size_t)n);
		memcpy(text + total, frame + 1, (size_t)n - 1);
		total += (size_t)n - 1;
		text[total] = '\0';
		if (frame[0] == '.')
			break;
	}
	free(frame);
	return text;
}

static void expect_raw_error(struct conn_pair *p, const void *msg, size_t len,
			     int err, const char *message)
{
	char want[64], *text = raw(p, msg, len);

	snprintf(want, sizeof(want), "error %d ", err);
	if (strncmp(text, want, strlen(want)) || (message && !strstr(text, message)))
		fail_msg("got \"%s\", want \"%s%s\"", text, want, message ? message : "");
	free(text);
}

/* ---- requests ---------------------------------------------------------- */

static void test_ping_and_stat(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct tcpao_ctl_reply r;
	struct tcpao_ctl_record rec;
	char *cur;

	(void)state;
	assert_int_equal(ask(&p, "ping", &r), 0);
	cur = r.body;
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(rec.type, "tcpaod");
	assert_string_equal(tcpao_ctl_field(&rec, "privileged"), "no");
	tcpao_ctl_reply_free(&r);

	assert_int_equal(ask(&p, "stat\n", &r), 0);
	cur = r.body;
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(rec.type, "counter");
	assert_string_equal(tcpao_ctl_field(&rec, "name"), "TCPAOGood");
	assert_string_equal(tcpao_ctl_field(&rec, "value"), "42");
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(tcpao_ctl_field(&rec, "name"), "TCPAOBad");
	assert_false(tcpao_ctl_next_record(&cur, &rec));
	tcpao_ctl_reply_free(&r);
	unpair(&p);
}

static void test_key_add_parsed(void **state)
{
	struct conn_pair p = pair(&root);

	(void)state;
	assert_int_equal(ask_status(&p, "key-add sndid=1,rcvid=2,alg=hmac(sha1),secret=hex:0a0b,"
					"peer=198.18.0.0/24,maclen=16,exclude-options current"), 0);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(fake.add.mkt.sndid, 1);
	assert_int_equal(fake.add.mkt.rcvid, 2);
	assert_int_equal(fake.add.mkt.maclen, 16);
	assert_int_equal(fake.add.mkt.keylen, 2);
	assert_int_equal(fake.add.mkt.prefixlen, 24);
	assert_int_equal(fake.add.mkt.flags, TCPAO_MKT_EXCLUDE_OPT);
	assert_true(fake.add.set_current);
	assert_false(fake.add.set_rnext);

	/* Errors from the daemon come back with their errno. */
	fake.fail_with = -EEXIST;
	assert_int_equal(ask_status(&p, "key-add id=1,alg=hmac(sha1),secret=x,peer=198.18.0.2 rnext"), -EEXIST);
	assert_true(fake.add.set_rnext);
	unpair(&p);
}

static void test_key_add_rejected(void **state)
{
	struct conn_pair p = pair(&root);
	struct tcpao_ctl_reply r;

	(void)state;
	assert_int_equal(ask(&p, "key-add id=1,alg=hmac(sha1),secret=x", &r), -EINVAL);
	assert_non_null(strstr(r.message, "peer"));
	tcpao_ctl_reply_free(&r);
	assert_int_equal(ask(&p, "key-add id=1,alg=hmac(md4),secret=x,peer=198.18.0.2", &r), -EINVAL);
	assert_non_null(strstr(r.message, "unknown algorithm"));
	tcpao_ctl_reply_free(&r);
	assert_int_equal(ask(&p, "key-add id=1,alg=hmac(sha1),secret-file=/etc/shadow,peer=198.18.0.2", &r), -EINVAL);
	assert_non_null(strstr(r.message, "secret-file is read by the client"));
	tcpao_ctl_reply_free(&r);
	assert_int_equal(ask_status(&p, "key-add id=1,alg=hmac(sha1),secret=x,peer=198.18.0.2 sideways"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-add"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-add a b c d"), -E2BIG);
	assert_int_equal(fake.calls, 0);
	unpair(&p);
}

static void test_privilege(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct tcpao_ctl_reply r;

	(void)state;
	assert_int_equal(ask(&p, "key-add id=1,alg=hmac(sha1),secret=x,peer=198.18.0.2", &r), -EPERM);
	assert_non_null(strstr(r.message, "root or CAP_NET_ADMIN"));
	tcpao_ctl_reply_free(&r);
	assert_int_equal(ask_status(&p, "key-del id=1"), -EPERM);
	assert_int_equal(ask_status(&p, "key-set current=1"), -EPERM);
	assert_int_equal(ask_status(&p, "reload"), -EPERM);
	assert_int_equal(fake.calls, 0);
	/* Reading is allowed. */
	assert_int_equal(ask_status(&p, "key-list"), 0);
	assert_int_equal(ask_status(&p, "show"), 0);
	assert_int_equal(ask_status(&p, "stat"), 0);
	assert_int_equal(fake.calls, 3);
	unpair(&p);
}

static void test_key_del_and_set(void **state)
{
	struct conn_pair p = pair(&root);
	struct tcpao_ctl_reply r;

	(void)state;
	assert_int_equal(ask_status(&p, "key-del sndid=1,rcvid=2,peer=fd00::/64 current=3 rnext=4"), 0);
	assert_int_equal(fake.del.ref.sndid, 1);
	assert_int_equal(fake.del.ref.rcvid, 2);
	assert_int_equal(fake.del.ref.peer.family, AF_INET6);
	assert_int_equal(fake.del.ref.peer_len, 64);
	assert_int_equal(fake.del.new_current, 3);
	assert_int_equal(fake.del.new_rnext, 4);
	assert_int_equal(ask_status(&p, "key-del id=9"), 0);
	assert_int_equal(fake.del.ref.peer.family, AF_UNSPEC);
	assert_int_equal(fake.del.new_current, -1);

	fake.fail_with = -EBUSY;
	assert_int_equal(ask(&p, "key-del id=9", &r), -EBUSY);
	assert_string_equal(r.message, "key sndid 9 is used by 3 live flows");
	tcpao_ctl_reply_free(&r);
	fake.fail_with = 0;

	assert_int_equal(ask_status(&p, "key-set peer=198.18.0.2 current=5 rnext=6"), 0);
	assert_int_equal(fake.set.current, 5);
	assert_int_equal(fake.set.rnext, 6);
	assert_int_equal(fake.set.peer_len, 32);
	assert_int_equal(ask_status(&p, "key-set rnext=7"), 0);
	assert_int_equal(fake.set.current, -1);
	assert_int_equal(fake.set.peer.family, AF_UNSPEC);

	fake.calls = 0;
	assert_int_equal(ask_status(&p, "key-del sndid=1"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-del sndid=1,rcvid=256"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-del sndid=1,rcvid=2,peer=nowhere"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-del sndid=1,rcvid=2,colour=red"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-del id=1 current=-1"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-set"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-set current=300"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-set current=1x"), -EINVAL);
	assert_int_equal(ask_status(&p, "key-set peer=198.18.0.2"), -EINVAL);
	assert_int_equal(fake.calls, 0);
	unpair(&p);
}

static void test_key_list_hides_secrets(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct tcpao_mkt m = { .sndid = 1, .rcvid = 2, .alg = TCPAO_ALG_CMAC_AES128,
			       .keylen = 16, .key = "SuperSecretKey16" };
	struct tcpao_ctl_reply r;
	struct tcpao_ctl_record rec;
	char err[128], *cur;

	(void)state;
	fake.policy = policy_new();
	tcpao_addr_parse("198.18.0.2/32", &m.peer, &m.prefixlen);
	assert_int_equal(policy_add_key(fake.policy, &m, err, sizeof(err)), 0);
	assert_int_equal(ask(&p, "key-list", &r), 0);
	assert_null(strstr(r.body, "SuperSecret"));
	assert_null(strstr(r.body, "5375706572")); /* "Super" in hex */
	cur = r.body;
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(rec.type, "peer");
	assert_string_equal(tcpao_ctl_field(&rec, "peer"), "198.18.0.2/32");
	assert_string_equal(tcpao_ctl_field(&rec, "ao-required"), "yes");
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(rec.type, "key");
	assert_string_equal(tcpao_ctl_field(&rec, "alg"), "cmac(aes)");
	assert_string_equal(tcpao_ctl_field(&rec, "sndid"), "1");
	assert_string_equal(tcpao_ctl_field(&rec, "rcvid"), "2");
	assert_string_equal(tcpao_ctl_field(&rec, "maclen"), "12");
	assert_string_equal(tcpao_ctl_field(&rec, "current"), "yes");
	assert_null(tcpao_ctl_field(&rec, "secret"));
	assert_null(tcpao_ctl_field(&rec, "key"));
	tcpao_ctl_reply_free(&r);
	unpair(&p);
}

/* ---- replies ----------------------------------------------------------- */

static void test_escaped_values(void **state)
{
	struct conn_pair p = pair(&nobody);
	static const char value[] = "a b=c%d\ne\x7f\xc3\xa9";
	struct tcpao_ctl_reply r;
	struct tcpao_ctl_record rec;
	char *cur;

	(void)state;
	fake.show_records = 1;
	fake.show_value = value;
	assert_int_equal(ask(&p, "show", &r), 0);
	assert_null(strchr(r.body, '\x7f'));
	cur = r.body;
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	assert_string_equal(tcpao_ctl_field(&rec, "note"), value);
	assert_string_equal(tcpao_ctl_field(&rec, "local"), "[fd00::1]:179");
	assert_false(tcpao_ctl_next_record(&cur, &rec));
	tcpao_ctl_reply_free(&r);
	unpair(&p);
}

static void test_large_reply_in_frames(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct tcpao_ctl_reply r;
	struct tcpao_ctl_record rec;
	size_t n = 0;
	char *cur;

	(void)state;
	fake.show_records = 20000; /* about 1 MB: many frames */
	assert_int_equal(ask(&p, "show", &r), 0);
	assert_true(r.len > 10 * TCPAO_CTL_FRAME_MAX);
	cur = r.body;
	while (tcpao_ctl_next_record(&cur, &rec)) {
		char want[24];

		snprintf(want, sizeof(want), "%zu", n++);
		assert_string_equal(tcpao_ctl_field(&rec, "n"), want);
	}
	assert_int_equal(n, 20000);
	tcpao_ctl_reply_free(&r);
	unpair(&p);
}

static void test_reply_too_large(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct tcpao_ctl_reply r;

	(void)state;
	fake.show_records = 600000; /* > 16 MiB of records */
	assert_int_equal(ask(&p, "show", &r), -EMSGSIZE);
	assert_int_equal(r.len, 0);
	tcpao_ctl_reply_free(&r);
	/* The connection still works. */
	assert_int_equal(ask_status(&p, "ping"), 0);
	unpair(&p);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A client that asks for a big reply and does not read it must not stall
 * the server; it gets the rest of its reply when it reads, in order. */
static void test_slow_reader_does_not_block(void **state)
{
	struct conn_pair p = pair(&nobody);
	struct conn_pair other;
	char *text;
	int sv[2];
	double t0;

	(void)state;
	fake.show_records = 50000;
	assert_int_equal(send(p.client, "show", 4, 0), 4);
	t0 = now();
	for (int i = 0; i < 50; i++)
		control_handle(p.ctl);
	assert_true(now() - t0 < 2.0);
	/* Another client is served meanwhile. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_int_equal(control_adopt(p.ctl, sv[1], &nobody), 0);
	other.ctl = p.ctl;
	other.client = sv[0];
	text = raw(&other, "ping", 4);
	assert_true(!strncmp(text, "ok\n", 3));
	free(text);
	close(sv[0]);
	/* Now read the big one: the server resumes on EPOLLOUT. */
	{
		char *frame = malloc(TCPAO_CTL_FRAME_MAX);
		size_t frames = 0;
		ssize_t n;

		for (;;) {
			for (int i = 0; i < 10; i++)
				control_handle(p.ctl);
			n = recv(p.client, frame, TCPAO_CTL_FRAME_MAX, 0);
			assert_true(n > 0);
			frames++;
			if (frame[0] == '.')
				break;
		}
		assert_true(frames > 10);
		free(frame);
	}
	assert_int_equal(ask_status(&p, "ping"), 0);
	unpair(&p);
}

/* The status lines of the replies waiting on the client, in order
 * (each reply one frame here), without waiting for more. */
static size_t queued_replies(int client, char status[][8], size_t max)
{
	char frame[512];
	size_t n = 0;
	ssize_t len;

	while (n < max && (len = recv(client, frame, sizeof(frame) - 1, MSG_DONTWAIT)) > 0) {
		frame[len] = '\0';
		assert_int_equal(frame[0], '.');
		snprintf(status[n++], 8, "%.*s", (int)strcspn(frame + 1, " \n"), frame + 1);
	}
	return n;
}

/* Requests queued together are served in one pass, their replies in
 * order; no more than a batch at once. */
static void test_queued_requests_one_pass(void **state)
{
	struct conn_pair p = pair(&nobody);
	const char *reqs[] = { "ping", "nonsense", "stat", "key-add x", "ping" };
	const char *want[] = { "ok", "error", "ok", "error", "ok" };
	char status[64][8];

	(void)state;
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(send(p.client, reqs[i], strlen(reqs[i]), 0),
				 (ssize_t)strlen(reqs[i]));
	control_handle(p.ctl);
	assert_int_equal(queued_replies(p.client, status, 64), 5);
	for (size_t i = 0; i < 5; i++)
		assert_string_equal(status[i], want[i]);
	for (int i = 0; i < 40; i++)
		assert_int_equal(send(p.client, "ping", 4, 0), 4);
	control_handle(p.ctl);
	assert_int_equal(queued_replies(p.client, status, 64), 32);
	control_handle(p.ctl);
	assert_int_equal(queued_replies(p.client, status, 64), 8);
	assert_int_equal(control_client_count(p.ctl), 1);
	unpair(&p);
}

/* A client that shuts down writing after its requests gets every reply,
 * then the end: the server closes as it replies. */
static void test_requests_then_shutdown(void **state)
{
	struct conn_pair p = pair(&nobody);
	char status[8][8], byte;

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(send(p.client, "ping", 4, 0), 4);
	assert_int_equal(shutdown(p.client, SHUT_WR), 0);
	control_handle(p.ctl);
	assert_int_equal(control_client_count(p.ctl), 0);
	assert_int_equal(queued_replies(p.client, status, 8), 3);
	assert_string_equal(status[2], "ok");
	assert_int_equal(recv(p.client, &byte, 1, MSG_DONTWAIT), 0);
	unpair(&p);
}

/* A big reply stops the reading: the request after it is answered after
 * it, once the client has read it. */
static void test_big_reply_then_request(void **state)
{
	struct conn_pair p = pair(&nobody);
	char *frame = malloc(TCPAO_CTL_FRAME_MAX);
	size_t replies = 0;
	ssize_t n;

	(void)state;
	assert_non_null(frame);
	fake.show_records = 50000;
	assert_int_equal(send(p.client, "show", 4, 0), 4);
	assert_int_equal(send(p.client, "ping", 4, 0), 4);
	while (replies < 2) {
		for (int i = 0; i < 10; i++)
			control_handle(p.ctl);
		n = recv(p.client, frame, TCPAO_CTL_FRAME_MAX, 0);
		assert_true(n > 0);
		if (frame[0] == '.')
			replies++;
	}
	/* The last frame is ping's whole reply, after show's. */
	assert_true(n >= 4 && n < 100);
	assert_memory_equal(frame, ".ok\n", 4);
	free(frame);
	unpair(&p);
}

/* ---- hostile messages -------------------------------------------------- */

static void test_malformed(void **state)
{
	struct conn_pair p = pair(&root);
	char big[TCPAO_CTL_REQUEST_MAX + 100];

	(void)state;
	expect_raw_error(&p, "", 0 + 1, EINVAL, NULL); /* a lone NUL */
	expect_raw_error(&p, "   ", 3, EINVAL, "empty request");
	expect_raw_error(&p, "\n", 1, EINVAL, "empty request");
	expect_raw_error(&p, "ping\0stat", 9, EINVAL, "NUL byte");
	expect_raw_error(&p, "ping\nstat", 9, EINVAL, "control character");
	expect_raw_error(&p, "pi\x1bng", 5, EINVAL, "control character");
	expect_raw_error(&p, "ping \xff", 6, EINVAL, "not ASCII");
	expect_raw_error(&p, "launch-missiles", 15, EINVAL, "unknown command");
	expect_raw_error(&p, "ping a", 6, E2BIG, "too many arguments");
	expect_raw_error(&p, "a b c d e f g h i j", 19, E2BIG, "too many arguments");
	memset(big, 'a', sizeof(big));
	expect_raw_error(&p, big, sizeof(big), EMSGSIZE, "longer than 4096");
	memcpy(big, "key-add ", 8);
	expect_raw_error(&p, big, TCPAO_CTL_REQUEST_MAX, EINVAL, NULL);
	assert_int_equal(fake.calls, 0);
	/* Still serving. */
	assert_int_equal(ask_status(&p, "ping"), 0);
	unpair(&p);
}

static void test_random_messages(void **state)
{
	struct conn_pair p = pair(&root);
	static const char alphabet[] = "key-addelsetlisthowstatreloadping =,.0123456789"
				       "sndidrcvidpeer/:currentrnext\t\n\x01\xff";
	char msg[600];

	(void)state;
	srand(12345);
	for (int i = 0; i < 2000; i++) {
		size_t len = 1 + (size_t)rand() % (sizeof(msg) - 1);
		char *text;

		for (size_t k = 0; k < len; k++)
			msg[k] = i % 2 ? (char)(rand() & 0xff)
				       : alphabet[(size_t)rand() % (sizeof(alphabet) - 1)];
		text = raw(&p, msg, len);
		assert_true(!strncmp(text, "ok\n", 3) || !strncmp(text, "error ", 6));
		free(text);
	}
	assert_int_equal(control_client_count(p.ctl), 1);
	unpair(&p);
}

static void test_client_goes_away(void **state)
{
	struct conn_pair p = pair(&nobody);

	(void)state;
	fake.show_records = 50000;
	assert_int_equal(send(p.client, "show", 4, 0), 4);
	close(p.client);
	for (int i = 0; i < 100; i++)
		control_handle(p.ctl);
	assert_int_equal(control_client_count(p.ctl), 0);
	p.client = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* for unpair */
	unpair(&p);
}

/* Connections of one unprivileged uid are limited; other uids and root
 * are not locked out by them. */
static void test_client_limit(void **state)
{
	static const struct control_client other = { .pid = 3, .uid = 1000 };
	struct control *ctl = control_new(&ops, NULL);
	int fds[CONTROL_MAX_CONNS_PER_UID + 102], n = 0;

	(void)state;
	for (int i = 0; i <= CONTROL_MAX_CONNS_PER_UID; i++) {
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		fds[n++] = sv[0];
		assert_int_equal(control_adopt(ctl, sv[1], &nobody),
				 i < CONTROL_MAX_CONNS_PER_UID ? 0 : -EMFILE);
	}
	for (int i = 0; i < 101; i++) { /* root: beyond the old fixed 64 */
		int sv[2];
		const struct control_client *who = i ? &root : &other;

		assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		fds[n++] = sv[0];
		assert_int_equal(control_adopt(ctl, sv[1], who), 0);
	}
	assert_int_equal(control_client_count(ctl), CONTROL_MAX_CONNS_PER_UID + 101);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	for (int i = 0; i < 100; i++)
		control_handle(ctl);
	assert_int_equal(control_client_count(ctl), 0);
	control_close(ctl);
}

/* A connection that sends nothing is closed after CONTROL_IDLE_MS. */
static void test_idle_timeout(void **state)
{
	struct conn_pair p = pair(&nobody);
	char buf[16];

	(void)state;
	control_expire(p.ctl, control_now_ms() + CONTROL_IDLE_MS / 2);
	assert_int_equal(control_client_count(p.ctl), 1);
	control_expire(p.ctl, control_now_ms() + CONTROL_IDLE_MS + 1);
	assert_int_equal(control_client_count(p.ctl), 0);
	assert_int_equal(recv(p.client, buf, sizeof(buf), 0), 0);
	unpair(&p);
}

static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* An empty message carrying a descriptor: the daemon must not keep it. */
static void test_empty_message_fd(void **state)
{
	int before = count_fds();

	(void)state;
	for (int i = 0; i < 50; i++) {
		struct conn_pair p = pair(&nobody);
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(int))];
		} ctrl;
		struct iovec iov = { .iov_base = "", .iov_len = 0 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf) };
		int passed = open("/dev/null", O_RDONLY | O_CLOEXEC);

		memset(&ctrl, 0, sizeof(ctrl));
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), &passed, sizeof(int));
		assert_int_equal(sendmsg(p.client, &msg, 0), 0);
		close(passed);
		for (int k = 0; k < 5; k++)
			control_handle(p.ctl);
		unpair(&p);
	}
	assert_int_equal(count_fds(), before);
}

/* sock-* numbers: strict decimal, in range; never wrapped. */
static void test_sock_numbers(void **state)
{
	struct conn_pair p = pair(&nobody);

	(void)state;
	expect_raw_error(&p, "sock-set current=300", 20, EINVAL, "from -1 to 255");
	expect_raw_error(&p, "sock-set rnext=1x", 17, EINVAL, "from -1 to 255");
	expect_raw_error(&p, "sock-begin port=65536", 21, EINVAL, "from 0 to 65535");
	expect_raw_error(&p, "sock-set ao-required=2", 22, EINVAL, "from -1 to 1");
	expect_raw_error(&p, "sock-set current=", 17, EINVAL, "from -1 to 255");
	unpair(&p);
}

/* ---- the real socket --------------------------------------------------- */

struct listener_call {
	const char *name;
	struct tcpao_ctl_reply reply;
	int rc;
	atomic_bool done;
};

static void *connect_thread(void *arg)
{
	struct listener_call *c = arg;
	int fd = tcpao_ctl_connect(c->name, 5000);

	c->rc = fd < 0 ? fd : tcpao_ctl_request(fd, "ping", &c->reply);
	if (fd >= 0)
		close(fd);
	atomic_store(&c->done, true);
	return NULL;
}

static void test_path_socket(void **state)
{
	char dir[64], name[96], err[256];
	struct listener_call c = { .name = name };
	struct tcpao_ctl_record rec;
	struct control *ctl;
	struct stat st;
	pthread_t t;
	char *cur;

	(void)state;
	if (getuid() != 0)
		skip(); /* the socket's directory must be root's */
	snprintf(dir, sizeof(dir), "/tmp/tcpao-ctl-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(name, sizeof(name), "%s/ctl.sock", dir);
	ctl = control_open(name, &ops, NULL, err, sizeof(err));
	assert_non_null(ctl);
	assert_int_equal(stat(name, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666); /* any user may ask */

	assert_int_equal(pthread_create(&t, NULL, connect_thread, &c), 0);
	serve_until(ctl, &c.done);
	pthread_join(t, NULL);
	assert_int_equal(c.rc, 0);
	assert_int_equal(c.reply.status, 0);
	cur = c.reply.body;
	assert_true(tcpao_ctl_next_record(&cur, &rec));
	/* SO_PEERCRED: root is privileged (others only with CAP_NET_ADMIN). */
	assert_string_equal(tcpao_ctl_field(&rec, "privileged"), "yes");
	tcpao_ctl_reply_free(&c.reply);

	/* A directory others may write: the client sends nothing. */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(tcpao_ctl_connect(name, 1000), -EPERM);
	assert_null(control_open(name, &ops, NULL, err, sizeof(err)));
	assert_int_equal(chmod(dir, 0700), 0);
	control_close(ctl);

	/* No daemon: a clear errno, not a hang. */
	assert_int_equal(tcpao_ctl_connect(name, 1000), -ENOENT);
	rmdir(dir);
}

/* A listener that is not root is not tcpaod, even at the right path. */
static void test_server_not_root(void **state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[64], go;
	int sv[2], status;
	pid_t pid;

	(void)state;
	if (getuid() != 0)
		skip();
	snprintf(dir, sizeof(dir), "/tmp/tcpao-ctl-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/ctl.sock", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	if (pid == 0) { /* binds as root, listens as nobody: SO_PEERCRED says nobody */
		int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

		if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(sun.sun_path, 0666) ||
		    setgid(65534) || setuid(65534) || listen(fd, 4) || write(sv[1], "x", 1) != 1)
			_exit(1);
		(void)!read(sv[1], &go, 1);
		_exit(0);
	}
	assert_int_equal(read(sv[0], &go, 1), 1);
	assert_int_equal(tcpao_ctl_connect(sun.sun_path, 1000), -EPERM);
	assert_int_equal(write(sv[0], "x", 1), 1);
	waitpid(pid, &status, 0);
	assert_int_equal(status, 0);
	close(sv[0]);
	close(sv[1]);
	unlink(sun.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_and_stat),
		cmocka_unit_test(test_key_add_parsed),
		cmocka_unit_test(test_key_add_rejected),
		cmocka_unit_test(test_privilege),
		cmocka_unit_test(test_key_del_and_set),
		cmocka_unit_test(test_key_list_hides_secrets),
		cmocka_unit_test(test_escaped_values),
		cmocka_unit_test(test_large_reply_in_frames),
		cmocka_unit_test(test_reply_too_large),
		cmocka_unit_test(test_slow_reader_does_not_block),
		cmocka_unit_test(test_queued_requests_one_pass),
		cmocka_unit_test(test_requests_then_shutdown),
		cmocka_unit_test(test_big_reply_then_request),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_random_messages),
		cmocka_unit_test(test_client_goes_away),
		cmocka_unit_test(test_client_limit),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_empty_message_fd),
		cmocka_unit_test(test_sock_numbers),
		cmocka_unit_test(test_path_socket),
		cmocka_unit_test(test_server_not_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
