// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libtcpao-preload.so: Linux's TCP-AO socket options for programs that
 * run on a kernel without CONFIG_TCP_AO (docs/socket-api.md).
 *
 * setsockopt/getsockopt of TCP_AO_* are answered here with Linux's rules
 * (aosock.c) when the kernel answers ENOPROTOOPT (probed once; where the
 * kernel has TCP-AO everything passes through). connect(), listen() and
 * accept() hand the socket's keys to tcpaod (sockctl.c), which signs and
 * verifies its segments. TCP_MD5SIG is watched for the MD5/AO rules, and
 * /proc/.../net/netstat gains Linux's TCPAO* counters (netstat.c).
 */
/* We define open() and open64() (and fopen, openat) ourselves. */
#undef _FILE_OFFSET_BITS
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "aosock.h"
#include "l3mdev.h"
#include "netstat.h"
#include "sockctl.h"

#define TCP_MD5SIG_OPT 14
#define TCP_MD5SIG_EXT_OPT 32
#define TCP_REPAIR_OPT 19

/* ---- the real functions ------------------------------------------------ */

static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);
static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_close)(int);
static int (*real_bind)(int, const struct sockaddr *, socklen_t);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	real_setsockopt = dlsym(RTLD_NEXT, "setsockopt");
	real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
	real_connect = dlsym(RTLD_NEXT, "connect");
	real_listen = dlsym(RTLD_NEXT, "listen");
	real_accept4 = dlsym(RTLD_NEXT, "accept4");
	real_close = dlsym(RTLD_NEXT, "close");
	real_bind = dlsym(RTLD_NEXT, "bind");
}

static void init(void)
{
	pthread_once(&init_once, resolve);
}

/* Does the kernel have TCP-AO itself? GET_KEYS on a fresh socket is ENOENT
 * there, ENOPROTOOPT without it. */
static int kernel_ao = -1;

static bool emulating(void)
{
	init();
	if (kernel_ao < 0) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct tcp_ao_getsockopt g = { 0 };
		socklen_t len = sizeof(g);

		if (fd < 0)
			return true;
		kernel_ao = real_getsockopt(fd, IPPROTO_TCP, TCP_AO_GET_KEYS, &g,
					    &len) == 0 || errno != ENOPROTOOPT;
		real_close(fd);
	}
	return !kernel_ao;
}

/* ---- emulated sockets -------------------------------------------------- */

struct psock {
	struct aosock ao;
	bool registered;             /* the daemon protects its flows */
	bool connecting;
	bool restored;               /* connect()ed in TCP_REPAIR mode */
	bool repair_set;             /* TCP_AO_REPAIR set since repair began */
	struct tcpao_addr dest;      /* connect()'s, unmapped */
};

/* Recursive: the daemon client closes and connects its own sockets. */
static pthread_mutex_t table_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static struct psock **table;
static size_t table_len;

static struct psock *lookup(int fd)
{
	return fd >= 0 && (size_t)fd < table_len ? table[fd] : NULL;
}

static void forget(int fd)
{
	struct psock *p = lookup(fd);

	if (!p)
		return;
	aosock_free(&p->ao);
	free(p);
	table[fd] = NULL;
}

static int put(int fd, struct psock *p)
{
	if ((size_t)fd >= table_len) {
		size_t len = (size_t)fd + 64;
		struct psock **t = realloc(table, len * sizeof(*t));

		if (!t)
			return -ENOMEM;
		memset(t + table_len, 0, (len - table_len) * sizeof(*t));
		table = t;
		table_len = len;
	}
	forget(fd);
	table[fd] = p;
	return 0;
}

/* A TCP socket of AF_INET or AF_INET6: its family; 0 otherwise. */
static int tcp_family(int fd)
{
	int dom = 0, proto = 0, type = 0;
	socklen_t l = sizeof(int);

	if (real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) ||
	    (dom != AF_INET && dom != AF_INET6))
		return 0;
	l = sizeof(int);
	if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) ||
	    type != SOCK_STREAM)
		return 0;
	l = sizeof(int);
	if (real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &l) ||
	    proto != IPPROTO_TCP)
		return 0;
	return dom;
}

