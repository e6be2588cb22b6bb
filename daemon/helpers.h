/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * External programs tcpaod runs (iptables, ipset, ...), found by absolute
 * path in a fixed list of system directories, never through PATH: the
 * daemon's environment is not trusted to choose what runs as root.
 */
#ifndef TCPAOD_HELPERS_H
#define TCPAOD_HELPERS_H

#include <stdio.h>

/* The absolute path of program name, or NULL when no system directory has
 * it. Found once, then remembered. */
const char *helper_path(const char *name);

/* Reads the output of `name args` (stderr discarded), name found as by
 * helper_path(); NULL when it is not there. Close with pclose(). */
FILE *helper_popen(const char *name, const char *args);

#endif
