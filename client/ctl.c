// SPDX-License-Identifier: GPL-2.0-or-later
/* Control-socket client: one request line out, framed reply in. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "tcpao.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

static unsigned long long netns_cookie_of(int fd)
{
	unsigned long long cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		cookie = 0;
	return cookie;
}

unsigned long long tcpao_netns_cookie(void)
{
	unsigned long long cookie = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		cookie = netns_cookie_of(fd);
		close(fd);
	}
	return cookie;
}

static int rundir_path(unsigned long long cookie, const char *suffix, char *out,
		       size_t outlen)
{
	struct stat st;
	int n;

	if (cookie) {
		n = snprintf(out, outlen, "%s/netns-%llu%s", TCPAO_RUNDIR, cookie, suffix);
	} else { /* before Linux 5.14: the inode, as the state directory */
		if (stat("/proc/self/ns/net", &st))
			st.st_ino = 0;
		n = snprintf(out, outlen, "%s/net-%lu%s", TCPAO_RUNDIR,
			     (unsigned long)st.st_ino, suffix);
	}
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int tcpao_ctl_rundir_path(const char *suffix, char *out, size_t outlen)
{
	return rundir_path(tcpao_netns_cookie(), suffix, out, outlen);
}

/* $TCPAO_CTL, else the namespace's socket: fd's namespace, or the
 * caller's when fd < 0. NULL when the path does not fit. */
static const char *ctl_path(int fd, char *buf, size_t len)
{
	const char *env = secure_getenv("TCPAO_CTL");

	if (env && *env)
		return env;
	if (rundir_path(fd >= 0 ? netns_cookie_of(fd) : tcpao_netns_cookie(), ".sock",
			buf, len))
		return NULL;
	return buf;
}

const char *tcpao_ctl_default(char *buf, size_t len)
{
	return ctl_path(-1, buf, len);
}

int tcpao_ctl_check_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	const char *slash = strrchr(path, '/');
	struct stat st;
	size_t n;

	if (!slash)
		n = snprintf(dir, sizeof(dir), ".");
	else
		n = snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + !(slash - path)), path);
	if (n >= sizeof(dir))
		return -ENAMETOOLONG;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

static int path_addr(const char *path, struct sockaddr_un *sun, socklen_t *len)
{
	size_t n = strlen(path);

	if (!n || n >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, n);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	return 0;
}

/* Whoever listens must be root in our view: a squatter's socket is not. */
static int check_server(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len))
		return -errno;
	return cred.uid == 0 ? 0 : -EPERM;
}

int tcpao_ctl_connect(const char *path, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct sockaddr_un sun;
	socklen_t len;
	int fd, rc;

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* The cookie of our new socket's namespace: no socket of its own. */
	path = path ? path : ctl_path(fd, buf, sizeof(buf));
	rc = path ? path_addr(path, &sun, &len) : -ENAMETOOLONG;
	if (!rc)
		rc = tcpao_ctl_check_dir(path);
	if (rc)
		goto out;
	if (timeout_ms > 0 &&
	    (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	     setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv))))
		goto fail;
	if (connect(fd, (struct sockaddr *)&sun, len))
		goto fail;
	rc = check_server(fd);
	if (!rc)
		return fd;
	goto out;
fail:
	rc = -errno;
out:
	close(fd);
	return rc;
}

static int append(struct tcpao_ctl_reply *reply, const char *data, size_t n)
{
	char *body;

	if (reply->len + n + 1 > TCPAO_CTL_REPLY_MAX)
		return -EMSGSIZE;
	body = realloc(reply->body, reply->len + n + 1);
	if (!body)
		return -ENOMEM;
	memcpy(body + reply->len, data, n);
	reply->body = body;
	reply->len += n;
	body[reply->len] = '\0';
	return 0;
}

static int read_frames(int fd, struct tcpao_ctl_reply *reply)
{
	char *frame = malloc(TCPAO_CTL_FRAME_MAX);
	int rc = -ENOMEM;
	ssize_t n;

	if (!frame)
		return rc;
	for (;;) {
		n = recv(fd, frame, TCPAO_CTL_FRAME_MAX, MSG_TRUNC);
		if (n < 0) {
			rc = errno == EAGAIN ? -ETIMEDOUT : -errno;
			break;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			break;
		}
		if (n > TCPAO_CTL_FRAME_MAX || (frame[0] != '+' && frame[0] != '.')) {
			rc = -EPROTO;
			break;
		}
		rc = append(reply, frame + 1, (size_t)n - 1);
		if (rc || frame[0] == '.')
			break;
	}
	free(frame);
	return rc;
}

/* First line: "ok" or "error ERRNO MESSAGE"; the rest is the body. */
static int parse_status(struct tcpao_ctl_reply *reply)
{
	char *nl = reply->body ? strchr(reply->body, '\n') : NULL;
	size_t rest;
	int err;

	if (!nl)
		return -EPROTO;
	*nl = '\0';
	if (!strcmp(reply->body, "ok")) {
		reply->status = 0;
	} else if (sscanf(reply->body, "error %d", &err) == 1 && err > 0) {
		const char *msg = strchr(reply->body + 6, ' ');

		reply->status = -err;
		snprintf(reply->message, sizeof(reply->message), "%s",
			 msg ? msg + 1 : strerror(err));
	} else {
		return -EPROTO;
	}
	rest = reply->len - (size_t)(nl + 1 - reply->body);
	memmove(reply->body, nl + 1, rest + 1);
	reply->len = rest;
	return 0;
}

