/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sockets configured with Linux's TCP-AO socket API (preload, C API):
 * the sock-* control requests, each with the socket passed by SCM_RIGHTS
 * (docs/socket-api.md). A socket's keys become a policy entry of its own.
 */
#ifndef TCPAOD_SOCKETS_H
#define TCPAOD_SOCKETS_H

#include "control.h"
#include "flow.h"
#include "ops.h"

/* Per-uid quotas for users other than root (or CAP_NET_ADMIN): sockets
 * registered with the daemon, and keys held by them (staged and
 * committed). Past them a request fails as Linux fails: ENOBUFS for a
 * new socket, ENOMEM for a key (Linux's sock_kmalloc() past optmem_max).
 * Root is never limited. See docs/SECURITY.md. */
#define SOCKETS_PER_UID 256
#define SOCKETS_KEYS_PER_UID 1024

/* How many workers count a socket's segments (keycount.h): set before
 * any socket is registered or restored. Default 1. */
void sockets_set_workers(unsigned int n);
/* control_ops.sock: ctx is the struct daemon_ctx. */
int sockets_request(void *ctx, int fd, int argc, char **argv,
		    struct control_reply *out);
/* After a restart (state.c): a key that a restored flow of a socket used
 * goes back to that socket's entry, when sock_diag still finds the socket
 * (-ESRCH otherwise: the key is forgotten). Never into host policy. */
int sockets_restore(struct policy *policy, uint64_t cookie, uint32_t uid,
		    const struct flow_key *key, const struct tcpao_mkt *mkt);
/* Forgets the sockets that sock_diag no longer finds. */
void sockets_gc(struct daemon_ctx *d);
/* sock_diag's destroy notifications of TCP sockets (CAP_NET_ADMIN): a
 * descriptor to poll, or a negative errno. */
int sockets_watch_open(void);
/* Closes it (no more joining or leaving its groups). */
void sockets_watch_close(int fd);
/* Reads them: the entries of destroyed sockets go at once, so that a new
 * socket on the same ports never meets a dead socket's keys. */
void sockets_watch_read(struct daemon_ctx *d, int fd);
/* Nothing to do: no socket registered (after sockets_gc()) and no key in
 * the policy. An autostarted daemon then leaves (tcpaod --autostarted). */
bool sockets_idle(struct daemon_ctx *d);

#endif
