/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading IP packets from a pcap or pcapng capture (libpcap).
 *
 * Link types: Ethernet (with 802.1Q / 802.1ad tags), Linux cooked SLL and
 * SLL2, raw IP (DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6), BSD loopback (NULL,
 * LOOP). Frames that do not hold IPv4 or IPv6 are skipped and counted.
 */
#ifndef TCPAO_CLI_CAPTURE_H
#define TCPAO_CLI_CAPTURE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct capture;

/* One IP packet. ip points into the reader's own buffer, which the caller
 * may modify; it is valid until the next capture_next() or capture_close(). */
struct capture_packet {
	uint64_t frame;    /* 1-based frame number in the file */
	int64_t ts_sec;
	uint32_t ts_nsec;
	uint8_t *ip;
	size_t caplen;     /* bytes of the IP packet in the capture */
	size_t wirelen;    /* bytes of the IP packet on the wire */
};

struct capture_stats {
	uint64_t frames;   /* every frame read */
	uint64_t non_ip;   /* skipped: not IPv4/IPv6, or link header cut */
};

/* Opens a file ("-" for stdin). On failure returns NULL with a message. */
struct capture *capture_open(const char *path, char *err, size_t errlen);
/* Reads from an open stream, which the capture then owns (and closes). */
struct capture *capture_open_stream(FILE *f, char *err, size_t errlen);
/* 1: a packet; 0: end of file; -1: a read error (capture_error()). */
int capture_next(struct capture *cap, struct capture_packet *pkt);
const char *capture_error(const struct capture *cap);
const struct capture_stats *capture_stats(const struct capture *cap);
/* The link type's name, as libpcap spells it ("EN10MB", "LINUX_SLL2"). */
const char *capture_linktype_name(const struct capture *cap);
void capture_close(struct capture *cap);

#endif
