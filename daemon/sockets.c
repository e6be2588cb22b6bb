// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Sockets configured through Linux's TCP-AO socket API (the preload or
 * libtcpao-client): each is one policy entry owned by the socket (its
 * SO_COOKIE), with a precise scope, so that policy_match() gives its
 * flows the socket's keys (docs/socket-api.md). The socket comes with
 * each request (SCM_RIGHTS): holding it is the permission.
 *
 *   listener:  peer any (of the keys' family), local address and port
 *   connected: peer address and port, local address and port
 *
 * Requests: sock-begin role=listen|connect [peer=ADDR port=N] flags,
 * sock-key SPEC... (repeated), sock-commit: the whole state at listen()
 * / connect(); sock-key-add SPEC, sock-key-del KEY, sock-set flags: later
 * changes; sock-accept: an accepted socket gets the listener's keys that
 * match its peer, with their serials (the flow keeps its keys); sock-info:
 * the counters (and the flow's ISNs and SNEs, for TCP_AO_REPAIR);
 * sock-repair: a socket restored with TCP_REPAIR goes on with the ISNs
 * and SNEs it was given (repair.h); sock-watch: a listener without keys,
 * only remembered so that an autostarted daemon stays while it lives (the
 * rules drop AO segments to it, as Linux does). Flags: ao-required=0|1
 * accept-icmps=0|1 current=ID rnext=ID (-1: Linux's default).
 *
 * Entries of sockets that are gone are dropped when sock_diag says the
 * socket was destroyed (and no TIME-WAIT socket is left of it), and
 * otherwise when sockets_gc() no longer finds its SO_COOKIE: when
 * notifications were lost, when a user's quota is reached, and once a
 * second in an autostarted daemon. Not per request: a sock_diag dump walks
 * the whole established hash table (milliseconds on a large host).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit.h"
#include "cookiemap.h"
#include "keycount.h"
#include "log.h"
#include "ops.h"
#include "repair.h"
#include "sockets.h"
#include "worker.h"

struct sock_rec {
	uint64_t cookie;
	uint32_t uid;                /* who registered it: quotas, origin */
	bool limited;                /* not root: quotas apply */
	struct sock_rec *uid_next, *uid_prev; /* a limited uid's records */
	size_t committed;            /* keys in its policy entry */
	bool listener;
	_Atomic uint64_t cnt[5];
	struct keycount keycnt;      /* per key, by serial */
	struct tcpao_keyring staged; /* sock-begin .. sock-commit */
	int staged_rc;               /* a refused sock-begin / sock-key: no commit */
	int family;
	struct tcpao_addr dest;      /* connect()'s peer */
	uint16_t dport;
	/* The 4-tuple when last seen connected: a reset socket has no peer
	 * any more, and its TCP_AO_INFO still counts its flow's RST. */
	bool seen;
	struct tcpao_addr seen_local, seen_remote;
	uint16_t seen_lport, seen_rport;
	size_t at;                   /* its place in socks[] */
};

static struct sock_rec **socks;
static size_t nsocks;
/* The records by cookie: a request or a destroy notification finds its
 * record at any number of them (TIME-WAIT sockets keep theirs). */
static struct cookiemap by_cookie;
static int watch_fd = -1; /* sock_diag destroy notifications */
static int diag_fd = -1; /* lingers()'s, kept: a lookup per destroyed socket */
static uint32_t diag_seq;
static bool watch_joined;
static unsigned int nworkers = 1; /* the writers of each keycount */

void sockets_set_workers(unsigned int n)
{
	nworkers = n ? n : 1;
}

/* ---- the socket passed with a request ---------------------------------- */

struct sock_id {
	uint64_t cookie;
	int family;
	struct tcpao_addr local, remote;
	uint16_t lport, rport;
	bool connected;
};

static void from_sockaddr(const struct sockaddr_storage *ss,
			  struct tcpao_addr *a, uint16_t *port)
{
	tcpao_addr_from_sockaddr(a, ss);
	*port = ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
		: ss->ss_family == AF_INET6 ? ntohs(((const struct sockaddr_in6 *)ss)->sin6_port)
		: 0;
}

/* The socket behind fd: its cookie alone when that is all the request
 * needs (sock-key finds what sock-begin recorded). */
static int identify(int fd, struct sock_id *id, bool cookie_only)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(id->cookie);
	int proto = 0;

	memset(id, 0, sizeof(*id));
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &id->cookie, &l))
		return -errno;
	if (cookie_only)
		return 0;
	l = sizeof(proto);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) || proto != IPPROTO_TCP)
		return -ENOTSOCK;
	l = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &l))
		return -errno;
	id->family = ss.ss_family; /* the socket's, bound or not */
	from_sockaddr(&ss, &id->local, &id->lport);
	l = sizeof(ss);
	if (!getpeername(fd, (struct sockaddr *)&ss, &l)) {
		from_sockaddr(&ss, &id->remote, &id->rport);
		id->connected = true;
	}
	return 0;
}

static struct sock_rec *rec_find(uint64_t cookie)
{
	return cookiemap_find(&by_cookie, cookie);
}

static uint64_t rec_cookie(const void *r)
{
	return ((const struct sock_rec *)r)->cookie;
}

/* ---- per-uid quotas (sockets.h) --------------------------------------- */

/* The records of each limited uid, chained: a quota counts the user's own
 * records (at most SOCKETS_PER_UID), however many others hold. */
struct uid_chain {
	uint32_t uid;
	size_t n;
	struct sock_rec *first;
};

static struct uid_chain *uids; /* the uids with a record: a few */
static size_t nuids;

