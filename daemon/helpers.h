/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External programs tcpaod runs (iptables, ipset, ...), found by absolute
 * path in a fixed list of system directories, never through PATH: the
 * daemon's environment is not trusted to choose what runs as root.
 */
#ifndef TCPAOD_HELPERS_H
#define TCPAOD_HELPERS_H

#include <stdio.h>
#include <sys/types.h>

/* The absolute path of program name, or NULL when no system directory has
 * it. Found once, then remembered. */
const char *helper_path(const char *name);

/* A helper whose output is being read, and the process to reap. */
struct helper_pipe {
	FILE *out;
	pid_t pid;
};

/* Runs name (found as by helper_path()) with args (words split at
 * spaces: no shell, which cost a second fork and exec per helper),
 * stdin and stderr /dev/null, stdout in p->out; -1 when it is not there
 * or cannot start. */
int helper_open(struct helper_pipe *p, const char *name, const char *args);
/* Closes its output and reaps it. */
void helper_close(struct helper_pipe *p);

#endif