static struct psock *get_or_create(int fd, int family)
{
	struct psock *p = lookup(fd);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	aosock_init(&p->ao, family);
	if (put(fd, p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* ---- what the rules need to know about the kernel socket --------------- */

static bool is_l3mdev(int ifindex)
{
	struct ifreq ifr = { 0 };
	int fd, rc;

	if (!if_indextoname((unsigned)ifindex, ifr.ifr_name))
		return false;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	real_close(fd);
	/* A VRF device is an IFF_MASTER (drivers/net/vrf.c). */
	return !rc && (ifr.ifr_flags & IFF_MASTER);
}

/* Per network namespace since Linux 6.9: read from this thread's view. */
static long read_optmem_max(void)
{
	char buf[32] = "";
	int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/sys/net/core/optmem_max",
			      O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	real_close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : 0;
}

static void read_env(int fd, const struct psock *p, struct aosock_env *env,
		     bool want_counters)
{
	struct tcp_info ti = { 0 };
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ti);
	int v = 0;

	memset(env, 0, sizeof(*env));
	env->is_l3mdev = is_l3mdev; /* optmem_max: only an added key needs it */
	env->state = real_getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &l) ? AOSOCK_CLOSE
									: ti.tcpi_state;
	l = sizeof(v);
	env->repair = !real_getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPT, &v, &l) && v;
	l = sizeof(v);
	if (!real_getsockopt(fd, SOL_SOCKET, SO_BINDTOIFINDEX, &v, &l))
		env->bound_ifindex = v;
	l = sizeof(ss);
	if (!getpeername(fd, (struct sockaddr *)&ss, &l)) {
		env->has_daddr = true;
		tcpao_addr_from_sockaddr(&env->daddr, &ss);
	} else if (p && p->connecting) {
		env->has_daddr = true;
		env->daddr = p->dest;
	}
	env->dp_current = env->dp_rnext = -1;
	if (want_counters && p && p->registered)
		sockctl_info(fd, env->cnt, &env->dp_current, &env->dp_rnext);
}

/* ---- user memory: EFAULT instead of a crash ---------------------------- */

/* One copy between our memory and the user's (TO: into the user's dst),
 * by process_vm_writev or process_vm_readv on ourselves. */
static int copy_user(void *dst, const void *src, size_t len, bool to)
{
	struct iovec local = { to ? (void *)src : dst, len };
	struct iovec remote = { to ? dst : (void *)src, len };
	ssize_t n;

	if (!len)
		return 0;
	if (!(to ? dst : src))
		return -EFAULT;
	n = to ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
	       : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n != (ssize_t)len) {
		/* No permission to use process_vm_readv on ourselves: trust. */
		if (errno == EPERM || errno == ENOSYS) {
			memcpy(dst, src, len);
			return 0;
		}
		return -EFAULT;
	}
	return 0;
}

static int copy_from_user(void *dst, const void *src, size_t len)
{
	return copy_user(dst, src, len, false);
}

static int copy_to_user(void *dst, const void *src, size_t len)
{
	return copy_user(dst, src, len, true);
}

static int fail(int err)
{
	errno = -err;
	return -1;
}

/* ---- setsockopt -------------------------------------------------------- */

/* The daemon follows a registered socket's changes. */
static int sync_add(int fd, struct psock *p, struct aosock_key *k)
{
	return p->registered && k ? sockctl_key_add(fd, &p->ao, k) : 0;
}