static struct uid_chain *uid_chain(uint32_t uid)
{
	for (size_t i = 0; i < nuids; i++)
		if (uids[i].uid == uid)
			return &uids[i];
	return NULL;
}

static int uid_link(struct sock_rec *r)
{
	struct uid_chain *c = uid_chain(r->uid);

	if (!c) {
		struct uid_chain *grown = realloc(uids, (nuids + 1) * sizeof(*uids));

		if (!grown)
			return -ENOMEM;
		uids = grown;
		c = &uids[nuids++];
		*c = (struct uid_chain){ .uid = r->uid };
	}
	r->uid_prev = NULL;
	r->uid_next = c->first;
	if (c->first)
		c->first->uid_prev = r;
	c->first = r;
	c->n++;
	return 0;
}

static void uid_unlink(struct sock_rec *r)
{
	struct uid_chain *c = uid_chain(r->uid);

	if (r->uid_next)
		r->uid_next->uid_prev = r->uid_prev;
	if (r->uid_prev)
		r->uid_prev->uid_next = r->uid_next;
	else
		c->first = r->uid_next;
	if (!--c->n)
		*c = uids[--nuids];
}

static size_t uid_sockets(uint32_t uid)
{
	const struct uid_chain *c = uid_chain(uid);

	return c ? c->n : 0;
}

static size_t uid_keys(uint32_t uid)
{
	const struct uid_chain *c = uid_chain(uid);
	size_t n = 0;

	for (const struct sock_rec *r = c ? c->first : NULL; r; r = r->uid_next)
		n += r->staged.n + r->committed;
	return n;
}

/* Record socks[i] leaves (the caller frees it). */
static void rec_drop(size_t i)
{
	if (socks[i]->limited)
		uid_unlink(socks[i]);
	cookiemap_del(&by_cookie, socks[i]);
	socks[i] = socks[--nsocks];
	if (i < nsocks)
		socks[i]->at = i;
}

/* Room for `more` keys of this socket's owner? Linux's key allocation
 * fails with ENOMEM when the socket's optmem is spent. */
static int key_quota(const struct sock_rec *r, size_t more)
{
	if (!r->limited || uid_keys(r->uid) + more <= SOCKETS_KEYS_PER_UID)
		return 0;
	log_msg(LOG_NOTICE, "uid %u: key quota (%d) reached", r->uid,
		SOCKETS_KEYS_PER_UID);
	return -ENOMEM;
}

/* Destroy notifications only while a socket is recorded: otherwise the
 * end of every TCP socket of the namespace wakes the main thread for
 * nothing. Joined before a record's socket can go (rec_get() runs while
 * the request holds the socket's descriptor). */
static void watch_follow(void)
{
	static const int groups[2] = { SKNLGRP_INET_TCP_DESTROY,
				       SKNLGRP_INET6_TCP_DESTROY };
	bool want = nsocks > 0;

	if (watch_fd < 0 || want == watch_joined)
		return;
	for (int i = 0; i < 2; i++)
		if (setsockopt(watch_fd, SOL_NETLINK,
			       want ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP,
			       &groups[i], sizeof(groups[i])) && want)
			log_msg(LOG_WARNING, "sock_diag destroy notifications: %m");
	watch_joined = want;
}

/* The record of a socket, new ones within the owner's quota (ENOBUFS,
 * as when a system-wide resource runs out). */
static struct sock_rec *rec_get(uint64_t cookie, const struct control_client *who,
				int *rc)
{
	struct sock_rec *r = rec_find(cookie), **grown;
	bool limited = who && !who->privileged;

	*rc = -ENOMEM;
	if (r)
		return r;
	if (limited && uid_sockets(who->uid) >= SOCKETS_PER_UID) {
		log_msg(LOG_NOTICE, "uid %u: socket quota (%d) reached", who->uid,
			SOCKETS_PER_UID);
		*rc = -ENOBUFS;
		return NULL;
	}
	if (!by_cookie.key)
		cookiemap_init(&by_cookie, rec_cookie);
	r = calloc(1, sizeof(*r));
	grown = realloc(socks, (nsocks + 1) * sizeof(*socks));
	if (r) {
		r->cookie = cookie;
		r->uid = who ? who->uid : 0;
		r->limited = limited;
	}
	if (grown)
		socks = grown;
	if (!r || !grown || cookiemap_add(&by_cookie, r)) {
		free(r);
		return NULL;
	}
	if (limited && uid_link(r)) {
		cookiemap_del(&by_cookie, r);
		free(r);
		return NULL;
	}
	tcpao_keyring_init(&r->staged);
	keycount_init(&r->keycnt, false, nworkers);
	r->at = nsocks;
	socks[nsocks++] = r;
	watch_follow();
	return r;
}

/* ---- arguments --------------------------------------------------------- */

struct sock_flags {
	int ao_required, accept_icmps, current, rnext;
};

static const char *arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], name, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return NULL;
}

static int arg_int(int argc, char **argv, const char *name, int dflt)
{
	const char *v = arg(argc, argv, name);

	/* Range-checked in control.c (check_sock_numbers). */
	return v ? (int)strtol(v, NULL, 10) : dflt;
}

static void parse_flags(int argc, char **argv, struct sock_flags *f)
{
	f->ao_required = arg_int(argc, argv, "ao-required", -1);
	f->accept_icmps = arg_int(argc, argv, "accept-icmps", -1);
	f->current = arg_int(argc, argv, "current", -1);
	f->rnext = arg_int(argc, argv, "rnext", -1);
}

