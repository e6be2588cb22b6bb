// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "mark.h"
#include "ops.h"
#include "keychain.h"
#include "rollover.h"
#include "sockets.h"
#include "stats.h"
#include "watch.h"
#include "worker.h"

static uint64_t changes_refused; /* TCPAOChangesRefused */

/* who NULL: a removal, never refused (ops.h). */
int daemon_publish(struct daemon_ctx *d, struct policy *fresh,
		   const struct audit_who *who, const char *op, char *err, size_t errlen)
{
	int rc;

	policy_stamp_current(fresh, policy_now());
	/* Workers first: once a peer's packets reach the queues, the workers
	 * must know its keys (a worker without them would let its SYN out
	 * unsigned). A removed peer's packets are left alone by the workers
	 * before the sets shrink. */
	workers_set_policy(fresh);
	rc = rules_change_sets(d->rules, d->policy, fresh, err, errlen);
	if (rc && who) { /* the sets hold the peers of the one in force */
		log_msg(LOG_ERR, "a change refused, the policy in force stays: %s", err);
		audit_refused(who, op, rc);
		changes_refused++;
		workers_set_policy(d->policy);
		policy_free(fresh);
		return rc;
	}
	policy_free(d->policy);
	d->policy = fresh;
	return 0;
}

void daemon_publish_removal(struct daemon_ctx *d, struct policy *fresh)
{
	char err[256] = "";

	daemon_publish(d, fresh, NULL, NULL, err, sizeof(err));
}

void daemon_rollover(struct daemon_ctx *d)
{
	struct rollover_result r = { .next = rollover_now() + 1 }; /* ENOMEM: retry */
	struct audit_who who = { .by = AUDIT_BY_SCHEDULE };
	struct policy *fresh = policy_clone(d->policy);
	char err[256] = "";

	if (fresh && !rollover_apply(fresh, rollover_now(), &r) && r.changed) {
		audit_diff(&who, "rollover", d->policy, fresh);
		if (daemon_publish(d, fresh, &who, "rollover", err, sizeof(err)))
			r.next = rollover_now() + 1;
	} else {
		policy_free(fresh);
	}
	if (d->chain_timer >= 0)
		rollover_timer_arm(d->chain_timer, r.next);
}

/* The end of a host change asked on the control socket: audited here. */
static int publish_or_reply(struct daemon_ctx *d, struct policy *fresh,
			    const char *op, struct control_reply *out)
{
	struct audit_who who = audit_client(control_reply_client(out));
	char err[256] = "";
	int rc;

	audit_diff(&who, op, d->policy, fresh);
	rc = daemon_publish(d, fresh, &who, op, err, sizeof(err));
	return rc ? control_reply_error(out, rc, "%s", err) : 0;
}

static int op_key_add(void *ctx, const struct control_key_add *req,
		      struct control_reply *out)
{
	struct daemon_ctx *d = ctx;
	struct policy *fresh = policy_clone(d->policy);
	char err[256] = "";
	int rc;

	if (!fresh)
		return -ENOMEM;
	rc = policy_add_key_to(fresh, NULL, &req->mkt, req->set_current,
			       req->set_rnext, err, sizeof(err));
	if (rc) {
		policy_free(fresh);
		return control_reply_error(out, rc, "%s", err);
	}
	return publish_or_reply(d, fresh, "key-add", out);
}

/* Is a live flow signing with (sndid, rcvid) of a peer prefix? */
struct key_use {
	const struct policy_key_ref *ref;
	unsigned int flows;
};

static void count_key_use(struct worker *w, void *arg)
{
	struct key_use *u = arg;

	for (uint32_t i = 0; i < w->flows.count; i++) {
		const struct flow *f = flow_live(&w->flows, i);
		const struct tcpao_mkt *k;
		uint64_t serial;

		if (!f->peer || f->state == FLOW_CLOSED ||
		    f->state == FLOW_TIME_WAIT)
			continue;
		k = flow_current_key(f, &serial);
		if (k && k->sndid == u->ref->sndid &&
		    k->rcvid == u->ref->rcvid &&
		    (u->ref->peer.family == AF_UNSPEC ||
		     tcpao_addr_in_prefix(&f->key.remote, &u->ref->peer,
					  u->ref->peer_len)))
			u->flows++;
	}
}

