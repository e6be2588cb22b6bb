// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpaod's control socket: accepts clients, reads the request messages
 * each has queued, checks each, calls the daemon's callback, and sends the
 * replies in frames, all in one sendmmsg(). Never blocks: a client that
 * does not read its replies gets them later (EPOLLOUT) and sends nothing
 * meanwhile.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "keychain.h"
#include "rollover.h"
#include "ctl.h"
#include "peercred.h"

#define CONTROL_MAX_ARGS 8
#define CONTROL_EVENTS_PER_CALL 64
/* The listening socket's epoll tag; a connection's is its tag below. */
#define LISTEN_TAG UINT64_MAX
/* Requests served before their replies go (the client's pipeline window,
 * client/sockctl.c), and the frames of one sendmmsg(). */
#define CONTROL_BATCH 32
/* No further request is read once this much reply text waits. */
#define CONTROL_BATCH_BYTES (64u << 10)
/* Records, leaving room for the status line within the client's limit. */
#define CONTROL_BODY_MAX (TCPAO_CTL_REPLY_MAX - 1024)
/* Room a connection's reply text keeps beyond what waits in it: a
 * status line, so that a request whose reply cannot be queued for want
 * of memory is still answered ("out of memory"), not hung up on. */
#define CONN_RESERVE 64
/* Reply text kept between replies at most (a batch of the socket API's
 * replies fits); a larger buffer goes: 4,096 connections keep 16 MB. */
#define CONN_KEEP (4u << 10)

struct control_reply {
	char *buf;
	size_t len, cap;
	bool overflow, nomem;
	int err;
	char msg[256];
	const struct control_client *who;
};

struct conn {
	int fd;
	uint64_t tag; /* its epoll events' data: fd and a serial */
	struct control_client who;
	char *out; /* the replies not yet fully sent, one after another */
	size_t out_len, out_off, out_cap;
	size_t ends[CONTROL_BATCH]; /* where each of them ends in out */
	unsigned int nreplies, reply; /* queued; the one being sent */
	bool waits_out; /* watched for EPOLLOUT, not EPOLLIN */
	bool ended; /* the client sends no more: closed once its replies went */
	uint64_t active_ms; /* last request or reply progress */
};

struct control {
	int epfd;
	int listen_fd;
	const struct control_ops *ops;
	void *ctx;
	struct conn **conns; /* grown on demand; NULL entries are free */
	size_t nconns;
	uint32_t serial; /* of the last connection adopted */
	char *path; /* the socket file we bound, removed on close */
	struct mmsghdr frames[CONTROL_BATCH];
	struct iovec frame_iov[CONTROL_BATCH][2];
	char request[TCPAO_CTL_REQUEST_MAX + 1];
};

/* ---- replies ----------------------------------------------------------- */

static void put(struct control_reply *out, const char *data, size_t n)
{
	size_t cap;
	char *buf;

	if (out->overflow)
		return;
	if (out->len + n + 2 > CONTROL_BODY_MAX) {
		out->overflow = true;
		return;
	}
	if (out->len + n + 2 > out->cap) {
		cap = out->cap ? out->cap : 4096;
		while (cap < out->len + n + 2)
			cap *= 2;
		buf = realloc(out->buf, cap);
		if (!buf) {
			out->overflow = out->nomem = true;
			return;
		}
		out->buf = buf;
		out->cap = cap;
	}
	memcpy(out->buf + out->len, data, n);
	out->len += n;
}

bool control_reply_whole(const struct control_reply *out)
{
	return !out->nomem;
}

static void put_str(struct control_reply *out, const char *s)
{
	put(out, s, strlen(s));
}

void control_reply_record(struct control_reply *out, const char *type)
{
	if (out->len)
		put(out, "\n", 1);
	put_str(out, type);
}

void control_reply_str(struct control_reply *out, const char *name,
		       const char *value)
{
	char esc[3 * 256 + 1];

	if (tcpao_ctl_escape(value, esc, sizeof(esc)) < 0)
		snprintf(esc, sizeof(esc), "%%3Ftoo-long%%3F");
	put(out, " ", 1);
	put_str(out, name);
	put(out, "=", 1);
	put_str(out, esc);
}

void control_reply_u64(struct control_reply *out, const char *name,
		       uint64_t value)
{
	char text[24];

	snprintf(text, sizeof(text), "%llu", (unsigned long long)value);
	control_reply_str(out, name, text);
}

void control_reply_int(struct control_reply *out, const char *name,
		       long long value)
{
	char text[24];

	snprintf(text, sizeof(text), "%lld", value);
	control_reply_str(out, name, text);
}

void control_reply_addr(struct control_reply *out, const char *name,
			const struct tcpao_addr *addr, uint16_t port)
{
	char ip[INET6_ADDRSTRLEN] = "?", text[INET6_ADDRSTRLEN + 16];
	bool v6 = addr->family == AF_INET6;

	if (addr->family == AF_INET || v6)
		inet_ntop(addr->family, addr->bytes, ip, sizeof(ip));
	if (!port)
		snprintf(text, sizeof(text), "%s", ip);
	else
		snprintf(text, sizeof(text), v6 ? "[%s]:%u" : "%s:%u", ip, port);
	control_reply_str(out, name, text);
}

