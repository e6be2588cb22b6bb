/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One NFQUEUE: a netlink socket bound to a queue number, receiving packets
 * in batches (recvmmsg) and sending verdicts in batches (many verdict
 * messages in one sendmsg). Packets come whole and MTU-sized: no GSO, full
 * checksums, no fail-open.
 */
#ifndef TCPAOD_QUEUE_H
#define TCPAOD_QUEUE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define QUEUE_BATCH 64          /* packets per receive */
#define QUEUE_MSG_MAX (65536 + 512)
#define QUEUE_MAXLEN 4096       /* packets the kernel holds for us */
#define QUEUE_RCVBUF (8 << 20)

struct queue {
	int fd;
	uint16_t num;
	uint32_t portid;
	uint32_t seq;                 /* of configuration messages */
	uint8_t *rx;                  /* QUEUE_BATCH buffers of QUEUE_MSG_MAX */
	struct mmsghdr msgs[QUEUE_BATCH];
	struct iovec iov[QUEUE_BATCH];
	uint8_t *tx;                  /* verdicts waiting to be sent */
	size_t txlen, txcap;
	unsigned int txcount;
	/* A run of plain accepts not yet written (queue_verdict_run). */
	uint32_t run_last, run_mark;
	unsigned int run_len;
	uint64_t rx_packets, tx_errors, rx_truncated;
	/* Packets that may wait without a verdict (an id we could not read,
	 * a verdict refused or not sent): after one, no batch verdict,
	 * which would settle them unseen. */
	uint64_t unsettled;
	uint64_t tx_batches;          /* batch verdicts sent */
};

#define QUEUE_UID_NONE UINT32_MAX

/* One received packet. */
struct queue_packet {
	uint32_t id;
	uint32_t uid;             /* its socket's owner, or QUEUE_UID_NONE */
	uint16_t hw_protocol;     /* ETH_P_IP / ETH_P_IPV6, host order */
	uint32_t mark;            /* skb->mark as queued */
	int indev, outdev;        /* ifindex, 0 when none (a VRF's or its slave's) */
	uint8_t *data;
	size_t len;
};

enum queue_verdict {
	QUEUE_DROP,
	QUEUE_ACCEPT,             /* as it came */
	QUEUE_ACCEPT_MODIFIED,    /* with the packet given */
};

int queue_open(struct queue *q, uint16_t num, char *err, size_t errlen);
void queue_close(struct queue *q);

/* Receives up to QUEUE_BATCH messages without blocking. Returns how many
 * (0 when none is waiting) or a negative errno. */
int queue_recv(struct queue *q);
/* The i-th message of the last receive as a packet; -EINVAL when it is
 * not a packet (then id is 0 when even the id could not be read). */
int queue_packet(struct queue *q, int i, struct queue_packet *pkt);

/* Appends a verdict (pkt/len only for QUEUE_ACCEPT_MODIFIED); sends the
 * pending ones first when the buffer is full. An accepted packet leaves
 * with mark | the tcpao mark (mark.h). */
int queue_verdict(struct queue *q, uint32_t id, uint32_t mark,
		  enum queue_verdict v, const void *pkt, size_t len);
/* The same, except that an accept of the packet as it came, with the
 * mark and the next id of the packet before, joins that packet's run:
 * the run leaves as one NFQNL_MSG_VERDICT_BATCH when another verdict or
 * queue_flush ends it. Nothing is copied back, one message for many. */
int queue_verdict_run(struct queue *q, uint32_t id, uint32_t mark,
		      enum queue_verdict v, const void *pkt, size_t len);
/* Sends every pending verdict in one sendmsg. */
int queue_flush(struct queue *q);

#endif
