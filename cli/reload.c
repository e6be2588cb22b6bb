// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao reload: tcpaod rereads its config file (as on SIGHUP). */
#include <string.h>

#include "commands.h"
#include "daemon.h"

int cmd_reload(int argc, char **argv)
{
	struct tcpao_ctl_reply reply;
	int rc;

	if (argc > 1) {
		FILE *f = strcmp(argv[1], "--help") && strcmp(argv[1], "-h") ? stderr : stdout;

		fprintf(f, "usage: tcpao reload\n"
			   "tcpaod rereads its config file; established connections keep\n"
			   "working with the keys they use. Needs root or CAP_NET_ADMIN.\n");
		return f == stdout ? 0 : 2;
	}
	rc = daemon_call("reload", "reload", &reply);
	if (rc)
		return rc;
	tcpao_ctl_reply_free(&reply);
	return 0;
}
