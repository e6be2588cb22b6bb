// SPDX-License-Identifier: GPL-2.0-or-later
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif

/* What sd_notify() does, minus credentials passing: one datagram to the
 * unix socket named by $NOTIFY_SOCKET ('@' for an abstract name). Always
 * compiled, so that every build checks it. */
static __attribute__((unused)) int notify_builtin(const char *state)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = getenv("NOTIFY_SOCKET");
	size_t n;
	socklen_t len;
	ssize_t sent;
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@'))
		return 0;
	n = strlen(path);
	if (n < 2 || n >= sizeof(sun.sun_path))
		return -EINVAL;
	memcpy(sun.sun_path, path, n);
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = 0;
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		      (struct sockaddr *)&sun, len);
	n = (size_t)errno;
	close(fd);
	return sent < 0 ? -(int)n : 1;
}

int notify_send(const char *state)
{
#ifdef HAVE_LIBSYSTEMD
	return sd_notify(0, state);
#else
	return notify_builtin(state);
#endif
}