static void apply_flags(struct policy_peer *p, const struct sock_flags *f)
{
	policy_sock_flags(p, f->ao_required, f->accept_icmps, f->current, f->rnext);
}

/* ---- policy entries (policy.c owns them) ------------------------------- */

static const struct policy_peer *entry_of(const struct policy *p, uint64_t cookie)
{
	return policy_sock_entry(p, cookie);
}

static struct policy_sock sock_of(struct sock_rec *r)
{
	return (struct policy_sock){ .cookie = r->cookie, .uid = r->uid,
				     .listener = r->listener, .cnt = r->cnt,
				     .keycnt = &r->keycnt };
}

static void host_prefix(struct tcpao_addr *a, uint8_t *len,
			const struct tcpao_addr *from)
{
	*a = *from;
	*len = (uint8_t)(tcpao_addr_len(a) * 8);
}

/* The scope of a socket's entry. A listener's peer is "any" of the
 * family its keys are (IPv4-mapped keys are IPv4). */
static void socket_scope(const struct sock_id *id, const struct sock_rec *r,
			 const struct tcpao_keyring *keys, struct policy_scope *s)
{
	memset(s, 0, sizeof(*s));
	s->local_port = id->lport;
	if (id->local.family != AF_UNSPEC &&
	    memcmp(id->local.bytes, (uint8_t[16]){ 0 }, tcpao_addr_len(&id->local)))
		host_prefix(&s->local, &s->local_len, &id->local);
	if (r->listener) {
		s->peer.family = keys->n ? tcpao_keyring_key(keys, 0)->peer.family : (sa_family_t)id->family;
		if (s->peer.family == AF_UNSPEC)
			s->peer.family = (sa_family_t)id->family;
		s->peer_len = 0;
		if (s->local.family != AF_UNSPEC && s->local.family != s->peer.family)
			memset(&s->local, 0, sizeof(s->local)), s->local_len = 0;
		return;
	}
	host_prefix(&s->peer, &s->peer_len, id->connected ? &id->remote : &r->dest);
	s->remote_port = id->connected ? id->rport : r->dport;
	if (s->local.family != AF_UNSPEC && s->local.family != s->peer.family)
		memset(&s->local, 0, sizeof(s->local)), s->local_len = 0;
}

/* fresh in force, or the error (a refusal audited as the change was). */
static int publish(struct daemon_ctx *d, struct policy *fresh, const char *op,
		   struct control_reply *out)
{
	struct audit_who who = audit_client(control_reply_client(out));
	char err[256] = "";
	int rc = daemon_publish(d, fresh, &who, op, err, sizeof(err));

	return rc ? control_reply_error(out, rc, "%s", err) : 0;
}

/* ---- the audit trail (audit.h) ----------------------------------------- */

/* "keys=N current=C rnext=R ids=S/R,...": the entry after the change, the
 * first ids only (a listener may hold thousands). */
static void entry_summary(const struct policy_peer *e, char *buf, size_t len)
{
	int at = snprintf(buf, len, "keys=%zu current=%d rnext=%d ids=", e->keys.n,
			  e->current_sndid, e->rnext_rcvid);

	for (size_t k = 0; k < e->keys.n && k < 8 && at > 0 && (size_t)at < len; k++)
		at += snprintf(buf + at, len - (size_t)at, "%s%u/%u", k ? "," : "",
			       tcpao_keyring_key(&e->keys, k)->sndid,
			       tcpao_keyring_key(&e->keys, k)->rcvid);
	if (at > 0 && (size_t)at < len)
		snprintf(buf + at, len - (size_t)at, "%s",
			 !e->keys.n ? "none" : e->keys.n > 8 ? ",..." : "");
}

/* One line per request that changed the socket's entry e; by the client
 * of `out`, or (no out) by the socket's closing. sndid / rcvid: the key
 * added or deleted, -1 for none. */
static void audit_sock(const struct control_reply *out, const struct sock_rec *r,
		       const char *op, const char *change, const struct policy_peer *e,
		       int sndid, int rcvid)
{
	struct audit_who who = { .by = AUDIT_BY_CLOSE, .uid = r->uid };
	char extra[200], origin[96];

	if (out)
		who = audit_client(control_reply_client(out));
	entry_summary(e, extra, sizeof(extra));
	audit_socket(r->uid, &who, &(struct audit_rec){
		.op = op, .change = change, .scope = &e->scope, .sndid = sndid, .rcvid = rcvid,
		.extra = extra, .origin = policy_key_origin(e, 0, origin, sizeof(origin)) });
}

/* Takes the entry of a socket that is gone out of fresh, saying so. False
 * when it stays (no memory): its record must stay too, for the entry
 * points at the record's counters. */
static bool forget_entry(struct daemon_ctx *d, struct policy *fresh,
			 const struct sock_rec *r)
{
	const struct policy_peer *e = entry_of(d->policy, r->cookie);

	if (policy_sock_remove(fresh, r->cookie) == -ENOMEM)
		return false;
	if (e)
		audit_sock(NULL, r, "sock-close", "unregister", e, -1, -1);
	return true;
}

/* ---- requests ---------------------------------------------------------- */

static int sock_begin(struct sock_id *id, int argc, char **argv,
		      struct control_reply *out)
{
	const char *role = arg(argc, argv, "role"), *peer = arg(argc, argv, "peer");
	struct sock_rec *r;
	int rc;

