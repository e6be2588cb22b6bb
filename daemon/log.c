// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "log.h"

static bool use_syslog;
static bool verbose;

void log_to_syslog(bool on)
{
	use_syslog = on;
	if (on)
		openlog("tcpaod", LOG_PID, LOG_DAEMON);
}

void log_set_verbose(bool on)
{
	verbose = on;
}

void log_msg(int prio, const char *fmt, ...)
{
	char line[512];
	struct timespec ts;
	va_list ap;

	if (prio >= LOG_DEBUG && !verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(prio, "%s", line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* One write per line, so that threads do not interleave. */
	fprintf(stderr, "%lld.%03ld tcpaod: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, line);
}
