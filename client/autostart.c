// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Starting the namespace's tcpaod when none answers. The binary is
 * $TCPAOD, else the path set at build time; TCPAO_NO_AUTOSTART=1 turns
 * this off. The daemon is detached (--daemon) and keeps its state in its
 * own namespace's directory. tcpaod --daemon leaves its first process
 * once its control socket listens: waiting for that process is waiting
 * for the daemon, with no polling. --autostarted: it leaves by itself
 * once idle (tcpaod(8)).
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

/* Runs in the child: starts the daemon and waits for its first process
 * to leave (ready, or failed), at most START_WAIT_MS; a daemon stuck at
 * start goes on without us (SIGALRM ends this child, whatever the app did
 * with the signal). Only async-signal-safe calls: the app may have
 * threads. */
static void start_and_wait(const char *ctl_name)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t alrm;
	pid_t pid = fork();

	if (pid == 0)
		exec_daemon(daemon_path(), ctl_name);
	if (pid > 0) {
		sigemptyset(&alrm);
		sigaddset(&alrm, SIGALRM);
		sigaction(SIGALRM, &dfl, NULL);
		sigprocmask(SIG_UNBLOCK, &alrm, NULL);
		alarm(START_WAIT_MS / 1000);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	_exit(0);
}

/* Starts the daemon, detached (a grandchild: no zombie for the app), and
 * returns once it is ready or gave up. */
static int spawn(const char *ctl_name)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		start_and_wait(ctl_name);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int tcpao_autostart(const char *ctl_name)
{
	const char *off = secure_getenv("TCPAO_NO_AUTOSTART");
	long start = now_ms(), respawn = start;

	if (off && !strcmp(off, "1"))
		return -ECONNREFUSED;
	while (now_ms() - start < START_WAIT_MS) {
		int fd;

		/* Again each second: a daemon leaving (--autostarted, idle)
		 * holds the namespace's lock a little longer than its control
		 * socket, and the one started meanwhile gives up. */
		if (now_ms() >= respawn) {
			int rc = spawn(ctl_name);

			if (rc)
				return rc;
			respawn = now_ms() + RESPAWN_MS;
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
