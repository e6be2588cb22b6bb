/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket of tcpaod: a Unix socket (SOCK_SEQPACKET) at
 * TCPAO_RUNDIR/netns-<cookie>.sock, one per network namespace, speaking the
 * text protocol of docs/control-protocol.md.
 *
 * The server lives in tcpaod's main loop: control_fd() is one pollable
 * file descriptor (an epoll set of the listener and its clients); when it
 * is readable, control_handle() serves whatever is ready without ever
 * blocking. Requests are parsed and checked here (size, syntax, privilege);
 * the datapath does the work in struct control_ops callbacks and writes
 * the answer with the control_reply_* functions. Nothing in this module
 * ever writes a secret into a reply or a log.
 *
 * Privilege: key-add, key-del, key-set and reload need uid 0 or
 * CAP_NET_ADMIN in tcpaod's user namespace (peercred.c); key-list, show and
 * stat do not. Unprivileged clients have a connection quota per uid and
 * all of them together; privileged ones are never locked out by them. A
 * connection idle for CONTROL_IDLE_MS is closed.
 */
#ifndef TCPAOD_CONTROL_H
#define TCPAOD_CONTROL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "policy.h"
#include "tcpao.h"

#define CONTROL_MAX_CONNS_PER_UID 16 /* per unprivileged uid */
#define CONTROL_MAX_CONNS_UNPRIV 256 /* all unprivileged clients */
#define CONTROL_MAX_CONNS 4096       /* everyone, root included */
#define CONTROL_IDLE_MS 30000

struct control;
struct control_reply;

/* Who sent a request. */
struct control_client {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	bool privileged; /* uid 0 or CAP_NET_ADMIN when it connected */
};

struct control_key_add {
	struct tcpao_mkt mkt; /* checked with tcpao_mkt_check(); has a peer */
	bool set_current;
	bool set_rnext;
};

struct control_key_del {
	struct policy_key_ref ref; /* ref.peer AF_UNSPEC: any peer */
	int new_current;           /* sndid, or -1 */
	int new_rnext;             /* rcvid, or -1 */
};

struct control_key_set {
	struct tcpao_addr peer;    /* AF_UNSPEC: every entry */
	uint8_t peer_len;
	int current;               /* sndid, or -1 */
	int rnext;                 /* rcvid, or -1 */
};

/* Implemented by the daemon. Each returns 0 or a negative errno; on error
 * it may explain with control_reply_error() (otherwise strerror is sent).
 * The request structs are wiped after the call returns. */
struct control_ops {
	int (*key_add)(void *ctx, const struct control_key_add *req,
		       struct control_reply *out);
	int (*key_del)(void *ctx, const struct control_key_del *req,
		       struct control_reply *out);
	int (*key_set)(void *ctx, const struct control_key_set *req,
		       struct control_reply *out);
	/* Lists keys (control_reply_keys() does it for a policy). */
	int (*key_list)(void *ctx, struct control_reply *out);
	/* One "flow" record per AO flow: see docs/control-protocol.md. */
	int (*show)(void *ctx, struct control_reply *out);
	/* "counter" records: control_reply_counter(). */
	int (*stat)(void *ctx, struct control_reply *out);
	int (*reload)(void *ctx, struct control_reply *out);
	/* "reload dry-run": what a reload would add, change and drop ("change"
	 * records), applying nothing. NULL: not supported. */
	int (*reload_plan)(void *ctx, struct control_reply *out);
	/* "clock": the key chains' clock (now, test offset); "clock shift
	 * SECONDS" moves the test offset (a test aid, privileged). NULL: not
	 * supported. */
	int (*clock)(void *ctx, const int64_t *shift, struct control_reply *out);
	/* Answers once the packets queued before the request are handled. */
	int (*sync)(void *ctx, struct control_reply *out);
	/* sock-* requests (docs/socket-api.md): fd is the client's socket,
	 * passed with the request; closed by the caller afterwards. NULL:
	 * not supported. */
	int (*sock)(void *ctx, int fd, int argc, char **argv,
		    struct control_reply *out);
};

/* A server with no socket yet (tests adopt socketpair ends). */
struct control *control_new(const struct control_ops *ops, void *ctx);
/* Binds and listens on path (NULL: tcpao_ctl_default()), replacing a file
 * left there: the caller holds the namespace's lock. The directory must be
 * root's alone. The socket is mode 0666: anyone may ask. */
int control_listen(struct control *ctl, const char *path,
		   char *err, size_t errlen);
/* new + listen; NULL on error with err set. */
struct control *control_open(const char *name, const struct control_ops *ops,
			     void *ctx, char *err, size_t errlen);
/* Serves an already connected SOCK_SEQPACKET socket as if it had been
 * accepted from a client with these credentials (takes the fd). */
int control_adopt(struct control *ctl, int fd,
		  const struct control_client *who);
/* Pollable (POLLIN) whenever control_handle() has work. */
int control_fd(const struct control *ctl);
/* Accepts, reads, answers; never blocks. Returns the number of requests
 * served. */
int control_handle(struct control *ctl);
size_t control_client_count(const struct control *ctl);
/* Closes connections idle for CONTROL_IDLE_MS (call about once a second). */
void control_expire(struct control *ctl, uint64_t now_ms);
uint64_t control_now_ms(void);
void control_close(struct control *ctl);

/* ---- writing replies (from the callbacks) ------------------------------ */

/* Starts a record: "TYPE" then fields "name=value". */
void control_reply_record(struct control_reply *out, const char *type);
void control_reply_str(struct control_reply *out, const char *name,
		       const char *value);
void control_reply_u64(struct control_reply *out, const char *name,
		       uint64_t value);
void control_reply_int(struct control_reply *out, const char *name,
		       long long value);
/* Whether every record so far is in the reply (false: no memory for one;
 * the reply then says "out of memory"). A request that changes state
 * writes its records first, and changes nothing when they are not in. */
bool control_reply_whole(const struct control_reply *out);
/* "198.18.0.1" or "[fd00::1]:179" style endpoints; port 0 omits it. */
void control_reply_addr(struct control_reply *out, const char *name,
			const struct tcpao_addr *addr, uint16_t port);
void control_reply_prefix(struct control_reply *out, const char *name,
			  const struct tcpao_addr *addr, uint8_t len);
/* Sets the error message for a failed request; returns err. */
int control_reply_error(struct control_reply *out, int err,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* One "counter name=NAME value=N" record. */
void control_reply_counter(struct control_reply *out, const char *name,
			   uint64_t value);
/* One "key" record per key of the policy (never the secret). */
void control_reply_keys(struct control_reply *out,
			const struct policy *policy);
/* The client that sent the request being served. */
const struct control_client *control_reply_client(
	const struct control_reply *out);

#endif
