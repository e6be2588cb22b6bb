// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The rules watcher (watch.h).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "guard.h"
#include "log.h"
#include "watch.h"

static struct {
	bool changed;          /* a notification since the last check */
	bool listening;        /* nf_tables notifications reach us */
	uint64_t last_check, last_ruleset_check;
	bool present;
	bool guard;
	uint64_t restores;
	uint64_t last_restore_ms;
} w = { .present = true };

int watch_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int group = NFNLGRP_NFTABLES;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_NETFILTER);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group,
		       sizeof(group))) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	w.listening = true;
	return fd;
}

void watch_read(int fd)
{
	char buf[8192];
	ssize_t n;

	/* What changed does not matter: our own check says what is gone.
	 * An overrun (ENOBUFS) means changes too. */
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0 || errno == ENOBUFS)
		w.changed = true;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void restore(struct rules *r, const struct policy *policy,
		    const char *what, uint64_t t0)
{
	char err[512];
	uint64_t ms;

	if (rules_restore(r, policy, err, sizeof(err))) {
		log_msg(LOG_ERR, "rules: %s gone, restore failed: %s "
			"(the guard still drops AO traffic)", what, err);
		return;
	}
	ms = now_ms() - t0;
	w.restores++;
	w.last_restore_ms = ms;
	log_msg(LOG_WARNING, "rules: %s was gone (%s): restored in %llu ms "
		"(restore #%llu)", what,
		w.changed ? "nf_tables notification" : "periodic check",
		(unsigned long long)ms, (unsigned long long)w.restores);
}

/* iptables-save costs two helpers: run them when nf_tables said something
 * changed, and otherwise only as often as WATCH_RULESET_PERIOD_MS, unless
 * the rules' backend announces nothing. */
static bool ruleset_due(const struct rules *r, uint64_t now)
{
	return w.changed || !w.listening || !rules_announced(r) ||
	       now - w.last_ruleset_check >= WATCH_RULESET_PERIOD_MS;
}

void watch_tick(struct rules *r, const struct policy *policy, uint64_t now)
{
	const char *what;
	bool rulesets;
	uint64_t t0;

	if (!w.changed && now - w.last_check < WATCH_PERIOD_MS)
		return;
	t0 = now_ms();
	w.last_check = now;
	rulesets = ruleset_due(r, now);
	if (rulesets)
		w.last_ruleset_check = now;
	w.guard = guard_check();
	what = rules_missing(r, rulesets);
	w.present = !what;
	if (what)
		restore(r, policy, what, t0);
	w.changed = false;
}

void watch_stat(struct control_reply *out)
{
	uint64_t d[GUARD_DROPS];

	guard_drops(d);
	control_reply_counter(out, "TCPAORulesPresent", w.present);
	control_reply_counter(out, "TCPAORulesRestored", w.restores);
	control_reply_counter(out, "TCPAORulesLastRestoreMs",
			      w.last_restore_ms);
	control_reply_counter(out, "TCPAOGuardPresent", w.guard);
	control_reply_counter(out, "TCPAOGuardEgressDropped", d[0]);
	control_reply_counter(out, "TCPAOGuardIngressDropped", d[1]);
	control_reply_counter(out, "TCPAOGuardAODropped", d[2]);
	control_reply_counter(out, "TCPAOGuardPortDropped", d[3]);
}
