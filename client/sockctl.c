// SPDX-License-Identifier: GPL-2.0-or-later
/* sock-* requests to tcpaod, each carrying the socket's descriptor. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "autostart.h"
#include "ctl.h"
#include "sockctl.h"

#define CTL_TIMEOUT_MS 10000

static const char *ctl_name(void)
{
	const char *name = secure_getenv("TCPAO_CTL");

	return name && *name ? name : NULL;
}

/* A connection to this thread's namespace daemon, started if needed. */
static int ctl_open(void)
{
	int fd = tcpao_ctl_connect(ctl_name(), CTL_TIMEOUT_MS);

	if (fd == -ECONNREFUSED || fd == -ENOENT) {
		int rc = tcpao_autostart(ctl_name());

		if (rc)
			return rc;
		fd = tcpao_ctl_connect(ctl_name(), CTL_TIMEOUT_MS);
	}
	return fd;
}

/* Nothing more will be sent on ctl: the daemon, seeing the end with the
 * requests, closes its side as it replies instead of waking again for it. */
static void sent_all(int ctl)
{
	shutdown(ctl, SHUT_WR);
}

/* One request on a connection of its own (ctl, or the error opening it);
 * on success the reply is the caller's to free. */
static int call(int ctl, const char *req, int sock,
		struct tcpao_ctl_reply *reply)
{
	int rc;

	if (ctl < 0)
		return ctl;
	memset(reply, 0, sizeof(*reply));
	rc = tcpao_ctl_send_many(ctl, &req, 1, sock);
	if (!rc) {
		sent_all(ctl);
		rc = tcpao_ctl_read_reply(ctl, reply);
	}
	close(ctl);
	if (!rc && reply->status) {
		rc = reply->status;
		tcpao_ctl_reply_free(reply);
	}
	return rc;
}

/* A request whose reply says nothing but its status. */
static int one(int ctl, const char *req, int sock)
{
	struct tcpao_ctl_reply reply;
	int rc = call(ctl, req, sock, &reply);

	if (!rc)
		tcpao_ctl_reply_free(&reply);
	return rc;
}

static void hex(char *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", in[i]);
	out[2 * n] = '\0';
}

static void prefix_str(const struct tcpao_mkt *m, char *out, size_t len)
{
	char a[64];

	inet_ntop(m->peer.family, m->peer.bytes, a, sizeof(a));
	snprintf(out, len, "%s/%u", a, m->prefixlen);
}

/* The key syntax of tcpao_mkt_parse(); the secret as hex. */
static void key_spec(const struct tcpao_mkt *m, char *out, size_t len)
{
	char secret[2 * TCPAO_MAXKEYLEN + 1], peer[80];

	hex(secret, m->key, m->keylen);
	prefix_str(m, peer, sizeof(peer));
	snprintf(out, len, "sndid=%u,rcvid=%u,alg=%s,secret=hex:%s,peer=%s,maclen=%u%s%s%d",
		 m->sndid, m->rcvid, tcpao_alg_name(m->alg), secret, peer,
		 m->maclen, (m->flags & TCPAO_MKT_EXCLUDE_OPT) ? ",exclude-options" : "",
		 (m->flags & TCPAO_MKT_IFINDEX) ? ",ifindex=" : "",
		 (m->flags & TCPAO_MKT_IFINDEX) ? m->ifindex : 0);
	if (!(m->flags & TCPAO_MKT_IFINDEX))
		out[strlen(out) - 1] = '\0'; /* the %d of no ifindex */
	explicit_bzero(secret, sizeof(secret));
}

static void keysel_args(const struct aosock *s, char *out, size_t len)
{
	const struct aosock_key *cur = aosock_find_uid(s, s->current);
	const struct aosock_key *next = aosock_find_uid(s, s->rnext);

	snprintf(out, len, "ao-required=%d accept-icmps=%d current=%d rnext=%d",
		 s->ao_required, s->accept_icmps, cur ? cur->mkt.sndid : -1,
		 next ? next->mkt.rcvid : -1);
}

