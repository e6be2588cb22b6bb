/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the CLI's daemon commands share: one request to tcpaod, its errors
 * printed for a person, and the reply's records printed as text or JSON.
 */
#ifndef TCPAO_CLI_DAEMON_H
#define TCPAO_CLI_DAEMON_H

#include <stdbool.h>
#include <stdio.h>

#include "ctl.h"

/* Sends request to the namespace's tcpaod ($TCPAO_CTL names another
 * abstract socket). On success returns 0 with the reply; otherwise prints
 * "tcpao WHAT: ..." to stderr and returns the exit status (1). */
int daemon_call(const char *what, const char *request,
		struct tcpao_ctl_reply *reply);

/* Exit statuses, the same for every command (tcpao(8)). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1   /* the operation failed */
#define CLI_EXIT_USAGE 2  /* bad usage */

/* --json anywhere on the command line (tcpao.c takes it out of argv). */
extern bool cli_json;
/* Set by commands whose arguments tcpaod parses (key del, key set): its
 * EINVAL (bad syntax) is then exit status 2, not 1. */
extern bool cli_einval_is_usage;
/* An error: {"error": {"code": CODE, "message": ...}} on stdout in JSON
 * mode, else "tcpao WHAT: message" on stderr. Returns code. */
int cli_fail(int code, const char *what, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A usage error (why may be NULL): the usage on stderr, or the JSON error;
 * returns CLI_EXIT_USAGE. */
int cli_usage(const char *what, void (*usage)(FILE *f), const char *why);
/* --help, -h or help. */
bool cli_is_help(const char *arg);
/* Success of a command that prints nothing: {"ok": true} in JSON mode. */
int cli_ok(void);

/* JSON: a string with escapes, and a field of a record of tcpaod's reply
 * with the type the control protocol gives it (daemon.c's schema:
 * numbers, booleans, key ids with -1 as null; others strings). */
void json_string(FILE *f, const char *s);
void json_typed(FILE *f, const char *record, const char *field, const char *s);
/* "name": value, ... of a record's fields, and the same in braces. */
void json_fields(FILE *f, const struct tcpao_ctl_record *rec);
void json_record(FILE *f, const struct tcpao_ctl_record *rec);

/* Parses "--json" anywhere in argv; any other argument is a usage error
 * (returns false). */
bool parse_json_only(int argc, char **argv, bool *json);

/* A command that only reads: "[--json]" or "--help", one request, and
 * print(reply body, json) for its exit status. */
int daemon_show(int argc, char **argv, const char *what, const char *request,
		void (*usage)(FILE *f), int (*print)(char *body, bool json));

#endif