	r = rec_get(id->cookie, control_reply_client(out), &rc);
	if (!r)
		return control_reply_error(out, rc, "sock-begin: %s", strerror(-rc));
	tcpao_keyring_free(&r->staged);
	tcpao_keyring_init(&r->staged);
	r->staged_rc = 0;
	r->listener = role && !strcmp(role, "listen");
	r->keycnt.listener = r->listener;
	r->family = id->family;
	memset(&r->dest, 0, sizeof(r->dest));
	r->dport = (uint16_t)arg_int(argc, argv, "port", 0);
	if (peer) {
		uint8_t len;

		if (tcpao_addr_parse(peer, &r->dest, &len))
			return control_reply_error(out, r->staged_rc = -EINVAL, "bad peer");
		tcpao_addr_unmap(&r->dest);
	}
	return 0;
}

static int parse_key(const char *spec, struct tcpao_mkt *mkt,
		     struct control_reply *out)
{
	char err[160];

	if (!spec)
		return control_reply_error(out, -EINVAL, "no key");
	if (tcpao_mkt_parse(spec, mkt, err, sizeof(err)))
		return control_reply_error(out, -EINVAL, "%s", err);
	return 0;
}

/* sock-key SPEC...: staged in order, up to the first refused. */
static int sock_key(struct sock_id *id, int argc, char **argv,
		    struct control_reply *out)
{
	struct sock_rec *r = rec_find(id->cookie);
	struct tcpao_mkt mkt;
	int rc = 0;

	if (!r || argc < 2)
		return control_reply_error(out, -EINVAL, "sock-begin first");
	if (r->staged_rc) /* requests sent ahead of the refusal */
		return control_reply_error(out, r->staged_rc, "sock-key: an earlier key was refused");
	for (int i = 1; i < argc && !rc; i++) {
		rc = parse_key(argv[i], &mkt, out) ?: key_quota(r, 1);
		if (!rc)
			rc = tcpao_keyring_add(&r->staged, &mkt);
		tcpao_mkt_wipe(&mkt);
	}
	if (rc && !r->staged_rc)
		r->staged_rc = rc;
	if (rc) { /* nothing of it will be committed: off the quota now */
		tcpao_keyring_free(&r->staged);
		tcpao_keyring_init(&r->staged);
	}
	return rc;
}

static int sock_commit(struct daemon_ctx *d, struct sock_id *id, int argc,
		       char **argv, struct control_reply *out)
{
	struct sock_rec *r = rec_find(id->cookie);
	struct policy_scope scope;
	struct policy_sock ps;
	struct sock_flags f;
	struct policy *fresh;
	struct policy_peer *e;
	char err[256] = "";
	size_t committed;
	int rc;

	if (!r)
		return control_reply_error(out, -EINVAL, "sock-begin first");
	/* Requests come ahead of their replies (client/sockctl.c): a key
	 * refused before this commit fails it, never a part committed. */
	if (r->staged_rc) {
		rc = r->staged_rc;
		r->staged_rc = 0;
		return control_reply_error(out, rc, "sock-commit: a key was refused");
	}
	parse_flags(argc, argv, &f);
	socket_scope(id, r, &r->staged, &scope);
	fresh = policy_clone(d->policy);
	if (!fresh)
		return -ENOMEM;
	ps = sock_of(r);
	e = policy_sock_set(fresh, &ps, &scope, &r->staged, false, NULL, 0, &rc,
			    err, sizeof(err));
	if (!e) {
		policy_free(fresh);
		return control_reply_error(out, rc ? rc : -EINVAL, "%s", err);
	}
	apply_flags(e, &f);
	committed = e->keys.n;
	tcpao_keyring_free(&r->staged);
	tcpao_keyring_init(&r->staged);
	audit_sock(out, r, "sock-commit", "register", e, -1, -1);
	rc = publish(d, fresh, "sock-commit", out);
	if (!rc)
		r->committed = committed;
	return rc;
}

/* A change to a committed entry, on a clone. */
static int sock_change(struct daemon_ctx *d, struct sock_id *id, int argc,
		       char **argv, struct control_reply *out)
{
	struct sock_rec *r = rec_find(id->cookie);
	struct policy *fresh;
	struct policy_peer *e;
	struct tcpao_mkt mkt;
	struct sock_flags f;
	const char *change = "set";
	int rc = 0, sndid = -1, rcvid = -1;
	size_t committed;

	if (!r || !entry_of(d->policy, id->cookie))
		return control_reply_error(out, -ENOENT, "socket not registered");
	if (!strcmp(argv[0], "sock-key-add") && (rc = key_quota(r, 1)))
		return control_reply_error(out, rc, "sock-key-add: key quota");
	fresh = policy_clone(d->policy);
	if (!fresh)
		return -ENOMEM;
	e = policy_sock_entry_mut(fresh, id->cookie); /* the clone's own */
	if (!e) {
		policy_free(fresh);
		return -ENOMEM;
	}
	if (!strcmp(argv[0], "sock-key-add")) {
		rc = parse_key(argc > 1 ? argv[1] : NULL, &mkt, out);
		if (!rc) {
			sndid = mkt.sndid, rcvid = mkt.rcvid;
			rc = policy_sock_add_key(fresh, id->cookie, &mkt);
		}
		change = "add";
		tcpao_mkt_wipe(&mkt);
	} else if (!strcmp(argv[0], "sock-key-del")) {
		rc = parse_key(argc > 1 ? argv[1] : NULL, &mkt, out);
		/* ids and peer only: the key syntax wants alg and secret */
		if (rc) {
			struct tcpao_addr peer;
			uint8_t len = 0;
			const char *ps = strstr(argv[1], "peer=");

			rc = -EINVAL;
			if (ps && sscanf(argv[1], "sndid=%d,rcvid=%d", &sndid, &rcvid) == 2 &&
			    sndid >= 0 && sndid <= 255 && rcvid >= 0 && rcvid <= 255 &&
			    !tcpao_addr_parse(ps + 5, &peer, &len)) {
				tcpao_addr_unmap(&peer);
				rc = policy_sock_del_key(fresh, id->cookie, &peer, len,
							 (uint8_t)sndid, (uint8_t)rcvid);
			}
			change = "drop";
		}
	} else if (!strcmp(argv[0], "sock-set")) {
		parse_flags(argc, argv, &f);
		apply_flags(e, &f);
	} else {
		rc = -EINVAL;
	}
	/* A key change that carries the socket's flags: one publish. */
	if (!rc && strcmp(argv[0], "sock-set") && arg(argc, argv, "current")) {
		parse_flags(argc, argv, &f);
		apply_flags(e, &f);
	}
	if (rc) {
		policy_free(fresh);
		return control_reply_error(out, rc, "%s: %s", argv[0], strerror(-rc));
	}
	committed = e->keys.n;
	audit_sock(out, r, argv[0], change, e, sndid, rcvid);
	rc = publish(d, fresh, argv[0], out);
	if (!rc)
		r->committed = committed;
	return rc;
}

