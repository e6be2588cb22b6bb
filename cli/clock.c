// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao clock [shift SECONDS]: the time tcpaod's key chains see. "shift"
 * moves it (a test aid: simulates a clock step without stepping the
 * machine's clock; the schedule is evaluated again at once). */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "daemon.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao clock [shift SECONDS]\n"
		   "Prints the time tcpaod's key chains run on and its test offset.\n"
		   "shift SECONDS (a test aid; root or CAP_NET_ADMIN) moves that clock\n"
		   "by SECONDS (negative: backwards), like a clock step, without\n"
		   "touching the machine's clock.\n");
}

int cmd_clock(int argc, char **argv)
{
	struct tcpao_ctl_record rec;
	struct tcpao_ctl_reply reply;
	char req[64], *cur;
	int rc;

	if (argc == 3 && !strcmp(argv[1], "shift") && strlen(argv[2]) < 32) {
		snprintf(req, sizeof(req), "clock shift %s", argv[2]);
	} else if (argc == 1) {
		snprintf(req, sizeof(req), "clock");
	} else {
		bool help = argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));

		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	rc = daemon_call("clock", req, &reply);
	if (rc)
		return rc;
	cur = reply.body;
	while (cur && tcpao_ctl_next_record(&cur, &rec))
		if (!strcmp(rec.type, "clock"))
			printf("%s (unix %s, test offset %s s)\n", tcpao_ctl_field(&rec, "now") ?: "?",
			       tcpao_ctl_field(&rec, "unix") ?: "?", tcpao_ctl_field(&rec, "offset") ?: "?");
	tcpao_ctl_reply_free(&reply);
	return 0;
}
