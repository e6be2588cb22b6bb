// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao: the command-line tool. A table of subcommands, each with a
 * one-line help; `tcpao help` prints the table.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "daemon.h"
#include "tcpao-version.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "help", cmd_help, "show the commands" },
	{ "verify", cmd_verify, "verify the TCP-AO MACs of a pcap/pcapng capture" },
	{ "key", cmd_key, "add, delete, list keys; move the current/rnext key" },
	{ "show", cmd_show, "list TCP-AO connections (like ss)" },
	{ "stat", cmd_stat, "show tcpaod's counters (TCPAOGood, TCPAOBad, ...)" },
	{ "reload", cmd_reload, "make tcpaod reread its config file" },
	{ "clock", cmd_clock, "show (or, as a test aid, shift) the key chains' clock" },
	{ "version", NULL, "print the version (also --version)" },
	{ "demo", cmd_demo, "TCP-AO between two network namespaces, with a key rotation (root)" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao [-n NETNS] COMMAND [ARGS...]\n\n"
		   "  -n NETNS   in the network namespace /run/netns/NETNS (as ip -n)\n"
		   "  --json     JSON output; errors as {\"error\": {\"code\": N, \"message\": ...}}\n\n"
		   "commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n`tcpao COMMAND --help` describes a command.\n"
		   "Exit status: 0 success, 1 the operation failed, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

/* -n NETNS, like ip -n: the named namespace's tcpaod (root). */
static int enter_netns(const char *netns)
{
	char path[4096];
	int fd;

	if (!*netns || strchr(netns, '/'))
		snprintf(path, sizeof(path), "%s", netns);
	else
		snprintf(path, sizeof(path), "/run/netns/%s", netns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		return cli_fail(CLI_EXIT_FAIL, NULL, "network namespace %s: %s", path, strerror(err));
	}
	close(fd);
	return 0;
}

static void print_version(void)
{
	if (!cli_json) {
		printf("tcpao %s (%s)\n", TCPAO_VERSION, TCPAO_GIT_DESCRIBE);
		return;
	}
	printf("{\"version\": ");
	json_string(stdout, TCPAO_VERSION);
	printf(", \"git-describe\": ");
	json_string(stdout, TCPAO_GIT_DESCRIBE);
	printf("}\n");
}

/* --json / -j anywhere (but as the value of an option that takes one):
 * JSON mode for the whole run, taken out of argv. */
static int take_json(int argc, char **argv)
{
	int n = 0;

	for (int i = 0; i < argc; i++) {
		bool value = n > 0 && (!strcmp(argv[n - 1], "--key") || !strcmp(argv[n - 1], "-k") ||
				       !strcmp(argv[n - 1], "--textfile"));

		if (i > 0 && !value && (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")))
			cli_json = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int main(int argc, char **argv)
{
	const char *name;

	argc = take_json(argc, argv);
	if (argc > 2 && (!strcmp(argv[1], "-n") || !strcmp(argv[1], "--netns"))) {
		if (enter_netns(argv[2]))
			return CLI_EXIT_FAIL;
		argv[2] = argv[0];
		argc -= 2;
		argv += 2;
	}
	name = argc > 1 ? argv[1] : NULL;

	if (!name) {
		if (cli_json)
			return cli_fail(CLI_EXIT_USAGE, NULL, "no command (see tcpao --help)");
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (!strcmp(name, "--help") || !strcmp(name, "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(name, "--version") || !strcmp(name, "version")) {
		if (argc > 2 && cli_is_help(argv[2])) {
			printf("usage: tcpao version [--json]\n");
			return 0;
		}
		if (argc > 2)
			return cli_fail(CLI_EXIT_USAGE, "version", "unexpected argument '%s'", argv[2]);
		print_version();
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].run && !strcmp(name, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	if (cli_json)
		return cli_fail(CLI_EXIT_USAGE, NULL, "unknown command '%s' (see tcpao --help)", name);
	fprintf(stderr, "tcpao: unknown command '%s'\n\n", name);
	usage(stderr);
	return CLI_EXIT_USAGE;
}