/* The flow of an accepted or connected socket, from its worker alone. */
struct flow_find {
	bool found;
	struct flow_info info;
};

static void find_flow(const struct sock_id *id, struct flow_find *ff)
{
	ff->found = flows_find(&id->local, id->lport, &id->remote, id->rport,
			       &ff->info);
}

static int sock_accept(struct daemon_ctx *d, struct sock_id *id,
		       struct control_reply *out)
{
	const struct policy_peer *l;
	struct flow_find ff = { 0 };
	struct policy_scope scope;
	struct policy_sock ps;
	struct policy *fresh;
	struct policy_peer *e;
	struct sock_rec *r;
	char err[256] = "";
	size_t committed;
	int rc;

	if (!id->connected)
		return -ENOTCONN;
	l = policy_match(d->policy, &id->local, id->lport, &id->remote, id->rport);
	if (!l || !l->sock_cookie || !policy_listener_serves(l, &id->remote))
		return control_reply_error(out, -ENOENT, "no listener keys");
	find_flow(id, &ff);
	r = rec_get(id->cookie, control_reply_client(out), &rc);
	if (!r)
		return control_reply_error(out, rc, "sock-accept: %s", strerror(-rc));
	/* sockets_gc() looks for it in the sock_diag dump of its family. */
	r->family = id->family;
	r->listener = false;
	r->keycnt.listener = false;
	socket_scope(id, r, NULL, &scope);
	fresh = policy_clone(d->policy);
	if (!fresh)
		return -ENOMEM;
	/* The listener's keys from the published snapshot, which lives on
	 * until publish(): entries of the clone move in policy_sock_set(). */
	ps = sock_of(r);
	/* Linux copies the listener's keys that match the peer in the
	 * connection's VRF (its flow's, from its SYN). */
	e = policy_sock_set(fresh, &ps, &scope, &l->keys, true, &id->remote,
			    ff.found ? ff.info.l3index : 0, &rc,
			    err, sizeof(err));
	if (!e) {
		policy_free(fresh);
		return control_reply_error(out, rc ? rc : -EINVAL, "%s", err);
	}
	policy_sock_flags(e, l->ao_required, l->accept_icmps, e->current_sndid,
			  e->rnext_rcvid);
	committed = e->keys.n;
	control_reply_record(out, "sock");
	control_reply_int(out, "syn-keyid", ff.found ? ff.info.rnext_rcvid : -1);
	control_reply_int(out, "syn-rnext", ff.found ? ff.info.current_sndid : -1);
	if (!control_reply_whole(out)) {
		policy_free(fresh);
		return -ENOMEM;
	}
	audit_sock(out, r, "sock-accept", "register", e, -1, -1);
	rc = publish(d, fresh, "sock-accept", out);
	if (!rc)
		r->committed = committed;
	return rc;
}

/* One "key" record per counting key of the socket's entry:
 * TCP_AO_GET_KEYS's pkt_good / pkt_bad, named by ids and peer. */
static void reply_key_counts(struct daemon_ctx *d, struct sock_rec *r,
			     struct control_reply *out)
{
	const struct policy_peer *e = entry_of(d->policy, r->cookie);
	struct key_count *counted;
	size_t ncounted = keycount_snapshot(&r->keycnt, &counted);

	/* Only the keys that counted something, each found by its serial: a
	 * listener may hold thousands of keys, a few of them counting. */
	for (size_t i = 0; e && i < ncounted; i++) {
		const struct key_count *c = &counted[i];
		int at = tcpao_keyring_find_serial(&e->keys, c->serial);
		const struct tcpao_mkt *m;

		if (at < 0 || (!c->good && !c->bad))
			continue; /* a deleted key's count */
		m = tcpao_keyring_key(&e->keys, (size_t)at);
		control_reply_record(out, "key");
		control_reply_int(out, "sndid", m->sndid);
		control_reply_int(out, "rcvid", m->rcvid);
		control_reply_prefix(out, "peer", &m->peer, m->prefixlen);
		control_reply_u64(out, "good", c->good);
		control_reply_u64(out, "bad", c->bad);
	}
	free(counted);
}

static int sock_watch(struct sock_id *id, struct control_reply *out)
{
	int rc;
	struct sock_rec *r = rec_get(id->cookie, control_reply_client(out), &rc);

	if (!r)
		return control_reply_error(out, rc, "sock-watch: %s", strerror(-rc));
	r->family = id->family;
	return 0;
}

