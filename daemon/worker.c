// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Worker threads: poll the queues, handle a batch, save state if flows
 * changed, send the batch's verdicts in one message.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mark.h"
#include "owner.h"
#include "pmtu.h"
#include "repair.h"
#include "state.h"
#include "keychain.h"
#include "l3dev.h"
#include "worker.h"

#define GC_INTERVAL_MS 1000
#define LOG_INTERVAL_MS 1000

static struct worker *workers;
static unsigned int nworkers;
static bool started;
static struct owner_index owners; /* address pair -> worker (owner.h) */

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- shared by the handlers -------------------------------------------- */

const struct policy_peer *worker_policy_peer(const struct worker *w,
					     const struct flow_key *key)
{
	return policy_match(w->policy, &key->local, key->lport, &key->remote,
			    key->rport);
}

static bool rate_ok(uint64_t *last, uint64_t now)
{
	if (*last && now - *last < LOG_INTERVAL_MS)
		return false;
	*last = now;
	return true;
}

static enum stat_id stat_of(enum tcpao_result why)
{
	switch (why) {
	case TCPAO_BAD_MAC:
		return STAT_AO_BAD;
	case TCPAO_KEY_NOT_FOUND:
		return STAT_AO_KEY_NOT_FOUND;
	case TCPAO_AO_REQUIRED:
		return STAT_AO_REQUIRED;
	case TCPAO_AO_MD5:
		return STAT_AO_MD5;
	case TCPAO_NO_ISN:
		return STAT_NO_FLOW;
	default:
		return STAT_MALFORMED;
	}
}

static void flow_count(struct flow *f, enum tcpao_result why)
{
	switch (why) {
	case TCPAO_BAD_MAC:
		counter_inc(&f->cnt.bad);
		break;
	case TCPAO_KEY_NOT_FOUND:
		counter_inc(&f->cnt.key_not_found);
		break;
	case TCPAO_AO_REQUIRED:
		counter_inc(&f->cnt.ao_required);
		break;
	default:
		break;
	}
}

/* A drop of no flow counts for the socket whose entry covers it (a
 * listener's TCP_AO_INFO counters; sockets.c). */
static void socket_count(struct worker *w, enum tcpao_result why,
			 const struct tcpao_seg *seg)
{
	const struct policy_peer *p;
	struct flow_key key;
	int i = why == TCPAO_BAD_MAC ? 1 : why == TCPAO_KEY_NOT_FOUND ? 2
		: why == TCPAO_AO_REQUIRED ? 3 : -1;

	if (i < 0)
		return;
	flow_key_ingress(&key, seg);
	p = worker_policy_peer(w, &key);
	if (p && p->sock_cnt)
		counter_inc(&p->sock_cnt[i]);
}

/* A KeyID no key has may be a chain key outside its accept window (the
 * schedule took it out): counted apart, so operators see lifetimes at
 * work. Drops only: the lookup is off the fast path. */
static void count_outside_lifetime(struct worker *w, const struct flow *f,
				   const struct tcpao_seg *seg)
{
	const struct policy_peer *p = f ? f->peer : NULL;
	const struct keychain *c;

	if (!p && w->policy)
		p = policy_match(w->policy, &seg->daddr, seg->dport, &seg->saddr, seg->sport);
	c = p && w->policy ? policy_peer_chain(w->policy, p) : NULL;
	if (c && keychain_has_rcvid(c, seg->opts.keyid))
		stats_inc(&w->stats, STAT_KEY_EXPIRED);
}

void worker_count_drop(struct worker *w, struct flow *f,
		       enum tcpao_result why, const struct tcpao_seg *seg)
{
	if (why == TCPAO_KEY_NOT_FOUND && seg->opts.ao_off)
		count_outside_lifetime(w, f, seg);
	uint64_t *last = f ? &f->log_ms[why] : &w->drop_log_ms[why];
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

	stats_inc(&w->stats, stat_of(why));
	if (f)
		flow_count(f, why);
	else
		socket_count(w, why, seg);
	if (!rate_ok(last, w->now_ms))
		return;
	inet_ntop(seg->saddr.family, seg->saddr.bytes, src, sizeof(src));
	inet_ntop(seg->daddr.family, seg->daddr.bytes, dst, sizeof(dst));
	if (seg->opts.ao_off)
		log_msg(LOG_NOTICE,
			"drop %s: %s port %u -> %s port %u flags 0x%02x "
			"KeyID %u RNextKeyID %u%s",
			tcpao_result_name(why), src, seg->sport, dst,
			seg->dport, seg->flags, seg->opts.keyid,
			seg->opts.rnext, f ? "" : " (no flow)");
	else
		log_msg(LOG_NOTICE,
			"drop %s: %s port %u -> %s port %u flags 0x%02x "
			"no AO option%s",
			tcpao_result_name(why), src, seg->sport, dst,
			seg->dport, seg->flags, f ? "" : " (no flow)");
}

