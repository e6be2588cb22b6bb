// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The tcpao mark (mark.h): its value, and the check that nobody else uses
 * it before we trust it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "helpers.h"
#include "mark.h"

static uint32_t the_mark = MARK_DEFAULT;

bool mark_parse(const char *text, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || !*text || *end || !v || v > 0xffffffffull)
		return false;
	*out = (uint32_t)v;
	return true;
}

void mark_set(uint32_t mark)
{
	the_mark = mark;
}

uint32_t mark_get(void)
{
	return the_mark;
}

/* A rule of ours: tcpao's chains use the mark by design. */
static bool ours(const char *line, bool *in_chain)
{
	if (strstr(line, "chain tcpao-")) {
		*in_chain = true;
		return true;
	}
	if (*in_chain && strchr(line, '}') && !strchr(line, '{')) {
		*in_chain = false;
		return true;
	}
	return *in_chain || strstr(line, "-A tcpao-") ||
	       strstr(line, ":tcpao-");
}

/* Does a word of the line spell the mark (0x hex or decimal)? */
static bool mentions(const char *line, uint32_t mark)
{
	char hex[16], dec[16];
	const char *p;

	snprintf(hex, sizeof(hex), "0x%08x", mark);
	snprintf(dec, sizeof(dec), "%u", mark);
	if (strcasestr(line, hex))
		return true;
	snprintf(hex, sizeof(hex), "0x%x", mark);
	for (p = line; (p = strcasestr(p, hex)); p++)
		if (!strchr("0123456789abcdefABCDEF", p[strlen(hex)]))
			return true;
	for (p = line; (p = strstr(p, dec)); p++)
		if ((p == line || !strchr("0123456789x", p[-1])) &&
		    !strchr("0123456789", p[strlen(dec)]))
			return true;
	return false;
}

/* The first line of cmd's output that uses the mark, into err. */
static bool scan(const char *const cmd[2], uint32_t mark, char *err,
		 size_t errlen)
{
	struct helper_pipe h;
	bool in_chain = false, found = false;
	char line[1024];

	if (helper_open(&h, cmd[0], cmd[1]))
		return false;
	while (!found && fgets(line, sizeof(line), h.out))
		if (!ours(line, &in_chain) && mentions(line, mark)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(err, errlen, "mark 0x%x is already used by "
				 "the host's firewall (%s: '%s'); choose "
				 "another with --mark", mark, cmd[0], line);
			found = true;
		}
	while (fgets(line, sizeof(line), h.out))
		;
	helper_close(&h);
	return found;
}

static bool sysctl_on(const char *path)
{
	FILE *f = fopen(path, "re");
	int v = 0;

	if (!f)
		return false;
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v != 0;
}

static bool nonempty(const char *path)
{
	FILE *f = fopen(path, "re");
	bool any;

	if (!f)
		return false;
	any = fgetc(f) != EOF;
	fclose(f);
	return any;
}

int mark_check(uint32_t mark, char *err, size_t errlen)
{
	static const char *const cmds[][2] = {
		{ "nft", "list ruleset" },
		{ "iptables-legacy-save", "" },
		{ "ip6tables-legacy-save", "" },
	};
	/* These copy a received packet's mark (ours, once verified) onto
	 * the replies, which would then leave unsigned. */
	static const char *const sysctls[] = {
		"/proc/sys/net/ipv4/tcp_fwmark_accept",
		"/proc/sys/net/ipv4/fwmark_reflect",
		"/proc/sys/net/ipv6/fwmark_reflect",
	};
	/* Legacy tables are listed here when loaded: no list, no save. */
	static const char *const legacy[] = {
		NULL, "/proc/net/ip_tables_names", "/proc/net/ip6_tables_names",
	};

	for (size_t i = 0; i < 3; i++)
		if ((!legacy[i] || nonempty(legacy[i])) &&
		    scan(cmds[i], mark, err, errlen))
			return -EEXIST;
	for (size_t i = 0; i < 3; i++)
		if (sysctl_on(sysctls[i])) {
			snprintf(err, errlen, "%s is on: replies would carry "
				 "the tcpao mark and leave unsigned", sysctls[i]);
			return -EEXIST;
		}
	return 0;
}