static int ao_setsockopt(int fd, int family, int opt, const void *optval,
			 socklen_t optlen)
{
	struct aosock_env env;
	struct psock *p = lookup(fd);
	struct aosock probe;
	struct aosock_key *added = NULL;
	void *buf;
	int rc;

	if (opt == TCP_AO_REPAIR) {
		read_env(fd, p, &env, false);
		if (env.state == AOSOCK_LISTEN)
			return -EPERM;
		if ((int)optlen < (int)sizeof(struct tcp_ao_repair))
			return -EINVAL;
	}
	if (!p) {
		aosock_init(&probe, family);
		read_env(fd, NULL, &env, false);
	} else {
		/* DEL's EBUSY and INFO see the current key the datapath uses. */
		read_env(fd, p, &env, opt == TCP_AO_INFO || opt == TCP_AO_DEL_KEY);
		aosock_follow_datapath(&p->ao, &env);
	}
	if (opt == TCP_AO_ADD_KEY)
		env.optmem_max = read_optmem_max();
	if (opt != TCP_AO_REPAIR) {
		rc = aosock_gate(p ? &p->ao : &probe, &env);
		if (rc)
			return rc;
	}
	if ((int)optlen < 0)
		return -EINVAL;
	buf = malloc(optlen ? optlen : 1);
	if (!buf)
		return -ENOMEM;
	rc = copy_from_user(buf, optval, optlen);
	if (!rc && !p && opt != TCP_AO_REPAIR && !(p = get_or_create(fd, family)))
		rc = -ENOMEM;
	if (!rc) {
		switch (opt) {
		case TCP_AO_ADD_KEY:
			rc = aosock_add(&p->ao, &env, buf, optlen, &added);
			if (!rc)
				rc = sync_add(fd, p, added);
			break;
		case TCP_AO_DEL_KEY: {
			struct tcpao_mkt gone;

			rc = aosock_del(&p->ao, &env, buf, optlen, &gone);
			if (!rc && p->registered)
				rc = sockctl_key_del(fd, &p->ao, &gone);
			else if (rc == -EBUSY && p->registered)
				sockctl_set(fd, &p->ao);
			if (!rc)
				tcpao_mkt_wipe(&gone);
			break;
		}
		case TCP_AO_INFO:
			rc = aosock_set_info(&p->ao, &env, buf, optlen);
			if (!rc && p->registered)
				rc = sockctl_set(fd, &p->ao);
			break;
		case TCP_AO_REPAIR:
			if (optlen > sizeof(struct tcp_ao_repair) &&
			    aosock_copy_in(&(struct tcp_ao_repair){ 0 },
					   sizeof(struct tcp_ao_repair), buf, optlen))
				rc = -E2BIG;
			else if (!env.repair)
				rc = -EPERM;
			else if (!p || !p->ao.has_info)
				rc = -ENOENT;
			else
				memcpy(&p->ao.repair, buf, sizeof(p->ao.repair));
			if (!rc)
				p->repair_set = true;
			break;
		}
	}
	/* Keys set on a listener after listen(): the daemon takes it now. */
	if (!rc && p && !p->registered && p->ao.has_info &&
	    env.state == AOSOCK_LISTEN) {
		rc = sockctl_register(fd, &p->ao, "listen", NULL, 0);
		p->registered = !rc;
	}
	explicit_bzero(buf, optlen);
	free(buf);
	return rc;
}

/* ---- TCP_REPAIR ------------------------------------------------------- */

static int queue_seq(int fd, int queue, uint32_t *seq)
{
	socklen_t l = sizeof(*seq);

	if (real_setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &queue, sizeof(queue)) ||
	    real_getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, seq, &l))
		return -errno;
	return 0;
}

/* snd_una and rcv_nxt of a socket in repair mode, which Linux's SNEs
 * belong to. The application's TCP_REPAIR_QUEUE choice is kept. */
static int repair_seqs(int fd, uint32_t *snd_una, uint32_t *rcv_nxt)
{
	int saved = 0, outq = 0, rc;
	socklen_t l = sizeof(saved);

	if (real_getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &saved, &l))
		return -errno;
	rc = queue_seq(fd, TCP_SEND_QUEUE, snd_una);
	if (!rc)
		rc = queue_seq(fd, TCP_RECV_QUEUE, rcv_nxt);
	if (!rc && ioctl(fd, SIOCOUTQ, &outq))
		rc = -errno;
	real_setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &saved, sizeof(saved));
	*snd_una -= (uint32_t)outq; /* write_seq - (write_seq - snd_una) */
	return rc;
}

/* A socket connect()ed in repair mode sent no SYN: the daemon learns of it
 * here, as a connected socket. */
static int register_restored(int fd, struct psock *p)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct tcpao_addr peer;
	int rc;

	if (getpeername(fd, (struct sockaddr *)&ss, &l))
		return -errno;
	tcpao_addr_from_sockaddr(&peer, &ss);
	rc = sockctl_register(fd, &p->ao, "connect", &peer,
			      ntohs(ss.ss_family == AF_INET
					    ? ((struct sockaddr_in *)&ss)->sin_port
					    : ((struct sockaddr_in6 *)&ss)->sin6_port));
	p->registered = !rc;
	return rc;
}

