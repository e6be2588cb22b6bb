// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The key syntax every command shares:
 *   sndid=N,rcvid=N,alg=NAME,secret=TEXT|hex:HEX[,peer=PREFIX][,maclen=N]
 *   [,exclude-options][,ifindex=N]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tcpao.h"

#define SPEC_MAX 512

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 0);
	return !errno && !*end && *out <= max;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
	n = strlen(v);
	if (n % 2 || n / 2 > TCPAO_MAXKEYLEN)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		mkt->key[i] = (uint8_t)(hi << 4 | lo);
	}
	mkt->keylen = (uint8_t)(n / 2);
	return true;
}

static int parse_field(char *field, struct tcpao_mkt *mkt, unsigned *seen,
		       char *err, size_t errlen)
{
	char *v = strchr(field, '=');
	unsigned long n;

	if (!strcmp(field, "exclude-options")) {
		mkt->flags |= TCPAO_MKT_EXCLUDE_OPT;
		return 0;
	}
	if (!v)
		return fail(err, errlen, "'%s': expected NAME=VALUE", field);
	*v++ = '\0';
	if (!strcmp(field, "sndid") || !strcmp(field, "rcvid") || !strcmp(field, "id")) {
		if (!parse_uint(v, 255, &n))
			return fail(err, errlen, "%s: '%s' is not a number 0-255", field, v);
		if (field[0] != 'r')
			mkt->sndid = (uint8_t)n, *seen |= 1;
		if (field[0] != 's')
			mkt->rcvid = (uint8_t)n, *seen |= 2;
	} else if (!strcmp(field, "alg")) {
		if (tcpao_alg_from_name(v, &mkt->alg))
			return fail(err, errlen, "alg: unknown algorithm '%s' (hmac(sha1), cmac(aes128), hmac(sha256))", v);
		*seen |= 4;
	} else if (!strcmp(field, "secret")) {
		if (!parse_secret(v, mkt))
			return fail(err, errlen, "secret: at most %d bytes, as text or hex:HEX", TCPAO_MAXKEYLEN);
		*seen |= 8;
	} else if (!strcmp(field, "peer")) {
		if (tcpao_addr_parse(v, &mkt->peer, &mkt->prefixlen))
			return fail(err, errlen, "peer: '%s' is not an address or prefix", v);
	} else if (!strcmp(field, "maclen")) {
		if (!parse_uint(v, TCPAO_MAX_MACLEN, &n) || !n)
			return fail(err, errlen, "maclen: '%s' is not 1-%d", v, TCPAO_MAX_MACLEN);
		mkt->maclen = (uint8_t)n;
	} else if (!strcmp(field, "ifindex")) {
		if (!parse_uint(v, 0x7fffffff, &n))
			return fail(err, errlen, "ifindex: '%s' is not a number", v);
		mkt->ifindex = (int)n;
		mkt->flags |= TCPAO_MKT_IFINDEX;
	} else {
		return fail(err, errlen, "unknown field '%s'", field);
	}
	return 0;
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
	if (!rc && (seen & 3) != 3)
		rc = fail(err, errlen, "sndid= and rcvid= (or id=) are required");
	if (!rc && !(seen & 4))
		rc = fail(err, errlen, "alg= is required");
	if (!rc && !(seen & 8))
		rc = fail(err, errlen, "secret= is required");
	if (!rc) {
		rc = tcpao_mkt_check(mkt);
		if (rc == -EMSGSIZE)
			rc = fail(err, errlen, "maclen %u is longer than %s's %zu-byte digest",
				  mkt->maclen, tcpao_alg_name(mkt->alg),
				  tcpao_alg_digest_len(mkt->alg));
		else if (rc)
			rc = fail(err, errlen, "invalid key");
	}
	explicit_bzero(buf, sizeof(buf));
	if (rc)
		tcpao_mkt_wipe(mkt);
	return rc;
}