void control_reply_prefix(struct control_reply *out, const char *name,
			  const struct tcpao_addr *addr, uint8_t len)
{
	char text[64];

	control_reply_str(out, name, policy_prefix_str(addr, len, text, sizeof(text)));
}

int control_reply_error(struct control_reply *out, int err,
			const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
	va_end(ap);
	out->err = err;
	return err;
}

void control_reply_counter(struct control_reply *out, const char *name,
			   uint64_t value)
{
	control_reply_record(out, "counter");
	control_reply_str(out, "name", name);
	control_reply_u64(out, "value", value);
}

const struct control_client *control_reply_client(
	const struct control_reply *out)
{
	return out->who;
}

static void reply_peer(struct control_reply *out, const struct policy *policy,
		       const struct policy_peer *p)
{
	const struct keychain *c = policy_peer_chain(policy, p);

	control_reply_record(out, "peer");
	control_reply_prefix(out, "peer", &p->scope.peer, p->scope.peer_len);
	if (p->scope.local.family != AF_UNSPEC)
		control_reply_prefix(out, "local", &p->scope.local, p->scope.local_len);
	if (p->scope.local_port)
		control_reply_u64(out, "local-port", p->scope.local_port);
	if (p->scope.remote_port)
		control_reply_u64(out, "remote-port", p->scope.remote_port);
	control_reply_str(out, "ao-required", p->ao_required ? "yes" : "no");
	control_reply_str(out, "accept-icmps", p->accept_icmps ? "yes" : "no");
	if (p->current_sndid >= 0)
		control_reply_int(out, "current", p->current_sndid);
	if (p->rnext_rcvid >= 0)
		control_reply_int(out, "rnext", p->rnext_rcvid);
	control_reply_u64(out, "keys", p->keys.n);
	if (policy_current_key(p) >= 0 && p->current_since)
		control_reply_u64(out, "current-age",
				  (uint64_t)(policy_now() - p->current_since));
	control_reply_str(out, "origin", p->origin);
	if (c)
		control_reply_str(out, "key-chain", c->name);
	if (p->from == POLICY_FROM_SOCKET) {
		control_reply_u64(out, "uid", p->uid);
		control_reply_u64(out, "cookie", p->sock_cookie);
	}
}

/* Which key new connections would use: the preference, else the newest. */
static bool preferred(const struct policy_peer *p, size_t k, int pref, bool by_sndid)
{
	const struct tcpao_mkt *key = tcpao_keyring_key(&p->keys, k);

	if (pref < 0)
		return k == 0;
	return (by_sndid ? key->sndid : key->rcvid) == pref;
}

static void reply_key(struct control_reply *out, const struct policy_peer *p, size_t k)
{
	const struct tcpao_mkt *key = tcpao_keyring_key(&p->keys, k);
	char origin[96];

	control_reply_record(out, "key");
	control_reply_prefix(out, "peer", &p->scope.peer, p->scope.peer_len);
	if (p->scope.local.family != AF_UNSPEC)
		control_reply_prefix(out, "local", &p->scope.local, p->scope.local_len);
	if (p->scope.local_port)
		control_reply_u64(out, "local-port", p->scope.local_port);
	if (p->scope.remote_port)
		control_reply_u64(out, "remote-port", p->scope.remote_port);
	control_reply_u64(out, "sndid", key->sndid);
	control_reply_u64(out, "rcvid", key->rcvid);
	control_reply_str(out, "alg", tcpao_alg_name(key->alg));
	control_reply_u64(out, "maclen", key->maclen);
	control_reply_str(out, "exclude-options",
			  key->flags & TCPAO_MKT_EXCLUDE_OPT ? "yes" : "no");
	if (key->flags & TCPAO_MKT_IFINDEX)
		control_reply_int(out, "ifindex", key->ifindex);
	control_reply_str(out, "current", preferred(p, k, p->current_sndid, true) ? "yes" : "no");
	control_reply_str(out, "rnext", preferred(p, k, p->rnext_rcvid, false) ? "yes" : "no");
	control_reply_u64(out, "serial", tcpao_keyring_serial(&p->keys, k));
	control_reply_str(out, "origin", policy_key_origin(p, k, origin, sizeof(origin)));
}

/* What a chain key is at now, for `tcpao key list`. */
static const char *chain_key_state(const struct keychain_sched *s, size_t i,
				   const struct keychain_key *k, int64_t now)
{
	if (s->active == (int)i)
		return s->gap ? "active-held" : "active";
	if (s->send >> i & 1)
		return "send";
	if (s->accept >> i & 1)
		return "accept";
	return k->accept.start > now ? "future" : "expired";
}

