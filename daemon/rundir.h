/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCPAO_RUNDIR: where clients find the namespace's daemon. Only root can
 * create files there, so a socket or a lock there is the daemon's
 * (rundir.c).
 */
#ifndef TCPAOD_RUNDIR_H
#define TCPAOD_RUNDIR_H

#include <stddef.h>

/* Creates TCPAO_RUNDIR (0755, root) or checks it: refused when it is not
 * a directory owned by root and writable by root alone. */
int rundir_prepare(char *err, size_t errlen);
/* Takes the namespace's single-instance lock (flock on
 * netns-<cookie>.lock). Returns the descriptor to keep open, -EADDRINUSE
 * when another daemon holds it, or another negative errno. */
int rundir_lock(char *err, size_t errlen);
/* Removes the lock file, then lets go of the lock. */
void rundir_unlock(int fd);

#endif
