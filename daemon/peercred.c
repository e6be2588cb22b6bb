// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Privilege of a control client. uid 0 in SO_PEERCRED suffices: the kernel
 * translates credentials into our user namespace, so the root of a user
 * namespace made with `unshare -Ur` arrives as its real uid. Otherwise the
 * peer needs CAP_NET_ADMIN in *our* user namespace (CapEff is relative to
 * the process's own namespace, so the namespaces must be the same), read
 * through a pidfd of the peer (SO_PEERPIDFD, Linux 6.5) that still refers
 * to a live process once read: a pid alone may have been reused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "peercred.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define CAP_NET_ADMIN_BIT 12

/* The pid a pidfd names, in our pid namespace (fdinfo "Pid:"). */
static pid_t pidfd_pid(int pidfd)
{
	char path[64], line[128];
	int pid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Pid: %d", &pid) == 1)
			break;
	fclose(f);
	return pid;
}

/* CapEff has CAP_NET_ADMIN and the effective uid is still the one that
 * connected (a setuid program exec'd since then does not lend its power). */
static bool status_ok(pid_t pid, uid_t uid)
{
	char path[64], line[256];
	unsigned long long caps = 0;
	unsigned int r, e;
	bool cap = false, same_uid = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Uid: %u %u", &r, &e) == 2)
			same_uid = e == uid;
		else if (sscanf(line, "CapEff: %llx", &caps) == 1)
			cap = caps >> CAP_NET_ADMIN_BIT & 1;
	}
	fclose(f);
	return cap && same_uid;
}

static size_t read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, len, f);
	fclose(f);
	return n;
}

/* Without CAP_SYS_PTRACE (dropped after setup) another user's ns links
 * cannot be read; uid_map can. A user namespace's map, as we read it, is
 * the same as ours only for our own namespace (or one made by a process
 * that could map every uid we have: root). */
static bool same_uid_map(pid_t pid)
{
	char path[64], mine[512], theirs[512];
	size_t a, b;

	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	a = read_small("/proc/self/uid_map", mine, sizeof(mine));
	b = read_small(path, theirs, sizeof(theirs));
	return a && a < sizeof(mine) && a == b && !memcmp(mine, theirs, a);
}

static bool same_userns(pid_t pid)
{
	char path[64];
	struct stat mine, theirs;

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &mine))
		return false;
	if (stat(path, &theirs))
		return (errno == EACCES || errno == EPERM) && same_uid_map(pid);
	return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
}

/* Still the process the pidfd was taken for: the pid was not reused.
 * EPERM (no CAP_KILL over another uid) still means alive; ESRCH does not. */
static bool still_alive(int pidfd)
{
	return syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0 || errno == EPERM;
}

bool peercred_privileged(int fd, const struct ucred *cred)
{
	socklen_t len = sizeof(int);
	bool ok = false;
	int pidfd = -1;
	pid_t pid;

	if (cred->uid == 0)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) || pidfd < 0)
		return false; /* before Linux 6.5: root only */
	pid = pidfd_pid(pidfd);
	if (pid > 0)
		ok = status_ok(pid, cred->uid) && same_userns(pid) && still_alive(pidfd);
	close(pidfd);
	return ok;
}
