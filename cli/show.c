// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao show: the TCP-AO connections tcpaod tracks, one per line like ss. */
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "daemon.h"

struct column {
	const char *field;  /* in the "flow" record */
	const char *header;
	bool left;          /* left-aligned text */
};

static const struct column columns[] = {
	{ "state", "State", true },
	{ "local", "Local", true },
	{ "remote", "Remote", true },
	{ "current", "KeyID", false },
	{ "rnext", "RNext", false },
	{ "peer-rnext", "PeerRNext", false },
	{ "snd-sne", "SndSNE", false },
	{ "rcv-sne", "RcvSNE", false },
	{ "good", "Good", false },
	{ "bad", "Bad", false },
	{ "key-not-found", "KeyNotFound", false },
	{ "ao-required", "AORequired", false },
	{ "dropped-icmps", "DroppedIcmps", false },
};

#define N_COLUMNS (sizeof(columns) / sizeof(columns[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: tcpao show [--json]\n"
		   "Lists the TCP-AO connections of this network namespace: addresses,\n"
		   "state, our KeyID (current key) and RNextKeyID, the peer's last\n"
		   "RNextKeyID, the SNE of each direction and per-connection counters.\n");
}

static const char *cell(const struct tcpao_ctl_record *rec, size_t c)
{
	const char *v = tcpao_ctl_field(rec, columns[c].field);

	return v && *v && strcmp(v, "-1") ? v : "-"; /* -1: no key */
}

static void print_table(struct tcpao_ctl_record *recs, size_t n)
{
	size_t width[N_COLUMNS];

	for (size_t c = 0; c < N_COLUMNS; c++) {
		width[c] = strlen(columns[c].header);
		for (size_t r = 0; r < n; r++)
			if (strlen(cell(&recs[r], c)) > width[c])
				width[c] = strlen(cell(&recs[r], c));
	}
	for (size_t c = 0; c < N_COLUMNS; c++)
		printf(columns[c].left ? "%-*s%s" : "%*s%s", (int)width[c],
		       columns[c].header, c + 1 < N_COLUMNS ? "  " : "\n");
	for (size_t r = 0; r < n; r++)
		for (size_t c = 0; c < N_COLUMNS; c++)
			printf(columns[c].left ? "%-*s%s" : "%*s%s", (int)width[c],
			       cell(&recs[r], c), c + 1 < N_COLUMNS ? "  " : "\n");
}

static void print_json(struct tcpao_ctl_record *recs, size_t n)
{
	printf("{\"flows\": [");
	for (size_t r = 0; r < n; r++) {
		printf("%s\n  ", r ? "," : "");
		json_record(stdout, &recs[r]);
	}
	printf("%s]}\n", n ? "\n" : "");
}

static int print(char *body, bool json)
{
	struct tcpao_ctl_record rec, *recs = NULL, *more;
	size_t n = 0, cap = 0;
	char *cur = body;

	while (tcpao_ctl_next_record(&cur, &rec)) {
		if (strcmp(rec.type, "flow"))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			more = realloc(recs, cap * sizeof(*recs));
			if (!more) {
				free(recs);
				fprintf(stderr, "tcpao show: out of memory\n");
				return 1;
			}
			recs = more;
		}
		recs[n++] = rec;
	}
	if (json)
		print_json(recs, n);
	else if (n)
		print_table(recs, n);
	else
		printf("no TCP-AO connections\n");
	free(recs);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	return daemon_show(argc, argv, "show", "show", usage, print);
}
