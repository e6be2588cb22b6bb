// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "atomicfile.h"

int atomic_file_open(struct atomic_file *f, const char *path, mode_t mode)
{
	f->fd = -1;
	if ((size_t)snprintf(f->path, sizeof(f->path), "%s", path) >= sizeof(f->path))
		return -ENAMETOOLONG;
	snprintf(f->tmp, sizeof(f->tmp), "%s.tmp", path);
	f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		     mode);
	return f->fd < 0 ? -errno : 0;
}

int atomic_file_end(struct atomic_file *f, int rc)
{
	if (close(f->fd) && !rc)
		rc = -errno;
	f->fd = -1;
	if (!rc && rename(f->tmp, f->path))
		rc = -errno;
	if (rc)
		unlink(f->tmp);
	return rc;
}
