// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The control server (daemon/control.c) against any message a local user
 * can send: one request over a SOCK_SEQPACKET socketpair from a client that
 * is privileged or not (the input's first byte), served by control_handle()
 * with callbacks that accept everything, so that every parser behind them
 * runs. The server must answer (or drop the connection), never crash, leak
 * or block.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control.h"

static int ok_add(void *ctx, const struct control_key_add *req, struct control_reply *out)
{
	(void)ctx, (void)req, (void)out;
	return 0;
}

static int ok_del(void *ctx, const struct control_key_del *req, struct control_reply *out)
{
	(void)ctx, (void)req, (void)out;
	return 0;
}

static int ok_set(void *ctx, const struct control_key_set *req, struct control_reply *out)
{
	(void)ctx, (void)req, (void)out;
	return 0;
}

static int ok_reply(void *ctx, struct control_reply *out)
{
	(void)ctx;
	control_reply_record(out, "flow");
	control_reply_u64(out, "n", 1);
	return 0;
}

static int ok_clock(void *ctx, const int64_t *shift, struct control_reply *out)
{
	(void)ctx, (void)shift;
	control_reply_record(out, "clock");
	return 0;
}

static int ok_sock(void *ctx, int fd, int argc, char **argv, struct control_reply *out)
{
	(void)ctx, (void)fd, (void)argc, (void)argv, (void)out;
	return 0;
}

static const struct control_ops ops = {
	.key_add = ok_add, .key_del = ok_del, .key_set = ok_set,
	.key_list = ok_reply, .show = ok_reply, .stat = ok_reply,
	.reload = ok_reply, .reload_plan = ok_reply, .clock = ok_clock,
	.sync = ok_reply, .sock = ok_sock,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_client who = { .pid = 1, .uid = 65534, .gid = 65534 };
	struct control *ctl;
	char reply[65536];
	int sv[2];

	if (size < 1 || size > 8192)
		return 0;
	who.privileged = data[0] & 1;
	if (who.privileged)
		who.uid = who.gid = 0;
	ctl = control_new(&ops, NULL);
	if (!ctl || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	if (control_adopt(ctl, sv[1], &who))
		abort();
	if (send(sv[0], data + 1, size - 1, MSG_DONTWAIT) < 0 && errno != EMSGSIZE)
		abort();
	for (int i = 0; i < 4; i++) /* a reply may leave in parts */
		control_handle(ctl);
	while (recv(sv[0], reply, sizeof(reply), MSG_DONTWAIT) > 0)
		;
	close(sv[0]);
	control_close(ctl);
	return 0;
}
