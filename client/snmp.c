// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * /proc/net/snmp and snmp6 with the ICMP destination unreachables tcpaod
 * dropped counted as Linux counts them (measured on Linux 6.12 without
 * tcpaod): the IP layer's InDelivers, ICMP's InMsgs and InDestUnreachs
 * and the per-type counter (IcmpMsg: InType3, Icmp6InType1), which Linux
 * lists only when not zero. Not InErrors: the message is well formed.
 * InReceives is the kernel's own: counted before the raw table.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "netstat.h"
#include "snmp.h"

#define ICMP_DEST_UNREACH 3
#define ICMPV6_DEST_UNREACH 1
#define ICMPMSG_PER_LINE 16 /* as Linux prints them */
#define ICMPMSG_MAX 512     /* 256 In types, 256 Out types */

/* The IcmpMsg counters, ordered as Linux lists them: In types, then Out. */
struct icmpmsg {
	unsigned int n;
	struct { unsigned int idx; uint64_t val; } e[ICMPMSG_MAX];
};

static bool icmpmsg_index(const char *name, size_t len, unsigned int *idx)
{
	unsigned int base = 0, type;
	char buf[16];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, name, len);
	buf[len] = '\0';
	if (!strncmp(buf, "OutType", 7))
		base = 256;
	else if (strncmp(buf, "InType", 6))
		return false;
	if (sscanf(buf + (base ? 7 : 6), "%u", &type) != 1 || type > 255)
		return false;
	*idx = base + type;
	return true;
}

/* One "IcmpMsg: names" / "IcmpMsg: values" pair. */
static void icmpmsg_parse(struct icmpmsg *m, const char *hdr, const char *val)
{
	hdr = strchr(hdr, ':') + 1;
	val = strchr(val, ':') + 1;
	while (m->n < ICMPMSG_MAX) {
		size_t hn, vn;

		hdr += strspn(hdr, " ");
		val += strspn(val, " ");
		hn = strcspn(hdr, " \n");
		vn = strcspn(val, " \n");
		if (!hn || !vn)
			break;
		if (icmpmsg_index(hdr, hn, &m->e[m->n].idx)) {
			m->e[m->n].val = strtoull(val, NULL, 10);
			m->n++;
		}
		hdr += hn;
		val += vn;
	}
}

static void icmpmsg_add(struct icmpmsg *m, unsigned int idx, uint64_t add)
{
	unsigned int at = 0;

	if (!add)
		return;
	while (at < m->n && m->e[at].idx < idx)
		at++;
	if (at < m->n && m->e[at].idx == idx) {
		m->e[at].val += add;
		return;
	}
	if (m->n == ICMPMSG_MAX)
		return;
	memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof(m->e[0]));
	m->e[at].idx = idx;
	m->e[at].val = add;
	m->n++;
}

static void icmpmsg_write(FILE *f, const struct icmpmsg *m)
{
	for (unsigned int i = 0; i < m->n; i += ICMPMSG_PER_LINE) {
		unsigned int end = i + ICMPMSG_PER_LINE < m->n ? i + ICMPMSG_PER_LINE : m->n;

		fputs("IcmpMsg:", f);
		for (unsigned int j = i; j < end; j++)
			fprintf(f, " %sType%u", m->e[j].idx < 256 ? "In" : "Out",
				m->e[j].idx & 0xff);
		fputs("\nIcmpMsg:", f);
		for (unsigned int j = i; j < end; j++)
			fprintf(f, " %" PRIu64, m->e[j].val);
		fputc('\n', f);
	}
}

static size_t line_len(const char *line)
{
	const char *nl = strchr(line, '\n');

	return nl ? (size_t)(nl - line) + 1 : strlen(line);
}

/* The adds of an "Ip:" or "Icmp:" line pair; NULL for other lines. */
static const struct netstat_add *pair_adds(const char *line,
					   const struct netstat_add ip[1],
					   const struct netstat_add icmp[2],
					   size_t *n)
{
	if (!strncmp(line, "Ip:", 3)) {
		*n = 1;
		return ip;
	}
	if (!strncmp(line, "Icmp:", 5)) {
		*n = 2;
		return icmp;
	}
	return NULL;
}