/* A passive open with no key for the SYN's RNextKeyID sends no SYN-ACK,
 * as Linux (ingress.c): its flow keeps no current key. */
static bool keyless_synack(const struct flow *f)
{
	return f->state == FLOW_SYN_RECV && !f->sel.current;
}

static void refresh_keysel(struct worker *w, struct flow *f)
{
	const struct policy_peer *p = f->peer;
	struct tcpao_keysel sel;
	bool have_cur, have_next, move_cur, move_next;

	if (!p)
		return;
	have_cur = tcpao_keyring_find_serial(&p->keys, f->sel.current) >= 0;
	have_next = tcpao_keyring_find_serial(&p->keys, f->sel.rnext) >= 0;
	move_cur = f->current_epoch != p->current_epoch ||
		   (!have_cur && !keyless_synack(f));
	move_next = f->rnext_epoch != p->rnext_epoch || !have_next;
	if (!move_cur && !move_next)
		return;
	if (policy_peer_keysel(p, &f->key.remote, f->l3index, &sel) == 0) {
		if (move_cur)
			f->sel.current = sel.current;
		if (move_next)
			f->sel.rnext = sel.rnext;
	}
	f->current_epoch = p->current_epoch;
	f->rnext_epoch = p->rnext_epoch;
	worker_flow_changed(w, f);
}

void worker_refresh_keysel(struct worker *w, struct flow *f)
{
	if (f->policy_epoch == w->policy_epoch)
		return;
	refresh_keysel(w, f);
	/* Between two publishes only the segments move sel, and only to
	 * keys of the ring: nothing to check again until the next one. A
	 * keyless SYN-RECV flow is checked on each segment, as its state
	 * decides. */
	f->policy_epoch = keyless_synack(f) ? 0 : w->policy_epoch;
}

static uint8_t tcp_code(const struct flow *f)
{
	return (uint8_t)(f->state | f->fin_out << 3 | f->fin_in << 4 |
			 f->fin_out_acked << 5 | f->fin_in_acked << 6);
}

static uint32_t flow_slot(const struct worker *w, const struct flow *f)
{
	return (uint32_t)(f - w->flows.flows);
}

void worker_flow_changed(struct worker *w, struct flow *f)
{
	flow_recount(&w->flows, f);
	f->saved_tx_quarter = f->tx.sne.seq >> 30;
	f->saved_rx_quarter = f->rx.sne.seq >> 30;
	f->saved_tcp = tcp_code(f);
	state_mark(&w->state, flow_slot(w, f));
}

void worker_remove_flow(struct worker *w, struct flow *f)
{
	state_mark(&w->state, flow_slot(w, f));
	flow_remove(&w->flows, f);
}

void worker_note_seq(struct worker *w, struct flow *f)
{
	if (f->tx.sne.seq >> 30 != f->saved_tx_quarter ||
	    f->rx.sne.seq >> 30 != f->saved_rx_quarter ||
	    tcp_code(f) != f->saved_tcp)
		worker_flow_changed(w, f);
}

void worker_owns(struct worker *w, const struct flow_key *key)
{
	owner_note(&owners, &key->local, &key->remote, w->index);
}

struct flow *worker_restore_flow(struct worker *w, const struct flow_key *key)
{
	/* No eviction for this: most segments of no flow have no record. */
	struct flow *f = flow_insert(&w->flows, key);

	if (!f)
		return NULL;
	f->l3index = w->pkt_l3index;
	if (!repair_claim(key, w->policy, f, w->now_ms) &&
	    !state_claim(key, w->policy, f, w->now_ms)) {
		flow_remove(&w->flows, f);
		return NULL;
	}
	worker_owns(w, key);
	worker_flow_changed(w, f);
	return f;
}

/* A raw socket held to the device MTU, not the path MTU, whose packets
 * carry the tcpao mark so that our egress rule and the guard pass them. */
static int open_raw(int family)
{
	int fd = socket(family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	int mark = (int)mark_get(), probe;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)))
		goto fail;
	if (family == AF_INET) {
		probe = IP_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe,
			       sizeof(probe)))
			goto fail;
	} else {
		probe = IPV6_PMTUDISC_PROBE;
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe,
			       sizeof(probe)))
			goto fail;
	}
	return fd;
fail:
	close(fd);
	return -errno;
}

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

/* A raw socket sends in the VRF of the segment it replaces: bound to the
 * VRF device, routed by its table. Rebound only when the VRF changes. */
