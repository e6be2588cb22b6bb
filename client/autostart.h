/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Starts tcpaod in the calling thread's network namespace (autostart.c). */
#ifndef TCPAO_AUTOSTART_H
#define TCPAO_AUTOSTART_H

/* 0 once a daemon answers on ctl_name (NULL: the default name);
 * -ECONNREFUSED when TCPAO_NO_AUTOSTART=1 or it did not come up. */
int tcpao_autostart(const char *ctl_name);

#endif
