// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * NFQUEUE over libmnl, with libnetfilter_queue's message helpers only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "mark.h"
#include "queue.h"

#define TX_CAP (QUEUE_BATCH * (QUEUE_MSG_MAX + 256))

static int fail(char *err, size_t errlen, int rc, const char *what)
{
	snprintf(err, errlen, "%s: %s", what, strerror(-rc));
	return rc;
}

/* Sends one configuration message and waits for its acknowledgement. */
static int config(struct queue *q, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = ++q->seq;
	if (sendto(q->fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&nl,
		   sizeof(nl)) < 0)
		return -errno;
	n = recv(q->fd, buf, sizeof(buf), 0);
	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, nlh->nlmsg_seq, q->portid, NULL,
			  NULL) < 0 ? -errno : 0;
}

static int bind_queue(struct queue *q)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int rc;

	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	rc = config(q, nlh);
	if (rc)
		return rc;
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, QUEUE_MAXLEN);
	/* No NFQA_CFG_F_GSO: the kernel segments and completes checksums.
	 * No NFQA_CFG_F_FAIL_OPEN: a full queue drops, never bypasses.
	 * NFQA_CFG_F_UID_GID: the owner of a local socket's packets, for
	 * the per-uid flow quota (admit.c). */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_UID_GID));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK,
			 htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN |
			       NFQA_CFG_F_UID_GID));
	return config(q, nlh);
}

static int open_socket(struct queue *q)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(nl);
	int one = 1, size = QUEUE_RCVBUF;

	q->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (q->fd < 0)
		return -errno;
	if (bind(q->fd, (struct sockaddr *)&nl, sizeof(nl)) ||
	    getsockname(q->fd, (struct sockaddr *)&nl, &len))
		return -errno;
	q->portid = nl.nl_pid;
	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	setsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	/* Drops in the kernel are the kernel's business (TCP retransmits):
	 * an ENOBUFS error would only interrupt our receive loop. */
	setsockopt(q->fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	return 0;
}

int queue_open(struct queue *q, uint16_t num, char *err, size_t errlen)
{
	int rc;

	memset(q, 0, sizeof(*q));
	q->num = num;
	q->fd = -1;
	q->rx = malloc((size_t)QUEUE_BATCH * QUEUE_MSG_MAX);
	q->tx = malloc(TX_CAP);
	if (!q->rx || !q->tx) {
		queue_close(q);
		return fail(err, errlen, -ENOMEM, "queue buffers");
	}
	q->txcap = TX_CAP;
	for (int i = 0; i < QUEUE_BATCH; i++) {
		q->iov[i].iov_base = q->rx + (size_t)i * QUEUE_MSG_MAX;
		q->iov[i].iov_len = QUEUE_MSG_MAX;
		q->msgs[i].msg_hdr.msg_iov = &q->iov[i];
		q->msgs[i].msg_hdr.msg_iovlen = 1;
	}
	rc = open_socket(q);
	if (rc) {
		queue_close(q);
		return fail(err, errlen, rc, "netlink socket");
	}
	rc = bind_queue(q);
	if (rc) {
		queue_close(q);
		snprintf(err, errlen, "binding NFQUEUE %u: %s", num,
			 strerror(-rc));
		return rc;
	}
	return 0;
}

void queue_close(struct queue *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
	free(q->rx);
	free(q->tx);
	q->rx = q->tx = NULL;
}

int queue_recv(struct queue *q)
{
	int n = recvmmsg(q->fd, q->msgs, QUEUE_BATCH, MSG_DONTWAIT, NULL);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	q->rx_packets += (uint64_t)n;
	return n;
}

/* A packet we cannot name waits in the kernel for good. */
static int unsettled(struct queue *q)
{
	q->unsettled++;
	return -EINVAL;
}

/* The kernel refused one of our verdicts: its packet may still wait,
 * unless the refusal says that none did (ENOENT: the kernel dropped it
 * meanwhile, e.g. its device went down). */
static void note_error(struct queue *q, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e)) ||
	    (e->error && e->error != -ENOENT))
		q->unsettled++;
}

