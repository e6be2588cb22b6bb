// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * `tcpao verify CAPTURE --key SPEC [--key SPEC ...] [--json] [--quiet]
 * [--strict]`: reads the capture, verifies every TCP-AO segment, prints
 * them and a summary.
 *
 * Exit status: 0 when at least one segment verified and none failed
 * (bad-mac, key-not-found, malformed; with --strict also no-isn and
 * truncated); 1 otherwise; 2 on bad usage or an unreadable capture.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "commands.h"
#include "daemon.h"
#include "report.h"
#include "secret.h"
#include "verify.h"

#define EXIT_USAGE CLI_EXIT_USAGE
#define EXIT_FAIL CLI_EXIT_FAIL

struct verify_args {
	const char *path;
	struct tcpao_mkt *keys;
	size_t nkeys;
	bool strict;
	struct report report;
};

static void verify_usage(FILE *f)
{
	fprintf(f,
		"usage: tcpao verify CAPTURE --key SPEC [--key SPEC ...] [--json] [--quiet] [--strict]\n"
		"\n"
		"Verifies the TCP-AO MAC of every segment of a pcap or pcapng capture.\n"
		"  CAPTURE       a file, or - for standard input\n"
		"  --key SPEC    an MKT, as configured on either endpoint:\n"
		"                sndid=N,rcvid=N,alg=NAME,secret=TEXT|hex:HEX|secret-file=PATH\n"
		"                [,peer=PREFIX][,maclen=N][,exclude-options]   (repeat for more keys)\n"
		"  --json        JSON lines: one object per TCP-AO segment, then a summary\n"
		"  --quiet       print only the segments that did not verify, and the summary\n"
		"  --strict      count segments that cannot be checked (no-isn, truncated)\n"
		"                as failures\n"
		"Exit status: 0 all verifiable segments good (and at least one), 1 otherwise,\n"
		"2 bad usage or unreadable capture. See docs/verify.md.\n");
}

static int add_key(struct verify_args *a, const char *spec)
{
	struct tcpao_mkt *keys;
	char err[160], inlined[1024];

	keys = realloc(a->keys, (a->nkeys + 1) * sizeof(*keys));
	if (!keys) {
		cli_fail(EXIT_FAIL, "verify", "out of memory");
		return -1;
	}
	a->keys = keys;
	/* Test keys of captures are often given inline: allowed, but said. */
	if (tcpao_spec_has_inline_secret(spec))
		fprintf(stderr, "tcpao verify: warning: --key #%zu: %s\n", a->nkeys + 1,
			TCPAO_INLINE_SECRET_ADVICE);
	/* The spec holds the secret: the message names the key by number. */
	if (tcpao_secret_file_inline(spec, inlined, sizeof(inlined), err, sizeof(err)) ||
	    tcpao_mkt_parse(inlined, &keys[a->nkeys], err, sizeof(err))) {
		cli_fail(EXIT_USAGE, "verify", "--key #%zu: %s", a->nkeys + 1, err);
		explicit_bzero(inlined, sizeof(inlined));
		return -1;
	}
	explicit_bzero(inlined, sizeof(inlined));
	a->nkeys++;
	return 0;
}

static void free_keys(struct verify_args *a)
{
	for (size_t i = 0; i < a->nkeys; i++)
		tcpao_mkt_wipe(&a->keys[i]);
	free(a->keys);
}

/* Returns 0, or the exit status for bad usage (or -1 for --help). */
static int parse_args(int argc, char **argv, struct verify_args *a)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "strict", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "k:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			if (add_key(a, optarg))
				return EXIT_USAGE;
			break;
		case 'j':
			a->report.json = true;
			break;
		case 'q':
			a->report.quiet = true;
			break;
		case 's':
			a->strict = true;
			break;
		case 'h':
			verify_usage(stdout);
			return -1;
		default:
			return cli_usage("verify", verify_usage, NULL);
		}
	}
	if (cli_json)
		a->report.json = true;
	else if (a->report.json)
		cli_json = true;
	if (optind + 1 != argc)
		return cli_usage("verify", verify_usage, optind == argc
				 ? "which capture? (a file name, or -)"
				 : "one capture at a time");
	if (!a->nkeys)
		return cli_usage("verify", verify_usage, "at least one --key is needed");
	a->path = argv[optind];
	return 0;
}

static const char *verdict_of(const struct verify_stats *s, bool strict)
{
	if (verify_stats_failed(s) || (strict && verify_stats_unverifiable(s)))
		return "failed";
	if (!s->results[TCPAO_GOOD])
		return "nothing-verified";
	return "ok";
}

/* Reads every packet; returns the exit status. */
static int run(struct verify_args *a, struct capture *cap)
{
	struct capture_packet pkt;
	struct verify_outcome o;
	struct verifier v;
	const char *error = NULL, *verdict;
	int rc;

	verifier_init(&v, a->keys, a->nkeys);
	while ((rc = capture_next(cap, &pkt)) == 1) {
		int n = verifier_packet(&v, &pkt, &o);

		if (n < 0) {
			cli_fail(EXIT_FAIL, "verify", "%s: more TCP-AO connections "
				 "than can be tracked (%zu)", a->path, v.flows.limit);
			verifier_free(&v);
			return EXIT_FAIL;
		}
		if (n > 0)
			report_segment(&a->report, &o);
	}
	if (rc < 0) {
		error = capture_error(cap);
		fprintf(stderr, "tcpao verify: %s: %s (after %llu frames)\n",
			a->path, error,
			(unsigned long long)capture_stats(cap)->frames);
	}
	verdict = verdict_of(&v.stats, a->strict);
	report_summary(&a->report, &v.stats, capture_stats(cap), verdict, error);
	verifier_free(&v);
	if (rc < 0 && !capture_stats(cap)->frames)
		return EXIT_FAIL;
	return strcmp(verdict, "ok") ? 1 : 0;
}

int cmd_verify(int argc, char **argv)
{
	struct verify_args a = { .report.out = stdout };
	struct capture *cap;
	char err[512];
	int rc;

	rc = parse_args(argc, argv, &a);
	if (rc) {
		free_keys(&a);
		return rc < 0 ? 0 : rc;
	}
	cap = capture_open(a.path, err, sizeof(err));
	if (!cap) {
		cli_fail(EXIT_FAIL, "verify", "%s: %s", a.path, err);
		free_keys(&a);
		return EXIT_FAIL;
	}
	rc = run(&a, cap);
	capture_close(cap);
	free_keys(&a);
	if (fflush(stdout) || ferror(stdout)) {
		perror("tcpao verify: stdout");
		return EXIT_FAIL;
	}
	return rc;
}
