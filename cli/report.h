/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Printing what `tcpao verify` found: one line per AO segment and a
 * summary, as text or as JSON lines. */
#ifndef TCPAO_CLI_REPORT_H
#define TCPAO_CLI_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "capture.h"
#include "verify.h"

struct report {
	FILE *out;
	bool json;
	bool quiet;   /* segments that verified are not printed */
};

void report_segment(const struct report *r, const struct verify_outcome *o);
/* verdict: "ok", "failed" or "nothing-verified"; error: a capture read
 * error that ended the file early, or NULL. */
void report_summary(const struct report *r, const struct verify_stats *s,
		    const struct capture_stats *cs, const char *verdict,
		    const char *error);

#endif