/* What TCP_AO_REPAIR reads: the flow's ISNs, and each direction's SNE
 * with the sequence number it belongs to. */
static void reply_repair(const struct flow_info *fi, struct control_reply *out)
{
	control_reply_u64(out, "snt-isn", fi->snt_isn);
	control_reply_u64(out, "rcv-isn", fi->rcv_isn);
	control_reply_u64(out, "snd-seq", fi->snd_seq);
	control_reply_u64(out, "snd-sne", fi->snd_sne);
	control_reply_u64(out, "rcv-seq", fi->rcv_seq);
	control_reply_u64(out, "rcv-sne", fi->rcv_sne);
}

static int sock_info(struct daemon_ctx *d, struct sock_id *id, int argc,
		     char **argv, struct control_reply *out)
{
	struct sock_rec *r = rec_find(id->cookie);
	struct flow_find ff = { 0 };
	uint64_t v[5] = { 0 };
	int cur = -1, next = -1;

	(void)d;
	if (!id->connected && r && r->seen) {
		id->local = r->seen_local;
		id->remote = r->seen_remote;
		id->lport = r->seen_lport;
		id->rport = r->seen_rport;
	}
	if (id->connected || (r && r->seen)) {
		find_flow(id, &ff);
		if (ff.found) {
			v[0] = ff.info.good;
			v[1] = ff.info.bad;
			v[2] = ff.info.key_not_found;
			v[3] = ff.info.ao_required;
			v[4] = ff.info.dropped_icmps;
			cur = ff.info.current_sndid;
			next = ff.info.rnext_rcvid;
		}
	}
	for (int i = 0; r && i < 5; i++)
		v[i] += atomic_load(&r->cnt[i]);
	control_reply_record(out, "sock");
	control_reply_u64(out, "good", v[0]);
	control_reply_u64(out, "bad", v[1]);
	control_reply_u64(out, "key-not-found", v[2]);
	control_reply_u64(out, "ao-required", v[3]);
	control_reply_u64(out, "dropped-icmps", v[4]);
	control_reply_int(out, "current", cur);
	control_reply_int(out, "rnext", next);
	if (ff.found && ff.info.have_isns)
		reply_repair(&ff.info, out);
	if (r && arg_int(argc, argv, "keys", 1)) /* keys=0: counters only */
		reply_key_counts(d, r, out);
	return 0;
}

/* ---- TCP_REPAIR -------------------------------------------------------- */

static int arg_u32(int argc, char **argv, const char *name, uint32_t *v)
{
	const char *s = arg(argc, argv, name);
	char *end;
	unsigned long long n;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || *end || n > UINT32_MAX || *s == '-')
		return -EINVAL;
	*v = (uint32_t)n;
	return 0;
}

/* sock-repair snt-isn= rcv-isn= snd-seq= snd-sne= rcv-seq= rcv-sne=: the
 * socket, restored with TCP_REPAIR, carries on with these ISNs and SNEs
 * (its committed entry gives the keys). */
static int sock_repair(struct daemon_ctx *d, struct sock_id *id, int argc,
		       char **argv, struct control_reply *out)
{
	struct repair_flow rf = { 0 };
	int rc;

	if (!id->connected)
		return control_reply_error(out, -ENOTCONN, "not connected");
	if (!entry_of(d->policy, id->cookie))
		return control_reply_error(out, -ENOENT, "socket not registered");
	rc = arg_u32(argc, argv, "snt-isn", &rf.snt_isn);
	if (!rc)
		rc = arg_u32(argc, argv, "rcv-isn", &rf.rcv_isn);
	if (!rc)
		rc = arg_u32(argc, argv, "snd-seq", &rf.snd_seq);
	if (!rc)
		rc = arg_u32(argc, argv, "snd-sne", &rf.snd_sne);
	if (!rc)
		rc = arg_u32(argc, argv, "rcv-seq", &rf.rcv_seq);
	if (!rc)
		rc = arg_u32(argc, argv, "rcv-sne", &rf.rcv_sne);
	if (rc)
		return control_reply_error(out, rc, "sock-repair: bad arguments");
	rf.key = (struct flow_key){ .local = id->local, .remote = id->remote,
				    .lport = id->lport, .rport = id->rport };
	rc = repair_start(&rf);
	return rc ? control_reply_error(out, rc, "sock-repair: %s", strerror(-rc)) : 0;
}

/* ---- sockets that are gone --------------------------------------------- */

/* The cookies of the namespace's TCP sockets of one family: one sock_diag
 * dump per family and sockets_gc(), not one per socket (a dump walks the
 * whole established hash table, every namespace's). */
struct live_cookies {
	bool dumped, known; /* known: the dump completed */
	uint64_t *v;        /* sorted */
	size_t n, cap;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool cookie_push(struct live_cookies *lc, uint64_t c)
{
	uint64_t *grown;

	if (lc->n == lc->cap) {
		grown = realloc(lc->v, (lc->cap ? lc->cap * 2 : 64) * sizeof(*grown));
		if (!grown)
			return false;
		lc->v = grown;
		lc->cap = lc->cap ? lc->cap * 2 : 64;
	}
	lc->v[lc->n++] = c;
	return true;
}

static void dump_cookies(int family, struct live_cookies *lc)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = (uint8_t)family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0u },
	};
	char buf[16384];
	bool done = false, ok = true;
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	lc->dumped = true;
	if (fd < 0)
		return; /* cannot tell: every socket is kept */
	if (send(fd, &msg, sizeof(msg), 0) < 0) {
		close(fd);
		return;
	}
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n <= 0)
			break;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			uint64_t c;

			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
				done = true;
				break;
			}
			memcpy(&c, m->id.idiag_cookie, sizeof(c));
			ok = ok && cookie_push(lc, c);
		}
	}
	close(fd);
	lc->known = done && ok;
	if (lc->known && lc->n) /* none: v is NULL, which qsort may not take */
		qsort(lc->v, lc->n, sizeof(*lc->v), cmp_u64);
}