static int bind_vrf(int fd, int *bound, int l3index)
{
	if (*bound == l3index)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &l3index,
		       sizeof(l3index)))
		return -errno;
	*bound = l3index;
	return 0;
}

int worker_send_raw(struct worker *w, const struct tcpao_seg *seg)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in sin = { .sin_family = AF_INET };
	const struct sockaddr *sa = (const struct sockaddr *)&sin;
	socklen_t salen = sizeof(sin);
	int fd = w->raw4, *bound = &w->raw4_vrf, rc;

	if (seg->daddr.family == AF_INET6) {
		memcpy(&sin6.sin6_addr, seg->daddr.bytes, 16);
		sa = (const struct sockaddr *)&sin6;
		salen = sizeof(sin6);
		fd = w->raw6;
		bound = &w->raw6_vrf;
	} else {
		memcpy(&sin.sin_addr, seg->daddr.bytes, 4);
	}
	rc = bind_vrf(fd, bound, w->pkt_l3index);
	if (rc)
		return rc;
	if (sendto(fd, seg->ip, seg->iplen, 0, sa, salen) < 0)
		return -errno;
	stats_inc(&w->stats, STAT_PMTU_RAW_SENT);
	return 0;
}

/* ---- the loop ---------------------------------------------------------- */

typedef enum queue_verdict (*handler_fn)(struct worker *w, size_t *len);

/* Handles one received batch of a queue; the verdicts stay pending. */
static void handle_batch(struct worker *w, struct queue *q, int n,
			 handler_fn handle)
{
	for (int i = 0; i < n; i++) {
		struct queue_packet pkt;
		enum queue_verdict v;
		size_t len;

		if (queue_packet(q, i, &pkt)) {
			if (pkt.id)
				queue_verdict(q, pkt.id, 0, QUEUE_DROP, NULL, 0);
			continue;
		}
		if (pkt.len > QUEUE_MSG_MAX) {
			queue_verdict(q, pkt.id, 0, QUEUE_DROP, NULL, 0);
			continue;
		}
		memcpy(w->pkt, pkt.data, pkt.len);
		len = pkt.len;
		w->pkt_uid = pkt.uid;
		/* POSTROUTING has an out device only, PREROUTING an in. */
		w->pkt_l3index = l3dev_index(pkt.outdev ? pkt.outdev : pkt.indev);
		v = handle(w, &len);
		queue_verdict_run(q, pkt.id, pkt.mark, v, w->pkt, len);
	}
}

static void run_call(struct worker *w)
{
	uint64_t v;

	if (read(w->call_fd, &v, sizeof(v)) < 0)
		return;
	pthread_mutex_lock(&w->call_lock);
	if (w->call_pending) {
		w->call_fn(w, w->call_arg);
		w->call_pending = false;
	}
	pthread_mutex_unlock(&w->call_lock);
	/* Signalled unlocked: the waiter it wakes finds the lock free
	 * instead of sleeping on it again (two switches each way, not six). */
	pthread_cond_broadcast(&w->call_done);
}

static void save_if_dirty(struct worker *w)
{
	if (w->state.ndirty)
		state_save(w);
}

static void flow_gone(struct flow *f, void *arg)
{
	struct worker *w = arg;

	state_mark(&w->state, flow_slot(w, f));
}

/* The worker's descriptors in one epoll set, data.u32 their place: the
 * queues 0-2, the call eventfd 3. poll() put each on its wait queue and
 * took it off again on every wake-up (four per packet batch). */
#define CALL_EVENT 3