static void reply_chain(struct control_reply *out, const struct keychain *c, int64_t now)
{
	struct keychain_sched s;
	char t[32];

	keychain_eval(c, now, &s);
	control_reply_record(out, "chain");
	control_reply_str(out, "name", c->name);
	control_reply_u64(out, "tolerance", (uint64_t)c->tolerance);
	control_reply_str(out, "rollover", c->confirmed ? "confirmed" : "scheduled");
	control_reply_str(out, "now", keychain_time_str(now, t, sizeof(t)));
	control_reply_str(out, "next", keychain_time_str(s.next, t, sizeof(t)));
	control_reply_str(out, "gap", s.gap ? "yes" : "no");
	for (size_t i = 0; i < c->n; i++) {
		const struct keychain_key *k = &c->keys[i];

		control_reply_record(out, "chain-key");
		control_reply_str(out, "chain", c->name);
		control_reply_u64(out, "id", k->id);
		control_reply_u64(out, "sndid", k->mkt.sndid);
		control_reply_u64(out, "rcvid", k->mkt.rcvid);
		control_reply_str(out, "alg", tcpao_alg_name(k->mkt.alg));
		control_reply_str(out, "send-start", keychain_time_str(k->send.start, t, sizeof(t)));
		control_reply_str(out, "send-end", keychain_time_str(k->send.end, t, sizeof(t)));
		control_reply_str(out, "accept-start", keychain_time_str(k->accept.start, t, sizeof(t)));
		control_reply_str(out, "accept-end", keychain_time_str(k->accept.end, t, sizeof(t)));
		control_reply_str(out, "state", chain_key_state(&s, i, k, now));
	}
}

void control_reply_keys(struct control_reply *out, const struct policy *policy)
{
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);

		if (!p)
			continue;
		reply_peer(out, policy, p);
		for (size_t k = 0; k < p->keys.n; k++)
			reply_key(out, p, k);
	}
	for (size_t i = 0; policy->chains && i < policy->chains->n; i++)
		reply_chain(out, &policy->chains->v[i], rollover_now());
}

/* ---- request parsing --------------------------------------------------- */

struct request {
	char *argv[CONTROL_MAX_ARGS];
	int argc;
	int fd; /* a descriptor passed with the request (SCM_RIGHTS), or -1 */
};

static int parse_id(const char *text, int *id)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)*text))
		return -EINVAL;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || *end || v > 255)
		return -EINVAL;
	*id = (int)v;
	return 0;
}

static int parse_peer(const char *text, struct tcpao_addr *peer, uint8_t *len,
		      struct control_reply *out)
{
	if (!strcmp(text, "any")) {
		memset(peer, 0, sizeof(*peer));
		*len = 0;
		return 0;
	}
	if (tcpao_addr_parse(text, peer, len))
		return control_reply_error(out, -EINVAL, "peer: not an address or prefix");
	return 0;
}

/* "current=ID" / "rnext=ID" arguments; returns -EINVAL on anything else. */
static int parse_keysel_arg(const char *arg, int *current, int *rnext,
			    struct control_reply *out)
{
	if (!strncmp(arg, "current=", 8) && !parse_id(arg + 8, current))
		return 0;
	if (!strncmp(arg, "rnext=", 6) && !parse_id(arg + 6, rnext))
		return 0;
	return control_reply_error(out, -EINVAL, "expected current=ID or rnext=ID (0-255)");
}

static int do_ping(struct control *ctl, struct request *req, struct control_reply *out)
{
	control_reply_record(out, "tcpaod");
	control_reply_int(out, "pid", getpid());
	control_reply_str(out, "privileged", out->who->privileged ? "yes" : "no");
	return 0;
}

static int do_key_add(struct control *ctl, struct request *req, struct control_reply *out)
{
	struct control_key_add add = {0};
	char err[160];
	int rc = 0;

	if (req->argc < 2)
		return control_reply_error(out, -EINVAL, "usage: key-add SPEC [current] [rnext]");
	if (strstr(req->argv[1], "secret-file="))
		return control_reply_error(out, -EINVAL,
					   "secret-file is read by the client: send secret=hex:...");
	for (int i = 2; i < req->argc && !rc; i++) {
		if (!strcmp(req->argv[i], "current"))
			add.set_current = true;
		else if (!strcmp(req->argv[i], "rnext"))
			add.set_rnext = true;
		else
			rc = control_reply_error(out, -EINVAL, "expected 'current' or 'rnext'");
	}
	if (!rc && tcpao_mkt_parse(req->argv[1], &add.mkt, err, sizeof(err)))
		rc = control_reply_error(out, -EINVAL, "%s", err);
	if (!rc && add.mkt.peer.family == AF_UNSPEC)
		rc = control_reply_error(out, -EINVAL, "a key needs peer=PREFIX");
	if (!rc)
		rc = ctl->ops->key_add(ctl->ctx, &add, out);
	explicit_bzero(&add, sizeof(add));
	return rc;
}

