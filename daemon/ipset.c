// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hash:net and bitmap:port members added and deleted over netlink
 * (nfnetlink subsystem IPSET), as ipset(8) does: one request per member,
 * each acknowledged.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/ipset/ip_set.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "ipset.h"

int ipset_member_cmp(const void *a, const void *b)
{
	const struct ipset_member *x = a, *y = b;

	if (x->prefix.family != y->prefix.family)
		return x->prefix.family < y->prefix.family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->prefix.bytes, y->prefix.bytes,
		      tcpao_addr_len(&x->prefix));
}

size_t ipset_members_unique(struct ipset_member *m, size_t n)
{
	size_t out = 0;

	if (!n)
		return 0;
	qsort(m, n, sizeof(*m), ipset_member_cmp);
	for (size_t i = 1; i < n; i++)
		if (ipset_member_cmp(&m[out], &m[i]))
			m[++out] = m[i];
	return out + 1;
}

/* The nfnetlink header and the protocol version every request starts with. */
static void put_nfgen(struct nlmsghdr *nlh)
{
	struct nfgenmsg *nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));

	nfg->nfgen_family = AF_INET; /* ipset(8) always sends AF_INET here */
	nfg->version = NFNETLINK_V0;
	nfg->res_id = 0;
	mnl_attr_put_u8(nlh, IPSET_ATTR_PROTOCOL, IPSET_PROTOCOL);
}

/* The header of one IPSET_CMD_ADD / IPSET_CMD_DEL request, its data nest
 * opened: the caller puts the member and closes it. */
static struct nlmsghdr *begin(char *buf, int cmd, uint32_t seq,
			      const char *set, struct nlattr **data)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | cmd;
	/* No NLM_F_EXCL: an existing (or, for del, a missing) member is no
	 * error, as `ipset -exist`. */
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	put_nfgen(nlh);
	mnl_attr_put_strz(nlh, IPSET_ATTR_SETNAME, set);
	*data = mnl_attr_nest_start(nlh, IPSET_ATTR_DATA);
	return nlh;
}

static void put_prefix(struct nlmsghdr *nlh, const struct ipset_member *m)
{
	struct nlattr *ip = mnl_attr_nest_start(nlh, IPSET_ATTR_IP);

	if (m->prefix.family == AF_INET)
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER,
			     4, m->prefix.bytes);
	else
		mnl_attr_put(nlh, IPSET_ATTR_IPADDR_IPV6 | NLA_F_NET_BYTEORDER,
			     16, m->prefix.bytes);
	mnl_attr_nest_end(nlh, ip);
	mnl_attr_put_u8(nlh, IPSET_ATTR_CIDR, m->len);
}

/* Sends one request and waits for its acknowledgement. */
static int request(struct mnl_socket *nl, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int portid = mnl_socket_get_portid(nl);
	uint32_t seq = nlh->nlmsg_seq;
	ssize_t n;
	int rc;

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)n, seq, portid, NULL, NULL);
	} while (rc == MNL_CB_OK);
	/* ipset's own errors (IPSET_ERR_*) are above 4096: not errnos. */
	if (rc < 0)
		return errno > 0 && errno < 4096 ? -errno : -EIO;
	return 0;
}

static int apply_prefixes(struct mnl_socket *nl, int cmd, uint32_t *seq,
			  const struct ipset_change *c,
			  const struct ipset_member *m, size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	for (size_t i = 0; i < n; i++) {
		const char *set = m[i].prefix.family == AF_INET ? c->set4 : c->set6;
		struct nlmsghdr *nlh;
		struct nlattr *data;
		int rc;

		if (m[i].prefix.family != AF_INET && m[i].prefix.family != AF_INET6)
			return -EAFNOSUPPORT;
		nlh = begin(buf, cmd, (*seq)++, set, &data);
		put_prefix(nlh, &m[i]);
		mnl_attr_nest_end(nlh, data);
		rc = request(nl, nlh);
		if (rc)
			return rc;
	}
	return 0;
}