static int epoll_open(struct worker *w)
{
	const int fds[4] = { w->egress.fd, w->ingress.fd, w->icmp.fd,
			     w->call_fd };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	for (uint32_t i = 0; i < 4; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		if (fds[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			int rc = -errno;

			close(ep);
			return rc;
		}
	}
	return ep;
}

/* One round: the queues epoll found ready (mask: 1 << their place), then
 * a control call. Returns the last queue whose packets were handled, or
 * -1 (busy polling's cue). */
static int serve_ready(struct worker *w, unsigned int mask)
{
	struct queue *qs[3] = { &w->egress, &w->ingress, &w->icmp };
	handler_fn fns[3] = { egress_packet, ingress_packet, icmp_packet };
	int handled = -1;

	/* Egress, ingress, ICMP: the order poll() gave them. */
	for (int i = 0; i < 3; i++) {
		int n;

		if (!(mask & 1u << i))
			continue;
		n = queue_recv(qs[i]);
		if (n < 0) {
			log_msg(LOG_ERR, "worker %u: queue %u: %s",
				w->index, qs[i]->num, strerror(-n));
			continue;
		}
		if (n > 0)
			handled = i;
		handle_batch(w, qs[i], n, fns[i]);
		/* The state file covers every packet released. */
		save_if_dirty(w);
		queue_flush(qs[i]);
	}
	if (mask & 1u << CALL_EVENT)
		run_call(w);
	return handled;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t next_gc = 0;

	while (!atomic_load(&w->stop)) {
		struct epoll_event evs[4];
		/* Asleep, run_lock free: a call runs on the caller's
		 * thread. w->busy and the locals are this thread's only. */
		int ready = epoll_wait(w->epoll_fd, evs, 4,
				       busy_poll_timeout(&w->busy, GC_INTERVAL_MS));
		uint64_t woke_ns = w->busy.window_ns ? busy_poll_now() : 0;
		unsigned int mask = 0;
		int handled;

		if (ready < 0 && errno != EINTR) {
			log_msg(LOG_ERR, "worker %u: epoll_wait: %m", w->index);
			break;
		}
		for (int i = 0; i < ready; i++)
			mask |= 1u << evs[i].data.u32;
		pthread_mutex_lock(&w->run_lock);
		w->now_ms = monotonic_ms();
		handled = serve_ready(w, mask);
		if (w->now_ms >= next_gc) {
			flow_gc(&w->flows, w->now_ms, flow_gone, w);
			save_if_dirty(w);
			next_gc = w->now_ms + GC_INTERVAL_MS;
		}
		pthread_mutex_unlock(&w->run_lock);
		/* Unlocked: the yield between busy polls lets a call in. */
		busy_poll_after(&w->busy, woke_ns, handled);
	}
	return NULL;
}

/* ---- life cycle -------------------------------------------------------- */

static int worker_open(struct worker *w, unsigned int index,
		       const struct workers_config *cfg,
		       const struct policy *policy, char *err, size_t errlen)
{
	int rc;

	w->index = index;
	w->policy = policy;
	w->policy_epoch = 1; /* a new flow's 0: checked on its first segment */
	busy_poll_init(&w->busy, cfg->busy_poll_usec, cfg->busy_poll_adaptive);
	w->egress.fd = w->ingress.fd = w->icmp.fd = -1;
	w->raw4 = open_raw(AF_INET);
	w->raw6 = open_raw(AF_INET6);
	if (w->raw4 < 0 || w->raw6 < 0) {
		rc = w->raw4 < 0 ? w->raw4 : w->raw6;
		snprintf(err, errlen, "raw socket: %s", strerror(-rc));
		return rc;
	}
	w->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->call_fd < 0)
		return -errno;
	pthread_mutex_init(&w->call_lock, NULL);
	pthread_cond_init(&w->call_done, NULL);
	pthread_mutex_init(&w->run_lock, NULL);
	rc = flow_table_init(&w->flows, cfg->max_flows);
	if (rc) {
		snprintf(err, errlen, "flow table: %s", strerror(-rc));
		return rc;
	}
	rc = state_file_open(&w->state, cfg->state_dir, index, cfg->max_flows,
			     err, errlen);
	if (rc)
		return rc;
	rc = queue_open(&w->egress, (uint16_t)(cfg->egress_base + index), err,
			errlen);
	if (!rc)
		rc = queue_open(&w->ingress,
				(uint16_t)(cfg->ingress_base + index), err,
				errlen);
	if (!rc && index == 0)
		rc = queue_open(&w->icmp, cfg->icmp_queue, err, errlen);
	if (rc)
		return rc;
	w->epoll_fd = epoll_open(w);
	if (w->epoll_fd < 0) {
		snprintf(err, errlen, "epoll: %s", strerror(-w->epoll_fd));
		return w->epoll_fd;
	}
	return 0;
}

int workers_open(const struct workers_config *cfg,
		 const struct policy *policy, char *err, size_t errlen)
{
	uint64_t slots = (uint64_t)cfg->count * cfg->max_flows;

	workers = calloc(cfg->count, sizeof(*workers));
	if (!workers || owner_index_init(&owners, slots < (1u << 20) ? (uint32_t)slots
								   : 1u << 20)) {
		free(workers);
		workers = NULL;
		return -ENOMEM;
	}
	nworkers = cfg->count;
	for (unsigned int i = 0; i < nworkers; i++) {
		workers[i].call_fd = workers[i].raw4 = workers[i].raw6 = -1;
		workers[i].epoll_fd = -1;
		workers[i].egress.fd = workers[i].ingress.fd = -1;
		workers[i].icmp.fd = -1;
		workers[i].state.fd = -1;
	}
	for (unsigned int i = 0; i < nworkers; i++) {
		int rc = worker_open(&workers[i], i, cfg, policy, err, errlen);

		if (rc) {
			workers_close();
			return rc;
		}
	}
	return 0;
}

