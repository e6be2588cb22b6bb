// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Starting the namespace's tcpaod when none answers. The binary is
 * $TCPAOD, else the path set at build time; TCPAO_NO_AUTOSTART=1 turns
 * this off. The daemon is detached (--daemon) and keeps its state in its
 * own namespace's directory; we wait until its control socket answers.
 * --autostarted: it leaves by itself once idle (tcpaod(8)).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "autostart.h"
#include "ctl.h"

#ifndef TCPAOD_PATH
#define TCPAOD_PATH "/usr/local/sbin/tcpaod"
#endif

#define START_WAIT_MS 5000
#define RESPAWN_MS 1000

static const char *daemon_path(void)
{
	const char *p = secure_getenv("TCPAOD");

	return p && *p ? p : TCPAOD_PATH;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Runs in the child: a new session, no inherited descriptors but 0-2. */
static void exec_daemon(const char *path, const char *ctl_name)
{
	char *argv[6];
	int i = 0, null = open("/dev/null", O_RDWR);

	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	closefrom(3);
	setsid();
	argv[i++] = (char *)path;
	argv[i++] = "--daemon";
	argv[i++] = "--autostarted";
	if (ctl_name) {
		argv[i++] = "--control";
		argv[i++] = (char *)ctl_name;
	}
	argv[i] = NULL;
	/* LD_PRELOAD must not follow the daemon. */
	unsetenv("LD_PRELOAD");
	execv(path, argv);
	_exit(127);
}

/* Starts the daemon detached by a double fork: no zombie for the app. */
static int spawn(const char *ctl_name)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (fork() == 0)
			exec_daemon(daemon_path(), ctl_name);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return 0;
}

int tcpao_autostart(const char *ctl_name)
{
	const char *off = secure_getenv("TCPAO_NO_AUTOSTART");

	if (off && !strcmp(off, "1"))
		return -ECONNREFUSED;
	for (int waited = 0; waited < START_WAIT_MS; waited += 20) {
		int fd;

		/* Again each second: a daemon leaving (--autostarted, idle)
		 * holds the namespace's lock a little longer than its control
		 * socket, and the one started meanwhile gives up. */
		if (waited % RESPAWN_MS == 0) {
			int rc = spawn(ctl_name);

			if (rc)
				return rc;
		}
		fd = tcpao_ctl_connect(ctl_name, 1000);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		sleep_ms(20);
	}
	return -ECONNREFUSED;
}