static int parse_key_ref(char *spec, struct control_key_del *del, struct control_reply *out)
{
	unsigned seen = 0;
	char *save = NULL;
	int id;

	for (char *f = strtok_r(spec, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		char *v = strchr(f, '=');

		if (!v)
			return control_reply_error(out, -EINVAL, "key: expected NAME=VALUE fields");
		*v++ = '\0';
		if (!strcmp(f, "peer")) {
			if (parse_peer(v, &del->ref.peer, &del->ref.peer_len, out))
				return -EINVAL;
			continue;
		}
		if (strcmp(f, "sndid") && strcmp(f, "rcvid") && strcmp(f, "id"))
			return control_reply_error(out, -EINVAL,
						   "key: unknown field (sndid, rcvid, id, peer)");
		if (parse_id(v, &id))
			return control_reply_error(out, -EINVAL, "%s: not a number 0-255", f);
		if (f[0] != 'r')
			del->ref.sndid = (uint8_t)id, seen |= 1;
		if (f[0] != 's')
			del->ref.rcvid = (uint8_t)id, seen |= 2;
	}
	if (seen != 3)
		return control_reply_error(out, -EINVAL, "key: sndid= and rcvid= (or id=) are required");
	return 0;
}

static int do_key_del(struct control *ctl, struct request *req, struct control_reply *out)
{
	struct control_key_del del = { .new_current = -1, .new_rnext = -1 };
	int rc;

	if (req->argc < 2)
		return control_reply_error(out, -EINVAL,
					   "usage: key-del sndid=N,rcvid=N[,peer=P] [current=ID] [rnext=ID]");
	rc = parse_key_ref(req->argv[1], &del, out);
	for (int i = 2; i < req->argc && !rc; i++)
		rc = parse_keysel_arg(req->argv[i], &del.new_current, &del.new_rnext, out);
	return rc ? rc : ctl->ops->key_del(ctl->ctx, &del, out);
}

static int do_key_set(struct control *ctl, struct request *req, struct control_reply *out)
{
	struct control_key_set set = { .current = -1, .rnext = -1 };
	int rc = 0;

	for (int i = 1; i < req->argc && !rc; i++) {
		if (!strncmp(req->argv[i], "peer=", 5))
			rc = parse_peer(req->argv[i] + 5, &set.peer, &set.peer_len, out);
		else
			rc = parse_keysel_arg(req->argv[i], &set.current, &set.rnext, out);
	}
	if (!rc && set.current < 0 && set.rnext < 0)
		rc = control_reply_error(out, -EINVAL, "usage: key-set [peer=P] current=ID rnext=ID");
	return rc ? rc : ctl->ops->key_set(ctl->ctx, &set, out);
}

static int do_key_list(struct control *ctl, struct request *req, struct control_reply *out)
{
	return ctl->ops->key_list(ctl->ctx, out);
}

static int do_show(struct control *ctl, struct request *req, struct control_reply *out)
{
	return ctl->ops->show(ctl->ctx, out);
}

static int do_stat(struct control *ctl, struct request *req, struct control_reply *out)
{
	return ctl->ops->stat(ctl->ctx, out);
}

static int do_reload(struct control *ctl, struct request *req, struct control_reply *out)
{
	if (req->argc < 2)
		return ctl->ops->reload(ctl->ctx, out);
	if (strcmp(req->argv[1], "dry-run") || !ctl->ops->reload_plan)
		return control_reply_error(out, -EINVAL, "reload [dry-run]");
	return ctl->ops->reload_plan(ctl->ctx, out);
}

static int do_clock(struct control *ctl, struct request *req, struct control_reply *out)
{
	long long v;
	char *end;

	if (!ctl->ops->clock)
		return control_reply_error(out, -EOPNOTSUPP, "no clock");
	if (req->argc == 1)
		return ctl->ops->clock(ctl->ctx, NULL, out);
	if (!out->who->privileged)
		return control_reply_error(out, -EPERM, "clock shift needs root or CAP_NET_ADMIN");
	errno = 0;
	v = req->argc == 3 ? strtoll(req->argv[2], &end, 10) : 0;
	if (req->argc != 3 || strcmp(req->argv[1], "shift") || errno || !*req->argv[2] ||
	    *end || v < -(1LL << 40) || v > 1LL << 40)
		return control_reply_error(out, -EINVAL, "clock [shift SECONDS]");
	return ctl->ops->clock(ctl->ctx, &(int64_t){ v }, out);
}

static int do_sync(struct control *ctl, struct request *req, struct control_reply *out)
{
	return ctl->ops->sync ? ctl->ops->sync(ctl->ctx, out) : -EOPNOTSUPP;
}

/* Numeric sock-* arguments: strictly decimal and in range, never wrapped
 * into a smaller type further on. */
static const struct sock_number {
	const char *name;
	long min, max;
} sock_numbers[] = {
	{ "ao-required", -1, 1 }, { "accept-icmps", -1, 1 },
	{ "current", -1, 255 }, { "rnext", -1, 255 },
	{ "port", 0, 65535 }, { "keys", 0, 1 },
};

static bool in_range(const char *text, long min, long max)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)text[text[0] == '-']))
		return false;
	errno = 0;
	v = strtol(text, &end, 10);
	return !errno && !*end && v >= min && v <= max;
}

