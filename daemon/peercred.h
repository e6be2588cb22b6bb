/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who may change tcpaod's keys: root, or a process with CAP_NET_ADMIN in
 * tcpaod's own user namespace. Judged from the connected socket, never
 * from a pid alone (peercred.c).
 */
#ifndef TCPAOD_PEERCRED_H
#define TCPAOD_PEERCRED_H

#include <stdbool.h>
#include <sys/socket.h>

/* cred: SO_PEERCRED of fd, already in tcpaod's user namespace. */
bool peercred_privileged(int fd, const struct ucred *cred);

#endif
