/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Path MTU below the link MTU.
 *
 * When a router says "fragmentation needed, MTU P" about an AO flow, the
 * kernel is told P minus the AO option (icmp.c), so that it sizes its
 * segments to leave room for the option. But the kernel then also holds
 * every packet to that lower MTU after our hook, so a signed full-size
 * segment (exactly P bytes, which the path carries) would be dropped
 * locally. Such segments are sent by the worker through a raw socket that
 * is held to the device MTU only (IP_PMTUDISC_PROBE), marked with the tcpao
 * mark (mark.h) so that our own rules and the guard let them pass.
 *
 * This table remembers, per remote address, the MTU we told the kernel.
 * Written by the ICMP worker, read by every worker through a generation
 * number (one atomic load per packet; the lock only when it changed).
 */
#ifndef TCPAOD_PMTU_H
#define TCPAOD_PMTU_H

#include <stdint.h>

#include "tcpao.h"

void pmtu_note(const struct tcpao_addr *remote, uint32_t kernel_mtu,
	       uint64_t now_ms);
uint32_t pmtu_generation(void);
/* The MTU the kernel was told for remote, or 0. */
uint32_t pmtu_kernel_mtu(const struct tcpao_addr *remote, uint64_t now_ms);
/* Forgets entries older than the kernel's own (ip_rt_mtu_expires). */
void pmtu_expire(uint64_t now_ms);

#endif
