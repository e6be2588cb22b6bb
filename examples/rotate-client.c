// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A TCP-AO client that rotates its key on a live connection, the way a
 * BGP session moves from one MKT to the next (RFC 5925 section 7.5.2):
 *
 *   1. connect with key 1 (SendID = RecvID = 1);
 *   2. add key 2 (the peer has added it too);
 *   3. set RNext to key 2: our segments ask the peer to sign with it;
 *   4. wait until the peer follows (segments signed with key 2 arrive);
 *   5. delete key 1, moving Current to key 2 in the same call.
 *
 *   rotate-client ADDR PORT OLD-SECRET NEW-SECRET
 *
 * Pairs with examples/listener.c holding both keys for this host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcpao/socket.h>

static struct sockaddr_in peer = { .sin_family = AF_INET };

static int add_key(int fd, int id, const char *secret)
{
	struct tcp_ao_add key = { 0 };
	size_t len = strlen(secret);

	if (len > TCP_AO_MAXKEYLEN)
		return -EINVAL;
	memcpy(&key.addr, &peer, sizeof(peer)); /* port must be 0 */
	((struct sockaddr_in *)&key.addr)->sin_port = 0;
	strcpy(key.alg_name, "hmac(sha256)");
	key.prefix = 32;
	key.sndid = (__u8)id;
	key.rcvid = (__u8)id;
	key.maclen = 12;
	key.keylen = (__u8)len;
	memcpy(key.key, secret, len);
	return tcpao_sock_add_key(fd, &key);
}

/* Segments the peer signed with key id: it sends with that key now. */
static long long received_with(int fd, int id)
{
	struct tcp_ao_getsockopt keys[4] = { 0 };

	keys[0].get_all = 1;
	keys[0].nkeys = 4;
	if (tcpao_sock_get_keys(fd, keys))
		return -1;
	for (unsigned i = 0; i < keys[0].nkeys && i < 4; i++)
		if (keys[i].rcvid == id)
			return (long long)keys[i].pkt_good;
	return -1;
}

/* Some traffic, so the peer sees our RNextKeyID and answers. */
static int ping(int fd)
{
	char buf[16];

	return write(fd, "ping\n", 5) == 5 && read(fd, buf, sizeof(buf)) > 0 ? 0 : -1;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	struct tcp_ao_info_opt info = { 0 };
	struct tcp_ao_del del = { 0 };
	int fd, rc, tries;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &peer.sin_addr) != 1) {
		fprintf(stderr, "usage: %s ADDR PORT OLD-SECRET NEW-SECRET\n", argv[0]);
		return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket", errno);

	/* 1. Key 1 before connect(): the SYN is signed. */
	rc = add_key(fd, 1, argv[3]);
	if (rc)
		return fail("add key 1", -rc);
	peer.sin_port = htons((uint16_t)atoi(argv[2]));
	if (connect(fd, (struct sockaddr *)&peer, sizeof(peer)))
		return fail("connect", errno);

	/* 2. Key 2 beside key 1: nothing changes on the wire yet. */
	rc = add_key(fd, 2, argv[4]);
	if (rc)
		return fail("add key 2", -rc);

	/* 3. Ask the peer to sign with key 2 (its RecvID here). */
	info.set_rnext = 1;
	info.rnext = 2;
	rc = tcpao_sock_set_info(fd, &info);
	if (rc)
		return fail("set rnext", -rc);

	/* 4. Wait (bounded) until segments signed with key 2 arrive. */
	for (tries = 0; tries < 30 && received_with(fd, 2) <= 0; tries++) {
		if (ping(fd))
			return fail("ping", errno);
		sleep(1);
	}
	if (received_with(fd, 2) <= 0)
		return fail("peer did not follow to key 2", ETIMEDOUT);

	/* 5. Key 1 goes; Current moves to key 2 in the same call (deleting
	 * the Current key alone would be EBUSY). */
	memcpy(&del.addr, &peer, sizeof(peer));
	((struct sockaddr_in *)&del.addr)->sin_port = 0;
	del.prefix = 32;
	del.sndid = 1;
	del.rcvid = 1;
	del.set_current = 1;
	del.current_key = 2;
	rc = tcpao_sock_del_key(fd, &del);
	if (rc)
		return fail("delete key 1", -rc);

	memset(&info, 0, sizeof(info));
	rc = tcpao_sock_get_info(fd, &info);
	if (rc)
		return fail("get info", -rc);
	printf("rotated: current key %u, rnext %u\n", info.current_key, info.rnext);
	close(fd);
	return 0;
}