int queue_packet(struct queue *q, int i, struct queue_packet *pkt)
{
	struct nlmsghdr *nlh = q->iov[i].iov_base;
	struct nlattr *attr[NFQA_MAX + 1] = { 0 };
	struct nfqnl_msg_packet_hdr *ph;
	size_t len = q->msgs[i].msg_len;

	memset(pkt, 0, sizeof(*pkt));
	pkt->uid = QUEUE_UID_NONE;
	if (q->msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
		q->rx_truncated++;
	if (!mnl_nlmsg_ok(nlh, (int)len))
		return unsettled(q);
	if (nlh->nlmsg_type == NLMSG_ERROR)
		note_error(q, nlh);
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_QUEUE ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFQNL_MSG_PACKET)
		return -EINVAL;
	if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR])
		return unsettled(q);
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	pkt->id = ntohl(ph->packet_id);
	pkt->hw_protocol = ntohs(ph->hw_protocol);
	/* Only packets of a full socket carry it (not SYN-ACKs of request
	 * sockets, TIME-WAIT ACKs or the kernel's RSTs). */
	if (attr[NFQA_UID] && mnl_attr_get_payload_len(attr[NFQA_UID]) == 4)
		pkt->uid = ntohl(mnl_attr_get_u32(attr[NFQA_UID]));
	if (!attr[NFQA_PAYLOAD])
		return -EINVAL;
	pkt->data = mnl_attr_get_payload(attr[NFQA_PAYLOAD]);
	pkt->len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (attr[NFQA_MARK])
		pkt->mark = ntohl(mnl_attr_get_u32(attr[NFQA_MARK]));
	if (attr[NFQA_IFINDEX_INDEV])
		pkt->indev = (int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_INDEV]));
	if (attr[NFQA_IFINDEX_OUTDEV])
		pkt->outdev = (int)ntohl(mnl_attr_get_u32(attr[NFQA_IFINDEX_OUTDEV]));
	return 0;
}

static int end_run(struct queue *q);

int queue_flush(struct queue *q)
{
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK };
	int rc = 0;

	end_run(q);
	if (!q->txlen)
		return 0;
	if (sendto(q->fd, q->tx, q->txlen, 0, (struct sockaddr *)&nl,
		   sizeof(nl)) < 0) {
		rc = -errno;
		q->tx_errors++;
		q->unsettled += q->txcount;
	}
	q->txlen = 0;
	q->txcount = 0;
	return rc;
}

/* Appends one verdict message: type NFQNL_MSG_VERDICT for the packet
 * id, or NFQNL_MSG_VERDICT_BATCH for every packet up to id. */
static int append(struct queue *q, uint16_t type, uint32_t id, uint32_t mark,
		  enum queue_verdict v, const void *pkt, size_t len)
{
	size_t need = MNL_ALIGN(sizeof(struct nlmsghdr)) + 64 +
		      (v == QUEUE_ACCEPT_MODIFIED ? MNL_ALIGN(len) + 16 : 0);
	struct nlmsghdr *nlh;
	int rc = 0;

	if (q->txlen + need > q->txcap)
		rc = queue_flush(q);
	nlh = nfq_nlmsg_put((char *)q->tx + q->txlen, type, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)id, v == QUEUE_DROP ? NF_DROP : NF_ACCEPT);
	/* Seen by tcpaod: the guard lets it pass, our egress rule skips it. */
	if (v != QUEUE_DROP)
		nfq_nlmsg_verdict_put_mark(nlh, mark | mark_get());
	if (v == QUEUE_ACCEPT_MODIFIED)
		nfq_nlmsg_verdict_put_pkt(nlh, pkt, (uint32_t)len);
	q->txlen += MNL_ALIGN(nlh->nlmsg_len);
	q->txcount++;
	return rc;
}

/* Writes the pending run: a lone packet as usual, more as one batch
 * verdict, which settles every packet of the queue up to its id: safe
 * because verdicts leave in id order and every packet before the run
 * already has one (none is unsettled). */
static int end_run(struct queue *q)
{
	unsigned int n = q->run_len;

	q->run_len = 0;
	if (n > 1)
		q->tx_batches++;
	return n ? append(q, n > 1 ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT,
			  q->run_last, q->run_mark, QUEUE_ACCEPT, NULL, 0)
		 : 0;
}

int queue_verdict(struct queue *q, uint32_t id, uint32_t mark,
		  enum queue_verdict v, const void *pkt, size_t len)
{
	int rc = end_run(q), rc2 = append(q, NFQNL_MSG_VERDICT, id, mark, v,
					   pkt, len);

	return rc2 ? rc2 : rc;
}

int queue_verdict_run(struct queue *q, uint32_t id, uint32_t mark,
		      enum queue_verdict v, const void *pkt, size_t len)
{
	int rc = 0;

	if (v != QUEUE_ACCEPT || q->unsettled)
		return queue_verdict(q, id, mark, v, pkt, len);
	if (q->run_len && (id != q->run_last + 1 || mark != q->run_mark))
		rc = end_run(q);
	q->run_last = id;
	q->run_mark = mark;
	q->run_len++;
	return rc;
}
