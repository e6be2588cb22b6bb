// SPDX-License-Identifier: GPL-2.0-or-later
/* IPv4 / IPv6 addresses and prefixes. */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

size_t tcpao_addr_len(const struct tcpao_addr *addr)
{
	return addr->family == AF_INET ? 4 : 16;
}

void tcpao_addr_unmap(struct tcpao_addr *addr)
{
	struct in_addr v4;

	if (addr->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&addr->v6))
		return;
	memcpy(&v4, &addr->bytes[12], 4);
	memset(addr, 0, sizeof(*addr));
	addr->family = AF_INET;
	addr->v4 = v4;
}

int tcpao_addr_parse(const char *text, struct tcpao_addr *addr,
		     uint8_t *prefixlen)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	unsigned long len;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	slash = strchr(buf, '/');
	if (slash) {
		if (!prefixlen)
			return -EINVAL;
		*slash++ = '\0';
	}
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, buf, &addr->v4) == 1)
		addr->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, &addr->v6) == 1)
		addr->family = AF_INET6;
	else
		return -EINVAL;
	if (!prefixlen)
		return 0;
	*prefixlen = (uint8_t)(tcpao_addr_len(addr) * 8);
	if (!slash)
		return 0;
	if (*slash < '0' || *slash > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash, &end, 10);
	if (errno || *end || len > tcpao_addr_len(addr) * 8)
		return -EINVAL;
	*prefixlen = (uint8_t)len;
	return 0;
}

void tcpao_addr_from_sockaddr(struct tcpao_addr *addr, const void *ss)
{
	const struct sockaddr_storage *s = ss;

	memset(addr, 0, sizeof(*addr));
	if (s->ss_family == AF_INET) {
		addr->family = AF_INET;
		addr->v4 = ((const struct sockaddr_in *)ss)->sin_addr;
	} else if (s->ss_family == AF_INET6) {
		addr->family = AF_INET6;
		addr->v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
		tcpao_addr_unmap(addr);
	}
}

bool tcpao_addr_equal(const struct tcpao_addr *a, const struct tcpao_addr *b)
{
	return a->family == b->family &&
	       !memcmp(a->bytes, b->bytes, tcpao_addr_len(a));
}

/* Bytes [at, at + 8) of an address as a number, the first byte highest. */
static uint64_t word_at(const struct tcpao_addr *a, unsigned int at)
{
	uint64_t w;

	memcpy(&w, a->bytes + at, 8);
	return be64toh(w);
}

/* Compared a word at a time under the prefix's mask (a memcmp of a
 * length known only at run time is a call, on every lookup). */
bool tcpao_addr_in_prefix(const struct tcpao_addr *addr,
			  const struct tcpao_addr *prefix, uint8_t prefixlen)
{
	if (addr->family != prefix->family ||
	    prefixlen > tcpao_addr_len(addr) * 8)
		return false;
	for (unsigned int at = 0; prefixlen; at += 8) {
		unsigned int bits = prefixlen < 64 ? prefixlen : 64;
		uint64_t mask = ~0ull << (64 - bits);

		if ((word_at(addr, at) ^ word_at(prefix, at)) & mask)
			return false;
		prefixlen = (uint8_t)(prefixlen - bits);
	}
	return true;
}
