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

/* The app's environment but LD_PRELOAD (which must not follow the
 * daemon), made before the fork: the child of a threaded app may make
 * only async-signal-safe calls, and unsetenv() takes a lock that another
 * thread may have held at the fork. The strings stay environ's. */
static char **env_without_preload(void)
{
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 1, sizeof(*env));
	for (size_t i = 0; env && i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	return env;
}

/* Runs in the child: a new session, no inherited descriptors but 0-2. */
static void exec_daemon(const char *path, const char *ctl_name, char **env)
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
	execve(path, argv, env);
	_exit(127);
}

/* Starts the daemon detached by a double fork: no zombie for the app. */
static int spawn(const char *ctl_name)
{
	const char *path = daemon_path();
	char **env = env_without_preload();
	int status, rc = 0;
	pid_t pid;

	if (!env)
		return -ENOMEM;
	pid = fork();
	if (pid == 0) {
		if (fork() == 0)
			exec_daemon(path, ctl_name, env);
		_exit(0);
	}
	if (pid < 0)
		rc = -errno;
	else
		waitpid(pid, &status, 0);
	free(env);
	return rc;
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
