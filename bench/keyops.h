/* SPDX-License-Identifier: GPL-2.0-or-later */
/* bench-keyops: what its two modes share (keyops.c). */
#ifndef BENCH_KEYOPS_H
#define BENCH_KEYOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench.h"
#include "control.h"
#include "tcpao.h"

extern const struct control_client bench_root;
/* The bench's own messages; the daemon's log lines (one audit line per
 * change) go to /dev/null: their cost is measured, not their text. */
extern FILE *errout;

/* Exits with what and errno's text, on errout. */
void die_errno(const char *what);
/* Peer i of 198.18.0.0/15 (131,072 addresses). */
void peer_of(uint32_t i, struct tcpao_addr *a);
/* One request served, with a socket in SCM_RIGHTS when passfd >= 0;
 * exits unless the reply is "ok". */
void ask_ctl(struct control *ctl, int client, const char *request, int passfd);
/* A worker's lookup for a SYN of no flow: the entry (match), then from
 * its keys the one to send with (connect) or the ones the SYN's KeyID and
 * RNextKeyID name (accept: the listener's side). */
enum syn_lookup { SYN_MATCH, SYN_CONNECT, SYN_ACCEPT };
/* Seconds per lookup, to or from 16 of the first `keys` peers in turn
 * (the SYN's ids are id): the best of ten slices of 1,024. Exits when a
 * peer has no key. */
struct policy;
double lookup_s(const struct policy *policy, const struct tcpao_addr *local,
		uint16_t lport, size_t keys, uint16_t pport, uint8_t id,
		enum syn_lookup what);
/* --sockets: one listener of N keys per size (keyops-sockets.c). */
int bench_sockets(const size_t *sizes, int nsizes, int rounds, int batch);

#endif
