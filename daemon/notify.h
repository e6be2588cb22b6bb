/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The service manager's notification protocol (sd_notify(3)): tcpaod tells
 * systemd READY=1 once its queues, rules and control socket are up,
 * RELOADING=1 / READY=1 around a reload, STOPPING=1 when it stops. Does
 * nothing without $NOTIFY_SOCKET.
 */
#ifndef TCPAOD_NOTIFY_H
#define TCPAOD_NOTIFY_H

/* Sends STATE (newline-separated assignments). 1 sent, 0 no socket,
 * negative errno. */
int notify_send(const char *state);

#endif
