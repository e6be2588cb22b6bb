// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The audit trail (daemon/audit.c): the line's fields, the rate limit of
 * sockets' lines (burst, refill, what was left out, uids beyond the
 * table), and the lines a host change gives, never with its secret.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "audit.h"

static struct policy_scope scope_of(const char *peer)
{
	struct policy_scope s = { 0 };

	assert_int_equal(tcpao_addr_parse(peer, &s.peer, &s.peer_len), 0);
	return s;
}

static void test_format(void **state)
{
	struct policy_scope s = scope_of("198.18.0.2/32");
	struct audit_who client = { .by = AUDIT_BY_CLIENT, .uid = 0, .pid = 4242 };
	struct audit_rec r = { .op = "key-add", .change = "add", .scope = &s,
			       .sndid = 2, .rcvid = 3, .origin = "runtime" };
	char line[256];

	(void)state;
	audit_format(line, sizeof(line), &client, &r);
	assert_string_equal(line, "audit: op=key-add by=client uid=0 pid=4242 change=add "
			    "peer=198.18.0.2/32 sndid=2 rcvid=3 origin=runtime");
	s.local_port = 179;
	r = (struct audit_rec){ .op = "rollover", .change = "current", .scope = &s,
				.sndid = 7, .rcvid = -1, .extra = "x=y" };
	audit_format(line, sizeof(line), &(struct audit_who){ .by = AUDIT_BY_SCHEDULE }, &r);
	assert_string_equal(line, "audit: op=rollover by=schedule change=current "
			    "peer=198.18.0.2/32 local-port=179 sndid=7 x=y");
	r = (struct audit_rec){ .op = "reload", .change = "summary", .sndid = -1, .rcvid = -1 };
	audit_format(line, sizeof(line), &(struct audit_who){ .by = AUDIT_BY_SIGNAL, .pid = 1 }, &r);
	assert_string_equal(line, "audit: op=reload by=signal uid=0 pid=1 change=summary");
}

static void test_format_truncates(void **state)
{
	struct audit_rec r = { .op = "reload", .change = "summary", .sndid = -1, .rcvid = -1 };
	struct audit_who file = { .by = AUDIT_BY_FILE };
	char line[16];
	size_t need = audit_format(line, sizeof(line), &file, &r);

	(void)state;
	assert_int_equal(need, strlen("audit: op=reload by=file change=summary"));
	assert_int_equal(strlen(line), sizeof(line) - 1);
}

/* A fresh limit per test (cmocka's state). */
static int limit_new(void **state)
{
	*state = calloc(1, sizeof(struct audit_limit));
	return *state ? 0 : -1;
}

static int limit_free(void **state)
{
	free(*state);
	return 0;
}

static void test_limit_burst_then_refill(void **state)
{
	struct audit_limit *l = *state;
	uint64_t left, t = 1000000;

	for (int i = 0; i < AUDIT_UID_BURST; i++) {
		assert_true(audit_limit_take(l, 1000, t, &left));
		assert_int_equal(left, 0);
	}
	assert_false(audit_limit_take(l, 1000, t, &left));
	assert_false(audit_limit_take(l, 1000, t + AUDIT_UID_INTERVAL_MS - 1, &left));
	/* another uid has its own burst */
	assert_true(audit_limit_take(l, 1001, t, &left));
	/* one interval later: one line, after saying the two left out */
	assert_true(audit_limit_take(l, 1000, t + AUDIT_UID_INTERVAL_MS, &left));
	assert_int_equal(left, 2);
	assert_false(audit_limit_take(l, 1000, t + AUDIT_UID_INTERVAL_MS, &left));
}

/* Many uids together stop at the global burst; later, the left-out
 * counts come out one uid at a time. */
static void test_limit_all_uids(void **state)
{
	struct audit_limit *l = *state;
	uint64_t left, n;
	uint32_t uid;
	bool untracked;
	int taken = 0;

	for (uint32_t u = 0; u < 20; u++)
		for (int i = 0; i < AUDIT_UID_BURST; i++)
			taken += audit_limit_take(l, 2000 + u, 1000000, &left);
	assert_int_equal(taken, AUDIT_ALL_BURST);
	assert_true(audit_limit_pending(l, 1000000 + 10 * AUDIT_UID_INTERVAL_MS, &uid,
					&untracked, &n));
	assert_false(untracked);
	assert_true(uid >= 2000 && uid < 2020);
	assert_int_equal(n, AUDIT_UID_BURST);
}

static void test_limit_more_uids_than_slots(void **state)
{
	struct audit_limit *l = *state;
	uint64_t t = 1000000, left, n;
	bool untracked;
	uint32_t uid;

	for (uint32_t u = 0; u < AUDIT_UIDS; u++)
		assert_true(audit_limit_take(l, u, t, &left));
	/* a 65th uid: no slot, so the global limit alone */
	assert_true(audit_limit_take(l, 5000, t, &left));
	for (int i = 0; i < 200; i++)
		audit_limit_take(l, 5000, t, &left);
	assert_true(audit_limit_pending(l, t + 100000, &uid, &untracked, &n));
	assert_true(untracked);
	assert_true(n > 0);
	/* full buckets with nothing left out are free again */
	assert_true(audit_limit_take(l, 6000, t + 100000, &left));
	assert_true(audit_limit_take(l, 6000, t + 100000, &left));
}

