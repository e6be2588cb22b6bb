// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao stat --prometheus / --textfile FILE: tcpaod's counters, its
 * policy's peers and its live connections in Prometheus' text exposition
 * format (docs/observability.md). --textfile writes a node_exporter
 * textfile atomically (a temporary file in the same directory, renamed).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"
#include "prom.h"
#include "tcpao-version.h"

/* Label values escape backslash, double quote and newline. */
static void label(FILE *f, const char *name, const char *value, bool *first)
{
	if (!value)
		return;
	fprintf(f, "%s%s=\"", *first ? "{" : ",", name);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
	*first = false;
}

static void labels_end(FILE *f, bool first)
{
	if (!first)
		fputc('}', f);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* TCPAOKeyNotFound -> key_not_found; tcpaod's own names the same way. */
static void snake(const char *name, char *out, size_t len)
{
	size_t o = 0;

	if (!strncmp(name, "TCPAO", 5))
		name += 5;
	for (size_t i = 0; name[i] && o + 2 < len; i++) {
		char c = name[i];
		bool upper = c >= 'A' && c <= 'Z';

		/* a new word: an upper-case letter after a lower-case one or a
		 * digit, or before a lower-case one (MD5Conflict -> md5_conflict) */
		if (upper && i > 0 &&
		    ((name[i - 1] >= 'a' && name[i - 1] <= 'z') ||
		     (name[i - 1] >= '0' && name[i - 1] <= '9') ||
		     (name[i + 1] >= 'a' && name[i + 1] <= 'z' &&
		      name[i - 1] >= 'A' && name[i - 1] <= 'Z')))
			out[o++] = '_';
		out[o++] = upper ? (char)(c - 'A' + 'a') : c;
	}
	out[o] = 0;
}

static void counters(FILE *f, char *body)
{
	struct tcpao_ctl_record rec;
	char *cur = body, metric[96], help[160];

	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *name = tcpao_ctl_field(&rec, "name");
		const char *value = tcpao_ctl_field(&rec, "value");
		char s[64];

		if (strcmp(rec.type, "counter") || !name || !value)
			continue;
		snake(name, s, sizeof(s));
		snprintf(metric, sizeof(metric), "tcpao_%s_total", s);
		snprintf(help, sizeof(help), "tcpaod's counter %s (tcpao stat)", name);
		family(f, metric, "counter", help);
		fprintf(f, "%s %s\n", metric, value);
	}
}

static void peer_labels(FILE *f, const struct tcpao_ctl_record *rec, bool *first)
{
	label(f, "peer", tcpao_ctl_field(rec, "peer"), first);
	label(f, "local", tcpao_ctl_field(rec, "local"), first);
	label(f, "local_port", tcpao_ctl_field(rec, "local-port"), first);
	label(f, "remote_port", tcpao_ctl_field(rec, "remote-port"), first);
}

/* One family over the peer records of key-list: FIELD's value per peer. */
static void peer_family(FILE *f, const char *body, const char *metric,
			const char *field, const char *help)
{
	struct tcpao_ctl_record rec;
	char *copy = strdup(body), *cur = copy;
	bool header = false;

	if (!copy)
		return;
	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *v = tcpao_ctl_field(&rec, field);
		bool first = true;

		if (strcmp(rec.type, "peer") || !v)
			continue;
		if (!header)
			family(f, metric, "gauge", help);
		header = true;
		fputs(metric, f);
		peer_labels(f, &rec, &first);
		labels_end(f, first);
		fprintf(f, " %s\n", v);
	}
	free(copy);
}

static void key_family(FILE *f, const char *body)
{
	struct tcpao_ctl_record rec;
	char *copy = strdup(body), *cur = copy;
	bool header = false;

	if (!copy)
		return;
	while (tcpao_ctl_next_record(&cur, &rec)) {
		bool first = true;

		if (strcmp(rec.type, "key"))
			continue;
		if (!header)
			family(f, "tcpao_key_info", "gauge",
			       "a key (MKT) of the policy: 1 per key, never the secret");
		header = true;
		fputs("tcpao_key_info", f);
		label(f, "peer", tcpao_ctl_field(&rec, "peer"), &first);
		label(f, "sndid", tcpao_ctl_field(&rec, "sndid"), &first);
		label(f, "rcvid", tcpao_ctl_field(&rec, "rcvid"), &first);
		label(f, "alg", tcpao_ctl_field(&rec, "alg"), &first);
		label(f, "maclen", tcpao_ctl_field(&rec, "maclen"), &first);
		label(f, "current", tcpao_ctl_field(&rec, "current"), &first);
		label(f, "rnext", tcpao_ctl_field(&rec, "rnext"), &first);
		labels_end(f, first);
		fputs(" 1\n", f);
	}
	free(copy);
}

