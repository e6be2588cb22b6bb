// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The VRF suite's TCP ends in the guest (static: the guest has no shared
 * libc of its own; busybox's nc cannot bind to a device).
 *
 *   vrfpeer serve PORT [DEV [COUNT]]     echo COUNT (1) connections
 *   vrfpeer connect ADDR PORT [DEV [S]]  send 4000 bytes, want them back
 *
 * The server takes IPv4 and IPv6 (a dual-stack socket); ADDR is either.
 *
 * DEV: SO_BINDTODEVICE (a VRF device: the socket lives in that VRF; "-"
 * for none). Every wait is bounded: the process ends after 60 s (serve)
 * or S seconds (connect, default 10) with status 124. Status 0: all
 * echoed and checked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BYTES 4000

static void on_alarm(int sig)
{
	(void)sig;
	_exit(124);
}

static int tcp_socket(int family, const char *dev)
{
	int fd = socket(family, SOCK_STREAM, 0), one = 1;

	if (fd < 0) {
		perror("socket");
		exit(1);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (dev && strcmp(dev, "-") &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, (socklen_t)strlen(dev) + 1)) {
		perror("SO_BINDTODEVICE");
		exit(1);
	}
	return fd;
}

static int serve(int port, const char *dev, int count)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int fd = tcp_socket(AF_INET6, dev), zero = 0;
	char buf[4096];

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));

	alarm(60);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		perror("bind/listen");
		return 1;
	}
	printf("listening %d %s\n", port, dev ? dev : "-");
	fflush(stdout);
	while (count-- > 0) {
		int c = accept(fd, NULL, NULL);
		ssize_t n;

		if (c < 0) {
			perror("accept");
			return 1;
		}
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				break;
		close(c);
	}
	return 0;
}

static int connect_to(const char *addr, int port, const char *dev, int secs)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in6 sa6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	struct sockaddr *to = (struct sockaddr *)&sa;
	socklen_t tolen = sizeof(sa);
	static char out[BYTES], in[BYTES];
	size_t got = 0;
	int fd;

	alarm((unsigned int)secs);
	if (inet_pton(AF_INET6, addr, &sa6.sin6_addr) == 1) {
		to = (struct sockaddr *)&sa6;
		tolen = sizeof(sa6);
	} else if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		return 2;
	}
	fd = tcp_socket(to->sa_family, dev);
	for (size_t i = 0; i < BYTES; i++)
		out[i] = (char)('a' + i % 26);
	if (connect(fd, to, tolen)) {
		perror("connect");
		return 1;
	}
	if (write(fd, out, BYTES) != BYTES)
		return 1;
	shutdown(fd, SHUT_WR);
	while (got < BYTES) {
		ssize_t n = read(fd, in + got, BYTES - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != BYTES || memcmp(in, out, BYTES)) {
		fprintf(stderr, "echo: %zu of %d bytes back, or different\n", got, BYTES);
		return 1;
	}
	printf("echoed %d bytes\n", BYTES);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGALRM, on_alarm);
	if (argc >= 3 && !strcmp(argv[1], "serve"))
		return serve(atoi(argv[2]), argc > 3 ? argv[3] : NULL,
			     argc > 4 ? atoi(argv[4]) : 1);
	if (argc >= 4 && !strcmp(argv[1], "connect"))
		return connect_to(argv[2], atoi(argv[3]), argc > 4 ? argv[4] : NULL,
				  argc > 5 ? atoi(argv[5]) : 10);
	fprintf(stderr, "usage: vrfpeer serve PORT [DEV [COUNT]] | "
		"connect ADDR PORT [DEV [SECONDS]]\n");
	return 2;
}