/* Is a TCP socket with this cookie still alive in the namespace? */
static bool alive(struct live_cookies lc[2], int family, uint64_t cookie)
{
	struct live_cookies *l = &lc[family == AF_INET6];

	if (!l->dumped)
		dump_cookies(family, l);
	return !l->known || (l->n && bsearch(&cookie, l->v, l->n, sizeof(*l->v), cmp_u64));
}

void sockets_gc(struct daemon_ctx *d)
{
	struct sock_rec **gone = calloc(nsocks + 1, sizeof(*gone));
	struct live_cookies lc[2] = { 0 };
	struct policy *fresh = NULL;
	size_t ngone = 0;

	if (!gone)
		return;
	for (size_t i = 0; i < nsocks;) {
		struct sock_rec *r = socks[i];

		if (alive(lc, r->family == AF_INET6 ? AF_INET6 : AF_INET, r->cookie)) {
			i++;
			continue;
		}
		if (!fresh && !(fresh = policy_clone(d->policy)))
			break;
		if (!forget_entry(d, fresh, r)) {
			i++; /* the next gc tries again */
			continue;
		}
		rec_drop(i);
		gone[ngone++] = r;
	}
	if (fresh)
		daemon_publish_removal(d, fresh);
	/* Published: no worker sees their counters any more. */
	for (size_t i = 0; i < ngone; i++) {
		tcpao_keyring_free(&gone[i]->staged);
		keycount_free(&gone[i]->keycnt);
		free(gone[i]);
	}
	free(gone);
	free(lc[0].v);
	free(lc[1].v);
	watch_follow();
}

/* ---- restored after a restart ------------------------------------------ */

int sockets_restore(struct policy *policy, uint64_t cookie, uint32_t uid,
		    const struct flow_key *key, const struct tcpao_mkt *mkt)
{
	struct live_cookies lc[2] = { 0 };
	int family = key->remote.family == AF_INET6 ? AF_INET6 : AF_INET;
	const struct control_client who = { .uid = uid, .privileged = uid == 0 };
	struct policy_scope scope = { .peer = key->remote, .local = key->local,
				      .local_port = key->lport,
				      .remote_port = key->rport };
	struct sock_rec *r;
	struct policy_peer *e;
	bool live;
	int rc;

	live = alive(lc, family, cookie) && lc[family == AF_INET6].known;
	free(lc[0].v);
	free(lc[1].v);
	if (!live)
		return -ESRCH;
	r = rec_get(cookie, &who, &rc);
	if (!r)
		return rc;
	r->family = family;
	scope.peer_len = scope.local_len = (uint8_t)(tcpao_addr_len(&key->remote) * 8);
	/* A flow's second key goes to the entry of its first (copied, or no
	 * memory): never to a fresh one that would drop the first. */
	if (policy_sock_entry(policy, cookie)) {
		if (!(e = policy_sock_entry_mut(policy, cookie)))
			return -ENOMEM;
	} else {
		struct policy_sock ps = sock_of(r);

		e = policy_sock_set(policy, &ps, &scope, NULL, false, NULL, 0, &rc, NULL, 0);
		if (!e)
			return rc;
	}
	rc = policy_sock_add_key(policy, cookie, mkt);
	if (rc == -EEXIST)
		return 0; /* the flow's other key is the same one */
	if (!rc)
		r->committed = e->keys.n;
	return rc;
}

/* ---- sock_diag destroy notifications ----------------------------------- */

int sockets_watch_open(void)
{
	struct sockaddr_nl sa = {
		.nl_family = AF_NETLINK,
		.nl_groups = 1u << (SKNLGRP_INET_TCP_DESTROY - 1) |
			     1u << (SKNLGRP_INET6_TCP_DESTROY - 1),
	};
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_SOCK_DIAG);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	/* Bound to both groups (the capability is checked here), then
	 * left until a socket is recorded. */
	watch_fd = fd;
	watch_joined = true;
	watch_follow();
	return fd;
}

void sockets_watch_close(int fd)
{
	if (diag_fd >= 0)
		close(diag_fd);
	diag_fd = -1;
	if (fd < 0)
		return;
	close(fd);
	watch_fd = -1;
	watch_joined = false;
}

/* A destroyed socket may live on as a TIME-WAIT socket (same cookie),
 * which still signs its last segments with the keys: an exact sock_diag
 * lookup of its 4-tuple and cookie. */
static bool lingers(const struct inet_diag_msg *m)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = { .nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = ++diag_seq },
		.req = { .sdiag_family = m->idiag_family, .sdiag_protocol = IPPROTO_TCP,
			 .idiag_states = ~0u, .id = m->id },
	};
	char buf[2048];
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	ssize_t n;

	if (diag_fd < 0)
		diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (diag_fd < 0 || send(diag_fd, &msg, sizeof(msg), 0) != sizeof(msg))
		return true; /* cannot tell: sockets_gc() decides later */
	do /* one reply, after any an earlier failure left */
		n = recv(diag_fd, buf, sizeof(buf), 0);
	while (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_seq != diag_seq);
	if (n < 0 || !NLMSG_OK(h, (size_t)n)) {
		close(diag_fd); /* out of step: a fresh one next time */
		diag_fd = -1;
		return true;
	}
	return h->nlmsg_type == SOCK_DIAG_BY_FAMILY;
}