/* TCP_REPAIR off on an established AO socket that was restored (or given
 * TCP_AO_REPAIR values): before it sends, the daemon makes its flow go on
 * with the ISNs and SNEs of TCP_AO_REPAIR (zeros if never set, as Linux)
 * from the socket's sequence numbers. */
static int leave_repair(int fd, struct psock *p, const void *optval,
			socklen_t optlen)
{
	struct sockctl_repair r;
	struct aosock_env env;
	int mode, rc;

	if (!p || !p->ao.has_info || !(p->restored || p->repair_set) ||
	    optlen < sizeof(mode) || copy_from_user(&mode, optval, sizeof(mode)) ||
	    (mode != TCP_REPAIR_OFF && mode != TCP_REPAIR_OFF_NO_WP))
		return 0;
	read_env(fd, p, &env, false);
	if (!env.repair || env.state != AOSOCK_ESTABLISHED)
		return 0;
	rc = p->registered ? 0 : register_restored(fd, p);
	if (!rc)
		rc = repair_seqs(fd, &r.snd_seq, &r.rcv_seq);
	if (rc)
		return rc;
	r.snt_isn = ntohl(p->ao.repair.snt_isn);
	r.rcv_isn = ntohl(p->ao.repair.rcv_isn);
	r.snd_sne = p->ao.repair.snd_sne;
	r.rcv_sne = p->ao.repair.rcv_sne;
	rc = sockctl_repair(fd, &r);
	if (!rc)
		p->restored = p->repair_set = false;
	return rc;
}

int setsockopt(int fd, int level, int opt, const void *optval, socklen_t optlen)
{
	int family, rc;

	init();
	if (level != IPPROTO_TCP ||
	    (opt != TCP_MD5SIG_OPT && opt != TCP_MD5SIG_EXT_OPT &&
	     opt != TCP_REPAIR_OPT &&
	     (opt < TCP_AO_ADD_KEY || opt > TCP_AO_REPAIR)) ||
	    !emulating())
		return real_setsockopt(fd, level, opt, optval, optlen);
	family = tcp_family(fd);
	if (!family)
		return real_setsockopt(fd, level, opt, optval, optlen);
	pthread_mutex_lock(&table_lock);
	if (opt == TCP_REPAIR_OPT) {
		rc = leave_repair(fd, lookup(fd), optval, optlen);
		pthread_mutex_unlock(&table_lock);
		return rc ? fail(rc) : real_setsockopt(fd, level, opt, optval, optlen);
	}
	if (opt == TCP_MD5SIG_OPT || opt == TCP_MD5SIG_EXT_OPT) {
		struct psock *p = lookup(fd);

		/* An established AO socket refuses MD5 keys (tcp_ao_required). */
		if (p && p->ao.has_info && p->registered) {
			pthread_mutex_unlock(&table_lock);
			return fail(-EKEYREJECTED);
		}
		rc = p && optval ? aosock_md5_check(&p->ao, optval, optlen) : 0;
		if (rc) {
			pthread_mutex_unlock(&table_lock);
			return fail(rc);
		}
		rc = real_setsockopt(fd, level, opt, optval, optlen);
		if (!rc && optval && (p = get_or_create(fd, family)))
			aosock_md5_track(&p->ao, optval, optlen);
		pthread_mutex_unlock(&table_lock);
		return rc;
	}
	rc = ao_setsockopt(fd, family, opt, optval, optlen);
	pthread_mutex_unlock(&table_lock);
	return rc ? fail(rc) : 0;
}

/* ---- getsockopt -------------------------------------------------------- */

static int get_keys(int fd, struct psock *p, void *optval, socklen_t *optlen)
{
	struct tcp_ao_getsockopt *entries;
	int user_len, out_len = sizeof(struct tcp_ao_getsockopt), matched, rc;
	size_t written;
	uint32_t n;
	void *req;

	if (!p || !p->ao.has_info)
		return -ENOENT;
	if (copy_from_user(&user_len, optlen, sizeof(user_len)))
		return -EFAULT;
	if (user_len <= 0)
		return -EINVAL;
	req = malloc((size_t)user_len);
	if (!req)
		return -ENOMEM;
	rc = copy_from_user(req, optval, (size_t)user_len);
	matched = rc ? rc : aosock_get_keys(&p->ao, req, (size_t)user_len, &entries, &written);
	free(req);
	if (matched < 0)
		return matched;
	if (p->registered && written) /* per-key counters are the daemon's */
		sockctl_key_counts(fd, entries, written);
	rc = 0;
	for (size_t i = 0; !rc && i < written; i++)
		rc = copy_to_user((uint8_t *)optval + i * (size_t)user_len, &entries[i],
				  (size_t)user_len < sizeof(*entries) ? (size_t)user_len
								      : sizeof(*entries));
	explicit_bzero(entries, written * sizeof(*entries));
	free(entries);
	n = (uint32_t)matched;
	if (!rc)
		rc = copy_to_user(optlen, &out_len, sizeof(out_len));
	if (!rc)
		rc = copy_to_user((uint8_t *)optval + offsetof(struct tcp_ao_getsockopt, nkeys),
				  &n, sizeof(n));
	return rc;
}

