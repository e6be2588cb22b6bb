// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao key add|del|set|list: the host policy's keys at run time.
 * Secrets are read here (secret-file= as the invoking user), checked with
 * the engine's parser, and sent to tcpaod as hex; every buffer that held
 * one is wiped.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "daemon.h"
#include "secret.h"
#include "tcpao.h"

#define SPEC_MAX 1024

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tcpao key add SPEC [--current] [--rnext]\n"
		"       tcpao key del sndid=N,rcvid=N[,peer=PREFIX] [--current ID] [--rnext ID]\n"
		"       tcpao key set [peer=PREFIX] [--current ID] [--rnext ID]\n"
		"       tcpao key list [--json]\n"
		"\n"
		"SPEC: sndid=N,rcvid=N,alg=NAME,secret-file=PATH|-,\n"
		"      peer=PREFIX[,maclen=N][,exclude-options][,ifindex=N]   (id=N sets both ids)\n"
		"  alg: hmac(sha1) (or HMAC-SHA-1-96, hmac-sha1), cmac(aes128) (or\n"
		"  AES-128-CMAC-96, cmac-aes128), hmac(sha256), hmac(sha224), hmac(sha384),\n"
		"  hmac(sha512), hmac(sha3-512), hmac(md5), hmac(rmd160) (or hmac-NAME),\n"
		"  any case; maclen defaults to 12.\n"
		"--current ID  the key with sndid ID signs what we send (our KeyID)\n"
		"--rnext ID    we ask the peer to use the key with rcvid ID (our RNextKeyID)\n"
		"Deleting the key a live connection uses fails unless --current names another.\n"
		"The secret file holds TEXT or hex:HEX (mode 0600); secret-file=- reads standard input.\n"
		"add, del and set need root or CAP_NET_ADMIN; list shows no secret.\n");
}

/* --help: the usage on standard output, exit status 0. */
static int help(void)
{
	usage(stdout);
	return 0;
}

static bool has_space(const char *s)
{
	return strpbrk(s, " \t\n\r") != NULL;
}

static int parse_id(const char *what, const char *text, int *id)
{
	char *end;
	long v = strtol(text, &end, 10);

	if (!*text || *end || v < 0 || v > 255) {
		if (!cli_json)
			fprintf(stderr, "tcpao key: %s '%s' is not a key id 0-255\n", what, text);
		return -EINVAL;
	}
	*id = (int)v;
	return 0;
}

/* The request in a canonical form without spaces: hex secret, full names. */
static int build_add(const struct tcpao_mkt *m, bool current, bool rnext,
		     char *req, size_t len)
{
	char hex[8 + 2 * TCPAO_MAXKEYLEN], peer[INET6_ADDRSTRLEN + 8], ifindex[24] = "";
	int n;

	tcpao_secret_to_hex(m->key, m->keylen, hex, sizeof(hex));
	if (!inet_ntop(m->peer.family, m->peer.bytes, peer, sizeof(peer)))
		return -EINVAL;
	if (m->flags & TCPAO_MKT_IFINDEX)
		snprintf(ifindex, sizeof(ifindex), ",ifindex=%d", m->ifindex);
	n = snprintf(req, len, "key-add sndid=%u,rcvid=%u,alg=%s,secret=%s,peer=%s/%u,maclen=%u%s%s%s%s",
		     m->sndid, m->rcvid, tcpao_alg_name(m->alg), hex, peer, m->prefixlen,
		     m->maclen, m->flags & TCPAO_MKT_EXCLUDE_OPT ? ",exclude-options" : "",
		     ifindex, current ? " current" : "", rnext ? " rnext" : "");
	explicit_bzero(hex, sizeof(hex));
	return n < 0 || (size_t)n >= len ? -E2BIG : 0;
}

static int simple_call(const char *what, const char *req)
{
	struct tcpao_ctl_reply reply;
	int rc = daemon_call(what, req, &reply);

	if (rc)
		return rc;
	tcpao_ctl_reply_free(&reply);
	return cli_ok();
}

