// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Devices' L3 masters (l3dev.h): an open-addressing table of atomic
 * slots under a sequence counter (one writer, lock-free readers).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "l3dev.h"
#include "log.h"

#define SLOTS 4096u            /* a power of two */
#define FULL (SLOTS / 4 * 3)   /* rebuilt from a dump beyond this */
#define MASTER_BIT 0x80000000u

/* A slot: ifindex << 32 | value; value: MASTER_BIT | l3 index, or 0 for a
 * device that left its VRF (the slot stays its until the next rebuild). */
static _Atomic uint64_t slots[SLOTS];
static _Atomic uint32_t seq;
static unsigned int used;      /* writer only */

static uint32_t hash(uint32_t ifindex)
{
	return (ifindex * 2654435761u) & (SLOTS - 1);
}

static uint32_t probe(uint32_t ifindex)
{
	uint32_t h = hash(ifindex);

	for (unsigned int n = 0; n < SLOTS; n++, h = (h + 1) & (SLOTS - 1)) {
		uint64_t e = atomic_load_explicit(&slots[h], memory_order_relaxed);

		if (!e)
			return 0;
		if ((uint32_t)(e >> 32) == ifindex)
			return (uint32_t)e;
	}
	return 0;
}

static uint32_t lookup(int ifindex)
{
	uint32_t s1, s2, v;

	if (ifindex <= 0)
		return 0;
	do {
		s1 = atomic_load_explicit(&seq, memory_order_acquire);
		v = probe((uint32_t)ifindex);
		atomic_thread_fence(memory_order_acquire);
		s2 = atomic_load_explicit(&seq, memory_order_relaxed);
	} while ((s1 & 1) || s1 != s2);
	return v;
}

int l3dev_index(int ifindex)
{
	return (int)(lookup(ifindex) & ~MASTER_BIT);
}

/* ---- the writer -------------------------------------------------------- */

static void write_begin(void)
{
	atomic_fetch_add_explicit(&seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(void)
{
	atomic_fetch_add_explicit(&seq, 1, memory_order_release);
}

/* Inside a write section. False when the table is full. */
static bool put(uint32_t ifindex, uint32_t value)
{
	uint32_t h = hash(ifindex);

	for (unsigned int n = 0; n < SLOTS; n++, h = (h + 1) & (SLOTS - 1)) {
		uint64_t e = atomic_load_explicit(&slots[h], memory_order_relaxed);

		if (e && (uint32_t)(e >> 32) != ifindex)
			continue;
		if (!e) {
			if (!value)
				return true; /* nothing to forget */
			if (used >= FULL)
				return false;
			used++;
		}
		atomic_store_explicit(&slots[h], (uint64_t)ifindex << 32 | value,
				      memory_order_relaxed);
		return true;
	}
	return false;
}

struct link {
	uint32_t ifindex, master;
	bool vrf, deleted;
};

static void parse_kind(const struct rtattr *nest, struct link *l)
{
	int len = (int)RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len);
	     a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_INFO_KIND && RTA_PAYLOAD(a) >= 3 &&
		    !strncmp(RTA_DATA(a), "vrf", RTA_PAYLOAD(a)))
			l->vrf = true;
}

static bool parse_link(const struct nlmsghdr *nh, struct link *l)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len;

	if ((nh->nlmsg_type != RTM_NEWLINK && nh->nlmsg_type != RTM_DELLINK) ||
	    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)) || ifi->ifi_index <= 0)
		return false;
	memset(l, 0, sizeof(*l));
	l->ifindex = (uint32_t)ifi->ifi_index;
	l->deleted = nh->nlmsg_type == RTM_DELLINK;
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= 4)
			memcpy(&l->master, RTA_DATA(a), 4);
		else if (a->rta_type == IFLA_LINKINFO)
			parse_kind(a, l);
	}
	return true;
}

/* What a link's slot holds; a slave's VRF must be recorded first. */
static uint32_t value_of(const struct link *l)
{
	if (l->deleted)
		return 0;
	if (l->vrf)
		return MASTER_BIT | l->ifindex;
	if (l->master && (probe(l->master) & MASTER_BIT))
		return l->master;
	return 0;
}

/* Every link of the namespace, from a dump on a socket of its own. */
static struct link *dump(size_t *count)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	static char buf[32768] __attribute__((aligned(4)));
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct link *links = NULL, *grown;
	size_t n = 0, cap = 0;
	bool done = false;

	if (fd < 0 || send(fd, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		goto fail;
	while (!done) {
		int len = (int)recv(fd, buf, sizeof(buf), 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			goto fail;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nh, len); nh = mnl_nlmsg_next(nh, &len)) {
			if (nh->nlmsg_type == NLMSG_DONE) {
				done = true;
				break;
			}
			if (nh->nlmsg_type == NLMSG_ERROR)
				goto fail;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				grown = realloc(links, cap * sizeof(*links));
				if (!grown)
					goto fail;
				links = grown;
			}
			if (parse_link(nh, &links[n]))
				n++;
		}
	}
	close(fd);
	*count = n;
	return links ? links : calloc(1, sizeof(*links));
fail:
	if (fd >= 0)
		close(fd);
	free(links);
	return NULL;
}

/* The table anew: VRFs first, then their slaves. */
static int rebuild(void)
{
	size_t n = 0;
	struct link *links = dump(&n);
	bool full = false;

	if (!links)
		return -EIO;
	write_begin();
	for (unsigned int i = 0; i < SLOTS; i++)
		atomic_store_explicit(&slots[i], 0, memory_order_relaxed);
	used = 0;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < n; i++)
			if (links[i].vrf == (pass == 0))
				full |= !put(links[i].ifindex, value_of(&links[i]));
	write_end();
	free(links);
	if (full)
		log_msg(LOG_ERR, "l3dev: more VRF devices and slaves than %u: "
			"keys bound to the others' VRFs do not match", FULL);
	return 0;
}

int l3dev_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
			NETLINK_ROUTE);
	int rc;

	if (fd < 0)
		return -errno;
	/* Subscribed before the dump: a change in between is not lost. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = rebuild();
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static void apply(const struct nlmsghdr *nh)
{
	struct link l;
	bool ok;

	if (!parse_link(nh, &l))
		return;
	write_begin();
	ok = put(l.ifindex, value_of(&l));
	write_end();
	if (!ok)
		rebuild(); /* slots of gone devices are dropped */
}

void l3dev_read(int fd)
{
	static char buf[32768] __attribute__((aligned(4)));

	for (;;) {
		int len = (int)recv(fd, buf, sizeof(buf), 0);

		if (len < 0 && errno == EINTR)
			continue;
		if (len < 0 && errno == ENOBUFS) {
			rebuild(); /* notifications were lost */
			continue;
		}
		if (len <= 0)
			return;
		for (struct nlmsghdr *nh = (struct nlmsghdr *)buf;
		     mnl_nlmsg_ok(nh, len); nh = mnl_nlmsg_next(nh, &len))
			apply(nh);
	}
}

void l3dev_close(int fd)
{
	if (fd >= 0)
		close(fd);
}
