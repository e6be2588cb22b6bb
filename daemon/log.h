/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Log lines of tcpaod: stderr in the foreground, syslog once detached. */
#ifndef TCPAOD_LOG_H
#define TCPAOD_LOG_H

#include <stdbool.h>
#include <syslog.h>

void log_to_syslog(bool on);
void log_set_verbose(bool on);
void log_msg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