void snmp_write(FILE *f, const char *text, uint64_t dropped)
{
	const struct netstat_add ip[] = { { "InDelivers", dropped } };
	const struct netstat_add icmp[] = { { "InMsgs", dropped },
					    { "InDestUnreachs", dropped } };
	struct icmpmsg *msgs = calloc(1, sizeof(*msgs));
	const char *hdr = NULL, *msg_hdr = NULL;
	bool msgs_due = false; /* IcmpMsg lines go after the Icmp pair */

	if (!msgs) {
		fputs(text, f);
		return;
	}
	for (const char *line = text; *line; line += line_len(line)) {
		const struct netstat_add *adds;
		size_t n = line_len(line), nadds;

		if (!strncmp(line, "IcmpMsg:", 8)) {
			if (!msg_hdr) {
				msg_hdr = line;
			} else {
				icmpmsg_parse(msgs, msg_hdr, line);
				msg_hdr = NULL;
			}
			continue;
		}
		if (msgs_due) {
			icmpmsg_add(msgs, ICMP_DEST_UNREACH, dropped);
			icmpmsg_write(f, msgs);
			msgs_due = false;
		}
		adds = pair_adds(line, ip, icmp, &nadds);
		if (!adds || !hdr) {
			fwrite(line, 1, n, f);
			hdr = adds ? line : NULL;
			continue;
		}
		netstat_write_values(f, hdr, line_len(hdr) - 1, line,
				     n - (line[n - 1] == '\n'), adds, nadds);
		if (line[n - 1] == '\n')
			fputc('\n', f);
		msgs_due = adds == icmp;
		hdr = NULL;
	}
	if (msgs_due) {
		icmpmsg_add(msgs, ICMP_DEST_UNREACH, dropped);
		icmpmsg_write(f, msgs);
	}
	free(msgs);
}

/* snmp6: one "Name<spaces>\tvalue" per line. */
static bool snmp6_name_is(const char *line, const char *name)
{
	size_t l = strlen(name);

	return !strncmp(line, name, l) && (line[l] == ' ' || line[l] == '\t');
}

/* Icmp6InType<n> (n > 1), Icmp6OutType<n> or past the Icmp6 lines:
 * where Icmp6InType1 belongs. */
static bool after_in_type1(const char *line, bool in_icmp6)
{
	unsigned int type;

	if (in_icmp6 && strncmp(line, "Icmp6", 5))
		return true;
	if (!strncmp(line, "Icmp6OutType", 12))
		return true;
	return sscanf(line, "Icmp6InType%u", &type) == 1 && type > 1;
}

static void snmp6_line(FILE *f, const char *line, size_t n, uint64_t add)
{
	size_t name = strcspn(line, " \t\n");
	const char *v = line + name + strspn(line + name, " \t");

	fprintf(f, "%-32.*s\t%" PRIu64 "\n", (int)name, line,
		(uint64_t)strtoull(v, NULL, 10) + add);
	(void)n;
}

void snmp6_write(FILE *f, const char *text, uint64_t dropped)
{
	bool type1_done = !dropped, in_icmp6 = false;

	for (const char *line = text; *line; line += line_len(line)) {
		size_t n = line_len(line);

		if (!type1_done && after_in_type1(line, in_icmp6)) {
			fprintf(f, "%-32s\t%" PRIu64 "\n", "Icmp6InType1", dropped);
			type1_done = true;
		}
		in_icmp6 |= !strncmp(line, "Icmp6", 5);
		if (dropped && (snmp6_name_is(line, "Ip6InDelivers") ||
				snmp6_name_is(line, "Icmp6InMsgs") ||
				snmp6_name_is(line, "Icmp6InDestUnreachs") ||
				snmp6_name_is(line, "Icmp6InType1"))) {
			snmp6_line(f, line, n, dropped);
			type1_done |= snmp6_name_is(line, "Icmp6InType1");
		} else {
			fwrite(line, 1, n, f);
		}
	}
	if (!type1_done)
		fprintf(f, "%-32s\t%" PRIu64 "\n", "Icmp6InType1", dropped);
}