/* Requests sent ahead of their replies, up to a window: registering a
 * socket with n keys costs n / window round trips, not n + 2. Within
 * what the client's receive buffer holds of replies, so the daemon
 * never waits for us while we wait for it. They go in batches of
 * TCPAO_CTL_SEND_MAX, each in one sendmmsg(): the daemon wakes once for
 * a batch and answers it at once (daemon/control.c). */
#define PIPELINE_WINDOW (2 * TCPAO_CTL_SEND_MAX)
/* Seven specs (each under 330 bytes) and the word: within the 8 words
 * and 4096 bytes of a request. */
#define SOCK_KEYS_PER_REQUEST 7

struct pipeline {
	int ctl, sock;
	unsigned int pending; /* sent, reply not read */
	char *batch[TCPAO_CTL_SEND_MAX]; /* not sent yet (they hold secrets) */
	unsigned int nbatch;
	int rc; /* the first error */
};

static void pipe_reap(struct pipeline *p, unsigned int keep)
{
	struct tcpao_ctl_reply reply;

	while (p->pending > keep) {
		int rc = tcpao_ctl_read_reply(p->ctl, &reply);

		p->pending--;
		if (!rc) {
			rc = reply.status;
			tcpao_ctl_reply_free(&reply);
		}
		if (rc && !p->rc)
			p->rc = rc;
		if (rc)
			p->pending = 0; /* the first error ends it: the rest is dropped */
	}
}

static void pipe_drop_batch(struct pipeline *p)
{
	for (unsigned int i = 0; i < p->nbatch; i++) {
		explicit_bzero(p->batch[i], strlen(p->batch[i]));
		free(p->batch[i]);
	}
	p->nbatch = 0;
}

/* The batch goes once the replies before it leave room in the window. */
static void pipe_flush(struct pipeline *p)
{
	int rc;

	if (!p->rc && p->nbatch)
		pipe_reap(p, PIPELINE_WINDOW - p->nbatch);
	if (!p->rc && p->nbatch) {
		rc = tcpao_ctl_send_many(p->ctl, (const char *const *)p->batch, p->nbatch, p->sock);
		if (rc)
			p->rc = rc;
		else
			p->pending += p->nbatch;
	}
	pipe_drop_batch(p);
}

static void pipe_send(struct pipeline *p, const char *req)
{
	if (p->rc)
		return;
	p->batch[p->nbatch] = strdup(req);
	if (!p->batch[p->nbatch]) {
		p->rc = -ENOMEM;
		return;
	}
	if (++p->nbatch == TCPAO_CTL_SEND_MAX)
		pipe_flush(p);
}

int sockctl_register(int fd, const struct aosock *s, const char *role,
		     const struct tcpao_addr *dest, uint16_t dport)
{
	char req[TCPAO_CTL_REQUEST_MAX], args[128];
	struct pipeline p = { .ctl = ctl_open(), .sock = fd };

	if (p.ctl < 0)
		return p.ctl;
	keysel_args(s, args, sizeof(args));
	snprintf(req, sizeof(req), "sock-begin role=%s %s", role, args);
	if (dest && dest->family != AF_UNSPEC) {
		char a[INET6_ADDRSTRLEN];

		inet_ntop(dest->family, dest->bytes, a, sizeof(a));
		snprintf(req + strlen(req), sizeof(req) - strlen(req),
			 " peer=%s port=%u", a, dport);
	}
	pipe_send(&p, req);
	/* Oldest first (the daemon's keyring puts each new key first), as
	 * many to a request as it takes. */
	for (size_t i = 0; !p.rc && i < s->n;) {
		size_t len = strlen(strcpy(req, "sock-key"));

		for (int k = 0; k < SOCK_KEYS_PER_REQUEST && i < s->n; k++, i++) {
			req[len++] = ' ';
			key_spec(&s->keys[i].mkt, req + len, sizeof(req) - len);
			len += strlen(req + len);
		}
		pipe_send(&p, req);
	}
	/* The daemon refuses the commit after a refused key: never a part
	 * of them committed. */
	snprintf(req, sizeof(req), "sock-commit %s", args);
	pipe_send(&p, req);
	pipe_flush(&p);
	sent_all(p.ctl);
	pipe_reap(&p, 0);
	explicit_bzero(req, sizeof(req));
	close(p.ctl);
	return p.rc;
}

