/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A file replaced whole or not at all: written under a temporary name
 * beside it, then renamed over it, so that a reader (or a daemon started
 * after a crash) finds the old file or the new one, never half of one.
 */
#ifndef TCPAOD_ATOMICFILE_H
#define TCPAOD_ATOMICFILE_H

#include <sys/types.h>

struct atomic_file {
	int fd; /* write here */
	char path[4096], tmp[4104];
};

/* Creates PATH.tmp (truncated, O_NOFOLLOW, with this mode) for writing.
 * 0 or a negative errno (-ENAMETOOLONG for a path too long). */
int atomic_file_open(struct atomic_file *f, const char *path, mode_t mode);
/* Closes the file, then renames it over PATH when rc is 0 and the close
 * worked; removes it otherwise. Returns rc, or the close's or rename's
 * negative errno. */
int atomic_file_end(struct atomic_file *f, int rc);

#endif
