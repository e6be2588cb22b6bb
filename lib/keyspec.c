// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key syntax every command shares:
 *   sndid=N,rcvid=N,alg=NAME,secret=TEXT|hex:HEX[,peer=PREFIX][,maclen=N]
 *   [,exclude-options][,ifindex=N]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

#define SPEC_MAX 512

int tcpao_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

#define fail(err, errlen, ...) tcpao_errf(err, errlen, -EINVAL, __VA_ARGS__)

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10); /* decimal: "010" is ten, not eight */
	return !errno && !*end && *out <= max;
}

static bool parse_secret(const char *v, struct tcpao_mkt *mkt)
{
	size_t n;

	if (strncmp(v, "hex:", 4)) {
		n = strlen(v);
		if (n > TCPAO_MAXKEYLEN)
			return false;
		memcpy(mkt->key, v, n);
		mkt->keylen = (uint8_t)n;
		return true;
	}
	v += 4;
	int len = tcpao_hex_decode(v, strlen(v), mkt->key, TCPAO_MAXKEYLEN);

	if (len < 0)
		return false;
	mkt->keylen = (uint8_t)len;
	return true;
}

/* Bits of the fields seen, so that none is given twice. */
enum {
	SEEN_SNDID = 1 << 0,
	SEEN_RCVID = 1 << 1,
	SEEN_ALG = 1 << 2,
	SEEN_SECRET = 1 << 3,
	SEEN_PEER = 1 << 4,
	SEEN_MACLEN = 1 << 5,
	SEEN_IFINDEX = 1 << 6,
	SEEN_EXCLUDE = 1 << 7,
};

/* A v4-mapped prefix (::ffff:a.b.c.d/96..128) is kept as the IPv4 prefix. */
static int parse_peer(const char *v, struct tcpao_mkt *mkt, char *err,
		      size_t errlen)
{
	if (tcpao_addr_parse(v, &mkt->peer, &mkt->prefixlen))
		return fail(err, errlen, "peer: '%s' is not an address or prefix", v);
	if (mkt->peer.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&mkt->peer.v6)) {
		if (mkt->prefixlen < 96)
			return fail(err, errlen, "peer: '%s': a v4-mapped prefix must be /96 to /128", v);
		tcpao_addr_unmap(&mkt->peer);
		mkt->prefixlen -= 96;
	}
	return 0;
}

