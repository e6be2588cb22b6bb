/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/net/netstat, snmp and snmp6 as Linux with TCP-AO shows them: the
 * real files with what tcpaod counted for the kernel added. netstat's
 * TcpExt lines gain TCPAOGood, TCPAOBad, TCPAOKeyNotFound, TCPAORequired
 * and TCPAODroppedIcmps (appended when the kernel does not list them) and
 * the TCPMD5Unexpected tcpaod dropped; snmp's Icmp/IcmpMsg and snmp6's
 * Icmp6 counters the ICMP errors tcpaod dropped (snmp.c).
 */
#ifndef TCPAO_NETSTAT_H
#define TCPAO_NETSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* /proc/net/{netstat,snmp,snmp6}, through /proc/self, /proc/thread-self
 * or /proc/PID of this process. */
bool netstat_is_path(const char *path);
/* A memfd positioned at 0 holding the synthesized file, or -errno. */
int netstat_open(int (*real_openat)(int, const char *, int, ...),
		 const char *path);

/* A count to add to the field called name. */
struct netstat_add {
	const char *name;
	uint64_t add;
};

/* Writes the values line of a "Prefix: names" / "Prefix: values" pair,
 * each field named in adds[] raised by its count. Returns how many of
 * adds[] the header named. */
size_t netstat_write_values(FILE *f, const char *hdr, size_t hlen,
			    const char *val, size_t vlen,
			    const struct netstat_add *adds, size_t n);

#endif
