/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the in-process benches share. */
#ifndef BENCH_BENCH_H
#define BENCH_BENCH_H

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tcpao.h"

static inline double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
	exit(1);
}

/* An IPv4 address from its host-order value. */
static inline struct tcpao_addr v4(uint32_t host)
{
	struct tcpao_addr a = { .family = AF_INET };
	uint32_t be = htonl(host);

	memcpy(a.bytes, &be, 4);
	return a;
}

#endif
