// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Loading, attaching and pinning the guard (guard.h). libbpf loads the
 * embedded object (CO-RE against /sys/kernel/btf/vmlinux); Debian 12's
 * libbpf 1.1 predates netfilter programs, so their type is set by hand
 * and the links are made with a raw BPF_LINK_CREATE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ctl.h" /* TCPAO_RUNDIR */
#include "guard.h"
#include "log.h"

#define PROG_TYPE_NETFILTER 32
#define ATTACH_NETFILTER 45
#define NF_IP_DEFRAG 1u
#define HOOK_LOCAL_IN 1
#define HOOK_POST_ROUTING 4
#define PRIO_EGRESS 300   /* after mangle (-150), where the queue reinjects */
#define PRIO_INGRESS -300 /* after defrag (-400), before filter */
#define BPF_FS_MAGIC_ 0xcafe4a11
#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

extern const unsigned char guard_bpf_obj[];
extern const size_t guard_bpf_obj_len;

enum { MAP_PEERS4, MAP_PEERS6, MAP_CONFIG, MAP_DROPS, MAP_PORTS, MAPS };

static const char *const link_names[4] = { "out4", "out6", "in4", "in6" };
static const char *const map_names[MAPS] = { "peers4", "peers6", "config",
					     "drops", "ports" };

static struct {
	struct bpf_object *obj;
	int links[4];
	int maps[MAPS];
	char dir[200];       /* our generation's pins */
	bool open;
} g = { .links = { -1, -1, -1, -1 } };

static uint64_t cookie(void)
{
	uint64_t c = 0;
	socklen_t len = sizeof(c);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd >= 0) {
		if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &c, &len))
			c = 0;
		close(fd);
	}
	return c;
}

static bool is_bpffs(const char *path)
{
	struct statfs st;

	return !statfs(path, &st) && (unsigned long)st.f_type == BPF_FS_MAGIC_;
}

/* /sys/fs/bpf as systemd mounts it; `ip netns exec` hides it behind a
 * fresh sysfs, so TCPAO_RUNDIR/bpf (outside /sys) is the other place. */
static const char *const roots[2] = { "/sys/fs/bpf", TCPAO_RUNDIR "/bpf" };