static bool known_field(const char *name)
{
	static const char *const names[] = {
		"exclude-options", "sndid", "rcvid", "id", "alg", "secret",
		"peer", "maclen", "ifindex",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

static int parse_field(char *field, struct tcpao_mkt *mkt, unsigned *seen,
		       char *err, size_t errlen)
{
	char *v = strchr(field, '=');
	unsigned long n;
	unsigned bit;

	if (v)
		*v++ = '\0';
	/* Text after a secret may be the secret's own tail: never echo it. */
	if ((*seen & SEEN_SECRET) && !known_field(field))
		return fail(err, errlen, "unexpected field after secret= (a text secret cannot contain ','; use secret=hex:...)");
	if (!strcmp(field, "exclude-options"))
		bit = SEEN_EXCLUDE;
	else if (!v)
		return fail(err, errlen, "'%s': expected NAME=VALUE", field);
	else if (!strcmp(field, "sndid"))
		bit = SEEN_SNDID;
	else if (!strcmp(field, "rcvid"))
		bit = SEEN_RCVID;
	else if (!strcmp(field, "id"))
		bit = SEEN_SNDID | SEEN_RCVID;
	else if (!strcmp(field, "alg"))
		bit = SEEN_ALG;
	else if (!strcmp(field, "secret"))
		bit = SEEN_SECRET;
	else if (!strcmp(field, "peer"))
		bit = SEEN_PEER;
	else if (!strcmp(field, "maclen"))
		bit = SEEN_MACLEN;
	else if (!strcmp(field, "ifindex"))
		bit = SEEN_IFINDEX;
	else
		return fail(err, errlen, "unknown field '%s'", field);
	if (*seen & bit)
		return fail(err, errlen, "%s: given more than once", field);
	*seen |= bit;

	switch (bit) {
	case SEEN_EXCLUDE:
		if (v)
			return fail(err, errlen, "exclude-options takes no value");
		mkt->flags |= TCPAO_MKT_EXCLUDE_OPT;
		break;
	case SEEN_SNDID:
	case SEEN_RCVID:
	case SEEN_SNDID | SEEN_RCVID:
		if (!parse_uint(v, 255, &n))
			return fail(err, errlen, "%s: '%s' is not a number 0-255", field, v);
		if (bit & SEEN_SNDID)
			mkt->sndid = (uint8_t)n;
		if (bit & SEEN_RCVID)
			mkt->rcvid = (uint8_t)n;
		break;
	case SEEN_ALG:
		if (tcpao_alg_parse(v, &mkt->alg))
			return fail(err, errlen, "alg: unknown algorithm '%s' (" TCPAO_ALG_HINT ")", v);
		break;
	case SEEN_SECRET:
		if (!parse_secret(v, mkt))
			return fail(err, errlen, "secret: at most %d bytes, as text or hex:HEX (an even number of hex digits)", TCPAO_MAXKEYLEN);
		break;
	case SEEN_PEER:
		return parse_peer(v, mkt, err, errlen);
	case SEEN_MACLEN:
		if (!parse_uint(v, 255, &n) || !n)
			return fail(err, errlen, "maclen: '%s' is not a number 1-255", v);
		mkt->maclen = (uint8_t)n;
		break;
	case SEEN_IFINDEX:
		if (!parse_uint(v, 0x7fffffff, &n))
			return fail(err, errlen, "ifindex: '%s' is not a number", v);
		mkt->ifindex = (int)n;
		mkt->flags |= TCPAO_MKT_IFINDEX;
		break;
	}
	return 0;
}

/* The only checks of tcpao_mkt_check() a parsed spec can fail. */
static int check_error(const struct tcpao_mkt *mkt, int rc, char *err,
		       size_t errlen)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	static const uint8_t zero[16];

	if (rc == -EMSGSIZE)
		return fail(err, errlen, "maclen %u does not fit: at most 16 bytes leave room for a SYN's other options",
			    mkt->maclen);
	inet_ntop(mkt->peer.family, mkt->peer.bytes, addr, sizeof(addr));
	if (!memcmp(mkt->peer.bytes, zero, tcpao_addr_len(&mkt->peer)))
		return fail(err, errlen, "peer: the any address %s takes prefix /0", addr);
	if (!mkt->prefixlen)
		return fail(err, errlen, "peer: prefix /0 is for the any address only, not %s", addr);
	return fail(err, errlen, "peer: %s/%u has host bits set beyond the prefix",
		    addr, mkt->prefixlen);
}

int tcpao_mkt_parse(const char *spec, struct tcpao_mkt *mkt,
		    char *err, size_t errlen)
{
	char buf[SPEC_MAX];
	char *save = NULL, *field;
	unsigned seen = 0;
	int rc = 0;

	memset(mkt, 0, sizeof(*mkt));
	if (strlen(spec) >= sizeof(buf))
		return fail(err, errlen, "key spec longer than %d bytes", SPEC_MAX - 1);
	strcpy(buf, spec);
	for (field = strtok_r(buf, ",", &save); field && !rc;
	     field = strtok_r(NULL, ",", &save))
		rc = parse_field(field, mkt, &seen, err, errlen);
	if (!rc && (seen & (SEEN_SNDID | SEEN_RCVID)) != (SEEN_SNDID | SEEN_RCVID))
		rc = fail(err, errlen, "sndid= and rcvid= (or id=) are required");
	if (!rc && !(seen & SEEN_ALG))
		rc = fail(err, errlen, "alg= is required");
	if (!rc && !(seen & SEEN_SECRET))
		rc = fail(err, errlen, "secret= is required");
	if (!rc) {
		rc = tcpao_mkt_check(mkt);
		if (rc)
			rc = check_error(mkt, rc, err, errlen);
	}
	explicit_bzero(buf, sizeof(buf));
	if (rc)
		tcpao_mkt_wipe(mkt);
	return rc;
}
