// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * aopeer - the Linux TCP-AO peer of tcpao's interop tests, run in the guest
 * that tests/vm/build-guest.sh builds. It uses only Linux's own TCP-AO
 * socket API (TCP_AO_ADD_KEY, TCP_AO_INFO, TCP_AO_GET_KEYS; Linux 6.7+,
 * Documentation/networking/tcp_ao.rst) and reports what the kernel says.
 *
 *   aopeer listen  [options] ADDR PORT   accept --count connections, echo
 *   aopeer connect [options] ADDR PORT   connect, send --bytes, check echo
 *
 *   --key SNDID:RCVID:ALG:SECRET[:PEER[/LEN]]   an MKT (repeatable, <= 16);
 *            SECRET is text or 0xHEX; PEER defaults to the remote address
 *            (connect) or any address of the family (listen)
 *   --maclen N            MAC length of every key (0: the kernel's, 12)
 *   --exclude-options     TCP_AO_KEYF_EXCLUDE_OPT on every key
 *   --current SNDID       connect: the first Current_key (default: 1st key)
 *   --ao-required, --accept-icmps   TCP_AO_INFO flags
 *   --bytes N             connect: bytes to send (default 4096);
 *                         listen: exactly N must arrive (default: any)
 *   --rotate-to SNDID     after --rotate-after K bytes (default: half of
 *                         --bytes) set Current_key SNDID / RNext its RCVID
 *   --rotate-set both|current|rnext   which of the two (default both)
 *   --bind ADDR           connect: local address
 *   --count N             listen: connections to serve (default 1; 0: until
 *                         --wait runs out)
 *   --wait S              listen: seconds to wait for each connection
 *   --timeout S           give up after S seconds (exit 3)
 *   --expect-fail         success is that no exchange happened
 *
 * Data: byte i of a stream is i % 251; the client sends 1024-byte chunks
 * and checks each echo before the next, the server echoes and checks.
 * Output on stdout, one name=value a line: listen.ready=1 once listening,
 * then per connection connN.{peer,bytes_in,bytes_out,bytes_verified,
 * rotated}, connN.ao.{current_key,rnext,ao_required,accept_icmps,pkt_good,
 * pkt_bad,pkt_key_not_found,pkt_ao_required,pkt_dropped_icmp}, connN.nkeys
 * and connN.keyI.{sndid,rcvid,alg,maclen,flags,current,rnext,pkt_good,
 * pkt_bad}; listen.ao.* for the listener; and last result=ok|fail|timeout|
 * failed-as-expected|unexpected-success.
 * Exit: 0 ok, 1 failed, 2 usage, 3 timeout, 4 system error.
 *
 * The uAPI structures are declared here with Linux's layout (checked by
 * size), so that any libc's headers do.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SO_TCP_AO_ADD_KEY	38
#define SO_TCP_AO_INFO		40
#define SO_TCP_AO_GET_KEYS	41
#define AO_KEYF_EXCLUDE_OPT	(1 << 1)
#define AO_MAXKEYLEN		80
#define MAXKEYS			16
#define CHUNK			1024

struct ao_add {				/* struct tcp_ao_add */
	struct sockaddr_storage addr;
	char alg_name[64];
	int32_t ifindex;
	uint32_t set_current : 1, set_rnext : 1, reserved : 30;
	uint16_t reserved2;
	uint8_t prefix, sndid, rcvid, maclen, keyflags, keylen;
	uint8_t key[AO_MAXKEYLEN];
} __attribute__((aligned(8)));

struct ao_info {			/* struct tcp_ao_info_opt */
	uint32_t set_current : 1, set_rnext : 1, ao_required : 1,
		 set_counters : 1, accept_icmps : 1, reserved : 27;
	uint16_t reserved2;
	uint8_t current_key, rnext;
	uint64_t pkt_good, pkt_bad, pkt_key_not_found, pkt_ao_required,
		 pkt_dropped_icmp;
} __attribute__((aligned(8)));

