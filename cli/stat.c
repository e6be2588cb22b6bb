// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao stat: tcpaod's global counters, named as Linux names them. */
#include <string.h>

#include "commands.h"
#include "daemon.h"
#include "prom.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao stat [--json]\n"
		   "       tcpao stat --prometheus [--keys]\n"
		   "       tcpao stat --textfile FILE [--keys]\n"
		   "Prints tcpaod's counters (TCPAOGood, TCPAOBad, TCPAOKeyNotFound,\n"
		   "TCPAORequired, TCPAODroppedIcmps, then tcpaod's own).\n"
		   "--prometheus: counters, peers, connections and queues in Prometheus'\n"
		   "text format (--keys: one series per key); --textfile: the same written\n"
		   "atomically to FILE (node_exporter's textfile collector).\n");
}

static int print(char *body, bool json)
{
	struct tcpao_ctl_record rec;
	char *cur = body;
	bool first = true;

	if (json)
		fputc('{', stdout);
	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *name = tcpao_ctl_field(&rec, "name");
		const char *value = tcpao_ctl_field(&rec, "value");

		if (strcmp(rec.type, "counter") || !name || !value)
			continue;
		if (!json) {
			printf("%-24s %s\n", name, value);
			continue;
		}
		printf("%s\n  ", first ? "" : ",");
		json_string(stdout, name);
		fputs(": ", stdout);
		json_value(stdout, value);
		first = false;
	}
	if (json)
		printf("%s}\n", first ? "" : "\n");
	return 0;
}

int cmd_stat(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--prometheus") || !strcmp(argv[i], "--textfile"))
			return cmd_stat_prometheus(argc, argv, usage);
	return daemon_show(argc, argv, "stat", "stat", usage, print);
}
