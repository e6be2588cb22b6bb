// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/net/snmp and snmp6 with the ICMP errors tcpaod dropped counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "snmp.h"

static char *render(void (*fn)(FILE *, const char *, uint64_t),
		    const char *in, uint64_t dropped)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	fn(f, in, dropped);
	assert_int_equal(fclose(f), 0);
	return out;
}

static void check(void (*fn)(FILE *, const char *, uint64_t), const char *in,
		  uint64_t dropped, const char *want)
{
	char *got = render(fn, in, dropped);

	assert_string_equal(got, want);
	free(got);
}

static const char snmp_in[] =
	"Ip: Forwarding InReceives InDelivers\n"
	"Ip: 2 10 9\n"
	"Icmp: InMsgs InErrors InDestUnreachs OutMsgs\n"
	"Icmp: 4 1 2 5\n"
	"IcmpMsg: InType0 InType8 OutType3\n"
	"IcmpMsg: 1 1 5\n"
	"Tcp: ActiveOpens\n"
	"Tcp: 3\n";

static void snmp_unchanged_without_drops(void **state)
{
	(void)state;
	check(snmp_write, snmp_in, 0, snmp_in);
}

static void snmp_counts_dest_unreachs(void **state)
{
	(void)state;
	check(snmp_write, snmp_in, 3,
	      "Ip: Forwarding InReceives InDelivers\n"
	      "Ip: 2 10 12\n"
	      "Icmp: InMsgs InErrors InDestUnreachs OutMsgs\n"
	      "Icmp: 7 1 5 5\n"
	      "IcmpMsg: InType0 InType3 InType8 OutType3\n"
	      "IcmpMsg: 1 3 1 5\n"
	      "Tcp: ActiveOpens\n"
	      "Tcp: 3\n");
}

/* Linux prints IcmpMsg only for types it counted. */
static void snmp_adds_icmpmsg_lines(void **state)
{
	(void)state;
	check(snmp_write,
	      "Icmp: InMsgs InDestUnreachs\nIcmp: 0 0\nTcp: X\nTcp: 1\n", 2,
	      "Icmp: InMsgs InDestUnreachs\nIcmp: 2 2\n"
	      "IcmpMsg: InType3\nIcmpMsg: 2\nTcp: X\nTcp: 1\n");
}

#define L6(name, v) name "\t" #v "\n"

static void snmp6_counts_dest_unreachs(void **state)
{
	(void)state;
	check(snmp6_write,
	      L6("Ip6InDelivers                   ", 4)
	      L6("Icmp6InMsgs                     ", 1)
	      L6("Icmp6InErrors                   ", 0)
	      L6("Icmp6InDestUnreachs             ", 0)
	      L6("Icmp6OutMLDv2Reports            ", 0)
	      L6("Icmp6InType134                  ", 1)
	      L6("Udp6InDatagrams                 ", 0), 2,
	      L6("Ip6InDelivers                   ", 6)
	      L6("Icmp6InMsgs                     ", 3)
	      L6("Icmp6InErrors                   ", 0)
	      L6("Icmp6InDestUnreachs             ", 2)
	      L6("Icmp6OutMLDv2Reports            ", 0)
	      L6("Icmp6InType1                    ", 2)
	      L6("Icmp6InType134                  ", 1)
	      L6("Udp6InDatagrams                 ", 0));
}

static void snmp6_raises_existing_type1(void **state)
{
	(void)state;
	check(snmp6_write,
	      L6("Icmp6InMsgs                     ", 1)
	      L6("Icmp6InType1                    ", 1)
	      L6("Udp6InDatagrams                 ", 0), 1,
	      L6("Icmp6InMsgs                     ", 2)
	      L6("Icmp6InType1                    ", 2)
	      L6("Udp6InDatagrams                 ", 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snmp_unchanged_without_drops),
		cmocka_unit_test(snmp_counts_dest_unreachs),
		cmocka_unit_test(snmp_adds_icmpmsg_lines),
		cmocka_unit_test(snmp6_counts_dest_unreachs),
		cmocka_unit_test(snmp6_raises_existing_type1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