static int key_add(int argc, char **argv)
{
	char spec[SPEC_MAX], req[TCPAO_CTL_REQUEST_MAX], err[256];
	const char *text = NULL;
	bool current = false, rnext = false;
	struct tcpao_mkt mkt;
	int rc = 2;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i]))
			return help();
		if (!strcmp(argv[i], "--current"))
			current = true;
		else if (!strcmp(argv[i], "--rnext"))
			rnext = true;
		else if (!text && argv[i][0] != '-')
			text = argv[i];
		else
			goto usage;
	}
	if (!text)
		goto usage;
	if (tcpao_spec_has_inline_secret(text))
		return cli_fail(CLI_EXIT_FAIL, "key add", "%s (secret-file=- reads it from standard input)",
				TCPAO_INLINE_SECRET_ADVICE);
	if (tcpao_secret_file_inline(text, spec, sizeof(spec), err, sizeof(err)))
		return cli_fail(CLI_EXIT_FAIL, "key add", "%s", err);
	/* a malformed SPEC is a usage error (2), as verify --key's */
	if (tcpao_mkt_parse(spec, &mkt, err, sizeof(err))) {
		rc = cli_fail(CLI_EXIT_USAGE, "key add", "%s", err);
	} else if (mkt.peer.family == AF_UNSPEC) {
		rc = cli_fail(CLI_EXIT_USAGE, "key add", "the key needs peer=PREFIX (the peers it protects)");
	} else if (build_add(&mkt, current, rnext, req, sizeof(req))) {
		rc = cli_fail(CLI_EXIT_FAIL, "key add", "key spec too long");
	} else {
		rc = simple_call("key add", req);
	}
	explicit_bzero(spec, sizeof(spec));
	explicit_bzero(req, sizeof(req));
	tcpao_mkt_wipe(&mkt);
	return rc;
usage:
	return cli_usage("key add", usage, NULL);
}

/* --current ID / --rnext ID pairs into " current=ID rnext=ID". */
static int keysel_args(int argc, char **argv, int *i, int *current, int *rnext)
{
	const char *opt = argv[*i];
	int *target = !strcmp(opt, "--current") ? current :
		      !strcmp(opt, "--rnext") ? rnext : NULL;

	if (!target || *i + 1 >= argc)
		return -EINVAL;
	return parse_id(opt + 2, argv[++*i], target);
}

static void append_keysel(char *req, size_t len, int current, int rnext)
{
	size_t n = strlen(req);

	if (current >= 0)
		n += (size_t)snprintf(req + n, len - n, " current=%d", current);
	if (rnext >= 0 && n < len)
		snprintf(req + n, len - n, " rnext=%d", rnext);
}

/* req with append_keysel's " current=ID rnext=ID", sent (EINVAL is a
 * usage error). */
static int keysel_call(const char *what, char *req, size_t len, int current, int rnext)
{
	append_keysel(req, len, current, rnext);
	cli_einval_is_usage = true;
	return simple_call(what, req);
}

static int key_del(int argc, char **argv)
{
	char req[TCPAO_CTL_REQUEST_MAX];
	const char *spec = NULL;
	int current = -1, rnext = -1;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i]))
			return help();
		if (argv[i][0] == '-') {
			if (keysel_args(argc, argv, &i, &current, &rnext))
				goto usage;
		} else if (!spec && !has_space(argv[i]) && strlen(argv[i]) < SPEC_MAX) {
			spec = argv[i];
		} else {
			goto usage;
		}
	}
	if (!spec)
		goto usage;
	snprintf(req, sizeof(req), "key-del %s", spec);
	return keysel_call("key del", req, sizeof(req), current, rnext);
usage:
	return cli_usage("key del", usage, NULL);
}

static int key_set(int argc, char **argv)
{
	char req[TCPAO_CTL_REQUEST_MAX] = "key-set";
	const char *peer = NULL;
	int current = -1, rnext = -1;

	for (int i = 1; i < argc; i++) {
		if (cli_is_help(argv[i]))
			return help();
		if (!strcmp(argv[i], "--peer") && i + 1 < argc)
			peer = argv[++i];
		else if (!strncmp(argv[i], "peer=", 5))
			peer = argv[i] + 5;
		else if (keysel_args(argc, argv, &i, &current, &rnext))
			goto usage;
	}
	if ((current < 0 && rnext < 0) || (peer && (has_space(peer) || strlen(peer) > 64)))
		goto usage;
	if (peer)
		snprintf(req, sizeof(req), "key-set peer=%s", peer);
	return keysel_call("key set", req, sizeof(req), current, rnext);
usage:
	return cli_usage("key set", usage, NULL);
}