int workers_start(char *err, size_t errlen)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		int rc = pthread_create(&workers[i].thread, NULL, worker_main,
					&workers[i]);

		if (rc) {
			snprintf(err, errlen, "pthread_create: %s",
				 strerror(rc));
			workers_stop();
			return -rc;
		}
		workers[i].running = true;
	}
	started = true;
	return 0;
}

void workers_stop(void)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];
		uint64_t one = 1;

		if (!w->running)
			continue;
		atomic_store(&w->stop, true);
		if (write(w->call_fd, &one, sizeof(one)) < 0)
			log_msg(LOG_ERR, "waking worker %u: %m", i);
		pthread_join(w->thread, NULL);
		w->running = false;
	}
	started = false;
}

void workers_close(void)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		queue_close(&w->egress);
		queue_close(&w->ingress);
		queue_close(&w->icmp);
		flow_table_free(&w->flows);
		state_file_close(&w->state);
		tcpao_pool_wipe(&w->pool);
		tcpao_dir_wipe(&w->scratch_dir);
		if (w->call_fd >= 0)
			close(w->call_fd);
		if (w->epoll_fd >= 0)
			close(w->epoll_fd);
		if (w->raw4 >= 0)
			close(w->raw4);
		if (w->raw6 >= 0)
			close(w->raw6);
		pthread_mutex_destroy(&w->call_lock);
		pthread_cond_destroy(&w->call_done);
		pthread_mutex_destroy(&w->run_lock);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
	owner_index_free(&owners);
	repair_free();
}

/* Runs fn(w, arg) on w's thread. */
static void call_post(struct worker *w, void (*fn)(struct worker *w, void *arg),
		      void *arg)
{
	uint64_t one = 1;

	pthread_mutex_lock(&w->call_lock);
	w->call_fn = fn;
	w->call_arg = arg;
	w->call_pending = true;
	pthread_mutex_unlock(&w->call_lock);
	/* Woken unlocked: w may run at once, and takes the lock free. */
	if (write(w->call_fd, &one, sizeof(one)) < 0)
		log_msg(LOG_ERR, "waking worker %u: %m", w->index);
}

static void call_wait(struct worker *w)
{
	pthread_mutex_lock(&w->call_lock);
	while (w->call_pending)
		pthread_cond_wait(&w->call_done, &w->call_lock);
	pthread_mutex_unlock(&w->call_lock);
}

/* Packets wait in w's queues (it is about to wake for them). */
static bool queued(const struct worker *w)
{
	struct pollfd fds[3] = {
		{ .fd = w->egress.fd, .events = POLLIN },
		{ .fd = w->ingress.fd, .events = POLLIN },
		{ .fd = w->icmp.fd, .events = POLLIN }, /* -1: ignored */
	};

	return poll(fds, 3, 0) != 0;
}

/* Runs fn(w, arg) here when w is not started, or asleep in epoll_wait
 * with no packet queued: waking it would cost two context switches each
 * way for the same work. False when w is awake (it holds run_lock) or
 * packets wait: post the call, which w runs after them, as it always did
 * (a closed socket's RST queued before the publish that drops its entry
 * is still signed). */
static bool call_here(struct worker *w,
		      void (*fn)(struct worker *w, void *arg), void *arg)
{
	if (!w->running) {
		fn(w, arg);
		return true;
	}
	if (pthread_mutex_trylock(&w->run_lock))
		return false;
	if (queued(w)) {
		pthread_mutex_unlock(&w->run_lock);
		return false;
	}
	w->now_ms = monotonic_ms(); /* the worker's may be a second old */
	fn(w, arg);
	pthread_mutex_unlock(&w->run_lock);
	return true;
}

static void call_one(struct worker *w, void (*fn)(struct worker *w, void *arg),
		     void *arg)
{
	if (call_here(w, fn, arg))
		return;
	call_post(w, fn, arg);
	call_wait(w);
}

/* One worker after another: fn may gather into arg. */
void workers_call(void (*fn)(struct worker *w, void *arg), void *arg)
{
	for (unsigned int i = 0; i < nworkers; i++)
		call_one(&workers[i], fn, arg);
}

/* Every worker at once, then the wait: a publish costs one wake-up of
 * the busy ones, not one per worker in turn. fn touches only its worker.
 * here: run it on the sleeping workers from this thread (call_here). */
