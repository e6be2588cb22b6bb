/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/net/netstat as Linux with TCP-AO shows it: the real file with
 * TCPAOGood, TCPAOBad, TCPAOKeyNotFound, TCPAORequired and
 * TCPAODroppedIcmps appended to the TcpExt lines, counted by tcpaod.
 */
#ifndef TCPAO_NETSTAT_H
#define TCPAO_NETSTAT_H

#include <stdbool.h>

/* /proc/net/netstat, /proc/self/net/netstat, /proc/thread-self/net/netstat
 * (and /proc/PID/net/netstat of this process). */
bool netstat_is_path(const char *path);
/* A memfd positioned at 0 holding the synthesized file, or -errno. */
int netstat_open(int (*real_openat)(int, const char *, int, ...),
		 const char *path);

#endif
