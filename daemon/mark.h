/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tcpao mark: one bit pattern in skb->mark that says "tcpaod has seen
 * this packet". Every verdict that accepts a packet adds it (signed,
 * verified, or plain where the policy allows), and the daemon's own raw
 * sends carry it. The egress rule lets marked packets pass unqueued and
 * the guard (guard.h) drops unmarked AO traffic, so whoever else sets the
 * mark sends AO peers' packets unsigned: it must be ours alone.
 *
 * mark_check() refuses a mark that a rule of the host's ruleset already
 * uses (nft, iptables-legacy, ip6tables-legacy; tcpao's own chains
 * excepted), and the sysctls that copy an incoming packet's mark onto the
 * replies (tcp_fwmark_accept, fwmark_reflect). It cannot see SO_MARK set
 * by programs, BPF programs that write marks, or rules added later.
 */
#ifndef TCPAOD_MARK_H
#define TCPAOD_MARK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MARK_DEFAULT 0x40000000u

/* Parses "0x..." or decimal, nonzero. */
bool mark_parse(const char *text, uint32_t *out);
void mark_set(uint32_t mark);
uint32_t mark_get(void);
/* 0, or -EEXIST with the reason in err. */
int mark_check(uint32_t mark, char *err, size_t errlen);

#endif