/* Live connections summed per remote address. */
struct remote {
	char addr[64];
	char state[16];
	unsigned long long conns;
	unsigned long long seg[5];
};

static const char *const seg_fields[5] = { "good", "bad", "key-not-found",
					   "ao-required", "dropped-icmps" };
static const char *const seg_labels[5] = { "good", "bad", "key_not_found",
					   "ao_required", "dropped_icmps" };

static void flows(FILE *f, char *body)
{
	struct tcpao_ctl_record rec;
	struct remote *r = NULL;
	size_t n = 0, cap = 0;
	char *cur = body;

	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *remote = tcpao_ctl_field(&rec, "remote");
		const char *state = tcpao_ctl_field(&rec, "state");
		char addr[64];
		size_t i;
		char *colon;

		if (strcmp(rec.type, "flow") || !remote || !state)
			continue;
		/* 198.18.0.2:40312 or [fd00::2]:179: the address only */
		snprintf(addr, sizeof(addr), "%s", remote[0] == '[' ? remote + 1 : remote);
		colon = strrchr(addr, remote[0] == '[' ? ']' : ':');
		if (colon)
			*colon = 0;
		for (i = 0; i < n; i++)
			if (!strcmp(r[i].addr, addr) && !strcmp(r[i].state, state))
				break;
		if (i == n) {
			if (n == cap) {
				struct remote *more = realloc(r, (cap ? cap * 2 : 16) * sizeof(*r));

				if (!more)
					break;
				r = more;
				cap = cap ? cap * 2 : 16;
			}
			memset(&r[n], 0, sizeof(r[n]));
			snprintf(r[n].addr, sizeof(r[n].addr), "%s", addr);
			snprintf(r[n].state, sizeof(r[n].state), "%s", state);
			n++;
		}
		r[i].conns++;
		for (int k = 0; k < 5; k++) {
			const char *v = tcpao_ctl_field(&rec, seg_fields[k]);

			if (v)
				r[i].seg[k] += strtoull(v, NULL, 10);
		}
	}
	family(f, "tcpao_connections", "gauge",
	       "TCP-AO connections tcpaod tracks, per remote address and state");
	for (size_t i = 0; i < n; i++) {
		bool first = true;

		fputs("tcpao_connections", f);
		label(f, "remote", r[i].addr, &first);
		label(f, "state", r[i].state, &first);
		labels_end(f, first);
		fprintf(f, " %llu\n", r[i].conns);
	}
	family(f, "tcpao_connection_segments", "gauge",
	       "segments of the live connections per remote address and result "
	       "(sums over live connections: falls when one closes)");
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 5; k++) {
			bool first = true;

			fputs("tcpao_connection_segments", f);
			label(f, "remote", r[i].addr, &first);
			label(f, "state", r[i].state, &first);
			label(f, "result", seg_labels[k], &first);
			labels_end(f, first);
			fprintf(f, " %llu\n", r[i].seg[k]);
		}
	free(r);
}

/* The kernel's view of the NFQUEUEs of this namespace
 * (/proc/net/netfilter/nfnetlink_queue): packets waiting and dropped. */
