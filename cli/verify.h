/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Offline verification of the TCP-AO segments of a capture: connections
 * found by 4-tuple, ISNs learnt from verified SYN and SYN-ACK, SNE per
 * direction, every AO segment checked against the candidate MKTs.
 */
#ifndef TCPAO_CLI_VERIFY_H
#define TCPAO_CLI_VERIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"
#include "flows.h"
#include "tcpao.h"

/* Results reported: good, bad-mac, key-not-found, no-isn, truncated and
 * malformed (the engine's names). */

enum verify_direction {
	VERIFY_DIR_UNKNOWN,   /* no handshake seen on this 4-tuple */
	VERIFY_DIR_CLIENT,    /* sent by the side that sent the SYN */
	VERIFY_DIR_SERVER,
};

/* What became of one AO segment. */
struct verify_outcome {
	const struct capture_packet *pkt;
	struct tcpao_seg seg;      /* ports, seq and flags always; options
				    * when have_ao */
	bool have_ao;              /* keyid and rnext are known */
	bool have_sne;
	uint32_t sne;
	int key;                   /* index of the key that verified, or -1 */
	enum verify_direction direction;
	enum tcpao_result result;
	char reason[128];
};

struct verify_stats {
	uint64_t results[TCPAO_RESULT_COUNT];
	uint64_t ao_segments;
	uint64_t unsigned_segments; /* no AO, on a 4-tuple that uses AO */
	uint64_t plain_segments;    /* no AO, on other 4-tuples */
	uint64_t unreadable_tcp;    /* headers cut or broken, 4-tuple not AO */
	uint64_t non_tcp;           /* IP packets of other protocols */
	uint64_t fragments;         /* IP fragments (not reassembled) */
	uint64_t handshakes;        /* connections whose ISNs were learnt */
	uint64_t flows;             /* 4-tuples with TCP-AO */
};

struct verifier {
	const struct tcpao_mkt *keys;
	size_t nkeys;
	struct flows flows;
	struct tcpao_pool pool;
	struct verify_stats stats;
};

/* keys stay the caller's and must outlive the verifier. */
void verifier_init(struct verifier *v, const struct tcpao_mkt *keys,
		   size_t nkeys);
/* 1: pkt was an AO segment, described in *out; 0: it was not (counted);
 * -1: too many connections to track (see flows.h). */
int verifier_packet(struct verifier *v, struct capture_packet *pkt,
		    struct verify_outcome *out);
void verifier_free(struct verifier *v);

/* Failed: bad-mac, key-not-found, malformed. Unverifiable: no-isn,
 * truncated. */
bool verify_stats_failed(const struct verify_stats *s);
uint64_t verify_stats_unverifiable(const struct verify_stats *s);

#endif
