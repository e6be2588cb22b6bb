/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counters of tcpaod, for `tcpao stat` and `tcpao show`.
 *
 * Each worker counts in its own struct (relaxed atomics, written by that
 * worker only); readers sum them. The first five carry Linux's names.
 */
#ifndef TCPAOD_STATS_H
#define TCPAOD_STATS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "tcpao.h"

enum stat_id {
	STAT_AO_GOOD,          /* TCPAOGood: verified segments */
	STAT_AO_BAD,           /* TCPAOBad: MAC (or MAC length) wrong */
	STAT_AO_KEY_NOT_FOUND, /* TCPAOKeyNotFound */
	STAT_AO_REQUIRED,      /* TCPAORequired: no AO where AO is needed */
	STAT_AO_DROPPED_ICMPS, /* TCPAODroppedIcmps */
	STAT_AO_MD5,           /* AO and MD5 options in one segment */
	STAT_AO_SIGNED,        /* segments we signed */
	STAT_FRAGMENTS,        /* IP fragments from AO peers, dropped */
	STAT_MALFORMED,        /* unparseable packets from AO peers, dropped */
	STAT_NO_FLOW,          /* AO segments for no known flow, dropped */
	STAT_EGRESS_DROPPED,   /* segments we could not sign, dropped */
	STAT_ICMP_PMTU,        /* frag-needed / packet-too-big adjusted */
	STAT_PMTU_RAW_SENT,    /* signed segments sent past the kernel's PMTU */
	STAT_MD5_UNEXPECTED,   /* TCPMD5Unexpected: MD5 where AO is used */
	STAT_ICMP4_DROPPED,    /* the ICMPv4 share of TCPAODroppedIcmps */
	STAT_ICMP6_DROPPED,    /* the ICMPv6 share of TCPAODroppedIcmps */
	STAT_FLOW_TABLE_FULL,  /* no slot for a new flow: segment dropped */
	STAT_FLOW_QUOTA,       /* a non-root uid's flow quota: SYN dropped */
	STAT_FLOW_EVICTED,     /* unsynchronized flows evicted for room */
	STAT_ICMP_UNCHECKED,   /* ICMP errors not checkable (fragmented...) */
	STAT_KEY_EXPIRED,      /* KeyID of a chain key outside its accept window */
	STAT_KEPT_OPTION,      /* verified, handed on with the AO option in place */
	STAT_COUNT
};

/* "TCPAOGood", ... */
const char *stat_name(enum stat_id id);

struct stats {
	_Atomic uint64_t v[STAT_COUNT];
};

static inline void stats_inc(struct stats *s, enum stat_id id)
{
	atomic_store_explicit(&s->v[id],
			      atomic_load_explicit(&s->v[id],
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Per flow, the five of Linux's TCP_AO_INFO (pkt_good, ...). */
struct flow_counters {
	_Atomic uint64_t good, bad, key_not_found, ao_required, dropped_icmps;
};

static inline void counter_inc(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* The sum over all workers. */
void stats_read(uint64_t out[STAT_COUNT]);

/* A copy of one flow, for `tcpao show`. Never holds a secret. */
struct flow_info {
	struct tcpao_addr local, remote;
	uint16_t lport, rport;
	const char *state;       /* static string */
	int current_sndid;       /* -1: none */
	int rnext_rcvid;         /* -1: none */
	int peer_rnext;          /* last RNextKeyID the peer sent, -1: none */
	int l3index;             /* its VRF (l3dev.h), 0: the default one */
	uint32_t snd_sne, rcv_sne;
	uint32_t snd_seq, rcv_seq;   /* the sequence numbers of those SNEs */
	bool have_isns;
	uint32_t snt_isn, rcv_isn;   /* ours, the peer's (TCP_AO_REPAIR) */
	uint64_t good, bad, key_not_found, ao_required, dropped_icmps;
	unsigned int worker;
};

/* Calls fn for every flow of every worker. Each worker copies its flows
 * between two batches (message passing, no lock on its packet path).
 * Returns the number of flows or a negative errno. */
int flows_foreach(void (*fn)(const struct flow_info *info, void *arg),
		  void *arg);
/* The flow of a 4-tuple seen from this host, copied by its worker alone
 * (owner.h knows which; every worker is asked, one lookup each, only when
 * it does not). False when there is none. */
bool flows_find(const struct tcpao_addr *local, uint16_t lport,
		const struct tcpao_addr *remote, uint16_t rport,
		struct flow_info *info);

#endif