static void workers_call_each(void (*fn)(struct worker *w, void *arg),
			      void *arg, bool here)
{
	for (unsigned int i = 0; i < nworkers; i++) {
		struct worker *w = &workers[i];

		if (!w->running)
			fn(w, arg);
		else if (!here || !call_here(w, fn, arg))
			call_post(w, fn, arg);
	}
	/* Returns at once for a call run here (none pending). */
	for (unsigned int i = 0; i < nworkers; i++)
		if (workers[i].running)
			call_wait(&workers[i]);
}

/* The key of an entry with this serial, as a flow's record holds it. */
static const struct tcpao_mkt *key_of(const struct policy_peer *p,
				      uint64_t serial)
{
	int i = p ? tcpao_keyring_find_serial(&p->keys, serial) : -1;

	return i >= 0 ? tcpao_keyring_key(&p->keys, i) : NULL;
}

static bool same_key(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	return a == b || (a && b && !memcmp(a, b, sizeof(*a)));
}

/* Past this many changed entries, matching every flow again costs less
 * than looking at each flow against each of them. */
#define ADOPT_CHANGED_MAX 16

/* A flow whose match the change from `old` to `fresh` (slots changed)
 * may move: its entry is one that changed, or a changed entry takes it in. */
static bool flow_touched(const struct flow *f, const struct policy *old,
			 const struct policy *fresh, const size_t *slots,
			 size_t n)
{
	/* Its entry changed, or went. */
	for (size_t i = 0; i < n; i++)
		if (slots[i] < old->n && policy_entry(old, slots[i]) == f->peer)
			return true;
	/* A changed entry takes it in, unless the entry it has (the same
	 * in both versions) wins over that one: a listener's change leaves
	 * its accepted sockets' flows alone. */
	for (size_t i = 0; i < n; i++) {
		const struct policy_peer *p = slots[i] < fresh->n
			? policy_entry(fresh, slots[i]) : NULL;

		if (p && policy_entry_scopes(p, &f->key.local, f->key.lport,
					     &f->key.remote, f->key.rport) &&
		    !(f->peer && policy_prefers(f->peer, p, &f->key.remote)))
			return true;
	}
	return false;
}

/* The flows a changed entry can have (flow_first_by()): a listener's, on
 * its local port; a /32 or /128 peer's, to that address, from and to its
 * ports when it has both (one connection's). */
struct target {
	enum flow_by by;
	struct tcpao_addr remote;
	uint16_t lport, rport;
};

static bool entry_target(const struct policy_peer *p, struct target *t)
{
	const struct policy_scope *s = &p->scope;

	memset(t, 0, sizeof(*t));
	if (p->sock_listener) {
		t->by = FLOW_BY_LPORT;
		t->lport = s->local_port;
		return s->local_port;
	}
	t->remote = s->peer;
	tcpao_addr_unmap(&t->remote);
	if (t->remote.family == AF_UNSPEC || t->remote.family != s->peer.family ||
	    s->peer_len != 8 * tcpao_addr_len(&t->remote))
		return false;
	t->by = s->local_port && s->remote_port ? FLOW_BY_CONN : FLOW_BY_REMOTE;
	t->lport = t->by == FLOW_BY_CONN ? s->local_port : 0;
	t->rport = t->by == FLOW_BY_CONN ? s->remote_port : 0;
	return true;
}

static bool target_add(struct target *ts, size_t *n, const struct policy_peer *p)
{
	struct target t;

	if (!p)
		return true;
	if (!entry_target(p, &t))
		return false;
	for (size_t i = 0; i < *n; i++)
		if (ts[i].by == t.by && tcpao_addr_equal(&ts[i].remote, &t.remote) &&
		    ts[i].lport == t.lport && ts[i].rport == t.rport)
			return true;
	ts[(*n)++] = t;
	return true;
}

/* When every changed entry has its target, before and after, the flows
 * of those targets are all a change can touch (a flow's entry always
 * scopes it: policy_match()); targets holds them, at most 2 * n. False
 * when some entry is wider: then every flow is looked at. */
static bool changed_targets(const struct policy *old, const struct policy *fresh,
			    const size_t *slots, size_t n,
			    struct target *targets, size_t *ntargets)
{
	*ntargets = 0;
	for (size_t i = 0; i < n; i++) {
		const struct policy_peer *was = slots[i] < old->n
			? policy_entry(old, slots[i]) : NULL;
		const struct policy_peer *is = slots[i] < fresh->n
			? policy_entry(fresh, slots[i]) : NULL;

		if (!target_add(targets, ntargets, was) || !target_add(targets, ntargets, is))
			return false;
	}
	return true;
}

