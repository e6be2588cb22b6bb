// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The runtime directory and the single-instance lock. An abstract socket
 * name would be per namespace too, but anyone can bind it first; a file
 * lock in a directory only root writes cannot be squatted, and the kernel
 * still drops it when the holder dies, even by SIGKILL.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "rundir.h"

static int check(int fd, char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen, "%s: must be owned by root and writable by root "
			 "alone (owner %u, mode %03o): refusing to use it", TCPAO_RUNDIR,
			 (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	/* Clients of any user must reach the sockets inside. */
	if ((st.st_mode & 0755) != 0755 && fchmod(fd, 0755))
		return -errno;
	return 0;
}

int rundir_prepare(char *err, size_t errlen)
{
	int fd, rc;

	if (mkdir(TCPAO_RUNDIR, 0755) && errno != EEXIST)
		goto fail;
	fd = open(TCPAO_RUNDIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	rc = check(fd, err, errlen);
	close(fd);
	if (rc && rc != -EPERM)
		snprintf(err, errlen, "%s: %s", TCPAO_RUNDIR, strerror(-rc));
	return rc;
fail:
	rc = -errno;
	snprintf(err, errlen, "%s: %s", TCPAO_RUNDIR, strerror(-rc));
	return rc;
}

/* Locked, and still the file the path names: a daemon that stops unlinks
 * its lock while holding it, so a waiter may hold an orphan. */
static bool lock_is_current(int fd, const char *path)
{
	struct stat held, named;

	return !fstat(fd, &held) && !stat(path, &named) &&
	       held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

int rundir_lock(char *err, size_t errlen)
{
	char path[256];
	int fd = -1, rc;

	if (tcpao_ctl_rundir_path(".lock", path, sizeof(path))) {
		snprintf(err, errlen, "lock path too long");
		return -ENAMETOOLONG;
	}
	for (int tries = 0; tries < 8; tries++) {
		fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB))
			break;
		if (lock_is_current(fd, path))
			return fd;
		close(fd);
		fd = -1;
		errno = EAGAIN;
	}
	rc = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
	if (rc == -EADDRINUSE)
		snprintf(err, errlen, "already running in this network namespace (%s is locked)", path);
	else
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

void rundir_unlock(int fd)
{
	char path[256];

	if (fd < 0)
		return;
	if (!tcpao_ctl_rundir_path(".lock", path, sizeof(path)) &&
	    lock_is_current(fd, path))
		unlink(path); /* nothing left behind; held until close */
	close(fd);
}
