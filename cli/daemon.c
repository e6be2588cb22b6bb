// SPDX-License-Identifier: GPL-2.0-or-later
/* One request to tcpaod, and the reply printed for people or programs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

#define DAEMON_TIMEOUT_MS 10000

int daemon_call(const char *what, const char *request,
		struct tcpao_ctl_reply *reply)
{
	char buf[128];
	const char *name = tcpao_ctl_default(buf, sizeof(buf));
	int fd, rc;

	fd = name ? tcpao_ctl_connect(name, DAEMON_TIMEOUT_MS) : -ENAMETOOLONG;
	if (fd == -EPERM) {
		fprintf(stderr, "tcpao %s: %s is not tcpaod's: its directory or its "
			"listener is not root's; nothing was sent\n", what, name);
		return 1;
	}
	if (fd < 0) {
		fprintf(stderr, "tcpao %s: cannot reach tcpaod at %s: %s%s\n", what,
			name ? name : "?", strerror(-fd), fd == -ECONNREFUSED || fd == -ENOENT ?
			" (is tcpaod running in this network namespace?)" : "");
		return 1;
	}
	rc = tcpao_ctl_request(fd, request, reply);
	close(fd);
	if (rc) {
		fprintf(stderr, "tcpao %s: no answer from tcpaod: %s\n", what, strerror(-rc));
		return 1;
	}
	if (reply->status) {
		fprintf(stderr, "tcpao %s: %s\n", what, reply->message);
		tcpao_ctl_reply_free(reply);
		return 1;
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

void json_value(FILE *f, const char *s)
{
	const char *digits = s + (s[0] == '-');
	size_t n = strlen(digits);

	if (n && n <= 19 && strspn(digits, "0123456789") == n &&
	    (n == 1 || digits[0] != '0'))
		fputs(s, f);
	else if (!strcmp(s, "yes"))
		fputs("true", f);
	else if (!strcmp(s, "no"))
		fputs("false", f);
	else
		json_string(f, s);
}

void json_fields(FILE *f, const struct tcpao_ctl_record *rec)
{
	for (size_t i = 0; i < rec->n; i++) {
		if (i)
			fputs(", ", f);
		json_string(f, rec->fields[i].name);
		fputs(": ", f);
		json_value(f, rec->fields[i].value);
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
	*json = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			*json = true;
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

	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (!parse_json_only(argc, argv, &json)) {
		usage(stderr);
		return 2;
	}
	rc = daemon_call(what, request, &reply);
	if (rc)
		return rc;
	rc = print(reply.body, json);
	tcpao_ctl_reply_free(&reply);
	return rc;
}