static int check_sock_numbers(const struct request *req, struct control_reply *out)
{
	for (int i = 1; i < req->argc; i++) {
		for (size_t k = 0; k < sizeof(sock_numbers) / sizeof(sock_numbers[0]); k++) {
			const struct sock_number *n = &sock_numbers[k];
			size_t len = strlen(n->name);

			if (strncmp(req->argv[i], n->name, len) || req->argv[i][len] != '=')
				continue;
			if (!in_range(req->argv[i] + len + 1, n->min, n->max))
				return control_reply_error(out, -EINVAL, "%s: a number from %ld to %ld",
							   n->name, n->min, n->max);
		}
	}
	return 0;
}

/* sock-*: the socket passed with the request is the permission. */
static int do_sock(struct control *ctl, struct request *req, struct control_reply *out)
{
	int rc = check_sock_numbers(req, out);

	if (rc)
		return rc;
	if (!ctl->ops->sock)
		return control_reply_error(out, -EOPNOTSUPP, "no socket support");
	if (req->fd < 0)
		return control_reply_error(out, -EBADF, "%s needs the socket (SCM_RIGHTS)",
					   req->argv[0]);
	return ctl->ops->sock(ctl->ctx, req->fd, req->argc, req->argv, out);
}

static const struct command {
	const char *name;
	int (*run)(struct control *, struct request *, struct control_reply *);
	bool privileged;
	int max_args;
} commands[] = {
	{ "ping", do_ping, false, 1 },
	{ "key-add", do_key_add, true, 4 },
	{ "key-del", do_key_del, true, 4 },
	{ "key-set", do_key_set, true, 4 },
	{ "key-list", do_key_list, false, 1 },
	{ "show", do_show, false, 1 },
	{ "stat", do_stat, false, 1 },
	{ "reload", do_reload, true, 2 },
	{ "sync", do_sync, false, 1 },
	{ "clock", do_clock, false, 3 },
	{ "sock-", do_sock, false, CONTROL_MAX_ARGS },
};

static int split(char *line, struct request *req, struct control_reply *out)
{
	char *save = NULL;

	req->argc = 0;
	for (char *w = strtok_r(line, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		if (req->argc == CONTROL_MAX_ARGS)
			return control_reply_error(out, -E2BIG, "too many arguments");
		req->argv[req->argc++] = w;
	}
	if (!req->argc)
		return control_reply_error(out, -EINVAL, "empty request");
	return 0;
}

/* Only printable ASCII, one line (a final newline is allowed). */
static int check_text(char *text, size_t n, struct control_reply *out)
{
	if (n && text[n - 1] == '\n')
		text[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 && text[i] != '\t')
			return control_reply_error(out, -EINVAL, "request has a control character at byte %zu", i);
		else if ((unsigned char)text[i] >= 0x7f)
			return control_reply_error(out, -EINVAL, "request is not ASCII (byte %zu)", i);
	return 0;
}

static int dispatch(struct control *ctl, char *text, size_t n, int fd,
		    struct control_reply *out)
{
	struct request req = { .fd = fd };
	int rc = check_text(text, n, out);

	if (!rc)
		rc = split(text, &req, out);
	if (rc)
		return rc;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];

		if (c->run == do_sock ? strncmp(req.argv[0], c->name, strlen(c->name))
				      : strcmp(req.argv[0], c->name))
			continue;
		if (c->privileged && !out->who->privileged)
			return control_reply_error(out, -EPERM,
						   "%s needs root or CAP_NET_ADMIN", c->name);
		if (req.argc > c->max_args)
			return control_reply_error(out, -E2BIG, "%s: too many arguments", c->name);
		return c->run(ctl, &req, out);
	}
	return control_reply_error(out, -EINVAL, "unknown command (ping, key-add, key-del, key-set, key-list, show, stat, reload, clock)");
}

/* ---- connections ------------------------------------------------------- */

/* The connection an event is for: none when it closed since, even if a
 * new one took its descriptor (events come in batches). */
static struct conn **conn_slot(struct control *ctl, uint64_t tag)
{
	for (size_t i = 0; i < ctl->nconns; i++)
		if (ctl->conns[i] && ctl->conns[i]->tag == tag)
			return &ctl->conns[i];
	return NULL;
}

/* c->out resized to cap bytes (>= what waits in it); -ENOMEM, c->out
 * as it was. */
static int conn_out_size(struct conn *c, size_t cap)
{
	char *p = realloc(c->out, cap);

	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = cap;
	return 0;
}

