/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * /proc/net/snmp and snmp6 with the ICMP errors tcpaod dropped counted.
 * tcpaod drops the hard errors about AO connections (RFC 5925 7.8) before
 * the kernel's ICMP input sees them; Linux counts such a message (InMsgs,
 * InDestUnreachs, InType) before TCP ignores it.
 */
#ifndef TCPAO_SNMP_H
#define TCPAO_SNMP_H

#include <stdint.h>
#include <stdio.h>

/* text: the kernel's /proc/net/snmp; dropped: ICMPv4 destination
 * unreachables. */
void snmp_write(FILE *f, const char *text, uint64_t dropped);
/* text: the kernel's /proc/net/snmp6; dropped: ICMPv6 destination
 * unreachables. */
void snmp6_write(FILE *f, const char *text, uint64_t dropped);

#endif
