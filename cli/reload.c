// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao reload [--dry-run]: tcpaod rereads its config file (as on SIGHUP),
 * replacing only what came from the file; --dry-run tells what it would
 * add, change and drop, applying nothing. */
#include <string.h>

#include "commands.h"
#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao reload [--dry-run]\n"
		   "tcpaod rereads its config file and replaces the keys that came from\n"
		   "it; runtime keys (tcpao key add) and programs' socket keys stay.\n"
		   "Established connections keep working with the keys they use.\n"
		   "--dry-run prints what a reload would add, change and drop.\n"
		   "Needs root or CAP_NET_ADMIN.\n");
}

static void print_plan(char *body)
{
	struct tcpao_ctl_record rec;
	char *cur = body;
	const char *v;

	while (tcpao_ctl_next_record(&cur, &rec)) {
		if (!strcmp(rec.type, "change")) {
			printf("%-6s peer %s key sndid %s rcvid %s (%s)\n",
			       tcpao_ctl_field(&rec, "action"), tcpao_ctl_field(&rec, "peer"),
			       tcpao_ctl_field(&rec, "sndid"), tcpao_ctl_field(&rec, "rcvid"),
			       tcpao_ctl_field(&rec, "origin"));
			continue;
		}
		if (strcmp(rec.type, "summary"))
			continue;
		printf("%s: %s added, %s changed, %s dropped\n",
		       !strcmp(tcpao_ctl_field(&rec, "applied") ?: "", "yes") ?
		       "reloaded" : "a reload would do",
		       tcpao_ctl_field(&rec, "add"), tcpao_ctl_field(&rec, "change"),
		       tcpao_ctl_field(&rec, "drop"));
		if ((v = tcpao_ctl_field(&rec, "live-flows-losing-keys")) && strcmp(v, "0"))
			fprintf(stderr, "tcpao reload: warning: %s live connection(s) "
				"sign with keys this reload drops\n", v);
		if ((v = tcpao_ctl_field(&rec, "clash")) && strcmp(v, "0"))
			fprintf(stderr, "tcpao reload: warning: %s runtime key(s) clash "
				"with the file's and are dropped\n", v);
	}
}

int cmd_reload(int argc, char **argv)
{
	struct tcpao_ctl_reply reply;
	bool dry_run = argc == 2 && !strcmp(argv[1], "--dry-run");
	int rc;

	if (argc > 1 && !dry_run) {
		bool help = !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h");

		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	rc = daemon_call("reload", dry_run ? "reload dry-run" : "reload", &reply);
	if (rc)
		return rc;
	if (reply.body)
		print_plan(reply.body);
	tcpao_ctl_reply_free(&reply);
	return 0;
}