static int get_info(int fd, struct psock *p, void *optval, socklen_t *optlen)
{
	struct aosock_env env;
	int len, rc;
	void *buf;

	if (copy_from_user(&len, optlen, sizeof(len)))
		return -EFAULT;
	if (len <= 0)
		return -EINVAL;
	buf = calloc(1, (size_t)len);
	if (!buf)
		return -ENOMEM;
	rc = copy_from_user(buf, optval, (size_t)len);
	if (!rc) {
		struct aosock empty;

		read_env(fd, p, &env, true);
		if (p)
			aosock_follow_datapath(&p->ao, &env);
		aosock_init(&empty, AF_INET);
		rc = aosock_get_info(p ? &p->ao : &empty, &env, buf, (size_t)len);
	}
	if (!rc)
		rc = copy_to_user(optval, buf,
				  (size_t)len < sizeof(struct tcp_ao_info_opt)
					  ? (size_t)len : sizeof(struct tcp_ao_info_opt));
	free(buf);
	return rc;
}

/* The ISNs and SNEs of the socket's live flow, the SNEs taken at the
 * socket's snd_una and rcv_nxt. Unchanged when the daemon has no flow for
 * it yet (restored, nothing sent). */
static void live_repair(int fd, struct tcp_ao_repair *out)
{
	struct sockctl_repair r;
	uint32_t snd_una, rcv_nxt;

	if (sockctl_repair_get(fd, &r) || repair_seqs(fd, &snd_una, &rcv_nxt))
		return;
	out->snt_isn = htonl(r.snt_isn);
	out->rcv_isn = htonl(r.rcv_isn);
	out->snd_sne = tcpao_sne_of(&(struct tcpao_sne){ r.snd_seq, r.snd_sne }, snd_una);
	out->rcv_sne = tcpao_sne_of(&(struct tcpao_sne){ r.rcv_seq, r.rcv_sne }, rcv_nxt);
}

static int get_repair(int fd, struct psock *p, void *optval, socklen_t *optlen)
{
	struct aosock_env env;
	int len;

	/* tcp_can_repair_sock() comes first: never on a listener. */
	read_env(fd, p, &env, false);
	if (env.state == AOSOCK_LISTEN)
		return -EPERM;
	if (copy_from_user(&len, optlen, sizeof(len)))
		return -EFAULT;
	if (len <= 0)
		return -EINVAL;
	if (!env.repair)
		return -EPERM;
	if (!p || !p->ao.has_info)
		return -ENOENT;
	if (p->registered && !p->repair_set)
		live_repair(fd, &p->ao.repair);
	return copy_to_user(optval, &p->ao.repair,
			    (size_t)len < sizeof(p->ao.repair) ? (size_t)len
							       : sizeof(p->ao.repair));
}

/* Linux hands a segment to the peer's socket before the syscall that sent
 * it returns; ours pass through tcpaod on both sides first. Reading an AO
 * socket's error waits until the daemon has verified what arrived for it,
 * and an abortive close (SO_LINGER 0) until the daemon has signed its RST:
 * a peer then sees the reset when it would with Linux. */
static bool registered(int fd)
{
	struct psock *p;
	bool r;

	pthread_mutex_lock(&table_lock);
	p = lookup(fd);
	r = p && p->registered;
	pthread_mutex_unlock(&table_lock);
	return r;
}

static bool lingers_zero(int fd)
{
	struct linger l = { 0 };
	socklen_t len = sizeof(l);

	return !real_getsockopt(fd, SOL_SOCKET, SO_LINGER, &l, &len) && l.l_onoff &&
	       !l.l_linger;
}