static int op_key_del(void *ctx, const struct control_key_del *req,
		      struct control_reply *out)
{
	struct daemon_ctx *d = ctx;
	struct key_use use = { .ref = &req->ref };
	struct policy *fresh;
	char err[256] = "";
	int rc;

	if (req->new_current < 0) {
		workers_call(count_key_use, &use);
		if (use.flows)
			return control_reply_error(
				out, -EBUSY,
				"key %u/%u is the current key of %u live "
				"connection(s): give a new current key",
				req->ref.sndid, req->ref.rcvid, use.flows);
	}
	fresh = policy_clone(d->policy);
	if (!fresh)
		return -ENOMEM;
	rc = policy_del_key(fresh, &req->ref, req->new_current, req->new_rnext,
			    err, sizeof(err));
	if (rc) {
		policy_free(fresh);
		return control_reply_error(out, rc, "%s", err);
	}
	return publish_or_reply(d, fresh, "key-del", out);
}

static int op_key_set(void *ctx, const struct control_key_set *req,
		      struct control_reply *out)
{
	struct daemon_ctx *d = ctx;
	struct policy *fresh = policy_clone(d->policy);
	char err[256] = "";
	int rc;

	if (!fresh)
		return -ENOMEM;
	rc = policy_set_keysel(fresh, &req->peer, req->peer_len, req->current,
			       req->rnext, err, sizeof(err));
	if (rc) {
		policy_free(fresh);
		return control_reply_error(out, rc, "%s", err);
	}
	return publish_or_reply(d, fresh, "key-set", out);
}

static int op_key_list(void *ctx, struct control_reply *out)
{
	struct daemon_ctx *d = ctx;

	control_reply_keys(out, d->policy);
	return 0;
}

static void reply_flow(const struct flow_info *fi, void *arg)
{
	struct control_reply *out = arg;

	control_reply_record(out, "flow");
	control_reply_addr(out, "local", &fi->local, fi->lport);
	control_reply_addr(out, "remote", &fi->remote, fi->rport);
	control_reply_str(out, "state", fi->state);
	control_reply_int(out, "current", fi->current_sndid);
	control_reply_int(out, "rnext", fi->rnext_rcvid);
	control_reply_int(out, "peer-rnext", fi->peer_rnext);
	control_reply_u64(out, "snd-sne", fi->snd_sne);
	control_reply_u64(out, "rcv-sne", fi->rcv_sne);
	control_reply_u64(out, "good", fi->good);
	control_reply_u64(out, "bad", fi->bad);
	control_reply_u64(out, "key-not-found", fi->key_not_found);
	control_reply_u64(out, "ao-required", fi->ao_required);
	control_reply_u64(out, "dropped-icmps", fi->dropped_icmps);
	control_reply_u64(out, "worker", fi->worker);
}

static int op_show(void *ctx, struct control_reply *out)
{
	int n = flows_foreach(reply_flow, out);

	(void)ctx;
	return n < 0 ? n : 0;
}

static int op_stat(void *ctx, struct control_reply *out)
{
	uint64_t v[STAT_COUNT];

	(void)ctx;
	stats_read(v);
	for (int i = 0; i < STAT_COUNT; i++)
		control_reply_counter(out, stat_name((enum stat_id)i), v[i]);
	watch_stat(out);
	control_reply_counter(out, "TCPAOKeychainGaps", rollover_gap_count());
	control_reply_counter(out, "TCPAOKeychainMoves", rollover_move_count());
	control_reply_counter(out, "TCPAOChangesRefused", changes_refused);
	return 0;
}

void daemon_apply_flags(const struct daemon_ctx *d, struct policy *p)
{
	for (size_t i = 0; i < p->n && (d->force_ao_optional || d->force_accept_icmps); i++) {
		struct policy_peer *e;

		/* a socket's flags are the program's */
		if (!policy_entry(p, i) || policy_entry(p, i)->sock_cookie ||
		    !(e = policy_entry_mut(p, i)))
			continue;
		if (d->force_ao_optional)
			e->ao_required = false;
		if (d->force_accept_icmps)
			e->accept_icmps = true;
	}
}

