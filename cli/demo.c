// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao demo: runs the demo script (cli/demo.sh, copied as tcpao-demo next
 * to this binary, installed in libexecdir/tcpao) with bash, telling it the
 * tcpao and tcpaod binaries to use. The script does the work: orchestrating ip,
 * tcpdump, socat and two daemons is a shell's job.
 *
 * Binaries are searched next to this tcpao first, so that build/cli/tcpao
 * runs the demo of its own build tree (build/daemon/tcpaod), then where
 * `meson install` puts them.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"

#ifndef TCPAO_LIBEXECDIR
#define TCPAO_LIBEXECDIR "/usr/local/libexec/tcpao"
#endif
#ifndef TCPAO_SBINDIR
#define TCPAO_SBINDIR "/usr/local/sbin"
#endif

/* The first dir/name, for dir in dirs, that access() allows, into out. */
static int find_in(const char *const *dirs, const char *name, int mode,
		   char *out, size_t len)
{
	for (; *dirs; dirs++) {
		int n = snprintf(out, len, "%s/%s", *dirs, name);

		if (n > 0 && (size_t)n < len && !access(out, mode))
			return 0;
	}
	return -ENOENT;
}

/* Where this tcpao lives, and the script and daemon that go with it. */
struct demo_paths {
	char self[PATH_MAX];
	char script[PATH_MAX + 32];
	char tcpaod[PATH_MAX + 32];
};

static int find_paths(struct demo_paths *p)
{
	char here[PATH_MAX], build_daemon[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", p->self, sizeof(p->self) - 1);

	if (n <= 0) {
		perror("tcpao demo: /proc/self/exe");
		return -1;
	}
	p->self[n] = '\0';
	snprintf(here, sizeof(here), "%s", p->self);
	dirname(here);
	snprintf(build_daemon, sizeof(build_daemon), "%s/../daemon", here);

	const char *script_dirs[] = { here, TCPAO_LIBEXECDIR, NULL };
	const char *daemon_dirs[] = { here, build_daemon, TCPAO_SBINDIR, NULL };

	if (find_in(script_dirs, "tcpao-demo", R_OK, p->script, sizeof(p->script))) {
		fprintf(stderr, "tcpao demo: the demo script (tcpao-demo) is neither next to %s nor in %s\n",
			p->self, TCPAO_LIBEXECDIR);
		return -1;
	}
	if (find_in(daemon_dirs, "tcpaod", X_OK, p->tcpaod, sizeof(p->tcpaod))) {
		fprintf(stderr, "tcpao demo: tcpaod is neither next to %s, nor in %s/, nor in %s\n",
			p->self, build_daemon, TCPAO_SBINDIR);
		return -1;
	}
	return 0;
}

/* Tells the script which binaries to use (build/cli/../daemon/tcpaod
 * reads better as build/daemon/tcpaod in ps). */
static int export_paths(const struct demo_paths *p)
{
	char *tcpaod = realpath(p->tcpaod, NULL);
	int rc = -1;

	if (!tcpaod)
		perror("tcpao demo: tcpaod");
	else if (setenv("TCPAO", p->self, 1) || setenv("TCPAOD", tcpaod, 1))
		perror("tcpao demo: setenv");
	else
		rc = 0;
	free(tcpaod);
	return rc;
}

int cmd_demo(int argc, char **argv)
{
	struct demo_paths paths;
	char **args;

	if (cli_json)
		return cli_fail(CLI_EXIT_USAGE, "demo", "the demo's output is for people: no --json");
	if (find_paths(&paths) || export_paths(&paths)) {
		if (argc > 1 && cli_is_help(argv[1])) {
			printf("usage: tcpao demo [--keep]\n");
			return 0;
		}
		return 1;
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (!args) {
		fprintf(stderr, "tcpao demo: out of memory\n");
		return 1;
	}
	args[0] = "bash";
	args[1] = paths.script;
	for (int i = 1; i < argc; i++)
		args[i + 1] = argv[i];
	execv("/bin/bash", args);
	fprintf(stderr, "tcpao demo: /bin/bash: %s\n", strerror(errno));
	free(args);
	return 1;
}