/* The namespace's directory under a bpffs, mounting one when none is. */
static int ns_dir(char *buf, size_t len, bool create)
{
	const char *root = NULL;

	for (int i = 0; i < 2 && !root; i++)
		if (is_bpffs(roots[i]))
			root = roots[i];
	if (!root && create) {
		mkdir(TCPAO_RUNDIR, 0755); /* rundir.c checks its owner and mode */
		mkdir(roots[1], 0700);
		if (mount("bpf", roots[1], "bpf", 0, "mode=0700"))
			return -errno;
		log_msg(LOG_WARNING, "guard: mounted a bpffs on %s; the guard "
			"lasts as long as this mount namespace holds it",
			roots[1]);
		root = roots[1];
	}
	if (!root)
		return -ENOENT;
	snprintf(buf, len, "%s/tcpao", root);
	if (create)
		mkdir(buf, 0700);
	snprintf(buf, len, "%s/tcpao/netns-%llu", root,
		 (unsigned long long)cookie());
	if (create && mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int link_create(int prog, int pf, int hook, int prio, uint32_t flags)
{
	/* union bpf_attr's link_create, netfilter member (Linux 6.4). */
	struct {
		uint32_t prog_fd, target_fd, attach_type, flags;
		uint32_t pf, hooknum;
		int32_t priority;
		uint32_t nf_flags;
		uint8_t pad[96];
	} attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_fd = (uint32_t)prog;
	attr.attach_type = ATTACH_NETFILTER;
	attr.pf = (uint32_t)pf;
	attr.hooknum = (uint32_t)hook;
	attr.priority = prio;
	attr.nf_flags = flags;
	return (int)syscall(SYS_bpf, 28 /* BPF_LINK_CREATE */, &attr,
			    sizeof(attr));
}

/* One link; the kernel refuses two BPF hooks at one priority (EBUSY), and
 * the previous daemon's guard holds it until ours is in: then the next. */
static int attach_one(int prog, int pf, int hook, int prio)
{
	uint32_t flags = hook == HOOK_LOCAL_IN ? NF_IP_DEFRAG : 0;
	int fd = -1;

	for (int p = prio; p < prio + 2 && fd < 0; p++) {
		fd = link_create(prog, pf, hook, p, flags);
		/* Before Linux 6.6 there is no defrag flag. */
		if (fd < 0 && flags && errno == EINVAL)
			fd = link_create(prog, pf, hook, p, 0);
		if (fd < 0 && errno != EBUSY)
			break;
	}
	return fd;
}

static int attach(int prog)
{
	static const int spec[4][3] = {
		{ 2, HOOK_POST_ROUTING, PRIO_EGRESS },
		{ 10, HOOK_POST_ROUTING, PRIO_EGRESS },
		{ 2, HOOK_LOCAL_IN, PRIO_INGRESS },
		{ 10, HOOK_LOCAL_IN, PRIO_INGRESS },
	};

	for (int i = 0; i < 4; i++) {
		g.links[i] = attach_one(prog, spec[i][0], spec[i][1],
					spec[i][2]);
		if (g.links[i] < 0)
			return -errno;
	}
	return 0;
}

static int load(uint32_t mark, char *err, size_t errlen)
{
	struct bpf_program *prog;
	uint32_t zero = 0;
	int rc;

	g.obj = bpf_object__open_mem(guard_bpf_obj, guard_bpf_obj_len, NULL);
	if (!g.obj) {
		snprintf(err, errlen, "guard: open: %s", strerror(errno));
		return -errno;
	}
	prog = bpf_object__find_program_by_name(g.obj, "tcpao_guard");
	bpf_program__set_type(prog, PROG_TYPE_NETFILTER);
	bpf_program__set_expected_attach_type(prog, ATTACH_NETFILTER);
	rc = bpf_object__load(g.obj);
	if (rc) {
		snprintf(err, errlen, "guard: load: %s (no netfilter BPF "
			 "programs in this kernel?)", strerror(-rc));
		return -ENOTSUP;
	}
	for (int i = 0; i < MAPS; i++)
		g.maps[i] = bpf_object__find_map_fd_by_name(g.obj, map_names[i]);
	if (bpf_map_update_elem(g.maps[MAP_CONFIG], &zero, &mark, BPF_ANY))
		return -errno;
	rc = attach(bpf_program__fd(prog));
	if (rc)
		snprintf(err, errlen, "guard: netfilter BPF link: %s",
			 strerror(-rc));
	return rc == -EINVAL || rc == -EOPNOTSUPP ? -ENOTSUP : rc;
}

static int pin_all(void)
{
	char path[300];

	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", g.dir, link_names[i]);
		if (bpf_obj_pin(g.links[i], path) && errno != EEXIST)
			return -errno;
	}
	for (int i = 0; i < MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", g.dir, map_names[i]);
		if (bpf_obj_pin(g.maps[i], path) && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* Unpins a generation: with no descriptor left, its links detach. */
static void remove_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Every generation in the namespace's directory but `keep`. */
static void remove_others(const char *nsdir, const char *keep)
{
	DIR *d = opendir(nsdir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && (!keep || strcmp(e->d_name, keep)))
			remove_dir(dirfd(d), e->d_name);
	closedir(d);
}

static void close_fds(void)
{
	for (int i = 0; i < 4; i++) {
		if (g.links[i] >= 0)
			close(g.links[i]);
		g.links[i] = -1;
	}
	if (g.obj)
		bpf_object__close(g.obj);
	g.obj = NULL;
	g.open = false;
}

int guard_open(uint32_t mark, const struct ipset_member *m, size_t n,
	       const uint16_t *ports, size_t nports, char *err, size_t errlen)
{
	char nsdir[160], gen[40];
	struct timespec ts;
	int rc;

	rc = load(mark, err, errlen);
	if (!rc)
		rc = guard_peers(m, n, false);
	if (!rc)
		rc = guard_ports(ports, nports, false);
	if (!rc && (rc = ns_dir(nsdir, sizeof(nsdir), true)))
		snprintf(err, errlen, "guard: bpffs: %s", strerror(-rc));
	if (rc) {
		close_fds();
		return rc;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(gen, sizeof(gen), "g%lld-%09ld", (long long)ts.tv_sec,
		 ts.tv_nsec);
	snprintf(g.dir, sizeof(g.dir), "%s/%s", nsdir, gen);
	if (mkdir(g.dir, 0700) || pin_all()) {
		rc = -errno;
		snprintf(err, errlen, "guard: pin in %s: %s", g.dir,
			 strerror(errno));
		remove_dir(AT_FDCWD, g.dir);
		close_fds();
		return rc;
	}
	g.open = true;
	/* Ours is attached: the old ones can go. */
	remove_others(nsdir, gen);
	return 0;
}

static void put_key(uint8_t *key, const struct ipset_member *m)
{
	uint32_t len = m->len;

	memcpy(key, &len, 4);
	memcpy(key + 4, m->prefix.bytes, m->prefix.family == AF_INET ? 4 : 16);
}

/* visit() on each key of map fd (klen bytes), the key after it fetched
 * first, so that visit() may delete it; no allocation (a guard is pruned
 * even when memory is short). Stops at visit()'s first error. */
static int walk(int fd, size_t klen,
		int (*visit)(int fd, const uint8_t *key, void *arg), void *arg)
{
	uint8_t key[20], next[20];
	bool more = !bpf_map_get_next_key(fd, NULL, key);
	int rc = 0;

	while (more && !rc) {
		more = !bpf_map_get_next_key(fd, key, next);
		rc = visit(fd, key, arg);
		memcpy(key, next, klen);
	}
	return rc;
}

static struct ipset_member member_of_key(const uint8_t *key, sa_family_t family)
{
	struct ipset_member m = { .prefix.family = family };
	uint32_t len;

	memcpy(&len, key, 4);
	m.len = (uint8_t)len;
	memcpy(m.prefix.bytes, key + 4, tcpao_addr_len(&m.prefix));
	return m;
}

struct members {
	const struct ipset_member *m; /* sorted (ipset_member_cmp) */
	size_t n;
	sa_family_t family;
};

static int drop_unwanted_member(int fd, const uint8_t *key, void *arg)
{
	const struct members *ms = arg;
	struct ipset_member k = member_of_key(key, ms->family);

	if (!bsearch(&k, ms->m, ms->n, sizeof(k), ipset_member_cmp))
		bpf_map_delete_elem(fd, key);
	return 0;
}

int guard_peers(const struct ipset_member *m, size_t n, bool add_only)
{
	uint8_t key[20], one = 1;
	int rc = 0;

	if (!g.obj)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int fd = g.maps[m[i].prefix.family == AF_INET ? MAP_PEERS4 : MAP_PEERS6];

		put_key(key, &m[i]);
		if (bpf_map_update_elem(fd, key, &one, BPF_ANY))
			rc = -errno;
	}
	if (rc) /* the rules still queue the peer; the second line lacks it */
		log_msg(LOG_ERR, "guard: adding peers to its maps: %s",
			strerror(-rc));
	if (!add_only) {
		walk(g.maps[MAP_PEERS4], 8, drop_unwanted_member,
		     &(struct members){ m, n, AF_INET });
		walk(g.maps[MAP_PEERS6], 20, drop_unwanted_member,
		     &(struct members){ m, n, AF_INET6 });
	}
	return rc;
}

struct ports {
	const uint16_t *p; /* sorted */
	size_t n;
};

static int cmp_u16(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int drop_unwanted_port(int fd, const uint8_t *key, void *arg)
{
	const struct ports *ps = arg;
	uint16_t port;

	memcpy(&port, key, 2);
	if (!bsearch(&port, ps->p, ps->n, sizeof(port), cmp_u16))
		bpf_map_delete_elem(fd, key);
	return 0;
}

int guard_ports(const uint16_t *p, size_t n, bool add_only)
{
	uint8_t one = 1;
	int rc = 0;

	if (!g.obj)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(g.maps[MAP_PORTS], &p[i], &one, BPF_ANY))
			rc = -errno;
	if (rc)
		log_msg(LOG_ERR, "guard: adding ports to its map: %s", strerror(-rc));
	if (!add_only)
		walk(g.maps[MAP_PORTS], 2, drop_unwanted_port, &(struct ports){ p, n });
	return rc;
}

void guard_forget_ports(const uint16_t *p, size_t n)
{
	if (!g.obj)
		return;
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(g.maps[MAP_PORTS], &p[i]);
}

void guard_forget(const struct ipset_member *m, size_t n)
{
	uint8_t key[20];

	if (!g.obj)
		return;
	for (size_t i = 0; i < n; i++) {
		put_key(key, &m[i]);
		bpf_map_delete_elem(g.maps[m[i].prefix.family == AF_INET ? MAP_PEERS4 : MAP_PEERS6], key);
	}
}

/* A growing array of what guard_held() reads. */
struct list {
	void *v;
	size_t n, cap, size;
	sa_family_t family; /* of the peers read next */
};

static void *list_add(struct list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *more = realloc(l->v, cap * l->size);

		if (!more)
			return NULL;
		l->v = more;
		l->cap = cap;
	}
	return (char *)l->v + l->n++ * l->size;
}

static int add_member(int fd, const uint8_t *key, void *arg)
{
	struct list *l = arg;
	struct ipset_member *m = list_add(l);

	(void)fd;
	if (!m)
		return -ENOMEM;
	*m = member_of_key(key, l->family);
	return 0;
}

static int add_port(int fd, const uint8_t *key, void *arg)
{
	uint16_t *p = list_add(arg);

	(void)fd;
	if (!p)
		return -ENOMEM;
	memcpy(p, key, sizeof(*p));
	return 0;
}

int guard_held(struct ipset_member **peers, size_t *npeers, uint16_t **ports,
	       size_t *nports)
{
	struct list m = { .size = sizeof(**peers), .family = AF_INET },
		    p = { .size = sizeof(**ports) };
	int rc;

	if (!g.obj)
		return -ENOENT;
	rc = walk(g.maps[MAP_PEERS4], 8, add_member, &m);
	m.family = AF_INET6;
	rc = rc ?: walk(g.maps[MAP_PEERS6], 20, add_member, &m) ?:
	     walk(g.maps[MAP_PORTS], 2, add_port, &p);
	if (rc) {
		free(m.v);
		free(p.v);
		return rc;
	}
	*peers = m.v;
	*npeers = m.n;
	*ports = p.v;
	*nports = p.n;
	return 0;
}

bool guard_check(void)
{
	struct stat st;
	char path[300];

	if (!g.open)
		return false;
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s/%s", g.dir, link_names[i]);
		if (stat(path, &st)) {
			log_msg(LOG_WARNING, "guard: %s was unpinned: pinning "
				"again", path);
			mkdir(g.dir, 0700);
			pin_all();
			break;
		}
	}
	return true;
}

void guard_drops(uint64_t out[GUARD_DROPS])
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t v[512];

	memset(out, 0, GUARD_DROPS * sizeof(out[0]));
	if (!g.obj || ncpu <= 0 || ncpu > 512)
		return;
	for (uint32_t k = 0; k < GUARD_DROPS; k++)
		if (!bpf_map_lookup_elem(g.maps[MAP_DROPS], &k, v))
			for (int c = 0; c < ncpu; c++)
				out[k] += v[c];
}

void guard_close(void)
{
	close_fds();
}

void guard_remove_all(void)
{
	char nsdir[200];

	close_fds();
	/* Both places: a daemon in another mount namespace used the other. */
	for (int i = 0; i < 2; i++) {
		if (!is_bpffs(roots[i]))
			continue;
		snprintf(nsdir, sizeof(nsdir), "%s/tcpao/netns-%llu", roots[i],
			 (unsigned long long)cookie());
		remove_others(nsdir, NULL);
		rmdir(nsdir);
	}
}