int sockctl_watch(int fd)
{
	return one(ctl_open(), "sock-watch", fd);
}

/* The key change and the socket's flags in one request: one publish. */
int sockctl_key_add(int fd, const struct aosock *s, const struct aosock_key *k)
{
	char req[TCPAO_CTL_REQUEST_MAX], args[128];
	size_t off;
	int rc;

	keysel_args(s, args, sizeof(args));
	strcpy(req, "sock-key-add ");
	key_spec(&k->mkt, req + 13, sizeof(req) - 13);
	off = strlen(req);
	snprintf(req + off, sizeof(req) - off, " %s", args);
	rc = one(ctl_open(), req, fd);
	explicit_bzero(req, sizeof(req));
	return rc;
}

int sockctl_key_del(int fd, const struct aosock *s, const struct tcpao_mkt *k)
{
	char req[384], peer[80], args[128];

	keysel_args(s, args, sizeof(args));
	prefix_str(k, peer, sizeof(peer));
	snprintf(req, sizeof(req), "sock-key-del sndid=%u,rcvid=%u,peer=%s %s",
		 k->sndid, k->rcvid, peer, args);
	return one(ctl_open(), req, fd);
}

int sockctl_set(int fd, const struct aosock *s)
{
	char req[256], args[128];

	keysel_args(s, args, sizeof(args));
	snprintf(req, sizeof(req), "sock-set %s", args);
	return one(ctl_open(), req, fd);
}

static long field_long(const struct tcpao_ctl_record *r, const char *name,
		       long dflt)
{
	const char *v = tcpao_ctl_field(r, name);

	return v ? strtol(v, NULL, 10) : dflt;
}

int sockctl_accept(int fd, int *syn_keyid, int *syn_rnext)
{
	struct tcpao_ctl_reply reply;
	struct tcpao_ctl_record rec;
	char *cur;
	int rc;

	*syn_keyid = *syn_rnext = -1;
	rc = call(ctl_open(), "sock-accept", fd, &reply);
	if (rc)
		return rc;
	cur = reply.body;
	while (tcpao_ctl_next_record(&cur, &rec))
		if (!strcmp(rec.type, "sock")) {
			*syn_keyid = (int)field_long(&rec, "syn-keyid", -1);
			*syn_rnext = (int)field_long(&rec, "syn-rnext", -1);
		}
	tcpao_ctl_reply_free(&reply);
	return 0;
}

/* A "key" record of sock-info: its counters go to the entries naming
 * its key (those TCP_AO_GET_KEYS returns, not every key of a listener). */
static void key_counts(struct tcp_ao_getsockopt *e, size_t n,
		       const struct tcpao_ctl_record *rec)
{
	const char *peer = tcpao_ctl_field(rec, "peer");
	long sndid = field_long(rec, "sndid", -1), rcvid = field_long(rec, "rcvid", -1);
	uint64_t good = strtoull(tcpao_ctl_field(rec, "good") ?: "0", NULL, 10);
	uint64_t bad = strtoull(tcpao_ctl_field(rec, "bad") ?: "0", NULL, 10);
	struct tcpao_addr addr, ea;
	uint8_t len = 0;

	if (!peer || tcpao_addr_parse(peer, &addr, &len))
		return; /* "any": no socket key has no family */
	tcpao_addr_unmap(&addr);
	for (size_t i = 0; i < n; i++) {
		tcpao_addr_from_sockaddr(&ea, &e[i].addr);
		if (e[i].sndid == sndid && e[i].rcvid == rcvid && e[i].prefix == len &&
		    ea.family == addr.family && tcpao_addr_equal(&ea, &addr)) {
			e[i].pkt_good = good;
			e[i].pkt_bad = bad;
		}
	}
}