struct ao_get {				/* struct tcp_ao_getsockopt */
	struct sockaddr_storage addr;
	char alg_name[64];
	uint8_t key[AO_MAXKEYLEN];
	uint32_t nkeys;
	uint16_t is_current : 1, is_rnext : 1, get_all : 1, reserved : 13;
	uint8_t sndid, rcvid, prefix, maclen, keyflags, keylen;
	int32_t ifindex;
	uint64_t pkt_good, pkt_bad;
} __attribute__((aligned(8)));

_Static_assert(sizeof(struct ao_add) == 288, "tcp_ao_add");
_Static_assert(sizeof(struct ao_info) == 48, "tcp_ao_info_opt");
_Static_assert(sizeof(struct ao_get) == 304, "tcp_ao_getsockopt");

struct keyspec {
	struct ao_add add;
	const char *peer;	/* NULL: the default for the mode */
};

static struct {
	bool listen, exclude, ao_required, accept_icmps, expect_fail;
	struct keyspec keys[MAXKEYS];
	int nkeys, maclen, current, rotate_to;
	const char *rotate_set, *bind;
	long long bytes, rotate_after;	/* -1: not given */
	int count, wait, timeout;
	struct sockaddr_storage addr;
	socklen_t addrlen;
} opt = { .current = -1, .rotate_to = -1, .rotate_set = "both",
	  .bytes = -1, .rotate_after = -1, .count = 1, .wait = 60,
	  .timeout = 300 };

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static void usage(const char *why)
{
	fprintf(stderr, "aopeer: %s\nusage: aopeer listen|connect [options] ADDR PORT "
		"(see the head of tests/vm/guest/aopeer.c)\n", why);
	exit(2);
}

static long long num(const char *s, long long max)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno || end == s || *end || v < 0 || v > max)
		usage("bad number");
	return v;
}

/* ADDR[/LEN] with PORT (or 0) into @ss; returns the prefix length. */
static int parse_addr(const char *s, uint16_t port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	int plen = -1;

	if (strlen(s) >= sizeof(buf))
		usage("address too long");
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = 0;
		plen = num(slash + 1, 128);
	}
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, buf, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*len = sizeof(*sin);
		return plen < 0 ? 32 : plen;
	}
	if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*len = sizeof(*sin6);
		return plen < 0 ? 128 : plen;
	}
	usage("bad address");
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* SNDID:RCVID:ALG:SECRET[:PEER[/LEN]] */
static void parse_key(const char *spec)
{
	struct keyspec *k;
	char *s, *f[4], *rest;
	size_t n;

	if (opt.nkeys == MAXKEYS)
		usage("too many keys");
	k = &opt.keys[opt.nkeys++];
	s = strdup(spec);
	rest = s;
	for (int i = 0; i < 4; i++) {
		f[i] = rest;
		rest = strchr(rest, ':');
		if (rest)
			*rest++ = 0;
		else if (i < 3)
			usage("--key wants SNDID:RCVID:ALG:SECRET[:PEER]");
		else
			break;
	}
	k->peer = rest;		/* everything after the 4th ':', IPv6 included */
	k->add.sndid = num(f[0], 255);
	k->add.rcvid = num(f[1], 255);
	if (strlen(f[2]) >= sizeof(k->add.alg_name))
		usage("algorithm name too long");
	strcpy(k->add.alg_name, f[2]);
	n = strlen(f[3]);
	if (n > 2 && f[3][0] == '0' && (f[3][1] | 0x20) == 'x') {
		if (n % 2 || (n - 2) / 2 > AO_MAXKEYLEN)
			usage("bad hex secret");
		for (size_t i = 2; i < n; i += 2) {
			int hi = hexval(f[3][i]), lo = hexval(f[3][i + 1]);

			if (hi < 0 || lo < 0)
				usage("bad hex secret");
			k->add.key[k->add.keylen++] = hi << 4 | lo;
		}
	} else {
		if (n > AO_MAXKEYLEN)
			usage("secret too long");
		memcpy(k->add.key, f[3], n);
		k->add.keylen = n;
	}
}

