// SPDX-License-Identifier: GPL-2.0-or-later
/* The audit trail of key and policy changes: see audit.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "log.h"

struct audit_who audit_client(const struct control_client *c)
{
	return (struct audit_who){ .by = AUDIT_BY_CLIENT, .uid = c->uid, .pid = c->pid };
}

/* ---- the line ---------------------------------------------------------- */

/* snprintf at *at, never past len; *at counts what did not fit too. */
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void append(char *buf, size_t len, size_t *at, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(*at < len ? buf + *at : NULL, *at < len ? len - *at : 0, fmt, ap);
	va_end(ap);
	*at += n > 0 ? (size_t)n : 0;
}

static void append_by(char *buf, size_t len, size_t *at, const struct audit_who *w)
{
	static const char *const names[] = {
		[AUDIT_BY_CLIENT] = "client", [AUDIT_BY_SIGNAL] = "signal",
		[AUDIT_BY_FILE] = "file", [AUDIT_BY_CMDLINE] = "cmdline",
		[AUDIT_BY_SCHEDULE] = "schedule", [AUDIT_BY_CLOSE] = "close",
	};

	append(buf, len, at, " by=%s", names[w->by]);
	if (w->by == AUDIT_BY_CLIENT || w->by == AUDIT_BY_SIGNAL || w->by == AUDIT_BY_CLOSE)
		append(buf, len, at, " uid=%u", w->uid);
	if (w->pid)
		append(buf, len, at, " pid=%d", w->pid);
}

/* peer=, then local=, local-port=, remote-port= when the scope has them. */
static void append_scope(char *buf, size_t len, size_t *at, const struct policy_scope *s)
{
	char text[64];

	append(buf, len, at, " peer=%s",
	       policy_prefix_str(&s->peer, s->peer_len, text, sizeof(text)));
	if (s->local.family != AF_UNSPEC)
		append(buf, len, at, " local=%s",
		       policy_prefix_str(&s->local, s->local_len, text, sizeof(text)));
	if (s->local_port)
		append(buf, len, at, " local-port=%u", s->local_port);
	if (s->remote_port)
		append(buf, len, at, " remote-port=%u", s->remote_port);
}

size_t audit_format(char *buf, size_t len, const struct audit_who *who,
		    const struct audit_rec *r)
{
	size_t at = 0;

	if (len)
		buf[0] = '\0';
	append(buf, len, &at, "audit: op=%s", r->op);
	append_by(buf, len, &at, who);
	append(buf, len, &at, " change=%s", r->change);
	if (r->scope)
		append_scope(buf, len, &at, r->scope);
	if (r->sndid >= 0)
		append(buf, len, &at, " sndid=%d", r->sndid);
	if (r->rcvid >= 0)
		append(buf, len, &at, " rcvid=%d", r->rcvid);
	if (r->extra && *r->extra)
		append(buf, len, &at, " %s", r->extra);
	if (r->origin)
		append(buf, len, &at, " origin=%s", r->origin);
	return at;
}

static void emit(int prio, const struct audit_who *who, const struct audit_rec *r)
{
	char line[480];

	audit_format(line, sizeof(line), who, r);
	log_msg(prio, "%s", line);
}

void audit_policy(const struct audit_who *who, const struct audit_rec *r)
{
	emit(LOG_NOTICE, who, r);
}

void audit_refused(const struct audit_who *who, const char *op, int err)
{
	const char *name = strerrorname_np(-err);
	char extra[64];

	snprintf(extra, sizeof(extra), "error=%s", name ? name : "EIO");
	audit_policy(who, &(struct audit_rec){ .op = op, .change = "refused", .sndid = -1,
					       .rcvid = -1, .extra = extra });
}

/* ---- the rate limit ---------------------------------------------------- */

static bool can_take(struct audit_bucket *b, uint64_t burst, uint64_t interval,
		     uint64_t now)
{
	uint64_t cap = burst * interval;

	if (now > b->last_ms)
		b->credit_ms += now - b->last_ms;
	if (b->credit_ms > cap)
		b->credit_ms = cap;
	b->last_ms = now;
	return b->credit_ms >= interval;
}

static bool uid_can_take(struct audit_bucket *b, uint64_t now)
{
	return can_take(b, AUDIT_UID_BURST, AUDIT_UID_INTERVAL_MS, now);
}

static bool all_can_take(struct audit_limit *l, uint64_t now)
{
	return can_take(&l->all, AUDIT_ALL_BURST, AUDIT_ALL_INTERVAL_MS, now);
}

/* A full bucket with nothing left out is the same as none: reusable. */
static bool spare(struct audit_bucket *b, uint64_t now)
{
	return !b->used || (!b->left_out && uid_can_take(b, now) &&
			    b->credit_ms == AUDIT_UID_BURST * AUDIT_UID_INTERVAL_MS);
}

static struct audit_bucket *uid_bucket(struct audit_limit *l, uint32_t uid, uint64_t now)
{
	for (size_t i = 0; i < AUDIT_UIDS; i++)
		if (l->uid[i].used && l->uid[i].uid == uid)
			return &l->uid[i];
	for (size_t i = 0; i < AUDIT_UIDS; i++) {
		if (!spare(&l->uid[i], now))
			continue;
		l->uid[i] = (struct audit_bucket){
			.credit_ms = AUDIT_UID_BURST * AUDIT_UID_INTERVAL_MS,
			.last_ms = now, .uid = uid, .used = true };
		return &l->uid[i];
	}
	return NULL; /* 64 uids busy at once: the "all" limit alone */
}

