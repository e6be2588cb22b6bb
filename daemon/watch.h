/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keeping the rules in place while the daemon runs. A firewall reload
 * (`nft flush ruleset`, `iptables -F`, `iptables-restore`, `ipset
 * destroy`) removes tcpao's chains, jumps or sets without telling anyone:
 * the watcher notices and installs them again, logging and counting each
 * restore. nf_tables changes are announced on NFNLGRP_NFTABLES (the
 * rulesets checked at once, and every WATCH_RULESET_PERIOD_MS in case);
 * iptables-legacy and ipset announce nothing (checked every
 * WATCH_PERIOD_MS: the sets' counts over netlink, legacy rulesets through
 * iptables-save). Meanwhile the guard (guard.h) drops what the missing
 * rules would have queued.
 */
#ifndef TCPAOD_WATCH_H
#define TCPAOD_WATCH_H

#include <stdint.h>

#include "control.h"
#include "policy.h"
#include "rules.h"

#define WATCH_PERIOD_MS 500
#define WATCH_RULESET_PERIOD_MS 30000

/* The nf_tables notification socket, or -errno (then only the periodic
 * check runs). */
int watch_open(void);
/* Reads what is waiting on fd: a change to check at the next tick. */
void watch_read(int fd);
/* Checks when due (or told by a notification); restores when needed. */
void watch_tick(struct rules *r, const struct policy *policy, uint64_t now_ms);
/* Health lines for `tcpao stat`: rules present, restores, guard. */
void watch_stat(struct control_reply *out);

#endif