static void conn_close(struct control *ctl, struct conn **slot)
{
	struct conn *c = *slot;

	epoll_ctl(ctl->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	free(c);
	*slot = NULL;
}

static int conn_watch(struct control *ctl, struct conn *c, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = c->tag };

	return epoll_ctl(ctl->epfd, op, c->fd, &ev) ? -errno : 0;
}

/* Requests are read again once the client takes the reply it could not:
 * changed only then, not after every reply. */
static int conn_wait_out(struct control *ctl, struct conn *c, bool out)
{
	if (c->waits_out == out)
		return 0;
	c->waits_out = out;
	return conn_watch(ctl, c, EPOLL_CTL_MOD, out ? EPOLLOUT : EPOLLIN);
}

/* The frames of what is left of c->out, up to CONTROL_BATCH: each a
 * flag ('+' more follows, '.' the reply's last) and up to
 * TCPAO_CTL_FRAME_MAX - 1 bytes of its reply. */
static unsigned int frames_fill(struct control *ctl, const struct conn *c)
{
	static char more = '+', last = '.';
	size_t off = c->out_off;
	unsigned int n = 0;

	for (unsigned int r = c->reply; r < c->nreplies && n < CONTROL_BATCH; n++) {
		size_t chunk = c->ends[r] - off;
		bool ends = chunk <= TCPAO_CTL_FRAME_MAX - 1;
		struct iovec *iov = ctl->frame_iov[n];

		if (!ends)
			chunk = TCPAO_CTL_FRAME_MAX - 1;
		iov[0] = (struct iovec){ ends ? &last : &more, 1 };
		iov[1] = (struct iovec){ c->out + off, chunk };
		ctl->frames[n] = (struct mmsghdr){ .msg_hdr = { .msg_iov = iov, .msg_iovlen = 2 } };
		off += chunk;
		r += ends;
	}
	return n;
}

/* Moves c past n frames that were sent. */
static void frames_sent(struct control *ctl, struct conn *c, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		c->out_off += ctl->frame_iov[i][1].iov_len;
		c->reply += *(const char *)ctl->frame_iov[i][0].iov_base == '.';
	}
}

/* Sends what is left of c->out; 0 when done or waiting, <0 to drop c
 * (also once all is said to a client that ended: no wake-up for its end). */
static int conn_flush(struct control *ctl, struct conn *c)
{
	while (c->reply < c->nreplies) {
		unsigned int n = frames_fill(ctl, c);
		int sent = sendmmsg(c->fd, ctl->frames, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return conn_wait_out(ctl, c, true);
		if (sent < 0)
			return -errno;
		frames_sent(ctl, c, (unsigned int)sent);
		c->active_ms = control_now_ms();
	}
	c->out_len = c->out_off = 0;
	c->nreplies = c->reply = 0;
	if (c->out_cap > CONN_KEEP)
		conn_out_size(c, CONN_RESERVE);
	return c->ended ? -ECONNRESET : conn_wait_out(ctl, c, false);
}

/* Appends text to c->out as one more reply, keeping CONN_RESERVE free
 * after it; a status line of the last resort (last_resort) may take the
 * reserve instead. */
static int conn_queue(struct conn *c, const char *head, size_t hlen,
		      const char *body, size_t blen, bool last_resort)
{
	size_t need = c->out_len + hlen + blen;

	if (need + CONN_RESERVE > c->out_cap && conn_out_size(c, need + CONN_RESERVE) &&
	    (!last_resort || need > c->out_cap))
		return -ENOMEM;
	memcpy(c->out + c->out_len, head, hlen);
	if (blen)
		memcpy(c->out + c->out_len + hlen, body, blen);
	c->out_len = need;
	c->ends[c->nreplies++] = c->out_len;
	return 0;
}

/* Whether a reply to one more request can be queued, memory or not. */
static bool conn_can_answer(const struct conn *c)
{
	return c->out_cap - c->out_len >= CONN_RESERVE;
}

/* The reply text, status line then the records, queued on c. Takes
 * out's buffer. */
static int finish_reply(struct conn *c, struct control_reply *out, int rc)
{
	char head[320];
	size_t hlen;
	int err;

	if (!rc && out->nomem)
		rc = -ENOMEM;
	else if (!rc && out->overflow)
		rc = control_reply_error(out, -EMSGSIZE, "reply larger than %u bytes",
					 CONTROL_BODY_MAX);
	if (rc) {
		if (rc > 0 || rc < -4095)
			rc = -EIO;
		if (!out->msg[0] || out->err != rc)
			snprintf(out->msg, sizeof(out->msg), "%s", strerror(-rc));
		for (char *p = out->msg; *p; p++)
			if (*p == '\n' || (unsigned char)*p < 0x20)
				*p = ' ';
		out->len = 0;
		out->overflow = false;
		hlen = (size_t)snprintf(head, sizeof(head), "error %d %s\n", -rc, out->msg);
	} else {
		hlen = (size_t)snprintf(head, sizeof(head), "ok\n");
	}
	if (hlen >= sizeof(head))
		hlen = sizeof(head) - 1;
	if (out->len)
		put(out, "\n", 1);
	err = conn_queue(c, head, hlen, out->buf, out->len, false);
	if (err) /* last resort: the status line alone */
		err = rc ? conn_queue(c, "error 12 out of memory\n", 23, NULL, 0, true)
			 : conn_queue(c, "ok\n", 3, NULL, 0, true);
	free(out->buf);
	out->buf = NULL;
	return err;
}

/* recv() that also takes one descriptor passed with the message (any
 * other is closed at once). */
static ssize_t recv_request(int fd, char *buf, size_t len, int *passed)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} ctrl;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = ctrl.buf, .msg_controllen = sizeof(ctrl.buf) };
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);

	*passed = -1;
	if (n < 0)
		return n;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		size_t nfd;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (*passed < 0)
				*passed = got;
			else
				close(got);
		}
	}
	return n;
}

