// SPDX-License-Identifier: GPL-2.0-or-later
/* Secrets as operators write them, inline or in protected files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secret.h"
#include "tcpao.h"

/* Longest file content accepted: "hex:" + 160 digits + CRLF. */
#define SECRET_FILE_MAX (4 + 2 * TCPAO_MAXKEYLEN + 2)

static int parse_bytes(const char *text, size_t n, uint8_t *key,
		       uint8_t *keylen, char *err, size_t errlen)
{
	if (n >= 4 && !memcmp(text, "hex:", 4)) {
		text += 4;
		n -= 4;
		if (n % 2 || !n)
			return tcpao_errf(err, errlen, -EINVAL, "hex secret needs an even, non-zero number of digits");
		int len = tcpao_hex_decode(text, n, key, TCPAO_MAXKEYLEN);

		if (len == -E2BIG)
			return tcpao_errf(err, errlen, -EINVAL, "secret longer than %d bytes", TCPAO_MAXKEYLEN);
		if (len < 0)
			return tcpao_errf(err, errlen, -EINVAL, "hex secret has a non-hex digit");
		*keylen = (uint8_t)len;
		return 0;
	}
	if (!n)
		return tcpao_errf(err, errlen, -EINVAL, "the secret is empty");
	if (n > TCPAO_MAXKEYLEN)
		return tcpao_errf(err, errlen, -EINVAL, "secret longer than %d bytes", TCPAO_MAXKEYLEN);
	memcpy(key, text, n);
	*keylen = (uint8_t)n;
	return 0;
}

int tcpao_secret_parse(const char *text, uint8_t *key, uint8_t *keylen,
		       char *err, size_t errlen)
{
	return parse_bytes(text, strlen(text), key, keylen, err, errlen);
}

static int check_mode(int fd, const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st))
		return tcpao_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return tcpao_errf(err, errlen, -EINVAL, "%s: not a regular file", path);
	/* Someone else's file could be swapped, or read by its owner. */
	if (st.st_uid != geteuid())
		return tcpao_errf(err, errlen, -EACCES,
			    "%s: secret file is owned by uid %u, not by its reader (uid %u)",
			    path, (unsigned)st.st_uid, (unsigned)geteuid());
	if (st.st_mode & (S_IRWXG | S_IRWXO))
		return tcpao_errf(err, errlen, -EACCES,
			    "%s: secret file is accessible by group or others (mode %03o); chmod 600 it",
			    path, (unsigned)(st.st_mode & 0777));
	return 0;
}

int tcpao_secret_file_read(const char *path, uint8_t *key, uint8_t *keylen,
			   char *err, size_t errlen)
{
	char buf[SECRET_FILE_MAX + 1];
	ssize_t n;
	int fd, rc;

	/* "-": standard input, for a secret piped in (no file, no argv). */
	if (!strcmp(path, "-"))
		fd = dup(0);
	else
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return tcpao_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
	rc = strcmp(path, "-") ? check_mode(fd, path, err, errlen) : 0;
	if (!rc) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			rc = tcpao_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		else if ((size_t)n > SECRET_FILE_MAX)
			rc = tcpao_errf(err, errlen, -EINVAL, "%s: longer than a secret can be", path);
	}
	close(fd);
	if (!rc) {
		if (n && buf[n - 1] == '\n')
			n--;
		if (n && buf[n - 1] == '\r')
			n--;
		rc = parse_bytes(buf, (size_t)n, key, keylen, err, errlen);
		if (rc && err && errlen) {
			char why[128];

			snprintf(why, sizeof(why), "%s", err);
			tcpao_errf(err, errlen, rc, "%s: %s", path, why);
		}
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int tcpao_secret_file_inline(const char *spec, char *out, size_t outlen,
			     char *err, size_t errlen)
{
	const char *field = strstr(spec, "secret-file=");
	char hex[8 + 2 * TCPAO_MAXKEYLEN], path[PATH_MAX];
	uint8_t key[TCPAO_MAXKEYLEN], keylen = 0;
	size_t pathlen, before;
	const char *after;
	int rc, n;

	if (!field || (field != spec && field[-1] != ',')) {
		n = snprintf(out, outlen, "%s", spec);
		return n < 0 || (size_t)n >= outlen ? tcpao_errf(err, errlen, -E2BIG, "key spec too long") : 0;
	}
	before = (size_t)(field - spec);
	field += strlen("secret-file=");
	pathlen = strcspn(field, ",");
	after = field + pathlen;
	if (pathlen >= sizeof(path))
		return tcpao_errf(err, errlen, -E2BIG, "secret-file path too long");
	snprintf(path, sizeof(path), "%.*s", (int)pathlen, field);
	rc = tcpao_secret_file_read(path, key, &keylen, err, errlen);
	if (rc)
		return rc;
	tcpao_secret_to_hex(key, keylen, hex, sizeof(hex));
	n = snprintf(out, outlen, "%.*ssecret=%s%s", (int)before, spec, hex, after);
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hex, sizeof(hex));
	if (n < 0 || (size_t)n >= outlen) {
		explicit_bzero(out, outlen);
		return tcpao_errf(err, errlen, -E2BIG, "key spec too long");
	}
	return 0;
}

bool tcpao_spec_has_inline_secret(const char *spec)
{
	for (const char *p = spec; (p = strstr(p, "secret=")); p++)
		if (p == spec || p[-1] == ',')
			return true;
	return false;
}

void tcpao_secret_to_hex(const uint8_t *key, uint8_t keylen, char *out,
			 size_t outlen)
{
	static const char digits[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen < 5 + 2 * (size_t)keylen) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(out, "hex:", 4);
	o = 4;
	for (size_t i = 0; i < keylen; i++) {
		out[o++] = digits[key[i] >> 4];
		out[o++] = digits[key[i] & 15];
	}
	out[o] = '\0';
}
