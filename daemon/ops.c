// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "ops.h"
#include "sockets.h"
#include "stats.h"
#include "watch.h"
#include "worker.h"

int daemon_publish(struct daemon_ctx *d, struct policy *fresh, char *err,
		   size_t errlen)
{
	int rc;

	/* Workers first: once a peer's packets reach the queues, the workers
	 * must know its keys (a worker without them would let its SYN out
	 * unsigned). A removed peer's packets are left alone by the workers
	 * before the sets shrink. */
	workers_set_policy(fresh);
	rc = rules_update_sets(d->rules, fresh, err, errlen);
	policy_free(d->policy);
	d->policy = fresh;
	return rc;
}

static int publish_or_reply(struct daemon_ctx *d, struct policy *fresh,
			    struct control_reply *out)
{
	char err[256] = "";
	int rc = daemon_publish(d, fresh, err, sizeof(err));

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
	return publish_or_reply(d, fresh, out);
}

/* Is a live flow signing with (sndid, rcvid) of a peer prefix? */
struct key_use {
	const struct policy_key_ref *ref;
	unsigned int flows;
};

static void count_key_use(struct worker *w, void *arg)
{
	struct key_use *u = arg;

	for (uint32_t i = 0; i < w->flows.cap; i++) {
		const struct flow *f = &w->flows.flows[i];
		const struct tcpao_mkt *k;
		uint64_t serial;

		if (!f->in_use || !f->peer || f->state == FLOW_CLOSED ||
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
	return publish_or_reply(d, fresh, out);
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
	return publish_or_reply(d, fresh, out);
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
	return 0;
}

void daemon_apply_flags(const struct daemon_ctx *d, struct policy *p)
{
	for (size_t i = 0; i < p->n; i++) {
		if (d->force_ao_optional)
			p->peers[i].ao_required = false;
		if (d->force_accept_icmps)
			p->peers[i].accept_icmps = true;
	}
}

int daemon_reload(struct daemon_ctx *d, char *err, size_t errlen)
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
	/* Unchanged keys keep their serials: live flows are untouched. */
	policy_adopt_serials(fresh, d->policy);
	daemon_apply_flags(d, fresh);
	return daemon_publish(d, fresh, err, errlen);
}

static int op_reload(void *ctx, struct control_reply *out)
{
	char err[512] = "";
	int rc = daemon_reload(ctx, err, sizeof(err));

	return rc ? control_reply_error(out, rc, "%s", err) : 0;
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
	.sync = op_sync,
	.sock = sockets_request,
};