int getsockopt(int fd, int level, int opt, void *optval, socklen_t *optlen)
{
	struct psock *p;
	int rc;

	init();
	if (level == SOL_SOCKET && opt == SO_ERROR && registered(fd))
		sockctl_sync();
	if (level != IPPROTO_TCP || opt < TCP_AO_INFO || opt > TCP_AO_REPAIR ||
	    !emulating() || !tcp_family(fd))
		return real_getsockopt(fd, level, opt, optval, optlen);
	pthread_mutex_lock(&table_lock);
	p = lookup(fd);
	if (opt == TCP_AO_GET_KEYS)
		rc = get_keys(fd, p, optval, optlen);
	else if (opt == TCP_AO_INFO)
		rc = get_info(fd, p, optval, optlen);
	else
		rc = get_repair(fd, p, optval, optlen);
	pthread_mutex_unlock(&table_lock);
	return rc ? fail(rc) : 0;
}

/* ---- connect, listen, accept, close ------------------------------------ */

/* The SYN leaves during connect(): the daemon must know the socket's keys
 * and ports before. An unbound socket is bound to an ephemeral port first
 * (what connect() would do). */
static int bind_ephemeral(int fd, int family)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t l = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &l))
		return -errno;
	if ((family == AF_INET && ((struct sockaddr_in *)&ss)->sin_port) ||
	    (family == AF_INET6 && ((struct sockaddr_in6 *)&ss)->sin6_port))
		return 0;
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	return real_bind(fd, (struct sockaddr *)&ss,
			 family == AF_INET ? sizeof(struct sockaddr_in)
					   : sizeof(struct sockaddr_in6))
		       ? -errno : 0;
}

static int prepare_connect(int fd, struct psock *p, const struct sockaddr *sa,
			   socklen_t len)
{
	struct sockaddr_storage ss = { 0 };
	struct aosock_env env;
	int rc;

	memcpy(&ss, sa, len < sizeof(ss) ? len : sizeof(ss));
	tcpao_addr_from_sockaddr(&p->dest, &ss);
	read_env(fd, p, &env, false);
	if (env.state != AOSOCK_CLOSE || p->dest.family == AF_UNSPEC)
		return 0; /* the kernel gives the errno (EISCONN, EALREADY...) */
	rc = aosock_connect(&p->ao, &p->dest,
			   l3mdev_master_ifindex(env.bound_ifindex));
	if (rc || !p->ao.has_info)
		return rc; /* !has_info: an MD5 connection, the kernel's own */
	rc = bind_ephemeral(fd, p->ao.family);
	if (!rc)
		rc = sockctl_register(fd, &p->ao, "connect", &p->dest,
				      ntohs(ss.ss_family == AF_INET
						    ? ((struct sockaddr_in *)&ss)->sin_port
						    : ((struct sockaddr_in6 *)&ss)->sin6_port));
	if (!rc) {
		p->registered = true;
		p->connecting = true;
	}
	return rc;
}

static bool in_repair(int fd)
{
	socklen_t l = sizeof(int);
	int v = 0;

	return !real_getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_OPT, &v, &l) && v;
}

/* connect() in repair mode sends no SYN: the daemon learns of the socket
 * when repair ends (leave_repair). */
static void mark_restored(int fd, struct psock *p)
{
	int family = tcp_family(fd);

	if (!p && family)
		p = get_or_create(fd, family);
	if (p)
		p->restored = true;
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct psock *p;
	int rc = 0;

	init();
	pthread_mutex_lock(&table_lock);
	p = lookup(fd);
	if (sa && len >= sizeof(sa_family_t) &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
	    emulating() && in_repair(fd))
		mark_restored(fd, p);
	if (p && p->ao.has_info && !p->registered && sa && emulating())
		rc = prepare_connect(fd, p, sa, len);
	pthread_mutex_unlock(&table_lock);
	if (rc)
		return fail(rc);
	return real_connect(fd, sa, len);
}

/* CAP_NET_ADMIN in the effective set (/proc/self/status CapEff, bit 12):
 * what starting tcpaod takes. */
static bool has_net_admin(void)
{
	char line[128];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps & (1ULL << 12);
}

/* A listener without AO still needs the namespace's daemon: Linux drops
 * AO segments sent to it (TCPAOKeyNotFound). Best effort: a daemon that
 * cannot start (no CAP_NET_ADMIN) is not tried again by this process. */
