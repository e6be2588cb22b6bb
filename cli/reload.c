// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao reload [--dry-run]: tcpaod rereads its config file (as on SIGHUP),
 * replacing only what came from the file; --dry-run tells what it would
 * add, change and drop, applying nothing. */
#include <string.h>

#include "commands.h"
#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao reload [--dry-run] [--json]\n"
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

/* {"changes": [{"action": ..., ...}], "summary": {"add": N, ...,
 * "applied": BOOL}}: the records, typed by daemon.c's schema. */
static void print_plan_json(char *body)
{
	struct tcpao_ctl_record rec;
	char *cur = body;
	bool first = true, summary = false;

	printf("{\"changes\": [");
	while (tcpao_ctl_next_record(&cur, &rec)) {
		if (!strcmp(rec.type, "change")) {
			printf("%s\n  ", first ? "" : ",");
			json_record(stdout, &rec);
			first = false;
		} else if (!strcmp(rec.type, "summary") && !summary) {
			printf("%s], \"summary\": ", first ? "" : "\n");
			json_record(stdout, &rec);
			summary = true;
		}
	}
	if (!summary)
		printf("%s], \"summary\": null", first ? "" : "\n");
	printf("}\n");
}

int cmd_reload(int argc, char **argv)
{
	struct tcpao_ctl_reply reply;
	char empty[1] = "";
	bool dry_run = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n"))
			dry_run = true;
		else if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			cli_json = true;
		else
			return cli_usage("reload", usage, NULL);
	}
	rc = daemon_call("reload", dry_run ? "reload dry-run" : "reload", &reply);
	if (rc)
		return rc;
	if (cli_json)
		print_plan_json(reply.body ? reply.body : empty);
	else if (reply.body)
		print_plan(reply.body);
	tcpao_ctl_reply_free(&reply);
	return 0;
}