/* One request of c: 1 when its reply is queued, 0 when none waits, <0
 * to drop c. */
static int conn_serve_one(struct control *ctl, struct conn *c)
{
	struct control_reply out = { .who = &c->who };
	int passed;
	ssize_t n;
	int rc;

	n = recv_request(c->fd, ctl->request, TCPAO_CTL_REQUEST_MAX + 1, &passed);
	if (n == 0 && passed >= 0)
		close(passed); /* an empty message may carry descriptors too */
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	if (n <= 0)
		return -ECONNRESET;
	c->active_ms = control_now_ms();
	if (n > TCPAO_CTL_REQUEST_MAX) {
		rc = control_reply_error(&out, -EMSGSIZE, "request longer than %d bytes",
					 TCPAO_CTL_REQUEST_MAX);
	} else {
		ctl->request[n] = '\0';
		if (strlen(ctl->request) != (size_t)n)
			rc = control_reply_error(&out, -EINVAL, "request contains a NUL byte");
		else
			rc = dispatch(ctl, ctl->request, (size_t)n, passed, &out);
	}
	if (passed >= 0)
		close(passed); /* the daemon never keeps a client's socket */
	explicit_bzero(ctl->request, sizeof(ctl->request));
	rc = finish_reply(c, &out, rc);
	return rc ? rc : 1;
}

/* The requests c has queued, then all their replies at once: a client
 * that sent several (a registration) wakes once, not once per reply. */
static int conn_serve(struct control *ctl, struct conn *c)
{
	int rc = 0, served = 0;

	while (c->nreplies < CONTROL_BATCH && c->out_len < CONTROL_BATCH_BYTES &&
	       conn_can_answer(c) && (rc = conn_serve_one(ctl, c)) > 0)
		served++;
	if (rc == -ECONNRESET && served)
		c->ended = true; /* shut down after its requests: they get replies */
	else if (rc < 0)
		return rc;
	rc = conn_flush(ctl, c);
	return rc ? rc : served > 0;
}

uint64_t control_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A client that holds a connection without using it loses it. */
void control_expire(struct control *ctl, uint64_t now_ms)
{
	for (size_t i = 0; i < ctl->nconns; i++)
		if (ctl->conns[i] && now_ms - ctl->conns[i]->active_ms >= CONTROL_IDLE_MS)
			conn_close(ctl, &ctl->conns[i]);
}

/* ---- server ------------------------------------------------------------ */

struct control *control_new(const struct control_ops *ops, void *ctx)
{
	struct control *ctl = calloc(1, sizeof(*ctl));

	if (!ctl)
		return NULL;
	ctl->listen_fd = -1;
	ctl->ops = ops;
	ctl->ctx = ctx;
	ctl->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ctl->epfd < 0) {
		free(ctl);
		return NULL;
	}
	return ctl;
}

/* Root and CAP_NET_ADMIN are never locked out; others share a quota. */
static int admit(struct control *ctl, const struct control_client *who)
{
	size_t all = 0, mine = 0, others = 0;

	for (size_t i = 0; i < ctl->nconns; i++) {
		const struct conn *c = ctl->conns[i];

		if (!c)
			continue;
		all++;
		others += !c->who.privileged;
		mine += !c->who.privileged && c->who.uid == who->uid;
	}
	if (all >= CONTROL_MAX_CONNS)
		return -EMFILE;
	if (!who->privileged && (mine >= CONTROL_MAX_CONNS_PER_UID ||
				 others >= CONTROL_MAX_CONNS_UNPRIV))
		return -EMFILE;
	return 0;
}

static struct conn **free_slot(struct control *ctl)
{
	size_t old = ctl->nconns, n = old ? old * 2 : 64;
	struct conn **grown;

	for (size_t i = 0; i < ctl->nconns; i++)
		if (!ctl->conns[i])
			return &ctl->conns[i];
	grown = realloc(ctl->conns, n * sizeof(*grown));
	if (!grown)
		return NULL;
	memset(grown + old, 0, (n - old) * sizeof(*grown));
	ctl->conns = grown;
	ctl->nconns = n;
	return &ctl->conns[old];
}

