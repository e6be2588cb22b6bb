// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aoguest - what the interop tests need from the Linux guest beyond the
 * peer's own aopeer: a TCP-AO client on Linux's socket API that starts its
 * sequence numbers where it is told (TCP_REPAIR + TCP_QUEUE_SEQ before
 * connect, for the SNE rows) and that ends a connection with a RST
 * (SO_LINGER 0) or expects one. Built static on the host, copied into the
 * guest with run.sh --put.
 *
 *   aoguest [options] ADDR PORT
 *     --key SNDID:RCVID:ALG:SECRET   one MKT for ADDR (text secret)
 *     --maclen N                     MAC length (default: Linux's, 12)
 *     --start-seq SEQ                our first sequence number (ISN)
 *     --bytes N                      bytes to echo (1024-byte lock-step)
 *     --reset-after N                after N echoed bytes, close with a RST
 *     --expect-reset                 the peer's RST is the expected end
 *     --timeout S                    give up after S seconds
 *
 * The echo protocol is aopeer's: byte i of the stream is i % 251, each
 * chunk is read back and checked before the next is sent. Output is
 * aopeer's "conn1.name=value" lines (TCP_AO_INFO counters included) and
 * "result=ok|reset-sent|reset-seen|fail". Exit 0 on the expected outcome.
 *
 * The build host's <linux/tcp.h> may predate TCP-AO (Linux 6.7), so the
 * two uAPI structures used here are declared with Linux's layout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define AO_ADD_KEY	38
#define AO_INFO		40
#define AO_MAXKEYLEN	80
#define CHUNK		1024

/* struct tcp_ao_add of <linux/tcp.h> */
struct ao_add {
	struct sockaddr_storage addr;
	char alg_name[64];
	int32_t ifindex;
	uint32_t set_current : 1, set_rnext : 1, reserved : 30;
	uint16_t reserved2;
	uint8_t prefix, sndid, rcvid, maclen, keyflags, keylen;
	uint8_t key[AO_MAXKEYLEN];
} __attribute__((aligned(8)));

/* struct tcp_ao_info_opt of <linux/tcp.h> */
struct ao_info {
	uint32_t set_current : 1, set_rnext : 1, ao_required : 1,
		 set_counters : 1, accept_icmps : 1, reserved : 27;
	uint16_t reserved2;
	uint8_t current_key, rnext;
	uint64_t pkt_good, pkt_bad, pkt_key_not_found, pkt_ao_required,
		 pkt_dropped_icmp;
} __attribute__((aligned(8)));

_Static_assert(sizeof(struct ao_add) == 288, "tcp_ao_add layout");
_Static_assert(sizeof(struct ao_info) == 48, "tcp_ao_info_opt layout");

struct options {
	struct sockaddr_storage peer;
	socklen_t peer_len;
	struct ao_add key;
	bool has_key;
	int maclen;
	bool has_start_seq;
	uint32_t start_seq;
	long long bytes, reset_after;
	bool expect_reset;
	unsigned int timeout;
};

static void usage(void)
{
	fprintf(stderr, "usage: aoguest --key SNDID:RCVID:ALG:SECRET [--maclen N] [--start-seq SEQ]\n"
			"       [--bytes N] [--reset-after N] [--expect-reset] [--timeout S] ADDR PORT\n");
	exit(2);
}

static long long number(const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || *end || v < 0 || v > max)
		usage();
	return v;
}

static void parse_peer(struct options *o, const char *addr, const char *port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&o->peer;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&o->peer;
	uint16_t p = htons(number(port, 65535));

	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = p;
		o->peer_len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = p;
		o->peer_len = sizeof(*sin6);
	} else {
		usage();
	}
}

/* SNDID:RCVID:ALG:SECRET; the peer prefix is filled in once ADDR is known. */
static void parse_key(struct ao_add *k, const char *spec)
{
	char buf[256], *f[4], *save = NULL;
	size_t len;

	if (strlen(spec) >= sizeof(buf))
		usage();
	strcpy(buf, spec);
	for (int i = 0; i < 4; i++) {
		f[i] = strtok_r(i ? NULL : buf, i == 3 ? "" : ":", &save);
		if (!f[i])
			usage();
	}
	k->sndid = number(f[0], 255);
	k->rcvid = number(f[1], 255);
	if (strlen(f[2]) >= sizeof(k->alg_name))
		usage();
	strcpy(k->alg_name, f[2]);
	len = strlen(f[3]);
	if (len > AO_MAXKEYLEN)
		usage();
	memcpy(k->key, f[3], len);
	k->keylen = len;
}

static void parse(struct options *o, int argc, char **argv)
{
	int i;

	o->bytes = 65536;
	o->timeout = 60;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(opt, "--expect-reset")) {
			o->expect_reset = true;
			continue;
		}
		if (!val)
			usage();
		i++;
		if (!strcmp(opt, "--key")) {
			parse_key(&o->key, val);
			o->has_key = true;
		} else if (!strcmp(opt, "--maclen")) {
			o->maclen = number(val, 255);
		} else if (!strcmp(opt, "--start-seq")) {
			o->start_seq = number(val, UINT32_MAX);
			o->has_start_seq = true;
		} else if (!strcmp(opt, "--bytes")) {
			o->bytes = number(val, 1LL << 40);
		} else if (!strcmp(opt, "--reset-after")) {
			o->reset_after = number(val, 1LL << 40);
		} else if (!strcmp(opt, "--timeout")) {
			o->timeout = number(val, 86400);
		} else {
			usage();
		}
	}
	if (argc - i != 2 || !o->has_key)
		usage();
	parse_peer(o, argv[i], argv[i + 1]);
}

