// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Capture files through libpcap (pcap and pcapng alike), reduced to the IP
 * packets they hold. Each link type gets a small function that finds where
 * the IP header starts, or says the frame holds no IP.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>

#include "capture.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define VLAN_TAGS_MAX 4
#define IP_MAX 65535 /* an IP packet is never longer; the rest is trailer */

/* Where the IP packet starts in a frame, or NOT_IP. */
#define NOT_IP SIZE_MAX
typedef size_t (*ip_offset_fn)(const uint8_t *frame, size_t caplen);

struct capture {
	pcap_t *pcap;
	ip_offset_fn ip_offset;
	struct capture_stats stats;
	char error[PCAP_ERRBUF_SIZE + 64];
	uint8_t buf[IP_MAX];
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static size_t ip_by_ethertype(uint16_t type, size_t off)
{
	return type == ETHERTYPE_IPV4 || type == ETHERTYPE_IPV6 ? off : NOT_IP;
}

static size_t ip_offset_ethernet(const uint8_t *frame, size_t caplen)
{
	size_t off = 12;

	for (int tags = 0; off + 2 <= caplen; tags++) {
		uint16_t type = get16(frame + off);

		if (type != ETHERTYPE_VLAN && type != ETHERTYPE_QINQ &&
		    type != ETHERTYPE_QINQ_OLD)
			return ip_by_ethertype(type, off + 2);
		if (tags == VLAN_TAGS_MAX)
			break;
		off += 4; /* tag control information, then the next type */
	}
	return NOT_IP;
}

/* Linux cooked v1: packet type, ARPHRD, address length, 8-byte address,
 * protocol. */
static size_t ip_offset_sll(const uint8_t *frame, size_t caplen)
{
	return caplen < 16 ? NOT_IP : ip_by_ethertype(get16(frame + 14), 16);
}

/* Linux cooked v2: protocol first, then the rest of a 20-byte header. */
static size_t ip_offset_sll2(const uint8_t *frame, size_t caplen)
{
	return caplen < 20 ? NOT_IP : ip_by_ethertype(get16(frame), 20);
}

static size_t ip_offset_raw(const uint8_t *frame, size_t caplen)
{
	return 0;
}

/* BSD loopback: a 4-byte address family, in the byte order of the host
 * that captured (DLT_NULL, either order accepted) or network order
 * (DLT_LOOP). IPv6 has a different AF_INET6 value on every BSD. */
static bool af_is_ip(uint32_t af)
{
	return af == 2 || af == 10 || af == 24 || af == 28 || af == 30;
}

static size_t ip_offset_null(const uint8_t *frame, size_t caplen)
{
	uint32_t be, le;

	if (caplen < 4)
		return NOT_IP;
	be = (uint32_t)get16(frame) << 16 | get16(frame + 2);
	le = __builtin_bswap32(be);
	return af_is_ip(be) || af_is_ip(le) ? 4 : NOT_IP;
}

static ip_offset_fn ip_offset_for(int dlt)
{
	switch (dlt) {
	case DLT_EN10MB:
		return ip_offset_ethernet;
	case DLT_LINUX_SLL:
		return ip_offset_sll;
	case DLT_LINUX_SLL2:
		return ip_offset_sll2;
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return ip_offset_raw;
	case DLT_NULL:
	case DLT_LOOP:
		return ip_offset_null;
	}
	return NULL;
}

static struct capture *capture_setup(pcap_t *pcap, char *err, size_t errlen)
{
	struct capture *cap;
	int dlt = pcap_datalink(pcap);
	ip_offset_fn fn = ip_offset_for(dlt);

	if (!fn) {
		const char *name = pcap_datalink_val_to_name(dlt);

		snprintf(err, errlen, "link type %d (%s) is not supported; "
			 "supported: Ethernet, Linux cooked (SLL, SLL2), raw IP, "
			 "BSD loopback", dlt, name ? name : "unknown");
		pcap_close(pcap);
		return NULL;
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		pcap_close(pcap);
		return NULL;
	}
	cap->pcap = pcap;
	cap->ip_offset = fn;
	return cap;
}

struct capture *capture_open(const char *path, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pcap;

	pcap = pcap_open_offline_with_tstamp_precision(path,
			PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!pcap) {
		snprintf(err, errlen, "%s", perr);
		return NULL;
	}
	return capture_setup(pcap, err, errlen);
}

struct capture *capture_open_stream(FILE *f, char *err, size_t errlen)
{
	char perr[PCAP_ERRBUF_SIZE] = "";
	pcap_t *pcap;

	pcap = pcap_fopen_offline_with_tstamp_precision(f,
			PCAP_TSTAMP_PRECISION_NANO, perr);
	if (!pcap) {
		snprintf(err, errlen, "%s", perr);
		fclose(f);
		return NULL;
	}
	return capture_setup(pcap, err, errlen);
}

/* Copies the IP packet of one frame into the buffer; false if none. */
static bool take_ip(struct capture *cap, const struct pcap_pkthdr *hdr,
		    const uint8_t *frame, struct capture_packet *pkt)
{
	size_t caplen = hdr->caplen, off = cap->ip_offset(frame, caplen);

	if (off == NOT_IP || off >= caplen)
		return false;
	pkt->caplen = caplen - off;
	if (pkt->caplen > sizeof(cap->buf))
		pkt->caplen = sizeof(cap->buf);
	pkt->wirelen = hdr->len > off ? hdr->len - off : 0;
	if (pkt->wirelen < pkt->caplen)
		pkt->wirelen = pkt->caplen;
	memcpy(cap->buf, frame + off, pkt->caplen);
	pkt->ip = cap->buf;
	pkt->ts_sec = hdr->ts.tv_sec;
	pkt->ts_nsec = (uint32_t)hdr->ts.tv_usec; /* nanoseconds: see open */
	return true;
}

int capture_next(struct capture *cap, struct capture_packet *pkt)
{
	struct pcap_pkthdr *hdr;
	const u_char *frame;
	int rc;

	for (;;) {
		rc = pcap_next_ex(cap->pcap, &hdr, &frame);
		if (rc == PCAP_ERROR_BREAK)
			return 0;
		if (rc != 1) {
			snprintf(cap->error, sizeof(cap->error), "%s",
				 pcap_geterr(cap->pcap));
			return -1;
		}
		pkt->frame = ++cap->stats.frames;
		if (take_ip(cap, hdr, frame, pkt))
			return 1;
		cap->stats.non_ip++;
	}
}

const char *capture_error(const struct capture *cap)
{
	return cap->error;
}

const struct capture_stats *capture_stats(const struct capture *cap)
{
	return &cap->stats;
}

const char *capture_linktype_name(const struct capture *cap)
{
	const char *name = pcap_datalink_val_to_name(pcap_datalink(cap->pcap));

	return name ? name : "unknown";
}

void capture_close(struct capture *cap)
{
	if (!cap)
		return;
	pcap_close(cap->pcap);
	free(cap);
}