static void queues(FILE *f)
{
	static const char *const names[3] = {
		"tcpao_queue_waiting", "tcpao_queue_dropped_total",
		"tcpao_queue_user_dropped_total" };
	static const char *const help[3] = {
		"packets waiting in the NFQUEUE for a verdict",
		"packets the kernel dropped: the NFQUEUE was full",
		"packets the kernel dropped: the reader's socket buffer was full" };
	struct { unsigned q, total, dropped, user; } qs[256];
	size_t n = 0;
	char line[256];
	FILE *p = fopen("/proc/net/netfilter/nfnetlink_queue", "re");

	if (!p)
		return;
	while (n < 256 && fgets(line, sizeof(line), p)) {
		unsigned q, portid, total, mode, range, dropped, user;

		if (sscanf(line, "%u %u %u %u %u %u %u", &q, &portid, &total, &mode,
			   &range, &dropped, &user) == 7) {
			qs[n].q = q, qs[n].total = total;
			qs[n].dropped = dropped, qs[n].user = user;
			n++;
		}
	}
	fclose(p);
	for (int m = 0; m < 3; m++) {
		family(f, names[m], m ? "counter" : "gauge", help[m]);
		for (size_t i = 0; i < n; i++)
			fprintf(f, "%s{queue=\"%u\"} %u\n", names[m], qs[i].q,
				m == 0 ? qs[i].total : m == 1 ? qs[i].dropped : qs[i].user);
	}
}

static int call(const char *what, const char *request, char **body)
{
	struct tcpao_ctl_reply reply;
	int rc = daemon_call(what, request, &reply);

	if (rc)
		return rc;
	*body = reply.body ? reply.body : strdup("");
	return *body ? 0 : 1;
}

static int write_all(FILE *f, bool keys)
{
	char *stat = NULL, *list = NULL, *show = NULL;
	int rc;

	family(f, "tcpao_build_info", "gauge", "tcpao's version; always 1");
	fprintf(f, "tcpao_build_info{version=\"%s\",git=\"%s\"} 1\n",
		TCPAO_VERSION, TCPAO_GIT_DESCRIBE);
	rc = call("stat", "stat", &stat);
	if (!rc)
		rc = call("stat", "key-list", &list);
	if (!rc)
		rc = call("stat", "show", &show);
	family(f, "tcpao_up", "gauge", "1 when tcpaod answered on its control socket");
	fprintf(f, "tcpao_up %d\n", rc ? 0 : 1);
	if (!rc) {
		counters(f, stat);
		peer_family(f, list, "tcpao_peer_keys", "keys",
			    "keys of a peer entry of the policy");
		peer_family(f, list, "tcpao_peer_current_key", "current",
			    "sndid of the key new connections to the peer sign with, when set");
		peer_family(f, list, "tcpao_peer_rnext_key", "rnext",
			    "rcvid new connections to the peer announce as RNextKeyID, when set");
		peer_family(f, list, "tcpao_peer_current_key_age_seconds", "current-age",
			    "seconds since the key new connections to the peer sign with "
			    "became current (or was added), kept across tcpaod restarts");
		if (keys)
			key_family(f, list);
		flows(f, show);
	}
	queues(f);
	free(stat);
	free(list);
	free(show);
	return rc ? 1 : 0;
}

/* The textfile collector reads whole files: write a temporary file in the
 * same directory and rename it over FILE. */
static int write_textfile(const char *path, bool keys)
{
	size_t len = strlen(path) + 32;
	char *tmp = malloc(len);
	FILE *f;
	int rc, fd;

	if (!tmp)
		return 1;
	snprintf(tmp, len, "%s.tmp.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fprintf(stderr, "tcpao stat: %s: %s\n", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(tmp);
		return 1;
	}
	fchmod(fd, 0644);
	rc = write_all(f, keys);
	if (fflush(f) || fsync(fd) || fclose(f) || rename(tmp, path)) {
		fprintf(stderr, "tcpao stat: %s: %s\n", path, strerror(errno));
		unlink(tmp);
		rc = 1;
	}
	free(tmp);
	return rc;
}

int cmd_stat_prometheus(int argc, char **argv, void (*usage)(FILE *f))
{
	const char *textfile = NULL;
	bool prom = false, keys = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus"))
			prom = true;
		else if (!strcmp(argv[i], "--keys"))
			keys = true;
		else if (!strcmp(argv[i], "--textfile") && i + 1 < argc)
			textfile = argv[++i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (textfile && prom) {
		usage(stderr);
		return 2;
	}
	if (textfile)
		return write_textfile(textfile, keys);
	return write_all(stdout, keys);
}
