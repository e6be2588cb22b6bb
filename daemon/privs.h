/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Least privilege once setup is done (privs.c; the kept capabilities and
 * why are in docs/SECURITY.md).
 */
#ifndef TCPAOD_PRIVS_H
#define TCPAOD_PRIVS_H

#include <stddef.h>

/* Keeps uid 0 but only the capabilities the running daemon needs, in the
 * effective, permitted and bounding sets (so the helpers it runs get no
 * more), no inheritable ones, and sets no_new_privs. Call before any
 * thread is created: capabilities are per thread. 0 or a negative errno;
 * when not root, there is nothing to drop and 0 is returned. */
int privs_drop(char *err, size_t errlen);

#endif
