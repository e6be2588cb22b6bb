/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Secrets as operators write them: TEXT or hex:HEX, inline or in a file
 * that only its owner (and group) may read. Shared by the CLI and tcpaod's
 * config parser. Every buffer that held a secret is wiped before return.
 */
#ifndef TCPAO_SECRET_H
#define TCPAO_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "TEXT" (the bytes as written) or "hex:0011..." into key[TCPAO_MAXKEYLEN].
 * Returns 0 or -EINVAL with a message (never the secret) in err. */
int tcpao_secret_parse(const char *text, uint8_t *key, uint8_t *keylen,
		       char *err, size_t errlen);

/* Reads a secret file: its content is one secret in the syntax above; one
 * trailing newline is ignored. Refuses (-EACCES) a file not owned by the
 * caller's euid or with any group/other permission, and anything that is
 * not a regular file (-EINVAL). path "-" reads standard input. */
int tcpao_secret_file_read(const char *path, uint8_t *key, uint8_t *keylen,
			   char *err, size_t errlen);

/* Copies a key spec into out, replacing its secret-file=PATH field (if
 * any) by secret=hex:... read from PATH as the calling user. Returns 0,
 * -E2BIG when out is too small, or tcpao_secret_file_read's error with its
 * message in err. out holds a secret: the caller wipes it. */
int tcpao_secret_file_inline(const char *spec, char *out, size_t outlen,
			     char *err, size_t errlen);

/* Writes "hex:..." for key into out (out needs 4 + 2 * keylen + 1 bytes). */
/* Whether a key spec carries its secret inline (a "secret=" field): on a
 * command line, any user could read it in /proc/PID/cmdline. */
bool tcpao_spec_has_inline_secret(const char *spec);
#define TCPAO_INLINE_SECRET_ADVICE \
	"secret= on a command line is visible to every user (/proc/PID/cmdline): " \
	"put the secret in a file of mode 0600 and give secret-file=PATH"

void tcpao_secret_to_hex(const uint8_t *key, uint8_t keylen, char *out,
			 size_t outlen);

#endif
