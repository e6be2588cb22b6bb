/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcpao.conf: the host policy as a file (syntax in tcpao.conf(5)).
 *
 *   peer 198.18.0.2/32 {
 *       local 198.18.0.1;  remote-port 179;
 *       ao-required yes;   accept-icmps no;
 *       key sndid 1 rcvid 1 alg hmac(sha1) secret-file bgp.key maclen 12;
 *       key id 2 alg cmac(aes128) secret hex:00112233445566778899aabbccddeeff;
 *       current-key 1;     rnext-key 1;
 *   }
 *
 * Errors come back as "FILE:LINE: message", never with a secret in them.
 */
#ifndef TCPAOD_CONFIG_H
#define TCPAOD_CONFIG_H

#include <stddef.h>

#include "policy.h"

#ifndef TCPAO_SYSCONFDIR
#define TCPAO_SYSCONFDIR "/etc/tcpao"
#endif
#define CONFIG_DEFAULT_PATH TCPAO_SYSCONFDIR "/tcpao.conf"
#define CONFIG_MAX_SIZE (1u << 20)

/* Reads and parses a config file into a new policy (*out, freed by the
 * caller). A file holding inline secrets, and every secret file, must not
 * be accessible by others (-EACCES). Relative secret-file paths are
 * relative to the config file's directory. Returns 0 or a negative errno
 * with err set. */
int config_load(const char *path, struct policy **out, char *err,
		size_t errlen);

/* Parses text (name for messages, dir for relative secret files). */
int config_parse(const char *text, size_t len, const char *name,
		 const char *dir, struct policy **out, char *err,
		 size_t errlen);

#endif
