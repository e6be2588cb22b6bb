// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpbench: the TCP endpoints of bench/throughput. One program for every
 * variant, so that plain TCP, kernel TCP-MD5 and tcpao are measured with
 * the same code; only the socket options differ.
 *
 *   tcpbench serve ADDR PORT [--md5 PEER,SECRET] [--close]
 *   tcpbench bulk|rr|connect ADDR PORT [--seconds S] [--bind SRC]
 *                                      [--md5 SECRET] [--size N]
 *
 * The server handles one connection at a time; the first byte says what
 * the client wants: 'B' bulk (count bytes to EOF, answer with the count,
 * the time and the server's CPU), 'P' ping-pong (echo to EOF). A server
 * with --close closes each connection at once, for the connection-rate
 * test: it closes first, so the TIME-WAIT states stay on the server and
 * the client's ports are free again at once. Each client mode prints one
 * line of key=value pairs for the script.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define BULK_BUF (128 * 1024)
#define RR_MAX_SAMPLES (1 << 21)
#define IO_TIMEOUT_S 10

struct bulk_result { /* server -> client after a bulk transfer */
	uint64_t bytes, ns, cpu_ns;
};

struct opts {
	const char *mode, *addr, *bind, *md5_peer, *md5_secret;
	int port;
	double seconds;
	size_t size;
	bool close_at_once;
};

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "tcpbench: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* User + system CPU of this process, in ns (includes the softirq work the
 * kernel does in our context, e.g. the veth receive path). */
static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
		       1000000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* ADDR (IPv4 or IPv6) and PORT into a sockaddr; returns its length. */
static socklen_t make_addr(const char *addr, int port,
			   struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		return sizeof(*sin6);
	}
	die("not an address: %s", addr);
	return 0;
}

/* Kernel TCP-MD5 (RFC 2385) for segments to and from PEER. */
static void set_md5(int fd, const char *peer, const char *secret)
{
	struct tcp_md5sig md5;
	size_t len = strlen(secret);

	if (len > TCP_MD5SIG_MAXKEYLEN)
		die("md5 secret longer than %d bytes", TCP_MD5SIG_MAXKEYLEN);
	memset(&md5, 0, sizeof(md5));
	make_addr(peer, 0, &md5.tcpm_addr);
	md5.tcpm_keylen = (uint16_t)len;
	memcpy(md5.tcpm_key, secret, len);
	if (setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)))
		die("TCP_MD5SIG: %s", strerror(errno));
}

static void set_timeouts(int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			die("write: %s", n ? strerror(errno) : "closed");
		p += n;
		len -= (size_t)n;
	}
}

/* Reads exactly len bytes; false on EOF before the first byte. */
static bool read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, p + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("read: %s", strerror(errno));
		if (n == 0) {
			if (got)
				die("read: closed after %zu of %zu bytes", got,
				    len);
			return false;
		}
		got += (size_t)n;
	}
	return true;
}

/* ---- server ------------------------------------------------------------ */

static void serve_bulk(int fd, char *buf)
{
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	struct bulk_result r = { .bytes = 1 }; /* the mode byte */
	ssize_t n;

	while ((n = read(fd, buf, BULK_BUF)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tcpbench: bulk read: %s\n",
				strerror(errno));
			return;
		}
		r.bytes += (uint64_t)n;
	}
	r.ns = now_ns() - t0;
	r.cpu_ns = cpu_ns() - c0;
	write_all(fd, &r, sizeof(r));
}

static void serve_echo(int fd, char *buf)
{
	ssize_t n;

	while ((n = read(fd, buf, BULK_BUF)) > 0)
		write_all(fd, buf, (size_t)n);
}

static void serve_one(int fd, char *buf)
{
	char mode;
	ssize_t n;
	int one = 1;

	set_timeouts(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	n = read(fd, &mode, 1);
	if (n == 1 && mode == 'B')
		serve_bulk(fd, buf);
	else if (n == 1 && mode == 'P')
		serve_echo(fd, buf);
}

static _Noreturn void serve(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t len = make_addr(o->addr, o->port, &ss);
	char *buf = malloc(BULK_BUF);
	int one = 1, fd;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !buf)
		die("socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->md5_peer)
		set_md5(fd, o->md5_peer, o->md5_secret);
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1024))
		die("listen on %s port %d: %s", o->addr, o->port,
		    strerror(errno));
	for (;;) {
		int c = accept(fd, NULL, NULL);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept: %s", strerror(errno));
		}
		if (!o->close_at_once)
			serve_one(c, buf);
		close(c);
	}
}

/* ---- clients ----------------------------------------------------------- */

static int dial(const struct opts *o)
{
	struct sockaddr_storage ss, src;
	socklen_t len = make_addr(o->addr, o->port, &ss);
	int one = 1, fd;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	set_timeouts(fd);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->bind) {
		socklen_t slen = make_addr(o->bind, 0, &src);

		if (bind(fd, (struct sockaddr *)&src, slen))
			die("bind %s: %s", o->bind, strerror(errno));
	}
	if (o->md5_secret)
		set_md5(fd, o->addr, o->md5_secret);
	if (connect(fd, (struct sockaddr *)&ss, len))
		die("connect %s port %d: %s", o->addr, o->port,
		    strerror(errno));
	return fd;
}

