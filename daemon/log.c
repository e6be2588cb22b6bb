// SPDX-License-Identifier: GPL-2.0-or-later
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static bool use_syslog;
static bool verbose;
static int journal = -1; /* unknown yet */

/* stderr is connected to the journal when $JOURNAL_STREAM names its device
 * and inode ("DEV:INO", systemd.exec(5)): the journal then stamps the
 * time and reads the priority from a "<N>" prefix (sd-daemon(3)). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return false;
	return fstat(STDERR_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

void log_to_syslog(bool on)
{
	use_syslog = on;
	if (on)
		openlog("tcpaod", LOG_PID, LOG_DAEMON);
}

void log_set_verbose(bool on)
{
	verbose = on;
	journal = stderr_is_journal(); /* before any thread logs */
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
	if (journal < 0)
		journal = stderr_is_journal();
	if (journal) {
		fprintf(stderr, "<%d>%s\n", prio, line);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	/* One write per line, so that threads do not interleave. */
	fprintf(stderr, "%lld.%03ld tcpaod: %s\n", (long long)ts.tv_sec,
		ts.tv_nsec / 1000000, line);
}
