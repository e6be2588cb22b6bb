// SPDX-License-Identifier: GPL-2.0-or-later
/* tcpao show: the TCP-AO connections tcpaod tracks, one per line like ss,
 * with ss's filters: peer PREFIX, port N (either side), state NAME. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tcpao.h"

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
	fprintf(f, "usage: tcpao show [peer PREFIX] [port N] [state NAME] [--json]\n"
		   "Lists the TCP-AO connections of this network namespace: addresses,\n"
		   "state, our KeyID (current key) and RNextKeyID, the peer's last\n"
		   "RNextKeyID, the SNE of each direction and per-connection counters.\n"
		   "Filters, as ss's (each may be repeated: any of them matches; different\n"
		   "ones must all match):\n"
		   "  peer PREFIX  the remote address is in PREFIX (198.18.0.0/24, fd00::1)\n"
		   "  port N       the local or the remote port is N\n"
		   "  state NAME   established, syn-sent, syn-recv, fin-wait, close-wait,\n"
		   "               closing, time-wait, closed (ss's spellings, any case),\n"
		   "               or connected (all but time-wait and closed)\n");
}

#define FILTERS_MAX 16

struct filters {
	struct { struct tcpao_addr addr; uint8_t len; } peer[FILTERS_MAX];
	unsigned port[FILTERS_MAX];
	const char *state[FILTERS_MAX];
	size_t npeer, nport, nstate;
};

/* ss's state names to tcpaod's (daemon/flow.c). */
static const struct { const char *ss, *ours; } states[] = {
	{ "established", "ESTAB" }, { "estab", "ESTAB" },
	{ "syn-sent", "SYN-SENT" }, { "syn-recv", "SYN-RECV" },
	{ "fin-wait", "FIN-WAIT" }, { "fin-wait-1", "FIN-WAIT" },
	{ "fin-wait-2", "FIN-WAIT" }, { "close-wait", "CLOSE-WAIT" },
	{ "closing", "CLOSING" }, { "last-ack", "CLOSING" },
	{ "time-wait", "TIME-WAIT" }, { "closed", "CLOSED" },
	{ "connected", "connected" },
};

static int parse_filters(int argc, char **argv, struct filters *ft)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			cli_json = true;
			continue;
		}
		if (!v)
			return cli_fail(CLI_EXIT_USAGE, "show", "'%s': unknown, or needs a value", argv[i]);
		if (!strcmp(argv[i], "peer") || !strcmp(argv[i], "dst")) {
			if (ft->npeer == FILTERS_MAX ||
			    tcpao_addr_parse(v, &ft->peer[ft->npeer].addr, &ft->peer[ft->npeer].len))
				return cli_fail(CLI_EXIT_USAGE, "show", "peer '%s' is not an address or prefix", v);
			ft->npeer++;
		} else if (!strcmp(argv[i], "port")) {
			char *end;
			unsigned long n = strtoul(v, &end, 10);

			if (ft->nport == FILTERS_MAX || !*v || *end || n > 65535)
				return cli_fail(CLI_EXIT_USAGE, "show", "port '%s' is not a port 0-65535", v);
			ft->port[ft->nport++] = (unsigned)n;
		} else if (!strcmp(argv[i], "state")) {
			size_t k;

			for (k = 0; k < sizeof(states) / sizeof(states[0]); k++)
				if (!strcasecmp(v, states[k].ss) || !strcasecmp(v, states[k].ours))
					break;
			if (ft->nstate == FILTERS_MAX || k == sizeof(states) / sizeof(states[0]))
				return cli_fail(CLI_EXIT_USAGE, "show", "state '%s' is unknown "
						"(established, syn-sent, time-wait, ...: tcpao show --help)", v);
			ft->state[ft->nstate++] = states[k].ours;
		} else {
			return cli_fail(CLI_EXIT_USAGE, "show", "unknown filter '%s' (peer, port, state)",
					argv[i]);
		}
		i++;
	}
	return 0;
}

/* "198.18.0.1:179" or "[fd00::1]:179" into address and port. */
static bool split_endpoint(const char *text, struct tcpao_addr *addr, unsigned *port)
{
	char buf[INET6_ADDRSTRLEN + 16];
	const char *colon = strrchr(text, ':');
	size_t n;
	uint8_t len;

	if (!colon || (n = (size_t)(colon - text)) >= sizeof(buf))
		return false;
	memcpy(buf, text, n);
	buf[n] = '\0';
	if (buf[0] == '[' && n >= 2 && buf[n - 1] == ']') {
		buf[n - 1] = '\0';
		memmove(buf, buf + 1, n - 1);
	}
	*port = (unsigned)strtoul(colon + 1, NULL, 10);
	return !tcpao_addr_parse(buf, addr, &len);
}

static bool matches(const struct filters *ft, const struct tcpao_ctl_record *rec)
{
	const char *state = tcpao_ctl_field(rec, "state") ?: "";
	struct tcpao_addr local, remote;
	unsigned lport, rport;
	bool hit;

	if (!split_endpoint(tcpao_ctl_field(rec, "local") ?: "", &local, &lport) ||
	    !split_endpoint(tcpao_ctl_field(rec, "remote") ?: "", &remote, &rport))
		return !ft->npeer && !ft->nport && !ft->nstate;
	hit = !ft->npeer;
	for (size_t i = 0; i < ft->npeer && !hit; i++)
		hit = tcpao_addr_in_prefix(&remote, &ft->peer[i].addr, ft->peer[i].len);
	if (!hit)
		return false;
	hit = !ft->nport;
	for (size_t i = 0; i < ft->nport && !hit; i++)
		hit = ft->port[i] == lport || ft->port[i] == rport;
	if (!hit)
		return false;
	hit = !ft->nstate;
	for (size_t i = 0; i < ft->nstate && !hit; i++)
		hit = !strcmp(ft->state[i], "connected") ?
		      strcmp(state, "TIME-WAIT") && strcmp(state, "CLOSED") :
		      !strcmp(ft->state[i], state);
	return hit;
}

static struct filters filters;

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
		if (strcmp(rec.type, "flow") || !matches(&filters, &rec))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			more = realloc(recs, cap * sizeof(*recs));
			if (!more) {
				free(recs);
				return cli_fail(CLI_EXIT_FAIL, "show", "out of memory");
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
		printf("no TCP-AO connections%s\n",
		       filters.npeer || filters.nport || filters.nstate ? " match" : "");
	free(recs);
	return 0;
}

int cmd_show(int argc, char **argv)
{
	struct tcpao_ctl_reply reply;
	int rc;

	for (int i = 1; i < argc; i++)
		if (cli_is_help(argv[i]) && (i == 1 || strcmp(argv[i - 1], "state"))) {
			usage(stdout);
			return 0;
		}
	rc = parse_filters(argc, argv, &filters);
	if (rc)
		return rc;
	rc = daemon_call("show", "show", &reply);
	if (rc)
		return rc;
	rc = print(reply.body, cli_json);
	tcpao_ctl_reply_free(&reply);
	return rc;
}