static void watch_listener(int fd)
{
	static bool failed;

	if (failed || !emulating() || !tcp_family(fd))
		return;
	if (!has_net_admin() || sockctl_watch(fd))
		failed = true;
}

int listen(int fd, int backlog)
{
	struct psock *p;
	int rc;

	init();
	rc = real_listen(fd, backlog);
	if (rc)
		return rc;
	pthread_mutex_lock(&table_lock);
	p = lookup(fd);
	if (p && p->ao.has_info && !p->registered) {
		int err = sockctl_register(fd, &p->ao, "listen", NULL, 0);

		if (err) {
			pthread_mutex_unlock(&table_lock);
			/* Fail closed: without the daemon nothing is signed. */
			return fail(err);
		}
		p->registered = true;
	} else if (!p || !p->ao.has_info) {
		watch_listener(fd);
	}
	pthread_mutex_unlock(&table_lock);
	return 0;
}

static void adopt_child(int lfd, int fd)
{
	struct psock *l = lookup(lfd), *c;
	struct sockaddr_storage ss;
	struct tcpao_addr peer;
	socklen_t sl = sizeof(ss);
	int keyid = -1, rnext = -1;

	if (!l || !l->ao.has_info || getpeername(fd, (struct sockaddr *)&ss, &sl))
		return;
	tcpao_addr_from_sockaddr(&peer, &ss);
	c = calloc(1, sizeof(*c));
	if (!c)
		return;
	if (l->registered && !sockctl_accept(fd, &keyid, &rnext))
		c->registered = true;
	if (aosock_accept(&c->ao, &l->ao, &peer, 0, keyid, rnext) || put(fd, c)) {
		aosock_free(&c->ao);
		free(c);
	}
}

int accept4(int lfd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int fd;

	init();
	fd = real_accept4(lfd, sa, len, flags);
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&table_lock);
	adopt_child(lfd, fd);
	pthread_mutex_unlock(&table_lock);
	return fd;
}

int accept(int lfd, struct sockaddr *sa, socklen_t *len)
{
	return accept4(lfd, sa, len, 0);
}

/* The daemon learns of the socket's end from sock_diag, not from close():
 * another descriptor may still hold the socket. */
int close(int fd)
{
	bool abortive = false;
	int rc, err;

	init();
	if (fd >= 0 && (size_t)fd < table_len) {
		pthread_mutex_lock(&table_lock);
		abortive = registered(fd) && lingers_zero(fd);
		forget(fd);
		pthread_mutex_unlock(&table_lock);
	}
	rc = real_close(fd);
	if (abortive) {
		err = errno;
		sockctl_sync();
		errno = err;
	}
	return rc;
}

/* ---- /proc/net/netstat ------------------------------------------------- */

static int (*real_openat_fn)(int, const char *, int, ...);
static FILE *(*real_fopen_fn)(const char *, const char *);

static void resolve_files(void)
{
	if (!real_openat_fn)
		real_openat_fn = dlsym(RTLD_NEXT, "openat");
	if (!real_fopen_fn)
		real_fopen_fn = dlsym(RTLD_NEXT, "fopen");
}

static int open_netstat(const char *path, int flags)
{
	int fd;

	if ((flags & O_ACCMODE) != O_RDONLY)
		return fail(-EACCES);
	fd = netstat_open(real_openat_fn, path);
	return fd < 0 ? fail(fd) : fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	resolve_files();
	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	if (netstat_is_path(path) && emulating())
		return open_netstat(path, flags);
	return real_openat_fn(dirfd, path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode;

	va_start(ap, flags);
	mode = mode_arg(flags, ap);
	va_end(ap);
	return openat(AT_FDCWD, path, flags, mode);
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

FILE *fopen(const char *path, const char *mode)
{
	int fd;

	resolve_files();
	if (!netstat_is_path(path) || !emulating())
		return real_fopen_fn(path, mode);
	if (mode[0] != 'r' || strchr(mode, '+')) {
		errno = EACCES;
		return NULL;
	}
	fd = open_netstat(path, O_RDONLY);
	return fd < 0 ? NULL : fdopen(fd, "r");
}

FILE *fopen64(const char *path, const char *mode) __attribute__((alias("fopen")));
