/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TCP-AO connections of a capture, by 4-tuple: both directions of a
 * connection share one entry, each with the engine's per-direction state.
 */
#ifndef TCPAO_CLI_FLOWS_H
#define TCPAO_CLI_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcpao.h"

/* Endpoints in a canonical order (the smaller address/port first), so that
 * both directions find the same entry. */
struct flow_key {
	uint8_t family;
	uint8_t addr[2][16];
	uint16_t port[2];
};

#define FLOW_SIDE_UNKNOWN (-1)

struct flow {
	struct flow_key key;
	/* dir[s]: the segments endpoint s sends (key.addr[s], key.port[s]) */
	struct tcpao_dir dir[2];
	int client;        /* the side that sent the SYN, or FLOW_SIDE_UNKNOWN */
	int last_key[2];   /* per side, the key that verified last, or -1 */
};

struct flows {
	struct flow **slots;  /* open addressing, linear probing */
	size_t cap;           /* a power of two */
	size_t count;
	size_t limit;         /* most flows kept (memory bound) */
};

void flows_init(struct flows *ft, size_t limit);
/* Frees every flow, wiping its traffic keys. */
void flows_free(struct flows *ft);
/* The flow of a segment and the side that sent it (0 or 1). */
struct flow *flows_find(const struct flows *ft, const struct tcpao_seg *seg,
			int *side);
/* Finds or adds. NULL when the table is full or memory ran out. */
struct flow *flows_get(struct flows *ft, const struct tcpao_seg *seg,
		       int *side);
/* Forgets the connection state of a flow (a new connection on its
 * 4-tuple), keeping its entry. */
void flow_reset(struct flow *flow);
/* Forgets one direction's state (ISNs, SNE, traffic keys). */
void flow_reset_dir(struct flow *flow, int side);

#endif