static void parse(int argc, char **argv)
{
	int i;

	if (argc < 2)
		usage("no mode");
	if (!strcmp(argv[1], "listen"))
		opt.listen = true;
	else if (strcmp(argv[1], "connect"))
		usage("mode is listen or connect");
	for (i = 2; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--exclude-options")) {
			opt.exclude = true;
			continue;
		} else if (!strcmp(o, "--ao-required")) {
			opt.ao_required = true;
			continue;
		} else if (!strcmp(o, "--accept-icmps")) {
			opt.accept_icmps = true;
			continue;
		} else if (!strcmp(o, "--expect-fail")) {
			opt.expect_fail = true;
			continue;
		}
		if (!v)
			usage("option without its value");
		i++;
		if (!strcmp(o, "--key"))
			parse_key(v);
		else if (!strcmp(o, "--maclen"))
			opt.maclen = num(v, 255);
		else if (!strcmp(o, "--current"))
			opt.current = num(v, 255);
		else if (!strcmp(o, "--bytes"))
			opt.bytes = num(v, 1LL << 40);
		else if (!strcmp(o, "--rotate-to"))
			opt.rotate_to = num(v, 255);
		else if (!strcmp(o, "--rotate-after"))
			opt.rotate_after = num(v, 1LL << 40);
		else if (!strcmp(o, "--rotate-set"))
			opt.rotate_set = v;
		else if (!strcmp(o, "--bind"))
			opt.bind = v;
		else if (!strcmp(o, "--count"))
			opt.count = num(v, 1000000);
		else if (!strcmp(o, "--wait"))
			opt.wait = num(v, 86400);
		else if (!strcmp(o, "--timeout"))
			opt.timeout = num(v, 86400);
		else
			usage("unknown option");
	}
	if (argc - i != 2)
		usage("want ADDR PORT after the options");
	if (!opt.nkeys)
		usage("no --key");
	if (strcmp(opt.rotate_set, "both") && strcmp(opt.rotate_set, "current") &&
	    strcmp(opt.rotate_set, "rnext"))
		usage("--rotate-set both|current|rnext");
	parse_addr(argv[i], num(argv[i + 1], 65535), &opt.addr, &opt.addrlen);
	if (!opt.listen && opt.bytes < 0)
		opt.bytes = 4096;
	if (opt.rotate_to >= 0 && opt.rotate_after < 0)
		opt.rotate_after = opt.bytes > 0 ? opt.bytes / 2 : 0;
}

static int add_keys(int fd)
{
	int first = opt.current >= 0 ? -1 : 0;

	for (int i = 0; i < opt.nkeys; i++) {
		struct ao_add a = opt.keys[i].add;
		socklen_t len;
		int plen;

		if (opt.keys[i].peer) {
			plen = parse_addr(opt.keys[i].peer, 0, &a.addr, &len);
		} else if (opt.listen) {
			memset(&a.addr, 0, sizeof(a.addr));
			a.addr.ss_family = opt.addr.ss_family;
			plen = 0;
		} else {
			memcpy(&a.addr, &opt.addr, opt.addrlen);
			((struct sockaddr_in *)&a.addr)->sin_port = 0; /* v6 alike */
			plen = opt.addr.ss_family == AF_INET ? 32 : 128;
		}
		a.prefix = plen;
		a.maclen = opt.maclen;
		if (opt.exclude)
			a.keyflags |= AO_KEYF_EXCLUDE_OPT;
		/* a listener has no Current/RNext: the SYN chooses them */
		if (!opt.listen && (i == first || a.sndid == opt.current))
			a.set_current = a.set_rnext = 1;
		if (setsockopt(fd, IPPROTO_TCP, SO_TCP_AO_ADD_KEY, &a, sizeof(a)) < 0) {
			fprintf(stderr, "aopeer: TCP_AO_ADD_KEY %u:%u %s: %s\n", a.sndid,
				a.rcvid, a.alg_name, strerror(errno));
			return -1;
		}
	}
	if (opt.ao_required || opt.accept_icmps) {
		struct ao_info in = { 0 };
		socklen_t len = sizeof(in);

		if (getsockopt(fd, IPPROTO_TCP, SO_TCP_AO_INFO, &in, &len) < 0)
			return perror("aopeer: TCP_AO_INFO"), -1;
		in.set_current = in.set_rnext = in.set_counters = 0;
		in.ao_required |= opt.ao_required;
		in.accept_icmps |= opt.accept_icmps;
		if (setsockopt(fd, IPPROTO_TCP, SO_TCP_AO_INFO, &in, sizeof(in)) < 0)
			return perror("aopeer: TCP_AO_INFO"), -1;
	}
	return 0;
}

