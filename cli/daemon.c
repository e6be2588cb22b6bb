// SPDX-License-Identifier: GPL-2.0-or-later
/* One request to tcpaod, and the reply printed for people or programs. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define DAEMON_TIMEOUT_MS 10000

bool cli_json;
bool cli_einval_is_usage;

int cli_fail(int code, const char *what, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cli_json) {
		printf("{\"error\": {\"code\": %d, \"message\": ", code);
		json_string(stdout, msg);
		printf("}}\n");
		fflush(stdout);
	} else {
		fprintf(stderr, "tcpao%s%s: %s\n", what && *what ? " " : "", what ? what : "", msg);
	}
	return code;
}

int cli_usage(const char *what, void (*usage)(FILE *f), const char *why)
{
	if (cli_json)
		return cli_fail(CLI_EXIT_USAGE, what, "%s (see tcpao %s --help)",
				why ? why : "usage error", what);
	if (why)
		fprintf(stderr, "tcpao %s: %s\n", what, why);
	usage(stderr);
	return CLI_EXIT_USAGE;
}

bool cli_is_help(const char *arg)
{
	return arg && (!strcmp(arg, "--help") || !strcmp(arg, "-h") || !strcmp(arg, "help"));
}

int cli_ok(void)
{
	if (cli_json)
		printf("{\"ok\": true}\n");
	return 0;
}

int daemon_call(const char *what, const char *request,
		struct tcpao_ctl_reply *reply)
{
	char buf[128];
	const char *name = tcpao_ctl_default(buf, sizeof(buf));
	int fd, rc;

	fd = name ? tcpao_ctl_connect(name, DAEMON_TIMEOUT_MS) : -ENAMETOOLONG;
	if (fd == -EPERM)
		return cli_fail(CLI_EXIT_FAIL, what, "%s is not tcpaod's: its directory or its "
				"listener is not root's; nothing was sent", name);
	if (fd < 0)
		return cli_fail(CLI_EXIT_FAIL, what, "cannot reach tcpaod at %s: %s%s",
				name ? name : "?", strerror(-fd), fd == -ECONNREFUSED || fd == -ENOENT ?
				" (is tcpaod running in this network namespace?)" : "");
	rc = tcpao_ctl_request(fd, request, reply);
	close(fd);
	if (rc)
		return cli_fail(CLI_EXIT_FAIL, what, "no answer from tcpaod: %s", strerror(-rc));
	if (reply->status) {
		/* tcpaod's EINVAL is bad syntax of what the user typed (a KEY or
		 * a peer the CLI passes through): a usage error */
		int code = reply->status == -EINVAL && cli_einval_is_usage ?
			   CLI_EXIT_USAGE : CLI_EXIT_FAIL;

		cli_fail(code, what, "%s", reply->message);
		tcpao_ctl_reply_free(reply);
		return code;
	}
	return 0;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/*
 * The JSON type of each field tcpaod sends, by record type: decided here
 * from the control protocol's definition of the field (daemon/ops.c writes
 * it with control_reply_u64 / _int / "yes|no"), never guessed from the
 * text. A field not listed is a string. docs/control-protocol.md.
 */
enum jtype { J_NUM = 1, J_BOOL, J_KEYID /* -1: null */ };

static const struct {
	const char *record, *field;
	enum jtype type;
} schema[] = {
	{ "peer", "ao-required", J_BOOL }, { "peer", "accept-icmps", J_BOOL },
	{ "peer", "current", J_KEYID }, { "peer", "rnext", J_KEYID },
	{ "peer", "keys", J_NUM }, { "peer", "local-port", J_NUM },
	{ "peer", "remote-port", J_NUM }, { "peer", "uid", J_NUM },
	{ "peer", "cookie", J_NUM }, { "peer", "current-age", J_NUM },
	{ "key", "sndid", J_NUM }, { "key", "rcvid", J_NUM },
	{ "key", "maclen", J_NUM }, { "key", "serial", J_NUM },
	{ "key", "exclude-options", J_BOOL }, { "key", "current", J_BOOL },
	{ "key", "rnext", J_BOOL },
	{ "flow", "current", J_KEYID }, { "flow", "rnext", J_KEYID },
	{ "flow", "peer-rnext", J_KEYID }, { "flow", "snd-sne", J_NUM },
	{ "flow", "rcv-sne", J_NUM }, { "flow", "good", J_NUM },
	{ "flow", "bad", J_NUM }, { "flow", "key-not-found", J_NUM },
	{ "flow", "ao-required", J_NUM }, { "flow", "dropped-icmps", J_NUM },
	{ "flow", "worker", J_NUM },
	{ "counter", "value", J_NUM },
	{ "change", "sndid", J_NUM }, { "change", "rcvid", J_NUM },
	{ "summary", "add", J_NUM }, { "summary", "change", J_NUM },
	{ "summary", "drop", J_NUM }, { "summary", "clash", J_NUM },
	{ "summary", "live-flows-losing-keys", J_NUM },
	{ "summary", "applied", J_BOOL },
};

static bool is_integer(const char *s)
{
	const char *digits = s + (s[0] == '-');
	size_t n = strlen(digits);

	return n && n <= 20 && strspn(digits, "0123456789") == n &&
	       (n == 1 || digits[0] != '0');
}

void json_typed(FILE *f, const char *record, const char *field, const char *s)
{
	int type = 0;

	for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		if (!strcmp(schema[i].record, record) && !strcmp(schema[i].field, field)) {
			type = (int)schema[i].type;
			break;
		}
	switch (type) {
	case J_KEYID:
		if (!strcmp(s, "-1")) {
			fputs("null", f);
			break;
		}
		/* fall through */
	case J_NUM:
		fputs(is_integer(s) ? s : "null", f);
		break;
	case J_BOOL:
		fputs(!strcmp(s, "yes") ? "true" : !strcmp(s, "no") ? "false" : "null", f);
		break;
	default:
		json_string(f, s);
	}
}

void json_fields(FILE *f, const struct tcpao_ctl_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		if (i)
			fputs(", ", f);
		json_string(f, rec->fields[i].name);
		fputs(": ", f);
		json_typed(f, rec->type, rec->fields[i].name, rec->fields[i].value);
	}
}

void json_record(FILE *f, const struct tcpao_ctl_record *rec)
{
	fputc('{', f);
	json_fields(f, rec);
	fputc('}', f);
}

bool parse_json_only(int argc, char **argv, bool *json)
{
	*json = cli_json;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			*json = cli_json = true;
		else
			return false;
	}
	return true;
}

int daemon_show(int argc, char **argv, const char *what, const char *request,
		void (*usage)(FILE *f), int (*print)(char *body, bool json))
{
	struct tcpao_ctl_reply reply;
	bool json;
	int rc;

	if (argc > 1 && cli_is_help(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!parse_json_only(argc, argv, &json))
		return cli_usage(what, usage, NULL);
	rc = daemon_call(what, request, &reply);
	if (rc)
		return rc;
	rc = print(reply.body, json);
	tcpao_ctl_reply_free(&reply);
	return rc;
}
