/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sockets configured with Linux's TCP-AO socket API (preload, C API):
 * the sock-* control requests, each with the socket passed by SCM_RIGHTS
 * (docs/socket-api.md). A socket's keys become a policy entry of its own.
 */
#ifndef TCPAOD_SOCKETS_H
#define TCPAOD_SOCKETS_H

#include "control.h"
#include "ops.h"

/* control_ops.sock: ctx is the struct daemon_ctx. */
int sockets_request(void *ctx, int fd, int argc, char **argv,
		    struct control_reply *out);
/* Forgets the sockets that sock_diag no longer finds. */
void sockets_gc(struct daemon_ctx *d);
/* sock_diag's destroy notifications of TCP sockets (CAP_NET_ADMIN): a
 * descriptor to poll, or a negative errno. */
int sockets_watch_open(void);
/* Reads them: the entries of destroyed sockets go at once, so that a new
 * socket on the same ports never meets a dead socket's keys. */
void sockets_watch_read(struct daemon_ctx *d, int fd);
/* Nothing to do: no socket registered (after sockets_gc()) and no key in
 * the policy. An autostarted daemon then leaves (tcpaod --autostarted). */
bool sockets_idle(struct daemon_ctx *d);

#endif