static void report(int fd, const char *pfx)
{
	struct ao_info in = { 0 };
	struct ao_get keys[MAXKEYS];
	socklen_t len = sizeof(in);

	if (getsockopt(fd, IPPROTO_TCP, SO_TCP_AO_INFO, &in, &len) < 0) {
		printf("%s.ao.error=%s\n", pfx, strerror(errno));
	} else {
		printf("%s.ao.current_key=%u\n%s.ao.rnext=%u\n", pfx, in.current_key, pfx,
		       in.rnext);
		printf("%s.ao.ao_required=%u\n%s.ao.accept_icmps=%u\n", pfx, in.ao_required,
		       pfx, in.accept_icmps);
		printf("%s.ao.pkt_good=%llu\n%s.ao.pkt_bad=%llu\n", pfx,
		       (unsigned long long)in.pkt_good, pfx, (unsigned long long)in.pkt_bad);
		printf("%s.ao.pkt_key_not_found=%llu\n%s.ao.pkt_ao_required=%llu\n", pfx,
		       (unsigned long long)in.pkt_key_not_found, pfx,
		       (unsigned long long)in.pkt_ao_required);
		printf("%s.ao.pkt_dropped_icmp=%llu\n", pfx,
		       (unsigned long long)in.pkt_dropped_icmp);
	}
	memset(keys, 0, sizeof(keys));
	keys[0].nkeys = MAXKEYS;
	keys[0].get_all = 1;
	/* optlen is the size of ONE struct: Linux writes key i at i * optlen */
	len = sizeof(keys[0]);
	if (getsockopt(fd, IPPROTO_TCP, SO_TCP_AO_GET_KEYS, keys, &len) < 0) {
		printf("%s.keys.error=%s\n", pfx, strerror(errno));
		return;
	}
	printf("%s.nkeys=%u\n", pfx, keys[0].nkeys);
	for (unsigned int i = 0; i < keys[0].nkeys && i < MAXKEYS; i++) {
		struct ao_get *k = &keys[i];

		printf("%s.key%u.sndid=%u\n%s.key%u.rcvid=%u\n", pfx, i, k->sndid, pfx, i,
		       k->rcvid);
		printf("%s.key%u.alg=%s\n%s.key%u.maclen=%u\n%s.key%u.flags=%u\n", pfx, i,
		       k->alg_name, pfx, i, k->maclen, pfx, i, k->keyflags);
		printf("%s.key%u.current=%u\n%s.key%u.rnext=%u\n", pfx, i, k->is_current, pfx,
		       i, k->is_rnext);
		printf("%s.key%u.pkt_good=%llu\n%s.key%u.pkt_bad=%llu\n", pfx, i,
		       (unsigned long long)k->pkt_good, pfx, i, (unsigned long long)k->pkt_bad);
	}
}