static int run_bulk(const struct opts *o)
{
	char *buf = calloc(1, BULK_BUF);
	int fd = dial(o);
	uint64_t c0 = cpu_ns(), t0 = now_ns();
	uint64_t end = t0 + (uint64_t)(o->seconds * 1e9), sent = 0;
	struct bulk_result r;

	if (!buf)
		die("out of memory");
	buf[0] = 'B';
	while (now_ns() < end) {
		write_all(fd, buf, BULK_BUF);
		sent += BULK_BUF;
	}
	shutdown(fd, SHUT_WR);
	if (!read_all(fd, &r, sizeof(r)))
		die("bulk: no result from the server");
	if (r.bytes != sent)
		die("bulk: sent %llu bytes, server got %llu",
		    (unsigned long long)sent, (unsigned long long)r.bytes);
	printf("bytes=%llu seconds=%.3f MBps=%.1f client_cpu=%.3f "
	       "server_cpu=%.3f\n",
	       (unsigned long long)r.bytes, r.ns / 1e9,
	       r.bytes / (r.ns / 1e9) / 1e6, (cpu_ns() - c0) / 1e9,
	       r.cpu_ns / 1e9);
	close(fd);
	free(buf);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double percentile_us(const uint64_t *sorted, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return sorted[i] / 1e3;
}

static int run_rr(const struct opts *o)
{
	uint64_t *rtt = malloc(RR_MAX_SAMPLES * sizeof(*rtt));
	char *msg = calloc(1, o->size), *back = malloc(o->size);
	int fd = dial(o);
	uint64_t end = now_ns() + (uint64_t)(o->seconds * 1e9);
	size_t n = 0;

	if (!rtt || !msg || !back)
		die("out of memory");
	write_all(fd, "P", 1);
	while (n < RR_MAX_SAMPLES) {
		uint64_t t0 = now_ns();

		if (t0 >= end)
			break;
		write_all(fd, msg, o->size);
		if (!read_all(fd, back, o->size))
			die("rr: server closed");
		rtt[n++] = now_ns() - t0;
	}
	close(fd);
	if (!n)
		die("rr: no sample");
	qsort(rtt, n, sizeof(*rtt), cmp_u64);
	printf("count=%zu p50_us=%.1f p99_us=%.1f\n", n,
	       percentile_us(rtt, n, 0.50), percentile_us(rtt, n, 0.99));
	free(rtt);
	free(msg);
	free(back);
	return 0;
}

/* Sequential connections to a --close server: connect, wait for the
 * server's FIN, close. A connection's setup and teardown, one at a time. */
static int run_connect(const struct opts *o)
{
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(o->seconds * 1e9), t;
	size_t n = 0;
	char c;

	do {
		int fd = dial(o);

		if (read(fd, &c, 1) != 0)
			die("connect: expected the server to close");
		close(fd);
		n++;
		t = now_ns();
	} while (t < end);
	printf("count=%zu seconds=%.3f per_s=%.0f\n", n, (t - t0) / 1e9,
	       n / ((t - t0) / 1e9));
	return 0;
}

/* ---- command line ------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: tcpbench serve ADDR PORT [--md5 PEER,SECRET] [--close]\n"
		"       tcpbench bulk|rr|connect ADDR PORT [--seconds S] "
		"[--bind SRC] [--md5 SECRET] [--size N]\n");
	exit(2);
}

static void parse_md5_peer(struct opts *o, char *arg)
{
	char *comma = strchr(arg, ',');

	if (!comma)
		usage();
	*comma = '\0';
	o->md5_peer = arg;
	o->md5_secret = comma + 1;
}

int main(int argc, char **argv)
{
	struct opts o = { .seconds = 2, .size = 64 };

	if (argc < 4)
		usage();
	o.mode = argv[1];
	o.addr = argv[2];
	o.port = atoi(argv[3]);
	for (int i = 4; i < argc; i++) {
		if (!strcmp(argv[i], "--close")) {
			o.close_at_once = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			o.seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bind"))
			o.bind = argv[++i];
		else if (!strcmp(argv[i], "--size"))
			o.size = (size_t)atol(argv[++i]);
		else if (!strcmp(argv[i], "--md5") && !strcmp(o.mode, "serve"))
			parse_md5_peer(&o, argv[++i]);
		else if (!strcmp(argv[i], "--md5"))
			o.md5_secret = argv[++i];
		else
			usage();
	}
	if (o.port <= 0 || o.port > 65535 || o.seconds <= 0 || !o.size ||
	    o.size > BULK_BUF)
		usage();
	if (!strcmp(o.mode, "serve"))
		serve(&o);
	if (!strcmp(o.mode, "bulk"))
		return run_bulk(&o);
	if (!strcmp(o.mode, "rr"))
		return run_rr(&o);
	if (!strcmp(o.mode, "connect"))
		return run_connect(&o);
	usage();
	return 2;
}
