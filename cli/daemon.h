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

/* JSON: a string with escapes, and a field value typed from its text
 * (digits: number; yes/no: boolean; anything else: string). */
void json_string(FILE *f, const char *s);
void json_value(FILE *f, const char *s);
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
