// SPDX-License-Identifier: GPL-2.0-or-later
/* Absolute paths of helper programs, looked up once (helpers.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define HELPERS_MAX 16

static const char *const dirs[] = { "/usr/sbin", "/sbin", "/usr/bin", "/bin" };

static struct helper {
	char name[32];
	char path[64]; /* "" when not found */
} found[HELPERS_MAX];
static size_t nfound;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void lookup(struct helper *h, const char *name)
{
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->path[0] = '\0';
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(h->path, sizeof(h->path), "%s/%s", dirs[i], name);
		if (!access(h->path, X_OK))
			return;
	}
	h->path[0] = '\0';
}

const char *helper_path(const char *name)
{
	const char *path = NULL;
	size_t i;

	if (strchr(name, '/') || strlen(name) >= sizeof(found[0].name))
		return NULL;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nfound && strcmp(found[i].name, name); i++)
		;
	if (i == nfound && nfound < HELPERS_MAX)
		lookup(&found[nfound++], name);
	if (i < nfound && found[i].path[0])
		path = found[i].path;
	pthread_mutex_unlock(&lock);
	return path;
}

int helper_open(struct helper_pipe *p, const char *name, const char *args)
{
	const char *path = helper_path(name);
	char words[128], *argv[8] = { (char *)name }, *save = NULL;
	posix_spawn_file_actions_t fa;
	int out[2], argc = 1, rc;

	if (!path || strlen(args) >= sizeof(words))
		return -1;
	strcpy(words, args);
	for (char *w = strtok_r(words, " ", &save); w && argc < 7;
	     w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	if (pipe2(out, O_CLOEXEC))
		return -1;
	rc = posix_spawn_file_actions_init(&fa);
	if (!rc) {
		rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1) ?:
		     posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) ?:
		     posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) ?:
		     posix_spawn(&p->pid, path, &fa, NULL, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(out[1]);
	if (rc || !(p->out = fdopen(out[0], "re"))) {
		close(out[0]);
		if (!rc)
			waitpid(p->pid, NULL, 0);
		return -1;
	}
	return 0;
}

void helper_close(struct helper_pipe *p)
{
	fclose(p->out);
	while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR)
		;
}
