/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Builds IPv4 / IPv6 TCP packets for the unit tests. Checksums are computed
 * here (RFC 1071), independently of the engine, so that the tests can check
 * the engine's checksums against them.
 */
#ifndef TCPAO_TEST_PKT_H
#define TCPAO_TEST_PKT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pkt_spec {
	int family;                 /* AF_INET or AF_INET6 */
	const char *src, *dst;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	const uint8_t *opts;        /* TCP options, a multiple of 4 bytes */
	size_t optlen;
	const uint8_t *payload;
	size_t paylen;
	const uint8_t *ipopts;      /* IPv4 options, a multiple of 4 bytes */
	size_t ipoptlen;
	uint16_t frag;              /* IPv4 flags + fragment offset field */
	uint8_t proto;              /* 0: TCP */
	const uint8_t *ext;         /* IPv6 extension headers, chained */
	size_t extlen;
	uint8_t ext_nh;             /* the first extension header's type */
};

static inline uint32_t pkt_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static inline uint16_t pkt_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, (uint16_t)(v >> 16));
	pkt_put16(p + 2, (uint16_t)v);
}

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The TCP checksum over a TCP segment as the RFCs define it. */
static inline uint16_t pkt_tcp_csum(int family, const uint8_t *src,
				    const uint8_t *dst, const uint8_t *tcp,
				    size_t tcplen)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint32_t sum = 0;

	sum = pkt_sum(sum, src, alen);
	sum = pkt_sum(sum, dst, alen);
	sum += 6 + (uint32_t)tcplen;
	sum = pkt_sum(sum, tcp, tcplen);
	return (uint16_t)~pkt_fold(sum);
}

/* True when the IPv4 header checksum of ip (ihl bytes) verifies. */
static inline bool pkt_ip4_csum_ok(const uint8_t *ip)
{
	return pkt_fold(pkt_sum(0, ip, (size_t)(ip[0] & 15) * 4)) == 0xffff;
}

/* Writes the packet into buf; returns its length (0 if cap is too small). */
static inline size_t pkt_build(const struct pkt_spec *s, uint8_t *buf,
			       size_t cap)
{
	int v4 = s->family == AF_INET;
	size_t iphlen = v4 ? 20 + s->ipoptlen : 40 + s->extlen;
	size_t thlen = 20 + s->optlen;
	size_t len = iphlen + thlen + s->paylen;
	uint8_t src[16], dst[16], *tcp = buf + iphlen;

	if (len > cap || inet_pton(s->family, s->src, src) != 1 ||
	    inet_pton(s->family, s->dst, dst) != 1)
		return 0;
	memset(buf, 0, iphlen + thlen);
	if (v4) {
		buf[0] = (uint8_t)(0x40 | iphlen / 4);
		pkt_put16(buf + 2, (uint16_t)len);
		pkt_put16(buf + 4, 0x1234);
		pkt_put16(buf + 6, s->frag);
		buf[8] = 64;
		buf[9] = s->proto ? s->proto : 6;
		memcpy(buf + 12, src, 4);
		memcpy(buf + 16, dst, 4);
		if (s->ipoptlen)
			memcpy(buf + 20, s->ipopts, s->ipoptlen);
		pkt_put16(buf + 10, (uint16_t)~pkt_fold(pkt_sum(0, buf, iphlen)));
	} else {
		buf[0] = 0x60;
		pkt_put16(buf + 4, (uint16_t)(len - 40));
		buf[6] = s->extlen ? s->ext_nh : (s->proto ? s->proto : 6);
		buf[7] = 64;
		memcpy(buf + 8, src, 16);
		memcpy(buf + 24, dst, 16);
		if (s->extlen)
			memcpy(buf + 40, s->ext, s->extlen);
	}
	pkt_put16(tcp, s->sport);
	pkt_put16(tcp + 2, s->dport);
	pkt_put32(tcp + 4, s->seq);
	pkt_put32(tcp + 8, s->ack);
	tcp[12] = (uint8_t)(thlen / 4 << 4);
	tcp[13] = s->flags;
	pkt_put16(tcp + 14, 65535);
	if (s->optlen)
		memcpy(tcp + 20, s->opts, s->optlen);
	if (s->paylen)
		memcpy(tcp + thlen, s->payload, s->paylen);
	pkt_put16(tcp + 16, pkt_tcp_csum(s->family, src, dst, tcp, len - iphlen));
	return len;
}

#endif