int control_adopt(struct control *ctl, int fd, const struct control_client *who)
{
	struct conn **slot = NULL, *c;
	int rc = admit(ctl, who);

	if (!rc && !(slot = free_slot(ctl)))
		rc = -ENOMEM;
	if (rc) {
		close(fd);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (!c || conn_out_size(c, CONN_RESERVE)) {
		close(fd);
		free(c);
		return -ENOMEM;
	}
	c->fd = fd;
	c->tag = (uint64_t)++ctl->serial << 32 | (uint32_t)fd;
	c->who = *who;
	c->active_ms = control_now_ms();
	rc = conn_watch(ctl, c, EPOLL_CTL_ADD, EPOLLIN);
	if (rc) {
		close(fd);
		free(c->out);
		free(c);
		return rc;
	}
	*slot = c;
	return 0;
}

/* One client per event: another waiting reports the socket again. */
static void accept_client(struct control *ctl)
{
	struct control_client who = {0};
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(fd);
		return;
	}
	who.pid = cred.pid;
	who.uid = cred.uid;
	who.gid = cred.gid;
	who.privileged = peercred_privileged(fd, &cred);
	control_adopt(ctl, fd, &who); /* closes fd when full */
}

/* Only the holder of the namespace's lock calls this: a socket file left
 * by a crashed daemon is replaced, in a directory only root can write. */
static int bind_path(int fd, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	int rc;

	if (!n || n >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long");
		return -EINVAL;
	}
	rc = tcpao_ctl_check_dir(path);
	if (rc) {
		snprintf(err, errlen, "control socket %s: its directory %s", path,
			 rc == -EPERM ? "is not root's alone (owner root, not group/other-writable)"
				      : strerror(-rc));
		return rc;
	}
	memcpy(sun.sun_path, path, n);
	if (unlink(path) && errno != ENOENT)
		goto fail;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0666))
		goto fail;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
	return rc;
}

int control_listen(struct control *ctl, const char *path, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTEN_TAG };
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd, rc;

	path = path ? path : tcpao_ctl_default(buf, sizeof(buf));
	if (!path) {
		snprintf(err, errlen, "control socket path too long");
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(-rc));
		return rc;
	}
	rc = bind_path(fd, path, err, errlen);
	if (!rc && (listen(fd, 64) || epoll_ctl(ctl->epfd, EPOLL_CTL_ADD, fd, &ev))) {
		rc = -errno;
		snprintf(err, errlen, "control socket %s: %s", path, strerror(-rc));
	}
	if (!rc && !(ctl->path = strdup(path)))
		rc = -ENOMEM;
	if (rc) {
		close(fd);
		return rc;
	}
	ctl->listen_fd = fd;
	return 0;
}

struct control *control_open(const char *name, const struct control_ops *ops,
			     void *ctx, char *err, size_t errlen)
{
	struct control *ctl = control_new(ops, ctx);

	if (!ctl) {
		snprintf(err, errlen, "control: %s", strerror(errno ? errno : ENOMEM));
		return NULL;
	}
	if (control_listen(ctl, name, err, errlen)) {
		control_close(ctl);
		return NULL;
	}
	return ctl;
}

int control_fd(const struct control *ctl)
{
	return ctl->epfd;
}

size_t control_client_count(const struct control *ctl)
{
	size_t n = 0;

	for (size_t i = 0; i < ctl->nconns; i++)
		n += !!ctl->conns[i];
	return n;
}

int control_handle(struct control *ctl)
{
	struct epoll_event evs[CONTROL_EVENTS_PER_CALL];
	int n = epoll_wait(ctl->epfd, evs, CONTROL_EVENTS_PER_CALL, 0);
	int served = 0;

	for (int i = 0; i < n; i++) {
		struct conn **slot;
		int rc;

		if (evs[i].data.u64 == LISTEN_TAG) {
			accept_client(ctl);
			continue;
		}
		slot = conn_slot(ctl, evs[i].data.u64);
		if (!slot)
			continue;
		if ((*slot)->reply < (*slot)->nreplies)
			rc = conn_flush(ctl, *slot);
		else if (evs[i].events & EPOLLIN)
			rc = conn_serve(ctl, *slot);
		else
			rc = -ECONNRESET; /* hang-up or error with nothing to read */
		if (rc > 0)
			served++;
		if (rc < 0)
			conn_close(ctl, slot);
	}
	return served;
}

void control_close(struct control *ctl)
{
	if (!ctl)
		return;
	for (size_t i = 0; i < ctl->nconns; i++)
		if (ctl->conns[i])
			conn_close(ctl, &ctl->conns[i]);
	free(ctl->conns);
	if (ctl->listen_fd >= 0)
		close(ctl->listen_fd);
	if (ctl->path)
		unlink(ctl->path);
	free(ctl->path);
	close(ctl->epfd);
	free(ctl);
}
