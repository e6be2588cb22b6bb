// SPDX-License-Identifier: GPL-2.0-or-later
/* The TCPAO* counters appended to /proc/net/netstat's TcpExt lines. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "netstat.h"
#include "sockctl.h"

static const char ao_names[] =
	" TCPAOGood TCPAOBad TCPAOKeyNotFound TCPAORequired TCPAODroppedIcmps";

bool netstat_is_path(const char *path)
{
	static const char *const fixed[] = { "/proc/net/netstat",
					     "/proc/self/net/netstat",
					     "/proc/thread-self/net/netstat" };
	char mine[64];

	if (!path)
		return false;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!strcmp(path, fixed[i]))
			return true;
	snprintf(mine, sizeof(mine), "/proc/%d/net/netstat", (int)getpid());
	return !strcmp(path, mine);
}

static char *slurp(int fd, size_t *len)
{
	size_t cap = 8192, n = 0;
	char *buf = malloc(cap);
	ssize_t r;

	while (buf && (r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 1024) {
			char *g = realloc(buf, cap * 2);

			if (!g) {
				free(buf);
				return NULL;
			}
			buf = g;
			cap *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* Writes the file with our fields after the TcpExt header and values. */
static int synthesize(int out, const char *in, const uint64_t cnt[5])
{
	bool header = true, have = strstr(in, "TCPAOGood") != NULL;
	FILE *f = fdopen(dup(out), "w");

	if (!f)
		return -errno;
	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		fwrite(line, 1, n, f);
		if (!have && !strncmp(line, "TcpExt:", 7)) {
			if (header)
				fputs(ao_names, f);
			else
				fprintf(f, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
					cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
			header = !header;
		}
		if (nl)
			fputc('\n', f);
		line += n + (nl ? 1 : 0);
	}
	return fclose(f) ? -errno : 0;
}

int netstat_open(int (*real_openat)(int, const char *, int, ...),
		 const char *path)
{
	uint64_t cnt[5];
	size_t len;
	char *text;
	int in = real_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC), out, rc;

	if (in < 0)
		return -errno;
	text = slurp(in, &len);
	close(in);
	if (!text)
		return -ENOMEM;
	sockctl_stat(cnt); /* zeros when no daemon runs: nothing counted */
	out = memfd_create("netstat", MFD_CLOEXEC);
	rc = out < 0 ? -errno : synthesize(out, text, cnt);
	free(text);
	if (rc) {
		if (out >= 0)
			close(out);
		return rc;
	}
	lseek(out, 0, SEEK_SET);
	return out;
}
