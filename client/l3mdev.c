// SPDX-License-Identifier: GPL-2.0-or-later
/* A device's VRF, asked of rtnetlink (RTM_GETLINK). */
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "l3mdev.h"

struct link {
	int master; /* IFLA_MASTER, 0: none */
	bool vrf;   /* IFLA_INFO_KIND "vrf" */
};

static void parse_linkinfo(const struct rtattr *nest, struct link *l)
{
	int len = RTA_PAYLOAD(nest);

	for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len);
	     a = RTA_NEXT(a, len))
		if (a->rta_type == IFLA_INFO_KIND &&
		    RTA_PAYLOAD(a) >= 3 && !strncmp(RTA_DATA(a), "vrf", 4))
			l->vrf = true;
}

static bool parse_link(const struct nlmsghdr *nh, size_t n, struct link *l)
{
	const struct ifinfomsg *ifi;
	int len;

	if (!NLMSG_OK(nh, n) || nh->nlmsg_type != RTM_NEWLINK ||
	    nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return false;
	ifi = NLMSG_DATA(nh);
	len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len);
	     a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_MASTER && RTA_PAYLOAD(a) >= sizeof(int))
			memcpy(&l->master, RTA_DATA(a), sizeof(int));
		else if (a->rta_type == IFLA_LINKINFO)
			parse_linkinfo(a, l);
	}
	return true;
}

static bool get_link(int ifindex, struct link *l)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST, .nlmsg_seq = 1 },
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = ifindex },
	};
	struct timeval tv = { .tv_sec = 1 };
	char buf[8192] __attribute__((aligned(4)));
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;
	bool ok = false;

	memset(l, 0, sizeof(*l));
	if (fd < 0)
		return false;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req)) {
		n = recv(fd, buf, sizeof(buf), 0);
		ok = n > 0 && parse_link((struct nlmsghdr *)buf, (size_t)n, l);
	}
	close(fd);
	return ok;
}

int l3mdev_master_ifindex(int ifindex)
{
	struct link l;
	int master;

	if (ifindex <= 0 || !get_link(ifindex, &l))
		return 0;
	if (l.vrf)
		return ifindex;
	master = l.master;
	return master > 0 && get_link(master, &l) && l.vrf ? master : 0;
}