/* Drops the records and their entries: one publish, then the records
 * (no worker sees their counters any more). */
static void forget_records(struct daemon_ctx *d, struct sock_rec **gone,
			   size_t ngone)
{
	struct policy *fresh = policy_clone(d->policy);

	if (!fresh)
		return; /* kept: sockets_gc() tries again */
	for (size_t i = 0; i < ngone; i++) {
		if (!forget_entry(d, fresh, gone[i])) {
			gone[i] = NULL; /* kept: sockets_gc() tries again */
			continue;
		}
		log_msg(LOG_DEBUG, "socket %llx destroyed: its entry goes",
			(unsigned long long)gone[i]->cookie);
		rec_drop(gone[i]->at);
	}
	daemon_publish_removal(d, fresh);
	for (size_t i = 0; i < ngone; i++) {
		if (!gone[i])
			continue;
		tcpao_keyring_free(&gone[i]->staged);
		keycount_free(&gone[i]->keycnt);
		free(gone[i]);
	}
	watch_follow();
}

/* Collects the records of the destroyed sockets in this batch. */
static size_t destroyed(const char *buf, size_t len, struct sock_rec **gone,
			size_t ngone)
{
	for (const struct nlmsghdr *h = (const void *)buf; NLMSG_OK(h, len);
	     h = NLMSG_NEXT(h, len)) {
		const struct inet_diag_msg *m = NLMSG_DATA(h);
		struct sock_rec *r;
		uint64_t c;

		if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
		    h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
			continue;
		memcpy(&c, m->id.idiag_cookie, sizeof(c));
		r = rec_find(c);
		if (!r || lingers(m))
			continue;
		for (size_t i = 0; i < ngone; i++)
			if (gone[i] == r)
				r = NULL;
		if (r && ngone < nsocks)
			gone[ngone++] = r;
	}
	return ngone;
}

void sockets_watch_read(struct daemon_ctx *d, int fd)
{
	struct sock_rec **gone = NULL;
	size_t ngone = 0;
	bool lost = false;
	char buf[16384];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == ENOBUFS) {
			lost = true;
			continue;
		}
		if (n <= 0)
			break;
		if (!gone && !(gone = calloc(nsocks + 1, sizeof(*gone))))
			lost = true; /* sockets_gc() finds them instead */
		if (gone)
			ngone = destroyed(buf, (size_t)n, gone, ngone);
	}
	if (ngone)
		forget_records(d, gone, ngone);
	free(gone);
	/* Notifications were lost: ask sock_diag about every socket. */
	if (lost)
		sockets_gc(d);
}

bool sockets_idle(struct daemon_ctx *d)
{
	if (nsocks)
		sockets_gc(d);
	if (nsocks)
		return false;
	for (size_t i = 0; i < d->policy->n; i++)
		if (policy_entry(d->policy, i) && policy_entry(d->policy, i)->keys.n)
			return false;
	return true;
}

/* A user at a quota may hold sockets that are gone, their destroy
 * notifications not read yet: sock_diag decides before a refusal, at most
 * every 100 ms (a dump walks the whole established hash table: a user
 * must not make the daemon do that per request). */
static bool gc_for_quota(const struct control_client *who)
{
	static uint64_t last_ms;
	uint64_t now = control_now_ms();

	if (!who || who->privileged || now - last_ms < 100 ||
	    (uid_sockets(who->uid) < SOCKETS_PER_UID &&
	     uid_keys(who->uid) < SOCKETS_KEYS_PER_UID))
		return false;
	last_ms = now;
	return true;
}

/* A socket's 4-tuple while it is connected (sock_rec.seen). */
static void remember_tuple(const struct sock_id *id)
{
	struct sock_rec *r = id->connected ? rec_find(id->cookie) : NULL;

	if (!r)
		return;
	r->seen = true;
	r->seen_local = id->local;
	r->seen_remote = id->remote;
	r->seen_lport = id->lport;
	r->seen_rport = id->rport;
}

int sockets_request(void *ctx, int fd, int argc, char **argv,
		    struct control_reply *out)
{
	struct daemon_ctx *d = ctx;
	bool key = !strcmp(argv[0], "sock-key");
	struct sock_id id;
	int rc = identify(fd, &id, key);

	if (rc)
		return control_reply_error(out, rc, "not a TCP socket");
	remember_tuple(&id);
	/* The notifications queued so far (not per key of a registration). */
	if (!key && watch_fd >= 0)
		sockets_watch_read(d, watch_fd);
	if (gc_for_quota(control_reply_client(out)))
		sockets_gc(d);
	if (!strcmp(argv[0], "sock-begin"))
		return sock_begin(&id, argc, argv, out);
	if (!strcmp(argv[0], "sock-key"))
		return sock_key(&id, argc, argv, out);
	if (!strcmp(argv[0], "sock-commit"))
		return sock_commit(d, &id, argc, argv, out);
	if (!strcmp(argv[0], "sock-accept"))
		return sock_accept(d, &id, out);
	if (!strcmp(argv[0], "sock-watch"))
		return sock_watch(&id, out);
	if (!strcmp(argv[0], "sock-info"))
		return sock_info(d, &id, argc, argv, out);
	if (!strcmp(argv[0], "sock-repair"))
		return sock_repair(d, &id, argc, argv, out);
	return sock_change(d, &id, argc, argv, out);
}