bool audit_limit_take(struct audit_limit *l, uint32_t uid, uint64_t now_ms,
		      uint64_t *left_out)
{
	struct audit_bucket *b = uid_bucket(l, uid, now_ms);

	*left_out = 0;
	if (!all_can_take(l, now_ms) || (b && !uid_can_take(b, now_ms))) {
		(b ? b : &l->all)->left_out++;
		return false;
	}
	l->all.credit_ms -= AUDIT_ALL_INTERVAL_MS;
	if (b) {
		b->credit_ms -= AUDIT_UID_INTERVAL_MS;
		*left_out = b->left_out;
		b->left_out = 0;
	}
	return true;
}

bool audit_limit_pending(struct audit_limit *l, uint64_t now_ms, uint32_t *uid,
			 bool *untracked, uint64_t *left_out)
{
	struct audit_bucket *found = NULL;

	for (size_t i = 0; i < AUDIT_UIDS && !found; i++)
		if (l->uid[i].used && l->uid[i].left_out && uid_can_take(&l->uid[i], now_ms))
			found = &l->uid[i];
	if (!found && l->all.left_out)
		found = &l->all;
	if (!found || !all_can_take(l, now_ms))
		return false;
	l->all.credit_ms -= AUDIT_ALL_INTERVAL_MS;
	if (found != &l->all)
		found->credit_ms -= AUDIT_UID_INTERVAL_MS;
	*untracked = found == &l->all;
	*uid = found->uid;
	*left_out = found->left_out;
	found->left_out = 0;
	return true;
}

static struct audit_limit limit;
static bool pending; /* some lines were left out and not said yet */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void say_left_out(uint32_t uid, bool untracked, uint64_t n)
{
	char who[32] = "uid=others";

	if (!untracked)
		snprintf(who, sizeof(who), "uid=%u", uid);
	log_msg(LOG_INFO, "audit: op=rate-limit change=left-out %s lines=%llu",
		who, (unsigned long long)n);
}

void audit_socket(uint32_t owner, const struct audit_who *who,
		  const struct audit_rec *r)
{
	uint64_t left;

	if (!audit_limit_take(&limit, owner, now_ms(), &left)) {
		pending = true;
		return;
	}
	if (left)
		say_left_out(owner, false, left);
	emit(LOG_INFO, who, r);
}

void audit_tick(void)
{
	uint64_t now = now_ms(), n;
	bool untracked;
	uint32_t uid;

	if (!pending)
		return;
	while (audit_limit_pending(&limit, now, &uid, &untracked, &n))
		say_left_out(uid, untracked, n);
	pending = limit.all.left_out != 0;
	for (size_t i = 0; i < AUDIT_UIDS && !pending; i++)
		pending = limit.uid[i].left_out != 0;
}

/* ---- host policy: what a change did ------------------------------------ */

struct diff {
	const struct audit_who *who;
	const char *op;
	size_t lines;
};

static void diff_line(struct diff *d, const struct policy_peer *p, const char *change,
		      int sndid, int rcvid, const char *extra, const char *origin)
{
	audit_policy(d->who, &(struct audit_rec){
		.op = d->op, .change = change, .scope = &p->scope, .sndid = sndid,
		.rcvid = rcvid, .extra = extra, .origin = origin });
	d->lines++;
}

static void diff_key(void *arg, const char *what, const struct policy_peer *p, size_t k)
{
	char origin[96];

	if (p->sock_cookie) /* sockets say their own changes (sockets.c) */
		return;
	diff_line(arg, p, what, (*tcpao_keyring_key(&p->keys, k)).sndid, (*tcpao_keyring_key(&p->keys, k)).rcvid, NULL,
		  policy_key_origin(p, k, origin, sizeof(origin)));
}

/* A preference set (its epoch moved: live connections move too) or gone.
 * o: p's entry in the old policy, or NULL. */
static void diff_prefs(struct diff *d, const struct policy_peer *o, const struct policy_peer *p)
{

	if (o ? p->current_sndid != o->current_sndid || p->current_epoch != o->current_epoch
	      : p->current_sndid >= 0)
		diff_line(d, p, "current", p->current_sndid, -1,
			  p->current_sndid < 0 ? "sndid=newest" : NULL, NULL);
	if (o ? p->rnext_rcvid != o->rnext_rcvid || p->rnext_epoch != o->rnext_epoch
	      : p->rnext_rcvid >= 0)
		diff_line(d, p, "rnext", -1, p->rnext_rcvid,
			  p->rnext_rcvid < 0 ? "rcvid=newest" : NULL, NULL);
}

size_t audit_diff(const struct audit_who *who, const char *op,
		  const struct policy *old, const struct policy *fresh)
{
	struct policy none = { .next_serial = 1 };
	struct diff d = { .who = who, .op = op };
	size_t *slots, n;
	bool some;

	old = old ? old : &none;
	policy_diff(old, fresh, diff_key, &d);
	/* A clone: only the entries it changed can have moved preferences. */
	some = policy_changes(fresh, old, &slots, &n);
	for (size_t i = 0; i < (some ? n : fresh->n); i++) {
		const struct policy_peer *p = policy_entry(fresh, some ? slots[i] : i);

		if (p && !p->sock_cookie)
			diff_prefs(&d, policy_peer_find(old, &p->scope), p);
	}
	free(slots);
	return d.lines;
}