static int info(int fd, const char *req, uint64_t cnt[5], int *current_sndid,
		int *rnext_rcvid, struct tcp_ao_getsockopt *e, size_t n)
{
	static const char *const names[5] = { "good", "bad", "key-not-found",
					      "ao-required", "dropped-icmps" };
	struct tcpao_ctl_reply reply;
	struct tcpao_ctl_record rec;
	char *cur;
	int rc;

	rc = call(ctl_open(), req, fd, &reply);
	if (rc)
		return rc;
	cur = reply.body;
	while (tcpao_ctl_next_record(&cur, &rec)) {
		if (!strcmp(rec.type, "key"))
			key_counts(e, n, &rec);
		if (strcmp(rec.type, "sock") || !cnt)
			continue;
		for (int i = 0; i < 5; i++) {
			const char *v = tcpao_ctl_field(&rec, names[i]);

			cnt[i] = v ? strtoull(v, NULL, 10) : 0;
		}
		*current_sndid = (int)field_long(&rec, "current", -1);
		*rnext_rcvid = (int)field_long(&rec, "rnext", -1);
	}
	tcpao_ctl_reply_free(&reply);
	return 0;
}

int sockctl_info(int fd, uint64_t cnt[5], int *current_sndid, int *rnext_rcvid)
{
	*current_sndid = *rnext_rcvid = -1;
	/* The per-key records are not wanted: a listener may hold thousands. */
	return info(fd, "sock-info keys=0", cnt, current_sndid, rnext_rcvid, NULL, 0);
}

int sockctl_key_counts(int fd, struct tcp_ao_getsockopt *e, size_t n)
{
	return info(fd, "sock-info", NULL, NULL, NULL, e, n);
}

int sockctl_sync(void)
{
	return one(tcpao_ctl_connect(ctl_name(), CTL_TIMEOUT_MS), "sync", -1);
}

int sockctl_repair(int fd, const struct sockctl_repair *r)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "sock-repair snt-isn=%u rcv-isn=%u snd-seq=%u snd-sne=%u "
		 "rcv-seq=%u rcv-sne=%u", r->snt_isn, r->rcv_isn, r->snd_seq,
		 r->snd_sne, r->rcv_seq, r->rcv_sne);
	return one(ctl_open(), req, fd);
}

static bool field_u32(const struct tcpao_ctl_record *rec, const char *name,
		      uint32_t *v)
{
	const char *s = tcpao_ctl_field(rec, name);

	if (!s)
		return false;
	*v = (uint32_t)strtoul(s, NULL, 10);
	return true;
}

int sockctl_repair_get(int fd, struct sockctl_repair *r)
{
	struct tcpao_ctl_reply reply;
	struct tcpao_ctl_record rec;
	bool found = false;
	char *cur;
	int rc;

	rc = call(ctl_open(), "sock-info", fd, &reply);
	if (rc)
		return rc;
	cur = reply.body;
	while (tcpao_ctl_next_record(&cur, &rec))
		if (!strcmp(rec.type, "sock"))
			found = field_u32(&rec, "snt-isn", &r->snt_isn) &&
				field_u32(&rec, "rcv-isn", &r->rcv_isn) &&
				field_u32(&rec, "snd-seq", &r->snd_seq) &&
				field_u32(&rec, "snd-sne", &r->snd_sne) &&
				field_u32(&rec, "rcv-seq", &r->rcv_seq) &&
				field_u32(&rec, "rcv-sne", &r->rcv_sne);
	tcpao_ctl_reply_free(&reply);
	return found ? 0 : -ENOENT;
}

int sockctl_stat(const char *const names[], uint64_t vals[], size_t n)
{
	struct tcpao_ctl_reply reply;
	struct tcpao_ctl_record rec;
	char *cur;
	int rc;

	memset(vals, 0, n * sizeof(*vals));
	rc = call(tcpao_ctl_connect(ctl_name(), CTL_TIMEOUT_MS), "stat", -1,
		  &reply);
	if (rc)
		return rc;
	cur = reply.body;
	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *name = tcpao_ctl_field(&rec, "name");
		const char *v = tcpao_ctl_field(&rec, "value");

		for (size_t i = 0; name && v && i < n; i++)
			if (!strcmp(name, names[i]))
				vals[i] = strtoull(v, NULL, 10);
	}
	tcpao_ctl_reply_free(&reply);
	return 0;
}