/* TCP_AO_INFO is written whole: read it, change the keys, write it back. */
static int rotate(int fd)
{
	struct ao_info in = { 0 };
	socklen_t len = sizeof(in);
	int rcvid = -1;

	for (int i = 0; i < opt.nkeys; i++)
		if (opt.keys[i].add.sndid == opt.rotate_to)
			rcvid = opt.keys[i].add.rcvid;
	if (rcvid < 0) {
		fprintf(stderr, "aopeer: --rotate-to %d: no such key\n", opt.rotate_to);
		return -1;
	}
	if (getsockopt(fd, IPPROTO_TCP, SO_TCP_AO_INFO, &in, &len) < 0)
		return perror("aopeer: TCP_AO_INFO"), -1;
	in.set_current = strcmp(opt.rotate_set, "rnext") != 0;
	in.set_rnext = strcmp(opt.rotate_set, "current") != 0;
	in.set_counters = 0;
	in.current_key = opt.rotate_to;
	in.rnext = rcvid;
	if (setsockopt(fd, IPPROTO_TCP, SO_TCP_AO_INFO, &in, sizeof(in)) < 0)
		return perror("aopeer: rotate: TCP_AO_INFO"), -1;
	return 0;
}

static bool check(const uint8_t *p, size_t n, long long off)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (off + i) % 251)
			return false;
	return true;
}

struct conn {
	long long in, out, verified;
	bool rotated, bad_data;
};

/* Server side: echo until EOF, check the data, rotate on the way. */
static int serve(int fd, struct conn *c)
{
	uint8_t buf[16384];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR && !timed_out)
				continue;
			perror(timed_out ? "aopeer: read: timed out" : "aopeer: read");
			return -1;
		}
		if (!c->bad_data && check(buf, n, c->in))
			c->verified += n;
		else
			c->bad_data = true;
		c->in += n;
		for (ssize_t w = 0; w < n;) {
			ssize_t r = write(fd, buf + w, n - w);

			if (r < 0) {
				if (errno == EINTR && !timed_out)
					continue;
				perror("aopeer: write");
				return -1;
			}
			w += r;
			c->out += r;
		}
		if (opt.rotate_to >= 0 && !c->rotated && c->in >= opt.rotate_after) {
			if (rotate(fd) < 0)
				return -1;
			c->rotated = true;
		}
	}
}

static int xfer(int fd, uint8_t *p, size_t n, bool out)
{
	while (n) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR && !timed_out)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EPIPE;
			else if (timed_out)
				errno = ETIMEDOUT;
			fprintf(stderr, "aopeer: %s: %s\n", out ? "write" : "read",
				r == 0 ? "connection closed by peer" : strerror(errno));
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

/* Client side: lock-step echo of --bytes, rotating on the way. */
static int drive(int fd, struct conn *c)
{
	uint8_t out[CHUNK], in[CHUNK], eof;

	while (c->out < opt.bytes) {
		size_t n = opt.bytes - c->out < CHUNK ? opt.bytes - c->out : CHUNK;

		if (opt.rotate_to >= 0 && !c->rotated && c->out >= opt.rotate_after) {
			if (rotate(fd) < 0)
				return -1;
			c->rotated = true;
		}
		for (size_t i = 0; i < n; i++)
			out[i] = (c->out + i) % 251;
		if (xfer(fd, out, n, true) < 0)
			return -1;
		c->out += n;
		if (xfer(fd, in, n, false) < 0)
			return -1;
		c->in += n;
		if (memcmp(in, out, n)) {
			fprintf(stderr, "aopeer: echo differs at %lld\n", c->in - (long long)n);
			c->bad_data = true;
			return -1;
		}
		c->verified += n;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &eof, 1) != 0) {
		fprintf(stderr, "aopeer: no clean end of stream\n");
		return -1;
	}
	return 0;
}