static void rematch(struct worker *w, struct flow *f)
{
	const struct tcpao_mkt *cur = key_of(f->peer, f->sel.current),
			       *next = key_of(f->peer, f->sel.rnext);

	f->peer = worker_policy_peer(w, &f->key);
	worker_refresh_keysel(w, f);
	/* Saved again when the keys its record holds changed (not for
	 * every flow at each change of the policy). */
	if (!same_key(cur, key_of(f->peer, f->sel.current)) ||
	    !same_key(next, key_of(f->peer, f->sel.rnext)))
		worker_flow_changed(w, f);
}

void worker_adopt_policy(struct worker *w, const struct policy *policy)
{
	const struct policy *old = w->policy;
	size_t *slots = NULL, n = 0;
	/* A clone of the policy we hold: only the flows its changes touch
	 * are matched again (the others keep an entry both versions share). */
	bool some = old && policy_changes(policy, old, &slots, &n) &&
		    n <= ADOPT_CHANGED_MAX;

	struct target targets[2 * ADOPT_CHANGED_MAX];
	size_t ntargets;

	w->policy = policy;
	w->policy_epoch++;
	if (some && changed_targets(old, policy, slots, n, targets, &ntargets)) {
		for (size_t t = 0; t < ntargets; t++)
			for (struct flow *f = flow_first_by(&w->flows, targets[t].by, &targets[t].remote,
							    targets[t].lport, targets[t].rport);
			     f; f = flow_next_by(&w->flows, targets[t].by, f))
				if (flow_touched(f, old, policy, slots, n))
					rematch(w, f);
	} else {
		for (uint32_t k = 0; k < w->flows.count; k++) {
			struct flow *f = flow_live(&w->flows, k);

			if (!some || flow_touched(f, old, policy, slots, n))
				rematch(w, f);
		}
	}
	free(slots);
	save_if_dirty(w);
}

/* A call on each worker. (The old snapshot is freed only after every
 * worker adopted the new.) */
static void adopt_policy(struct worker *w, void *arg)
{
	worker_adopt_policy(w, arg);
}

/* On the worker: every packet waiting in its queues, not just a batch. */
static void drain_worker(struct worker *w, void *arg)
{
	struct queue *qs[3] = { &w->egress, &w->ingress, &w->icmp };
	handler_fn fns[3] = { egress_packet, ingress_packet, icmp_packet };

	(void)arg;
	w->now_ms = monotonic_ms();
	for (int i = 0; i < 3; i++) {
		int n;

		while (qs[i]->fd >= 0 && (n = queue_recv(qs[i])) > 0) {
			handle_batch(w, qs[i], n, fns[i]);
			save_if_dirty(w);
			queue_flush(qs[i]);
		}
	}
}

/* Always posted and waited for, even to a sleeping worker: a sync that
 * returned sooner made Linux's rst selftest fail under load (the peer's
 * RST may still be in the kernel's backlog; 9ecbf93, BENCHMARKS.md). */
void workers_drain(void)
{
	workers_call_each(drain_worker, NULL, false);
}

const struct policy *workers_set_policy(const struct policy *policy)
{
	const struct policy *old = nworkers ? workers[0].policy : NULL;

	workers_call_each(adopt_policy, (void *)policy, true);
	return old;
}

/* ---- stats.h ----------------------------------------------------------- */

static const char *const stat_names[STAT_COUNT] = {
	[STAT_AO_GOOD] = "TCPAOGood",
	[STAT_AO_BAD] = "TCPAOBad",
	[STAT_AO_KEY_NOT_FOUND] = "TCPAOKeyNotFound",
	[STAT_AO_REQUIRED] = "TCPAORequired",
	[STAT_AO_DROPPED_ICMPS] = "TCPAODroppedIcmps",
	[STAT_AO_MD5] = "TCPAOMD5Conflict",
	[STAT_AO_SIGNED] = "TCPAOSigned",
	[STAT_FRAGMENTS] = "TCPAOFragmentsDropped",
	[STAT_MALFORMED] = "TCPAOMalformedDropped",
	[STAT_NO_FLOW] = "TCPAONoFlowDropped",
	[STAT_EGRESS_DROPPED] = "TCPAOEgressDropped",
	[STAT_ICMP_PMTU] = "TCPAOPmtuAdjusted",
	[STAT_PMTU_RAW_SENT] = "TCPAOPmtuRawSent",
	[STAT_MD5_UNEXPECTED] = "TCPMD5Unexpected",
	[STAT_ICMP4_DROPPED] = "TCPAODroppedIcmp4",
	[STAT_ICMP6_DROPPED] = "TCPAODroppedIcmp6",
	[STAT_FLOW_TABLE_FULL] = "TCPAOFlowTableFull",
	[STAT_FLOW_QUOTA] = "TCPAOFlowQuotaExceeded",
	[STAT_FLOW_EVICTED] = "TCPAOFlowsEvicted",
	[STAT_ICMP_UNCHECKED] = "TCPAODroppedIcmpsUnchecked",
	[STAT_KEY_EXPIRED] = "TCPAOKeyOutsideLifetime",
	[STAT_KEPT_OPTION] = "TCPAOInOptionKept",
};