/* The descriptor a request passes (SCM_RIGHTS), none when passfd < 0. */
union passed_fd {
	struct cmsghdr h;
	char buf[CMSG_SPACE(sizeof(int))];
};

static void request_msg(struct msghdr *msg, struct iovec *iov, union passed_fd *ctrl,
			const char *request, int passfd)
{
	*iov = (struct iovec){ .iov_base = (void *)request, .iov_len = strlen(request) };
	*msg = (struct msghdr){ .msg_iov = iov, .msg_iovlen = 1 };
	if (passfd < 0)
		return;
	memset(ctrl, 0, sizeof(*ctrl));
	msg->msg_control = ctrl->buf;
	msg->msg_controllen = sizeof(ctrl->buf);
	CMSG_FIRSTHDR(msg)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(msg)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(msg)->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(msg)), &passfd, sizeof(int));
}

int tcpao_ctl_request(int fd, const char *request,
		      struct tcpao_ctl_reply *reply)
{
	return tcpao_ctl_request_fd(fd, request, -1, reply);
}

int tcpao_ctl_send_many(int fd, const char *const requests[], size_t n, int passfd)
{
	struct mmsghdr msgs[TCPAO_CTL_SEND_MAX];
	struct iovec iov[TCPAO_CTL_SEND_MAX];
	union passed_fd ctrl[TCPAO_CTL_SEND_MAX];
	size_t done = 0;

	if (n > TCPAO_CTL_SEND_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strlen(requests[i]) > TCPAO_CTL_REQUEST_MAX)
			return -EMSGSIZE;
		request_msg(&msgs[i].msg_hdr, &iov[i], &ctrl[i], requests[i], passfd);
	}
	while (done < n) { /* a full buffer may take part of them */
		int sent = sendmmsg(fd, msgs + done, (unsigned int)(n - done), MSG_NOSIGNAL);

		if (sent < 0 && errno == EINTR)
			continue;
		if (sent <= 0)
			return sent < 0 && errno == EAGAIN ? -ETIMEDOUT : sent < 0 ? -errno : -EIO;
		for (int i = 0; i < sent; i++)
			if (msgs[done + i].msg_len != iov[done + i].iov_len)
				return -EIO;
		done += (size_t)sent;
	}
	return 0;
}

int tcpao_ctl_read_reply(int fd, struct tcpao_ctl_reply *reply)
{
	int rc;

	memset(reply, 0, sizeof(*reply));
	rc = read_frames(fd, reply);
	if (!rc)
		rc = parse_status(reply);
	if (rc)
		tcpao_ctl_reply_free(reply);
	return rc;
}

int tcpao_ctl_request_fd(int fd, const char *request, int passfd,
			 struct tcpao_ctl_reply *reply)
{
	int rc = tcpao_ctl_send_many(fd, &request, 1, passfd);

	if (rc) {
		memset(reply, 0, sizeof(*reply));
		return rc;
	}
	return tcpao_ctl_read_reply(fd, reply);
}

void tcpao_ctl_reply_free(struct tcpao_ctl_reply *reply)
{
	free(reply->body);
	memset(reply, 0, sizeof(*reply));
}

static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		int hi, lo;

		if (*s == '%' && (hi = tcpao_hex_digit(s[1])) >= 0 &&
		    (lo = tcpao_hex_digit(s[2])) >= 0) {
			*out++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

static char *next_word(char **p)
{
	char *w = *p;

	while (*w == ' ')
		w++;
	if (!*w)
		return NULL;
	*p = w + strcspn(w, " ");
	if (**p)
		*(*p)++ = '\0';
	return w;
}

bool tcpao_ctl_next_record(char **cursor, struct tcpao_ctl_record *rec)
{
	char *line, *nl, *word;

	do {
		line = *cursor;
		if (!line || !*line)
			return false;
		nl = strchr(line, '\n');
		*cursor = nl ? nl + 1 : line + strlen(line);
		if (nl)
			*nl = '\0';
		rec->type = next_word(&line);
	} while (!rec->type);
	rec->n = 0;
	while ((word = next_word(&line))) {
		char *eq = strchr(word, '=');

		if (!eq || rec->n == TCPAO_CTL_FIELDS_MAX)
			continue;
		*eq = '\0';
		unescape(eq + 1);
		rec->fields[rec->n].name = word;
		rec->fields[rec->n].value = eq + 1;
		rec->n++;
	}
	return true;
}

const char *tcpao_ctl_field(const struct tcpao_ctl_record *rec,
			    const char *name)
{
	for (size_t i = 0; i < rec->n; i++)
		if (!strcmp(rec->fields[i].name, name))
			return rec->fields[i].value;
	return NULL;
}

int tcpao_ctl_escape(const char *value, char *out, size_t outlen)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
		bool plain = *s > ' ' && *s < 0x7f && *s != '%' && *s != '=';

		if (o + (plain ? 1 : 3) >= outlen)
			return -ENOSPC;
		if (plain) {
			out[o++] = (char)*s;
		} else {
			out[o++] = '%';
			out[o++] = digits[*s >> 4];
			out[o++] = digits[*s & 15];
		}
	}
	if (o >= outlen)
		return -ENOSPC;
	out[o] = '\0';
	return (int)o;
}