static void conn_report(int fd, int i, const struct conn *c, const char *peer)
{
	char pfx[32];

	snprintf(pfx, sizeof(pfx), "conn%d", i);
	printf("%s.peer=%s\n%s.bytes_in=%lld\n%s.bytes_out=%lld\n", pfx, peer, pfx, c->in,
	       pfx, c->out);
	printf("%s.bytes_verified=%lld\n%s.rotated=%d\n", pfx, c->verified, pfx, c->rotated);
	report(fd, pfx);
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	const void *a = ss->ss_family == AF_INET ?
		(const void *)&((const struct sockaddr_in *)ss)->sin_addr :
		(const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;

	return inet_ntop(ss->ss_family, a, buf, len) ? buf : "?";
}

static const char *do_connect(void)
{
	struct conn c = { 0 };
	char peer[INET6_ADDRSTRLEN];
	int fd = socket(opt.addr.ss_family, SOCK_STREAM, 0), rc;

	if (fd < 0)
		return perror("aopeer: socket"), "error";
	if (opt.bind) {
		struct sockaddr_storage b;
		socklen_t blen;

		parse_addr(opt.bind, 0, &b, &blen);
		if (bind(fd, (struct sockaddr *)&b, blen) < 0)
			return perror("aopeer: bind"), "error";
	}
	if (add_keys(fd) < 0)
		return "error";
	if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0) {
		fprintf(stderr, "aopeer: connect: %s\n",
			timed_out ? "timed out" : strerror(errno));
		report(fd, "conn1");
		return timed_out ? "timeout" : "fail";
	}
	rc = drive(fd, &c);
	conn_report(fd, 1, &c, addr_str(&opt.addr, peer, sizeof(peer)));
	close(fd);
	if (rc < 0)
		return timed_out ? "timeout" : "fail";
	return "ok";
}

static const char *do_listen(void)
{
	int one = 1, served = 0, fd = socket(opt.addr.ss_family, SOCK_STREAM, 0);
	bool failed = false;

	if (fd < 0)
		return perror("aopeer: socket"), "error";
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0 || listen(fd, 16) < 0)
		return perror("aopeer: bind/listen"), "error";
	if (add_keys(fd) < 0)
		return "error";
	printf("listen.ready=1\n");
	fflush(stdout);
	while (opt.count == 0 || served < opt.count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		char peer[INET6_ADDRSTRLEN];
		struct conn c = { 0 };
		int r = poll(&p, 1, opt.wait * 1000), cfd;

		if (r < 0 && errno == EINTR && !timed_out)
			continue;
		if (r <= 0) {
			if (opt.count)	/* fewer connections than asked for */
				failed = true;
			if (opt.count || r < 0)
				fprintf(stderr, "aopeer: no connection %d: %s\n", served + 1,
					timed_out ? "timed out" : r ? strerror(errno) :
					"--wait expired");
			break;
		}
		cfd = accept(fd, (struct sockaddr *)&from, &flen);
		if (cfd < 0)
			continue;
		served++;
		if (serve(cfd, &c) < 0 || c.bad_data || (opt.bytes >= 0 && c.in != opt.bytes)) {
			if (opt.bytes >= 0 && c.in != opt.bytes)
				fprintf(stderr, "aopeer: conn%d: %lld bytes, not %lld\n", served,
					c.in, opt.bytes);
			failed = true;
		}
		conn_report(cfd, served, &c, addr_str(&from, peer, sizeof(peer)));
		close(cfd);
		fflush(stdout);
		if (timed_out)
			break;
	}
	report(fd, "listen");
	close(fd);
	if (timed_out)
		return "timeout";
	if (!served && !opt.expect_fail)
		return "fail";
	return failed ? "fail" : "ok";
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	const char *res;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	parse(argc, argv);
	sigaction(SIGALRM, &sa, NULL);
	alarm(opt.timeout);
	res = opt.listen ? do_listen() : do_connect();
	if (opt.expect_fail) {
		bool ok = !strcmp(res, "ok");

		printf("result=%s\n", ok ? "unexpected-success" : "failed-as-expected");
		return ok ? 1 : 0;
	}
	printf("result=%s\n", res);
	if (!strcmp(res, "ok"))
		rc = 0;
	else if (!strcmp(res, "timeout"))
		rc = 3;
	else if (!strcmp(res, "error"))
		rc = 4;
	else
		rc = 1;
	return rc;
}