const char *stat_name(enum stat_id id)
{
	return id < STAT_COUNT ? stat_names[id] : "?";
}

void stats_read(uint64_t out[STAT_COUNT])
{
	memset(out, 0, STAT_COUNT * sizeof(out[0]));
	for (unsigned int i = 0; i < nworkers; i++)
		for (int s = 0; s < STAT_COUNT; s++)
			out[s] += atomic_load_explicit(&workers[i].stats.v[s],
						       memory_order_relaxed);
}

struct snapshot {
	struct flow_info *infos;
	size_t n, cap;
	bool overflow;
};

static int key_id(const struct flow *f, uint64_t serial, bool snd)
{
	int i;

	if (!f->peer)
		return -1;
	i = tcpao_keyring_find_serial(&f->peer->keys, serial);
	if (i < 0)
		return -1;
	return snd ? (*tcpao_keyring_key(&f->peer->keys, i)).sndid : (*tcpao_keyring_key(&f->peer->keys, i)).rcvid;
}

static void info_of(const struct worker *w, const struct flow *f,
		    struct flow_info *info)
{
	*info = (struct flow_info){
		.local = f->key.local, .remote = f->key.remote,
		.lport = f->key.lport, .rport = f->key.rport,
		.state = flow_state_name(f->state),
		.current_sndid = key_id(f, f->sel.current, true),
		.rnext_rcvid = key_id(f, f->sel.rnext, false),
		.peer_rnext = f->peer_rnext,
		.l3index = f->l3index,
		.snd_sne = f->tx.sne.sne, .rcv_sne = f->rx.sne.sne,
		.have_isns = f->tx.have_sisn && f->tx.have_disn,
		.snt_isn = f->tx.ctx.sisn, .rcv_isn = f->tx.ctx.disn,
		.snd_seq = f->tx.sne.seq, .rcv_seq = f->rx.sne.seq,
		.good = atomic_load(&f->cnt.good),
		.bad = atomic_load(&f->cnt.bad),
		.key_not_found = atomic_load(&f->cnt.key_not_found),
		.ao_required = atomic_load(&f->cnt.ao_required),
		.dropped_icmps = atomic_load(&f->cnt.dropped_icmps),
		.worker = w->index,
	};
}

static void snapshot_worker(struct worker *w, void *arg)
{
	struct snapshot *s = arg;

	for (uint32_t k = 0; k < w->flows.count; k++) {
		const struct flow *f = flow_live(&w->flows, k);

		if (s->n == s->cap) {
			s->overflow = true;
			return;
		}
		info_of(w, f, &s->infos[s->n++]);
	}
}

struct find {
	struct flow_key key;
	struct flow_info *info;
	bool found;
};

/* A call on the worker: its table's lookup, nothing else. */
static void find_on(struct worker *w, void *arg)
{
	struct find *ff = arg;
	const struct flow *f = flow_lookup(&w->flows, &ff->key);

	if (f) {
		info_of(w, f, ff->info);
		ff->found = true;
	}
}

bool flows_find(const struct tcpao_addr *local, uint16_t lport,
		const struct tcpao_addr *remote, uint16_t rport,
		struct flow_info *info)
{
	struct find ff = { .key = { .local = *local, .remote = *remote,
				    .lport = lport, .rport = rport },
			   .info = info };
	int owner = owners.slots ? owner_of(&owners, local, remote) : -1;

	if (owner >= 0 && (unsigned int)owner < nworkers) {
		call_one(&workers[owner], find_on, &ff);
		if (ff.found)
			return true;
	}
	/* Not noted (or overwritten): a lookup on each of the others. */
	for (unsigned int i = 0; i < nworkers && !ff.found; i++)
		if ((int)i != owner)
			call_one(&workers[i], find_on, &ff);
	return ff.found;
}

int flows_foreach(void (*fn)(const struct flow_info *info, void *arg),
		  void *arg)
{
	struct snapshot s = { 0 };

	for (unsigned int i = 0; i < nworkers; i++)
		s.cap += workers[i].flows.cap;
	s.infos = calloc(s.cap ? s.cap : 1, sizeof(*s.infos));
	if (!s.infos)
		return -ENOMEM;
	workers_call(snapshot_worker, &s);
	for (size_t i = 0; i < s.n; i++)
		fn(&s.infos[i], arg);
	free(s.infos);
	return (int)s.n;
}
