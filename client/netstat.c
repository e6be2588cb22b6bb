// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/net/netstat, snmp and snmp6 with tcpaod's counts added. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "netstat.h"
#include "snmp.h"
#include "sockctl.h"

enum procnet_file { PROCNET_OTHER, PROCNET_NETSTAT, PROCNET_SNMP, PROCNET_SNMP6 };

/* tcpaod's counters we show, by their `tcpao stat` names. */
enum { C_GOOD, C_BAD, C_KEY_NOT_FOUND, C_REQUIRED, C_DROPPED_ICMPS,
       C_MD5_UNEXPECTED, C_ICMP4_DROPPED, C_ICMP6_DROPPED, C_COUNT };
static const char *const daemon_names[C_COUNT] = {
	"TCPAOGood", "TCPAOBad", "TCPAOKeyNotFound", "TCPAORequired",
	"TCPAODroppedIcmps", "TCPMD5Unexpected", "TCPAODroppedIcmp4",
	"TCPAODroppedIcmp6",
};
#define AO_FIELDS 5 /* the first five: TcpExt's TCPAO* fields */

static enum procnet_file which(const char *path)
{
	static const char *const dirs[] = { "/proc/net/", "/proc/self/net/",
					    "/proc/thread-self/net/" };
	char mine[48];
	const char *file = NULL;

	if (!path)
		return PROCNET_OTHER;
	for (size_t i = 0; !file && i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (!strncmp(path, dirs[i], strlen(dirs[i])))
			file = path + strlen(dirs[i]);
	snprintf(mine, sizeof(mine), "/proc/%d/net/", (int)getpid());
	if (!file && !strncmp(path, mine, strlen(mine)))
		file = path + strlen(mine);
	if (!file)
		return PROCNET_OTHER;
	if (!strcmp(file, "netstat"))
		return PROCNET_NETSTAT;
	if (!strcmp(file, "snmp"))
		return PROCNET_SNMP;
	if (!strcmp(file, "snmp6"))
		return PROCNET_SNMP6;
	return PROCNET_OTHER;
}

bool netstat_is_path(const char *path)
{
	return which(path) != PROCNET_OTHER;
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

static const struct netstat_add *find_add(const struct netstat_add *adds,
					  size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(adds[i].name) == len && !strncmp(name, adds[i].name, len))
			return &adds[i];
	return NULL;
}

size_t netstat_write_values(FILE *f, const char *hdr, size_t hlen,
			    const char *val, size_t vlen,
			    const struct netstat_add *adds, size_t n)
{
	const char *h = memchr(hdr, ':', hlen), *hend = hdr + hlen;
	const char *v = memchr(val, ':', vlen), *vend = val + vlen;
	size_t seen = 0;

	if (!h || !v) {
		fwrite(val, 1, vlen, f);
		return 0;
	}
	fwrite(val, 1, (size_t)(v - val) + 1, f);
	h++;
	v++;
	while (h < hend && v < vend) {
		const struct netstat_add *a;
		size_t hn, vn;

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
		a = find_add(adds, n, h, hn);
		if (a) {
			seen++;
			fprintf(f, " %" PRIu64, (uint64_t)strtoull(v, NULL, 10) + a->add);
		} else {
			fprintf(f, " %.*s", (int)vn, v);
		}
		h += hn;
		v += vn;
	}
	return seen;
}

/* TcpExt: kernels since 6.7 list the TCPAO* fields (0 without
 * CONFIG_TCP_AO); older ones do not: then they are appended. */
static void netstat_write(FILE *f, const char *in, const uint64_t cnt[C_COUNT])
{
	bool have = strstr(in, "TCPAOGood") != NULL;
	struct netstat_add adds[AO_FIELDS + 1];
	const char *hdr = NULL;
	size_t hlen = 0;

	for (int i = 0; i < AO_FIELDS; i++)
		adds[i] = (struct netstat_add){ daemon_names[i], cnt[i] };
	adds[AO_FIELDS] = (struct netstat_add){ "TCPMD5Unexpected",
						cnt[C_MD5_UNEXPECTED] };
	for (const char *line = in; *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (strncmp(line, "TcpExt:", 7)) {
			fwrite(line, 1, n, f);
		} else if (!hdr) {
			hdr = line;
			hlen = n;
			fwrite(line, 1, n, f);
			for (int i = 0; !have && i < AO_FIELDS; i++)
				fprintf(f, " %s", daemon_names[i]);
		} else {
			netstat_write_values(f, hdr, hlen, line, n, adds,
					     AO_FIELDS + 1);
			for (int i = 0; !have && i < AO_FIELDS; i++)
				fprintf(f, " %" PRIu64, cnt[i]);
			hdr = NULL;
		}
		if (nl)
			fputc('\n', f);
		line += n + (nl ? 1 : 0);
	}
}

static int synthesize(int out, enum procnet_file kind, const char *in,
		      const uint64_t cnt[C_COUNT])
{
	FILE *f = fdopen(dup(out), "w");

	if (!f)
		return -errno;
	if (kind == PROCNET_NETSTAT)
		netstat_write(f, in, cnt);
	else if (kind == PROCNET_SNMP)
		snmp_write(f, in, cnt[C_ICMP4_DROPPED]);
	else
		snmp6_write(f, in, cnt[C_ICMP6_DROPPED]);
	return fclose(f) ? -errno : 0;
}

int netstat_open(int (*real_openat)(int, const char *, int, ...),
		 const char *path)
{
	enum procnet_file kind = which(path);
	uint64_t cnt[C_COUNT];
	size_t len;
	char *text;
	int in = real_openat(AT_FDCWD, path, O_RDONLY | O_CLOEXEC), out, rc;

	if (in < 0)
		return -errno;
	text = slurp(in, &len);
	close(in);
	if (!text)
		return -ENOMEM;
	/* zeros when no daemon runs: nothing counted */
	sockctl_stat(daemon_names, cnt, C_COUNT);
	out = memfd_create("netstat", MFD_CLOEXEC);
	rc = out < 0 ? -errno : synthesize(out, kind, text, cnt);
	free(text);
	if (rc) {
		if (out >= 0)
			close(out);
		return rc;
	}
	lseek(out, 0, SEEK_SET);
	return out;
}