/* What fn writes to stderr (log_msg's foreground output). */
static char *captured(void (*fn)(void *), void *arg)
{
	char path[] = "/tmp/tcpao-test-audit-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	char *text = calloc(1, 65536);
	ssize_t n;

	assert_true(fd >= 0 && saved >= 0 && text);
	unlink(path);
	fflush(stderr);
	dup2(fd, 2);
	fn(arg);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, text, 65535, 0);
	assert_true(n >= 0);
	close(fd);
	return text;
}

struct change {
	struct policy *old, *fresh;
	size_t lines;
};

static void run_diff(void *arg)
{
	struct change *c = arg;

	c->lines = audit_diff(&(struct audit_who){ .by = AUDIT_BY_CLIENT, .uid = 7, .pid = 8 },
			      "key-add", c->old, c->fresh);
}

static void add_key(struct policy *p, const char *spec, bool current)
{
	struct tcpao_mkt m;
	char err[160];

	assert_int_equal(tcpao_mkt_parse(spec, &m, err, sizeof(err)), 0);
	assert_int_equal(policy_add_key_to(p, NULL, &m, current, false, err, sizeof(err)), 0);
}

static void run_refused(void *arg)
{
	(void)arg;
	audit_refused(&(struct audit_who){ .by = AUDIT_BY_CLIENT, .uid = 7, .pid = 8 },
		      "key-add", -ENOMEM);
}

/* A change put back: a line of name=value fields like the others. */
static void test_refused_line(void **state)
{
	char *log = captured(run_refused, NULL);

	(void)state;
	assert_non_null(strstr(log, "audit: op=key-add by=client uid=7 pid=8 change=refused "
				    "error=ENOMEM\n"));
	free(log);
}

static void test_diff_lines(void **state)
{
	struct change c = { .old = policy_new() };
	char *log;

	(void)state;
	add_key(c.old, "id=1,alg=hmac(sha1),secret=first-secret,peer=198.18.0.2/32", false);
	c.fresh = policy_clone(c.old);
	add_key(c.fresh, "id=2,alg=hmac(sha1),secret=second-secret,peer=198.18.0.2/32", true);
	log = captured(run_diff, &c);
	assert_int_equal(c.lines, 2);
	assert_non_null(strstr(log, "audit: op=key-add by=client uid=7 pid=8 change=add "
				    "peer=198.18.0.2/32 sndid=2 rcvid=2 origin=runtime"));
	assert_non_null(strstr(log, "change=current peer=198.18.0.2/32 sndid=2\n"));
	assert_null(strstr(log, "second-secret"));
	assert_null(strstr(log, "7365636f6e64")); /* "second" in hex */
	free(log);
	/* nothing changed: nothing said */
	policy_free(c.old);
	c.old = policy_clone(c.fresh);
	log = captured(run_diff, &c);
	assert_int_equal(c.lines, 0);
	assert_string_equal(log, "");
	free(log);
	policy_free(c.old);
	policy_free(c.fresh);
}

/* The text without the time log_msg() puts in front of each line. */
static void untimed(char *text)
{
	char *out = text;

	for (char *line = text; *line;) {
		char *from = strstr(line, "tcpaod: "), *end = strchr(line, '\n');
		size_t len;

		end = end ? end + 1 : line + strlen(line);
		from = from && from < end ? from : line;
		len = (size_t)(end - from);
		memmove(out, from, len);
		out += len;
		line = end;
	}
	*out = '\0';
}

/* The lines of a change read from its record of changed entries are
 * those of a comparison of the two policies whole. */
static void test_diff_record_same_as_whole(void **state)
{
	struct change c = { .old = policy_new() };
	struct policy_key_ref ref = { .peer_len = 32, .sndid = 3, .rcvid = 3 };
	char *record, *whole;
	uint64_t base;

	(void)state;
	for (int i = 1; i < 40; i++) {
		char spec[128];

		snprintf(spec, sizeof(spec), "id=%d,alg=hmac(sha1),secret=s%d,peer=198.18.0.%d/32",
			 i % 5, i, i);
		add_key(c.old, spec, i % 3 == 0);
	}
	c.fresh = policy_clone(c.old);
	add_key(c.fresh, "id=9,alg=hmac(sha1),secret=new,peer=198.18.0.4/32", true);
	add_key(c.fresh, "id=9,alg=hmac(sha1),secret=new,peer=198.18.7.0/24", false);
	assert_int_equal(tcpao_addr_parse("198.18.0.8", &ref.peer, NULL), 0);
	assert_int_equal(policy_del_key(c.fresh, &ref, -1, -1, NULL, 0), 0);
	assert_int_equal(tcpao_addr_parse("198.18.0.6", &ref.peer, NULL), 0);
	assert_int_equal(policy_set_keysel(c.fresh, &ref.peer, 32, 1, -1, NULL, 0), 0);
	record = captured(run_diff, &c);
	base = c.fresh->base;
	c.fresh->base = 0; /* no record: compared whole */
	whole = captured(run_diff, &c);
	c.fresh->base = base;
	assert_true(c.lines >= 4);
	untimed(record);
	untimed(whole);
	assert_string_equal(record, whole);
	free(record);
	free(whole);
	policy_free(c.old);
	policy_free(c.fresh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test_setup_teardown(test_limit_burst_then_refill, limit_new, limit_free),
		cmocka_unit_test_setup_teardown(test_limit_all_uids, limit_new, limit_free),
		cmocka_unit_test_setup_teardown(test_limit_more_uids_than_slots, limit_new, limit_free),
		cmocka_unit_test(test_diff_lines),
		cmocka_unit_test(test_refused_line),
		cmocka_unit_test(test_diff_record_same_as_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
