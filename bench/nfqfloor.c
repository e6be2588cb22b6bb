// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * nfqfloor: the least any NFQUEUE datapath must do, for bench/throughput's
 * floor rows (issue 11). It binds an egress and an ingress queue through
 * tcpaod's own queue code (daemon/queue.c: the same buffers, recvmmsg of
 * up to QUEUE_BATCH packets, verdicts sent in one sendto per batch) and
 * serves both from one thread with epoll, as a tcpaod --queues 1 worker
 * does. No flow, no key, no MAC:
 *
 *   ingress: accept as it came; runs leave as one NFQNL_MSG_VERDICT_BATCH
 *            (what tcpaod does for a verified established segment);
 *   egress:  --egress copy: accept with the packet copied back unchanged,
 *            one verdict per packet (a signed segment's cost without the
 *            MAC and without the option's 20 bytes);
 *            --egress accept: as ingress (one queue round trip per
 *            segment and nothing else: the floor of any design).
 *
 * --busy-poll USEC [--busy-poll-adaptive]: spin after packets as tcpaod
 * does with the same options (daemon/busypoll.c).
 *
 * Accepted packets get the tcpao mark, as tcpaod's verdicts give it (the
 * rules bench/throughput installs pass marked packets). The rules are the
 * script's business, not ours. Counters go to stderr when it stops
 * (SIGTERM or SIGINT).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "busypoll.h"
#include "queue.h"

enum { EGRESS, INGRESS, NQUEUES };

struct counts {
	uint64_t wakeups;              /* epoll_wait returns with events */
	uint64_t receives[NQUEUES];    /* recvmmsg calls that got packets */
	uint64_t packets[NQUEUES];
	uint64_t sends[NQUEUES];       /* verdict flushes that sent */
	uint64_t bad[NQUEUES];         /* messages that were no packet */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *to)
{
	fprintf(to,
		"usage: nfqfloor --egress-queue N --ingress-queue N "
		"[--egress copy|accept]\n"
		"                [--busy-poll USEC [--busy-poll-adaptive]]\n"
		"Accepts every queued packet with the least work NFQUEUE allows\n"
		"(bench/throughput --floor). Egress default: copy.\n");
}

static int parse_queue(const char *text, uint16_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || !*text || *end || v > 65535)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* One queue's batch: every packet accepted, none parsed past its id. */
static void serve_batch(struct queue *q, int n, bool copy, struct counts *c,
			int which)
{
	for (int i = 0; i < n; i++) {
		struct queue_packet pkt;

		if (queue_packet(q, i, &pkt)) {
			c->bad[which]++;
			/* Named but unreadable: tcpaod drops it too. */
			if (pkt.id)
				queue_verdict(q, pkt.id, 0, QUEUE_DROP, NULL, 0);
			continue;
		}
		c->packets[which]++;
		if (copy)
			queue_verdict(q, pkt.id, pkt.mark,
				      QUEUE_ACCEPT_MODIFIED, pkt.data, pkt.len);
		else
			queue_verdict_run(q, pkt.id, pkt.mark, QUEUE_ACCEPT,
					  NULL, 0);
	}
}

/* Returns whether packets came. */
static bool serve_queue(struct queue *q, bool copy, struct counts *c,
			int which)
{
	int n = queue_recv(q);

	if (n < 0) {
		fprintf(stderr, "nfqfloor: queue %u: %s\n", q->num,
			strerror(-n));
		return false;
	}
	if (n == 0)
		return false;
	c->receives[which]++;
	serve_batch(q, n, copy, c, which);
	if (q->txlen || q->run_len)
		c->sends[which]++;
	queue_flush(q);
	return true;
}

static int epoll_of(struct queue qs[NQUEUES])
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -errno;
	for (uint32_t i = 0; i < NQUEUES; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, qs[i].fd, &ev)) {
			int rc = -errno;

			close(ep);
			return rc;
		}
	}
	return ep;
}

/* The worker's loop: egress before ingress, as tcpaod serves them. */
static int serve(struct queue qs[NQUEUES], bool copy_egress,
		 struct busy_poll *busy, struct counts *c)
{
	int ep = epoll_of(qs);

