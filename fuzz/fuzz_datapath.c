// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A worker's packet path (daemon/egress.c, ingress.c, icmp.c) against any
 * sequence of packets: the input is records of [queue byte][length, 2
 * bytes][packet], each handed to the egress, ingress or ICMP handler of
 * one worker whose policy protects 198.18.0.0/15 and fd00::/8 (AO
 * required), so that flows are made, signed, refused and ended across the
 * records. Besides never crashing or leaking, the promise is checked: no
 * TCP segment from a protected peer is accepted by ingress unless its MAC
 * verified, which random bytes never achieve (2^-96 a try).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct policy *protected_policy(void)
{
	static const char *peers[] = { "198.18.0.0/15", "fd00::/8" };
	struct policy *p = policy_new();
	char err[256];

	for (size_t i = 0; p && i < 2; i++) {
		struct tcpao_mkt m = { .sndid = 1, .rcvid = 1,
				       .alg = TCPAO_ALG_HMAC_SHA1, .keylen = 6,
				       .key = "secret" };

		if (tcpao_addr_parse(peers[i], &m.peer, &m.prefixlen) ||
		    policy_add_key(p, &m, err, sizeof(err)))
			abort();
	}
	return p;
}

static bool from_protected_peer(uint8_t *pkt, size_t len)
{
	struct tcpao_seg seg;
	const uint8_t *a;

	if (tcpao_seg_parse(&seg, pkt, len) != TCPAO_SEG_OK)
		return false;
	a = seg.saddr.bytes;
	return seg.saddr.family == AF_INET ? a[0] == 198 && (a[1] & 0xfe) == 18
					   : a[0] == 0xfd;
}

static void worker_init(struct worker *w, const struct policy *policy)
{
	memset(w, 0, sizeof(*w));
	w->policy = policy;
	w->policy_epoch = 1;
	w->raw4 = w->raw6 = w->call_fd = w->state.fd = -1;
	w->egress.fd = w->ingress.fd = w->icmp.fd = -1;
	w->pkt_uid = QUEUE_UID_NONE;
	if (flow_table_init(&w->flows, 8))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct policy *policy;
	static struct worker w;
	uint8_t copy[sizeof(w.pkt)];

	if (!policy) {
		/* A drop is logged at each try: keep the fuzzer's output its own. */
		log_to_syslog(true);
		policy = protected_policy();
	}
	worker_init(&w, policy);
	while (size >= 3) {
		unsigned int queue = data[0] % 3;
		size_t len = (size_t)data[1] << 8 | data[2], inlen;
		enum queue_verdict v;

		data += 3, size -= 3;
		if (len > size)
			len = size;
		if (len > QUEUE_MSG_MAX)
			len = QUEUE_MSG_MAX;
		memcpy(w.pkt, data, len);
		memcpy(copy, data, len);
		inlen = len;
		data += len, size -= len;
		v = queue == 0 ? egress_packet(&w, &len)
		  : queue == 1 ? ingress_packet(&w, &len)
			       : icmp_packet(&w, &len);
		if (len > sizeof(w.pkt))
			abort();
		if (queue == 1 && v != QUEUE_DROP && from_protected_peer(copy, inlen))
			abort(); /* accepted without a verified MAC */
	}
	flow_table_free(&w.flows);
	tcpao_pool_wipe(&w.pool);
	tcpao_dir_wipe(&w.scratch_dir);
	return 0;
}