static int apply_ports(struct mnl_socket *nl, int cmd, uint32_t *seq,
		       const struct ipset_change *c, const uint16_t *port,
		       size_t n)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	for (size_t i = 0; i < n; i++) {
		struct nlattr *data;
		struct nlmsghdr *nlh = begin(buf, cmd, (*seq)++, c->setports, &data);
		int rc;

		mnl_attr_put_u16(nlh, IPSET_ATTR_PORT | NLA_F_NET_BYTEORDER, htons(port[i]));
		mnl_attr_nest_end(nlh, data);
		rc = request(nl, nlh);
		if (rc)
			return rc;
	}
	return 0;
}

static struct mnl_socket *open_bound(void)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = errno;

		mnl_socket_close(nl);
		errno = rc;
		return NULL;
	}
	return nl;
}

int ipset_change(const struct ipset_change *c)
{
	struct mnl_socket *nl;
	uint32_t seq = (uint32_t)time(NULL);
	int rc;

	if (!c->nadd && !c->ndel && !c->nport_add && !c->nport_del)
		return 0;
	nl = open_bound();
	if (!nl)
		return -errno;
	/* Adds first: in between, the sets hold both the old and the new
	 * members, and queuing more than needed is safe (the workers decide). */
	rc = apply_prefixes(nl, IPSET_CMD_ADD, &seq, c, c->add, c->nadd);
	if (!rc)
		rc = apply_ports(nl, IPSET_CMD_ADD, &seq, c, c->port_add, c->nport_add);
	if (!rc)
		rc = apply_prefixes(nl, IPSET_CMD_DEL, &seq, c, c->del, c->ndel);
	if (!rc)
		rc = apply_ports(nl, IPSET_CMD_DEL, &seq, c, c->port_del, c->nport_del);
	mnl_socket_close(nl);
	return rc;
}

struct set_header {
	const char *name;
	long entries; /* -1: the dump did not say */
};

static int elements_attr(const struct nlattr *a, void *arg)
{
	struct set_header *h = arg;

	if (mnl_attr_get_type(a) == IPSET_ATTR_ELEMENTS &&
	    !mnl_attr_validate(a, MNL_TYPE_U32))
		h->entries = (long)ntohl(mnl_attr_get_u32(a));
	return MNL_CB_OK;
}

static int header_attr(const struct nlattr *a, void *arg)
{
	struct set_header *h = arg;

	if (mnl_attr_get_type(a) == IPSET_ATTR_SETNAME &&
	    !mnl_attr_validate(a, MNL_TYPE_NUL_STRING))
		h->name = mnl_attr_get_str(a);
	else if (mnl_attr_get_type(a) == IPSET_ATTR_DATA)
		mnl_attr_parse_nested(a, elements_attr, h);
	return MNL_CB_OK;
}

struct entries_dump {
	const char *const *names;
	size_t n;
	long *entries;
};

static int header_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct entries_dump *d = arg;
	struct set_header h = { NULL, -1 };

	mnl_attr_parse(nlh, sizeof(struct nfgenmsg), header_attr, &h);
	for (size_t i = 0; h.name && i < d->n; i++)
		if (!strcmp(h.name, d->names[i]))
			d->entries[i] = h.entries < 0 ? IPSET_ENTRIES_UNKNOWN
						      : h.entries;
	return MNL_CB_OK;
}

int ipset_entries(const char *const names[], size_t n, long entries[])
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct entries_dump d = { names, n, entries };
	struct mnl_socket *nl = open_bound();
	struct nlmsghdr *nlh;
	uint32_t seq = (uint32_t)time(NULL);
	ssize_t len;
	int rc = 0, cb;

	for (size_t i = 0; i < n; i++)
		entries[i] = -1;
	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = (NFNL_SUBSYS_IPSET << 8) | IPSET_CMD_LIST;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	put_nfgen(nlh);
	mnl_attr_put_u32(nlh, IPSET_ATTR_FLAGS, htonl(IPSET_FLAG_LIST_HEADER));
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		rc = -errno;
	while (!rc) {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		cb = len < 0 ? MNL_CB_ERROR
			     : mnl_cb_run(buf, (size_t)len, seq,
					  mnl_socket_get_portid(nl), header_msg, &d);
		if (cb == MNL_CB_ERROR)
			rc = -errno;
		else if (cb == MNL_CB_STOP)
			break;
	}
	mnl_socket_close(nl);
	return rc;
}