	if (ep < 0) {
		fprintf(stderr, "nfqfloor: epoll: %s\n", strerror(-ep));
		return 1;
	}
	while (!stop) {
		struct epoll_event evs[NQUEUES];
		int ready = epoll_wait(ep, evs, NQUEUES,
				       busy_poll_timeout(busy, 1000));
		uint64_t woke_ns = busy->window_ns ? busy_poll_now() : 0;
		unsigned int mask = 0;
		int handled = -1;

		if (ready < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nfqfloor: epoll_wait: %s\n",
				strerror(errno));
			close(ep);
			return 1;
		}
		for (int i = 0; i < ready; i++)
			if (evs[i].data.u32 < NQUEUES)
				mask |= 1u << evs[i].data.u32;
		if (mask)
			c->wakeups++;
		if ((mask & 1u << EGRESS) &&
		    serve_queue(&qs[EGRESS], copy_egress, c, EGRESS))
			handled = EGRESS;
		if ((mask & 1u << INGRESS) &&
		    serve_queue(&qs[INGRESS], false, c, INGRESS))
			handled = INGRESS;
		busy_poll_after(busy, woke_ns, handled);
	}
	close(ep);
	return 0;
}

static void report(const struct queue qs[NQUEUES], const struct counts *c)
{
	static const char *const names[NQUEUES] = { "egress", "ingress" };

	fprintf(stderr, "nfqfloor: %llu wake-ups\n",
		(unsigned long long)c->wakeups);
	for (int i = 0; i < NQUEUES; i++)
		fprintf(stderr,
			"nfqfloor: %s queue %u: %llu packets, %llu receives "
			"(%.1f packets each), %llu verdict sends, %llu batch "
			"verdicts, %llu not packets, %llu unsettled, %llu send "
			"errors, %llu truncated\n",
			names[i], qs[i].num, (unsigned long long)c->packets[i],
			(unsigned long long)c->receives[i],
			c->receives[i] ? (double)c->packets[i] / (double)c->receives[i] : 0.0,
			(unsigned long long)c->sends[i],
			(unsigned long long)qs[i].tx_batches,
			(unsigned long long)c->bad[i],
			(unsigned long long)qs[i].unsettled,
			(unsigned long long)qs[i].tx_errors,
			(unsigned long long)qs[i].rx_truncated);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "egress-queue", required_argument, NULL, 'e' },
		{ "ingress-queue", required_argument, NULL, 'i' },
		{ "egress", required_argument, NULL, 'm' },
		{ "busy-poll", required_argument, NULL, 'b' },
		{ "busy-poll-adaptive", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct queue qs[NQUEUES];
	struct counts c = { 0 };
	struct busy_poll busy;
	unsigned long busy_usec = 0;
	bool adaptive = false;
	char *end;
	uint16_t num[NQUEUES];
	bool have[NQUEUES] = { false }, copy = true;
	char err[256];
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'e':
		case 'i':
			if (parse_queue(optarg, &num[opt == 'i'])) {
				fprintf(stderr, "nfqfloor: bad queue number %s\n", optarg);
				return 2;
			}
			have[opt == 'i'] = true;
			break;
		case 'm':
			if (strcmp(optarg, "copy") && strcmp(optarg, "accept")) {
				fprintf(stderr, "nfqfloor: --egress copy or accept\n");
				return 2;
			}
			copy = !strcmp(optarg, "copy");
			break;
		case 'b':
			errno = 0;
			busy_usec = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || busy_usec > BUSY_POLL_MAX_USEC) {
				fprintf(stderr, "nfqfloor: --busy-poll 0 to %u\n",
					BUSY_POLL_MAX_USEC);
				return 2;
			}
			break;
		case 'a':
			adaptive = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !have[EGRESS] || !have[INGRESS] ||
	    num[EGRESS] == num[INGRESS] || (adaptive && !busy_usec)) {
		usage(stderr);
		return 2;
	}
	/* No SA_RESTART: a signal ends epoll_wait at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < NQUEUES; i++) {
		if (queue_open(&qs[i], num[i], err, sizeof(err))) {
			fprintf(stderr, "nfqfloor: %s\n", err);
			while (i-- > 0)
				queue_close(&qs[i]);
			return 1;
		}
	}
	busy_poll_init(&busy, (unsigned int)busy_usec, adaptive);
	fprintf(stderr, "nfqfloor: egress queue %u (%s), ingress queue %u (batch accept), "
		"busy-poll %lu us%s\n", num[EGRESS], copy ? "copy back" : "batch accept",
		num[INGRESS], busy_usec, adaptive ? " adaptive" : "");
	rc = serve(qs, copy, &busy, &c);
	report(qs, &c);
	for (int i = 0; i < NQUEUES; i++)
		queue_close(&qs[i]);
	return rc;
}