static void print_text(char *body)
{
	struct tcpao_ctl_record rec;
	char *cur = body;
	bool any = false;

	while (tcpao_ctl_next_record(&cur, &rec)) {
		const char *v;

		any = true;
		if (!strcmp(rec.type, "peer")) {
			printf("peer %s", tcpao_ctl_field(&rec, "peer"));
			if ((v = tcpao_ctl_field(&rec, "local")))
				printf(" local %s", v);
			if ((v = tcpao_ctl_field(&rec, "local-port")))
				printf(" local-port %s", v);
			if ((v = tcpao_ctl_field(&rec, "remote-port")))
				printf(" remote-port %s", v);
			if ((v = tcpao_ctl_field(&rec, "key-chain")))
				printf(" key-chain %s", v);
			printf("  ao-required %s  accept-icmps %s  (%s)\n",
			       tcpao_ctl_field(&rec, "ao-required"),
			       tcpao_ctl_field(&rec, "accept-icmps"),
			       tcpao_ctl_field(&rec, "origin"));
		} else if (!strcmp(rec.type, "chain")) {
			printf("key-chain %s  rollover %s  accept-tolerance %ss  now %s  next change %s%s\n",
			       tcpao_ctl_field(&rec, "name"), tcpao_ctl_field(&rec, "rollover") ?: "?",
			       tcpao_ctl_field(&rec, "tolerance"),
			       tcpao_ctl_field(&rec, "now"), tcpao_ctl_field(&rec, "next"),
			       !strcmp(tcpao_ctl_field(&rec, "gap") ?: "", "yes") ?
			       "  GAP: no valid send key, the last one is held" : "");
		} else if (!strcmp(rec.type, "chain-key")) {
			printf("  key %s sndid %s rcvid %s alg %s  send %s..%s  accept %s..%s  [%s]\n",
			       tcpao_ctl_field(&rec, "id"), tcpao_ctl_field(&rec, "sndid"),
			       tcpao_ctl_field(&rec, "rcvid"), tcpao_ctl_field(&rec, "alg"),
			       tcpao_ctl_field(&rec, "send-start"), tcpao_ctl_field(&rec, "send-end"),
			       tcpao_ctl_field(&rec, "accept-start"), tcpao_ctl_field(&rec, "accept-end"),
			       tcpao_ctl_field(&rec, "state"));
		} else if (!strcmp(rec.type, "key")) {
			printf("  key sndid %s rcvid %s alg %s maclen %s%s%s%s  (%s)\n",
			       tcpao_ctl_field(&rec, "sndid"), tcpao_ctl_field(&rec, "rcvid"),
			       tcpao_ctl_field(&rec, "alg"), tcpao_ctl_field(&rec, "maclen"),
			       !strcmp(tcpao_ctl_field(&rec, "exclude-options") ?: "", "yes") ?
			       " exclude-options" : "",
			       !strcmp(tcpao_ctl_field(&rec, "current") ?: "", "yes") ? "  [current]" : "",
			       !strcmp(tcpao_ctl_field(&rec, "rnext") ?: "", "yes") ? "  [rnext]" : "",
			       tcpao_ctl_field(&rec, "origin") ?: "?");
		}
	}
	if (!any)
		printf("no keys\n");
}

/* {"peers": [{..., "keys": [{...}]}], "chains": [{..., "keys": [{...}]}]} */
static void print_json(char *body)
{
	struct tcpao_ctl_record rec;
	char *cur = body;
	bool open = false, first_key = true, chains = false;

	printf("{\"peers\": [");
	while (tcpao_ctl_next_record(&cur, &rec)) {
		bool peer = !strcmp(rec.type, "peer"), chain = !strcmp(rec.type, "chain");

		if (peer || chain) {
			struct tcpao_ctl_record fields = rec;

			/* the record's key count is the "keys" array's length:
			 * one "keys" member per peer (issue 9) */
			fields.n = 0;
			for (size_t i = 0; i < rec.n; i++)
				if (strcmp(rec.fields[i].name, "keys"))
					fields.fields[fields.n++] = rec.fields[i];
			if (chain && !chains) {
				printf("%s], \"chains\": [", open ? "]}\n" : "");
				open = false;
				chains = true;
			}
			printf("%s\n  {", open ? "]}," : "");
			json_fields(stdout, &fields);
			printf(", \"keys\": [");
			open = true;
			first_key = true;
		} else if ((!strcmp(rec.type, "key") || !strcmp(rec.type, "chain-key")) && open) {
			printf("%s\n    ", first_key ? "" : ",");
			json_record(stdout, &rec);
			first_key = false;
		}
	}
	printf("%s]%s}\n", open ? "]}\n" : "", chains ? "" : ", \"chains\": []");
}

static int print_list(char *body, bool json)
{
	if (json)
		print_json(body);
	else
		print_text(body);
	return 0;
}

static int key_list(int argc, char **argv)
{
	return daemon_show(argc, argv, "key list", "key-list", usage, print_list);
}

int cmd_key(int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : "";

	if (!strcmp(sub, "add"))
		return key_add(argc - 1, argv + 1);
	if (!strcmp(sub, "del") || !strcmp(sub, "delete"))
		return key_del(argc - 1, argv + 1);
	if (!strcmp(sub, "set"))
		return key_set(argc - 1, argv + 1);
	if (!strcmp(sub, "list") || !strcmp(sub, "ls"))
		return key_list(argc - 1, argv + 1);
	if (cli_is_help(sub))
		return help();
	return cli_usage("key", usage, *sub ? "unknown subcommand" : "which subcommand?");
}