static int add_key(int fd, struct options *o)
{
	struct ao_add *k = &o->key;

	memcpy(&k->addr, &o->peer, o->peer_len);
	((struct sockaddr_in *)&k->addr)->sin_port = 0;	/* same offset in v6 */
	k->prefix = o->peer.ss_family == AF_INET ? 32 : 128;
	k->maclen = o->maclen;
	k->set_current = k->set_rnext = 1;
	if (setsockopt(fd, IPPROTO_TCP, AO_ADD_KEY, k, sizeof(*k)) < 0) {
		perror("aoguest: TCP_AO_ADD_KEY");
		return -1;
	}
	return 0;
}

/* Our ISN: write_seq set in repair mode is kept by connect(). */
static int set_start_seq(int fd, uint32_t seq)
{
	int on = 1, off = 0, queue = TCP_SEND_QUEUE;

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &seq, sizeof(seq)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off)) < 0) {
		perror("aoguest: TCP_REPAIR");
		return -1;
	}
	return 0;
}

static void print_info(int fd)
{
	struct ao_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(fd, IPPROTO_TCP, AO_INFO, &info, &len) < 0) {
		printf("conn1.ao.error=%s\n", strerror(errno));
		return;
	}
	printf("conn1.ao.current_key=%u\nconn1.ao.rnext=%u\n", info.current_key, info.rnext);
	printf("conn1.ao.pkt_good=%llu\nconn1.ao.pkt_bad=%llu\n",
	       (unsigned long long)info.pkt_good, (unsigned long long)info.pkt_bad);
	printf("conn1.ao.pkt_key_not_found=%llu\nconn1.ao.pkt_ao_required=%llu\n",
	       (unsigned long long)info.pkt_key_not_found,
	       (unsigned long long)info.pkt_ao_required);
}

static int io_all(int fd, uint8_t *buf, size_t n, bool out)
{
	while (n) {
		ssize_t r = out ? write(fd, buf, n) : read(fd, buf, n);

		if (r <= 0)
			return r == 0 ? (errno = EPIPE, -1) : -1;
		buf += r;
		n -= r;
	}
	return 0;
}

/* Lock-step echo of @total bytes; *off counts the bytes verified. */
static int echo(int fd, long long total, long long *off)
{
	uint8_t out[CHUNK], in[CHUNK];

	while (*off < total) {
		long long o = *off;
		size_t n = total - o < CHUNK ? total - o : CHUNK;

		for (size_t i = 0; i < n; i++)
			out[i] = (o + i) % 251;
		if (io_all(fd, out, n, true) < 0 || io_all(fd, in, n, false) < 0)
			return -1;
		if (memcmp(in, out, n)) {
			fprintf(stderr, "aoguest: echo differs in bytes %lld-%lld\n", o, o + n);
			errno = EBADMSG;
			return -1;
		}
		*off += n;
	}
	return 0;
}

static const char *run(int fd, struct options *o, long long *done)
{
	long long want = o->reset_after ? o->reset_after : o->bytes;
	struct linger abort_close = { .l_onoff = 1, .l_linger = 0 };
	uint8_t c;

	if (connect(fd, (struct sockaddr *)&o->peer, o->peer_len) < 0) {
		perror("aoguest: connect");
		return "fail";
	}
	printf("conn1.connected=yes\n");
	if (echo(fd, want, done) < 0) {
		if (o->expect_reset && (errno == ECONNRESET || errno == EPIPE))
			return "reset-seen";
		perror("aoguest: echo");
		return "fail";
	}
	if (o->reset_after) {
		print_info(fd);	/* before the socket goes */
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_close, sizeof(abort_close));
		return "reset-sent";
	}
	if (o->expect_reset) {	/* the peer resets once it has echoed */
		ssize_t r = read(fd, &c, 1);

		return r < 0 && errno == ECONNRESET ? "reset-seen" : "fail";
	}
	shutdown(fd, SHUT_WR);
	return read(fd, &c, 1) == 0 ? "ok" : "fail";
}

int main(int argc, char **argv)
{
	struct options o = { 0 };
	long long done = 0;
	const char *result;
	int fd;

	parse(&o, argc, argv);
	alarm(o.timeout);	/* SIGALRM ends a stuck run: exit status 142 */
	fd = socket(o.peer.ss_family, SOCK_STREAM, IPPROTO_TCP);
	if (fd < 0 || (o.has_start_seq && set_start_seq(fd, o.start_seq) < 0) ||
	    add_key(fd, &o) < 0)
		return 4;
	result = run(fd, &o, &done);
	printf("conn1.bytes_verified=%lld\n", done);
	if (strcmp(result, "reset-sent"))
		print_info(fd);
	close(fd);
	printf("result=%s\n", result);
	return strcmp(result, "fail") ? 0 : 1;
}
