// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * A TCP-AO listener with keys for several peers, as a BGP daemon sets up
 * its passive socket: one MKT per (peer, key id), added before listen().
 * Each accepted connection gets the listener's keys that match its peer
 * (Linux copies them; so does libtcpao) and is echoed back until EOF.
 *
 *   listener PORT PEER ID SECRET [PEER ID SECRET ...]
 *   listener 1790 198.18.0.2 1 old-secret 198.18.0.2 2 new-secret \
 *                 198.18.0.3 1 other-peer
 *
 * The code is the same on a kernel with CONFIG_TCP_AO: only the header
 * and the library (for kernels without it) are tcpao's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <tcpao/socket.h>

/* One MKT for one peer address (a /32: a BGP neighbour), SendID = RecvID. */
static int add_peer_key(int fd, const char *peer, int id, const char *secret)
{
	struct tcp_ao_add key = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&key.addr;
	size_t len = strlen(secret);

	sin->sin_family = AF_INET;
	if (inet_pton(AF_INET, peer, &sin->sin_addr) != 1 || len > TCP_AO_MAXKEYLEN)
		return -EINVAL;
	strcpy(key.alg_name, "hmac(sha256)");
	key.prefix = 32;
	key.sndid = (__u8)id;
	key.rcvid = (__u8)id;
	key.maclen = 12;  /* RFC 5925's usual 96-bit MAC */
	key.keylen = (__u8)len;
	memcpy(key.key, secret, len);
	return tcpao_sock_add_key(fd, &key);
}

static void echo(int fd)
{
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
}

/* Which keys the connection uses: what to log after a rotation. */
static void show_keys(int fd, const struct sockaddr_in *peer)
{
	struct tcp_ao_info_opt info = { 0 };
	char addr[INET_ADDRSTRLEN];
	int rc = tcpao_sock_get_info(fd, &info);

	inet_ntop(AF_INET, &peer->sin_addr, addr, sizeof(addr));
	if (rc)
		printf("%s: TCP_AO_INFO: %s\n", addr, strerror(-rc));
	else
		printf("%s: current key %u, rnext %u\n", addr, info.current_key, info.rnext);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	int one = 1, fd, rc;

	if (argc < 5 || (argc - 2) % 3) {
		fprintf(stderr, "usage: %s PORT PEER ID SECRET [PEER ID SECRET ...]\n", argv[0]);
		return 2;
	}
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) {
		perror("socket");
		return 1;
	}
	/* Keys first: a listener with keys refuses unsigned SYNs from them. */
	for (int i = 2; i + 2 < argc; i += 3) {
		rc = add_peer_key(fd, argv[i], atoi(argv[i + 1]), argv[i + 2]);
		if (rc) {
			fprintf(stderr, "key %s for %s: %s\n", argv[i + 1], argv[i], strerror(-rc));
			return 1;
		}
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 16)) {
		perror("bind/listen");
		return 1;
	}
	for (;;) {
		struct sockaddr_in peer;
		socklen_t len = sizeof(peer);
		int c = accept(fd, (struct sockaddr *)&peer, &len);

		if (c < 0) {
			perror("accept");
			continue;
		}
		show_keys(c, &peer);
		echo(c);
		show_keys(c, &peer);
		close(c);
	}
}
