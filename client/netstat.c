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

static const char *const ao_fields[5] = { "TCPAOGood", "TCPAOBad",
					   "TCPAOKeyNotFound", "TCPAORequired",
					   "TCPAODroppedIcmps" };

/* Which of our counters a TcpExt field is; -1 for others. */
static int ao_index(const char *name, size_t len)
{
	for (int i = 0; i < 5; i++)
		if (strlen(ao_fields[i]) == len && !strncmp(name, ao_fields[i], len))
			return i;
	return -1;
}

/* The TcpExt values line, each TCPAO* field (named by the header line)
 * raised by the daemon's count. Kernels since 6.7 list the fields (0
 * without CONFIG_TCP_AO); older ones do not: then they are appended. */
static void write_values(FILE *f, const char *hdr, size_t hlen,
			 const char *val, size_t vlen, const uint64_t cnt[5])
{
	const char *h = hdr, *hend = hdr + hlen, *v = val, *vend = val + vlen;
	bool seen = false;

	fputs("TcpExt:", f);
	h += 7;
	v += 7;
	while (h < hend && v < vend) {
		size_t hn, vn;
		int i;

		while (h < hend && *h == ' ')
			h++;
		while (v < vend && *v == ' ')
			v++;
		hn = strcspn(h, " \n");
		vn = strcspn(v, " \n");
		if (h + hn > hend)
			hn = (size_t)(hend - h);
		if (v + vn > vend)
			vn = (size_t)(vend - v);
		if (!hn || !vn)
			break;
		i = ao_index(h, hn);
		if (i >= 0) {
			seen = true;
			fprintf(f, " %" PRIu64, (uint64_t)strtoull(v, NULL, 10) + cnt[i]);
		} else {
			fprintf(f, " %.*s", (int)vn, v);
		}
		h += hn;
		v += vn;
	}
	if (!seen)
		fprintf(f, " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
			cnt[0], cnt[1], cnt[2], cnt[3], cnt[4]);
}

static int synthesize(int out, const char *in, const uint64_t cnt[5])
{
	bool have = strstr(in, "TCPAOGood") != NULL;
	const char *hdr = NULL;
	size_t hlen = 0;
	FILE *f = fdopen(dup(out), "w");

	if (!f)
		return -errno;
	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (strncmp(line, "TcpExt:", 7)) {
			fwrite(line, 1, n, f);
		} else if (!hdr) {
			hdr = line;
			hlen = n;
			fwrite(line, 1, n, f);
			if (!have)
				fputs(ao_names, f);
		} else {
			write_values(f, hdr, hlen, line, n, cnt);
			hdr = NULL;
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
