/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Client side of tcpaod's control socket (docs/control-protocol.md).
 * No globals, no exit(), no output: the CLI and the LD_PRELOAD library
 * both use it. Functions return 0 or a negative errno.
 */
#ifndef TCPAO_CTL_H
#define TCPAO_CTL_H

#include <stdbool.h>
#include <stddef.h>

/* Runtime directory: control sockets, locks and state, per network
 * namespace (netns-<cookie>.sock, .lock, and a directory). Only root may
 * create anything in it: that is what makes a socket there trustworthy. */
#ifndef TCPAO_RUNDIR
#define TCPAO_RUNDIR "/run/tcpao"
#endif
#define TCPAO_CTL_REQUEST_MAX 4096         /* one request, bytes */
#define TCPAO_CTL_FRAME_MAX 32768          /* one reply message, bytes */
#define TCPAO_CTL_REPLY_MAX (16u << 20)    /* a whole reply, bytes */

struct tcpao_ctl_reply {
	int status;        /* 0, or the daemon's negative errno */
	char message[256]; /* the daemon's explanation when status < 0 */
	char *body;        /* the records, NUL-terminated (malloc'd) */
	size_t len;
};

/* The cookie of the caller's network namespace (0 before Linux 5.14). */
unsigned long long tcpao_netns_cookie(void);
/* "TCPAO_RUNDIR/netns-<cookie>SUFFIX" for this namespace: suffix ".sock",
 * ".lock" or "". Returns 0 or -ENAMETOOLONG. */
int tcpao_ctl_rundir_path(const char *suffix, char *out, size_t outlen);
/* 0 when the directory holding path is owned by root and writable by
 * nobody else (lstat: no symlink); else -EPERM, or -errno. */
int tcpao_ctl_check_dir(const char *path);
/* Connects to the namespace's daemon (path NULL: the default socket) with
 * a receive/send timeout, and authenticates it before anything is sent:
 * the socket's directory must be root's (tcpao_ctl_check_dir) and the
 * listener must run as uid 0 (SO_PEERCRED); otherwise -EPERM and nothing
 * was sent. -ECONNREFUSED (or -ENOENT) when no daemon runs. Returns the
 * socket or a negative errno. */
int tcpao_ctl_connect(const char *path, int timeout_ms);
/* The socket path: $TCPAO_CTL (secure_getenv) or the default. */
const char *tcpao_ctl_default(char *buf, size_t len);
/* Sends one request line and reads the whole reply. 0 when a reply came
 * (reply->status holds the daemon's verdict), else a transport error.
 * The request buffer is not kept; callers wipe requests with secrets. */
int tcpao_ctl_request(int fd, const char *request,
		      struct tcpao_ctl_reply *reply);
/* The same, passing a descriptor (SCM_RIGHTS) with the request: how a
 * socket is named to the daemon (sock-* requests). */
int tcpao_ctl_request_fd(int fd, const char *request, int passfd,
			 struct tcpao_ctl_reply *reply);
/* Its two halves, for requests sent ahead of their replies (the daemon
 * answers in order): up to TCPAO_CTL_SEND_MAX requests in one sendmmsg(),
 * each passing passfd when >= 0; 0 or a negative errno. */
#define TCPAO_CTL_SEND_MAX 16
int tcpao_ctl_send_many(int fd, const char *const requests[], size_t n, int passfd);
int tcpao_ctl_read_reply(int fd, struct tcpao_ctl_reply *reply);
void tcpao_ctl_reply_free(struct tcpao_ctl_reply *reply);

/* One record of a reply body: "TYPE name=value ...", values unescaped. */
#define TCPAO_CTL_FIELDS_MAX 48

struct tcpao_ctl_record {
	const char *type;
	size_t n;
	struct {
		const char *name;
		const char *value;
	} fields[TCPAO_CTL_FIELDS_MAX];
};

/* Parses the next record in place (the body is modified). *cursor starts
 * at reply->body. Returns false at the end. Fields beyond the maximum and
 * malformed fields are skipped. */
bool tcpao_ctl_next_record(char **cursor, struct tcpao_ctl_record *rec);
/* The value of a field, or NULL. */
const char *tcpao_ctl_field(const struct tcpao_ctl_record *rec,
			    const char *name);

/* Escapes a value for the wire (%XX for space, '%', '=', controls and
 * bytes >= 0x7f). Returns the length written, or -ENOSPC. */
int tcpao_ctl_escape(const char *value, char *out, size_t outlen);

#endif
