// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao stat: tcpaod's global counters, named as Linux names them.
 * --delta (-d): the change since the last --delta, like nstat: the values
 * seen are kept in a per-user history file, one per network namespace,
 * in $XDG_RUNTIME_DIR or else /tmp (mode 0600, never through a symbolic
 * link, refused when another user owns it); --reset forgets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"
#include "prom.h"

#define HISTORY_MAX 256

struct counter {
	char name[64];
	uint64_t value;
};

struct history {
	struct counter c[HISTORY_MAX];
	size_t n;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao stat [--delta|-d] [--reset] [--json]\n"
		   "       tcpao stat --prometheus [--keys]\n"
		   "       tcpao stat --textfile FILE [--keys]\n"
		   "Prints tcpaod's counters (TCPAOGood, TCPAOBad, TCPAOKeyNotFound,\n"
		   "TCPAORequired, TCPAODroppedIcmps, then tcpaod's own).\n"
		   "--delta: the change since the last --delta (like nstat), the history\n"
		   "kept per user and network namespace in $XDG_RUNTIME_DIR or /tmp\n"
		   "(.tcpao-stat.uUID.nsINODE, mode 0600); --reset forgets it.\n"
		   "--prometheus: counters, peers, connections and queues in Prometheus'\n"
		   "text format (--keys: one series per key); --textfile: the same written\n"
		   "atomically to FILE (node_exporter's textfile collector).\n");
}

static int history_path(char *path, size_t len)
{
	const char *dir = getenv("XDG_RUNTIME_DIR");
	struct stat ns;

	if (!dir || dir[0] != '/')
		dir = "/tmp";
	if (stat("/proc/self/ns/net", &ns))
		return -errno;
	if ((size_t)snprintf(path, len, "%s/.tcpao-stat.u%u.ns%llu", dir, (unsigned)geteuid(),
			     (unsigned long long)ns.st_ino) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* The history file, opened without following a symbolic link, created
 * 0600; refused unless it is a regular file of ours, private, one link. */
static int history_open(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_nlink != 1) {
		close(fd);
		return -EPERM;
	}
	if (flock(fd, LOCK_EX)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void history_read(int fd, struct history *h)
{
	char buf[HISTORY_MAX * 96], *line, *save = NULL;
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	h->n = 0;
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && h->n < HISTORY_MAX;
	     line = strtok_r(NULL, "\n", &save)) {
		struct counter *c = &h->c[h->n];

		if (sscanf(line, "%63s %" SCNu64, c->name, &c->value) == 2)
			h->n++;
	}
}

static int history_write(int fd, const struct history *h)
{
	char buf[HISTORY_MAX * 96];
	size_t n = 0;

	for (size_t i = 0; i < h->n; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s %" PRIu64 "\n",
				      h->c[i].name, h->c[i].value);
	if (ftruncate(fd, 0) || pwrite(fd, buf, n, 0) != (ssize_t)n)
		return -errno;
	return 0;
}

static const struct counter *history_find(const struct history *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcmp(h->c[i].name, name))
			return &h->c[i];
	return NULL;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return !errno && !*end;
}

/* The counters of a reply, in order. */
static void collect(char *body, struct history *now)
{
	struct tcpao_ctl_record rec;
	char *cur = body;

	now->n = 0;
	while (tcpao_ctl_next_record(&cur, &rec) && now->n < HISTORY_MAX) {
		const char *name = tcpao_ctl_field(&rec, "name");
		struct counter *c = &now->c[now->n];

		if (strcmp(rec.type, "counter") || !name || strlen(name) >= sizeof(c->name) ||
		    !parse_u64(tcpao_ctl_field(&rec, "value"), &c->value))
			continue;
		strcpy(c->name, name);
		now->n++;
	}
}

/* Values are numbers (uint64) decided here, where they are parsed. */
static void print_counters(const struct history *h, bool json)
{
	if (json)
		fputc('{', stdout);
	for (size_t i = 0; i < h->n; i++) {
		if (!json) {
			printf("%-24s %" PRIu64 "\n", h->c[i].name, h->c[i].value);
			continue;
		}
		printf("%s\n  ", i ? "," : "");
		json_string(stdout, h->c[i].name);
		printf(": %" PRIu64, h->c[i].value);
	}
	if (json)
		printf("%s}\n", h->n ? "\n" : "");
}

static int stat_delta(const struct history *now, bool json)
{
	static struct history old, delta;
	char path[4096];
	int fd, rc = history_path(path, sizeof(path));

	if (rc)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file: %s", strerror(-rc));
	fd = history_open(path);
	if (fd == -EPERM || fd == -ELOOP)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file %s: not a private regular file "
				"of yours (a symbolic link, another owner, other links or modes): "
				"not used", path);
	if (fd < 0)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file %s: %s", path, strerror(-fd));
	history_read(fd, &old);
	delta = *now;
	for (size_t i = 0; i < delta.n; i++) {
		const struct counter *o = history_find(&old, delta.c[i].name);

		/* a counter that went down: tcpaod restarted, all of it is new */
		if (o && o->value <= delta.c[i].value)
			delta.c[i].value -= o->value;
	}
	rc = history_write(fd, now);
	close(fd);
	if (rc)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file %s: %s", path, strerror(-rc));
	print_counters(&delta, json);
	return 0;
}

static int stat_reset(void)
{
	char path[4096];
	int rc = history_path(path, sizeof(path));

	if (rc)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file: %s", strerror(-rc));
	if (unlink(path) && errno != ENOENT)
		return cli_fail(CLI_EXIT_FAIL, "stat", "history file %s: %s", path, strerror(errno));
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	static struct history now;
	struct tcpao_ctl_reply reply;
	bool delta = false, reset = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			usage(stdout);
			return 0;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--prometheus") || !strcmp(argv[i], "--textfile")) {
			if (cli_json)
				return cli_usage("stat", usage, "--json with Prometheus' format");
			return cmd_stat_prometheus(argc, argv, usage);
		}
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--delta") || !strcmp(argv[i], "-d"))
			delta = true;
		else if (!strcmp(argv[i], "--reset"))
			reset = true;
		else
			return cli_usage("stat", usage, NULL);
	}
	if (reset && (rc = stat_reset()))
		return rc;
	if (reset && !delta)
		return cli_ok();
	rc = daemon_call("stat", "stat", &reply);
	if (rc)
		return rc;
	collect(reply.body, &now);
	tcpao_ctl_reply_free(&reply);
	if (delta)
		return stat_delta(&now, cli_json);
	print_counters(&now, cli_json);
	return 0;
}
