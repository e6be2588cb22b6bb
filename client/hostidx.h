/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A socket's host keys (/32, /128) by peer address: the uids of the keys
 * of each address. What lets TCP_AO_ADD_KEY's clash check, DEL_KEY,
 * GET_KEYS for one peer and accept() look at that peer's keys (and the
 * few wider ones) instead of all of a listener's thousands.
 */
#ifndef TCPAO_HOSTIDX_H
#define TCPAO_HOSTIDX_H

#include <stddef.h>
#include <stdint.h>

#include "tcpao.h"

struct hostidx_bucket;

struct hostidx {
	struct hostidx_bucket *b; /* nb buckets, a power of two */
	size_t nb, n;
};

/* 0 or -ENOMEM (then the index misses this key: the caller must not use
 * it any more). addr is unmapped. */
int hostidx_add(struct hostidx *x, const struct tcpao_addr *addr, uint32_t uid);
void hostidx_del(struct hostidx *x, const struct tcpao_addr *addr, uint32_t uid);
/* How many keys addr has; the uids of the first max of them in uids. */
size_t hostidx_get(const struct hostidx *x, const struct tcpao_addr *addr,
		   uint32_t *uids, size_t max);
void hostidx_free(struct hostidx *x);

#endif