/* The rules and the guard hold the mark: it changes only at a start. */
static void warn_mark_change(const struct daemon_ctx *d, const struct policy *fresh)
{
	uint32_t want = fresh->mark ? fresh->mark : MARK_DEFAULT;

	if (!d->mark_from_cli && want != mark_get())
		log_msg(LOG_WARNING, "reload: mark 0x%x of %s takes effect when tcpaod restarts (running with 0x%x)",
			want, d->config_path, mark_get());
}

/* The policy a reload publishes: the file's (unchanged keys keep their
 * serials, so live flows are untouched) and whatever did not come from
 * the file: runtime keys and sockets' entries. */
static int reload_build(struct daemon_ctx *d, struct policy **out,
			size_t *clashes, char *err, size_t errlen)
{
	struct policy *fresh = NULL;
	int rc;

	if (!d->config_path) {
		snprintf(err, errlen, "tcpaod was started without --config");
		return -EOPNOTSUPP;
	}
	rc = config_load(d->config_path, &fresh, err, errlen);
	if (rc)
		return rc;
	rollover_inherit(fresh, d->policy);
	rollover_apply(fresh, rollover_now(), &(struct rollover_result){ 0 });
	policy_adopt_serials(fresh, d->policy);
	rc = policy_keep_unfiled(fresh, d->policy, clashes);
	if (rc) {
		policy_free(fresh);
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	daemon_apply_flags(d, fresh);
	warn_mark_change(d, fresh);
	*out = fresh;
	return 0;
}

/* What a reload changes, and the live flows it takes keys from. */
struct plan {
	struct control_reply *out; /* NULL: count only */
	uint64_t *dropped;         /* serials, sorted once collected */
	size_t ndropped, cap;
	size_t adds, changes, drops;
	unsigned int flows;
};

static void plan_key(void *arg, const char *what, const struct policy_peer *p,
		     size_t k)
{
	struct plan *pl = arg;
	const struct tcpao_mkt *m = tcpao_keyring_key(&p->keys, k);
	char origin[96];

	pl->adds += what[0] == 'a';
	pl->changes += what[0] == 'c';
	if (what[0] == 'd') {
		pl->drops++;
		if (pl->ndropped == pl->cap) {
			size_t cap = pl->cap ? pl->cap * 2 : 16;
			uint64_t *v = realloc(pl->dropped, cap * sizeof(*v));

			if (v) {
				pl->dropped = v;
				pl->cap = cap;
			}
		}
		if (pl->ndropped < pl->cap)
			pl->dropped[pl->ndropped++] = tcpao_keyring_serial(&p->keys, k);
	}
	if (!pl->out)
		return;
	control_reply_record(pl->out, "change");
	control_reply_str(pl->out, "action", what);
	control_reply_prefix(pl->out, "peer", &p->scope.peer, p->scope.peer_len);
	control_reply_u64(pl->out, "sndid", m->sndid);
	control_reply_u64(pl->out, "rcvid", m->rcvid);
	control_reply_str(pl->out, "origin", policy_key_origin(p, k, origin, sizeof(origin)));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void count_dropped_use(struct worker *w, void *arg)
{
	struct plan *pl = arg;

	for (uint32_t i = 0; i < w->flows.count; i++) {
		const struct flow *f = flow_live(&w->flows, i);
		uint64_t serial;

		if (!f->peer || f->state == FLOW_CLOSED ||
		    f->state == FLOW_TIME_WAIT)
			continue;
		if (flow_current_key(f, &serial) &&
		    bsearch(&serial, pl->dropped, pl->ndropped, sizeof(serial), cmp_u64))
			pl->flows++;
	}
}

static void plan_make(struct plan *pl, const struct policy *old,
		      const struct policy *fresh)
{
	policy_diff(old, fresh, plan_key, pl);
	if (!pl->ndropped)
		return;
	qsort(pl->dropped, pl->ndropped, sizeof(*pl->dropped), cmp_u64);
	workers_call(count_dropped_use, pl);
}

/* A line per change, then one for the reload itself (also when nothing
 * changed: the operator asked). */
static void audit_reload(const struct audit_who *who, const struct policy *old,
			 const struct policy *fresh, const struct plan *pl,
			 size_t clashes)
{
	char extra[128];

	audit_diff(who, "reload", old, fresh);
	snprintf(extra, sizeof(extra), "added=%zu changed=%zu dropped=%zu clashes=%zu",
		 pl->adds, pl->changes, pl->drops, clashes);
	audit_policy(who, &(struct audit_rec){ .op = "reload", .change = "summary",
					       .sndid = -1, .rcvid = -1, .extra = extra });
}

static int reload(struct daemon_ctx *d, bool dry_run, struct control_reply *out,
		  const struct audit_who *who, char *err, size_t errlen)
{
	struct plan pl = { .out = out };
	struct policy *fresh;
	size_t clashes = 0;
	int rc = reload_build(d, &fresh, &clashes, err, errlen);

	if (rc)
		return rc;
	plan_make(&pl, d->policy, fresh);
	free(pl.dropped);
	if (clashes)
		log_msg(LOG_WARNING, "reload: %zu runtime key(s) now clash with the file's and go",
			clashes);
	if (pl.flows)
		log_msg(LOG_WARNING, "reload%s: drops keys that %u live connection(s) sign with",
			dry_run ? " (dry run)" : "", pl.flows);
	if (out) {
		control_reply_record(out, "summary");
		control_reply_u64(out, "add", pl.adds);
		control_reply_u64(out, "change", pl.changes);
		control_reply_u64(out, "drop", pl.drops);
		control_reply_u64(out, "clash", clashes);
		control_reply_u64(out, "live-flows-losing-keys", pl.flows);
		control_reply_str(out, "applied", dry_run ? "no" : "yes");
	}
	if (dry_run || (out && !control_reply_whole(out))) { /* no reply: no change */
		policy_free(fresh);
		return dry_run ? 0 : -ENOMEM;
	}
	audit_reload(who, d->policy, fresh, &pl, clashes);
	rc = daemon_publish(d, fresh, who, "reload", err, errlen);
	daemon_rollover(d); /* the new chains' next boundary */
	return rc;
}

int daemon_reload(struct daemon_ctx *d, const struct audit_who *who, char *err,
		  size_t errlen)
{
	return reload(d, false, NULL, who, err, errlen);
}

static int op_reload(void *ctx, struct control_reply *out)
{
	struct audit_who who = audit_client(control_reply_client(out));
	char err[512] = "";
	int rc = reload(ctx, false, out, &who, err, sizeof(err));

	return rc ? control_reply_error(out, rc, "%s", err) : 0;
}

static int op_reload_plan(void *ctx, struct control_reply *out)
{
	char err[512] = "";
	int rc = reload(ctx, true, out, NULL, err, sizeof(err));

	return rc ? control_reply_error(out, rc, "%s", err) : 0;
}

/* The test clock: a step of the chains' clock, as a settimeofday would
 * be, without stepping the machine's. */
/* The reply first: a shift whose reply cannot be stored is not made. */
static int op_clock(void *ctx, const int64_t *shift, struct control_reply *out)
{
	int64_t by = shift ? *shift : 0, now = rollover_now() + by;
	char when[32], off[32];

	control_reply_record(out, "clock");
	control_reply_str(out, "now", keychain_time_str(now, when, sizeof(when)));
	control_reply_u64(out, "unix", (uint64_t)now);
	snprintf(off, sizeof(off), "%lld", (long long)(rollover_offset() + by));
	control_reply_str(out, "offset", off);
	if (!control_reply_whole(out))
		return -ENOMEM;
	if (shift) {
		rollover_set_offset(rollover_offset() + by);
		log_msg(LOG_NOTICE, "test clock shifted by %lld s (offset %lld s)",
			(long long)by, (long long)rollover_offset());
		daemon_rollover(ctx);
	}
	return 0;
}

static int op_sync(void *ctx, struct control_reply *out)
{
	(void)ctx;
	(void)out;
	workers_drain();
	return 0;
}

const struct control_ops daemon_ops = {
	.key_add = op_key_add,
	.key_del = op_key_del,
	.key_set = op_key_set,
	.key_list = op_key_list,
	.show = op_show,
	.stat = op_stat,
	.reload = op_reload,
	.reload_plan = op_reload_plan,
	.sync = op_sync,
	.clock = op_clock,
	.sock = sockets_request,
};
