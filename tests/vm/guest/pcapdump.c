// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * pcapdump - the guest's packet capture (busybox has no tcpdump): every
 * frame seen on one interface, written to a pcap file (LINKTYPE_ETHERNET,
 * microseconds) until SIGTERM or SIGINT. On a loopback device each frame
 * is seen once (the outgoing copy is skipped).
 *
 *   pcapdump IFACE FILE        prints "pcapdump.ready=1" once capturing
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */
	struct { uint32_t magic; uint16_t major, minor; int32_t zone;
		 uint32_t sigfigs, snaplen, linktype; } hdr = {
		0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
	static uint8_t buf[65536];
	struct sockaddr_ll sll = { .sll_family = AF_PACKET };
	unsigned long frames = 0;
	FILE *out;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: pcapdump IFACE FILE\n");
		return 2;
	}
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = if_nametoindex(argv[1]);
	if (!sll.sll_ifindex) {
		perror("pcapdump: interface");
		return 1;
	}
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("pcapdump: packet socket");
		return 1;
	}
	out = fopen(argv[2], "wb");
	if (!out || fwrite(&hdr, sizeof(hdr), 1, out) != 1) {
		perror("pcapdump: output");
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("pcapdump.ready=1\n");
	fflush(stdout);
	while (!stop) {
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);
		struct timeval tv;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from,
				     &flen);
		uint32_t rec[4];

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("pcapdump: recvfrom");
			break;
		}
		if (from.sll_pkttype == PACKET_OUTGOING && from.sll_ifindex == sll.sll_ifindex &&
		    !strcmp(argv[1], "lo"))
			continue;
		gettimeofday(&tv, NULL);
		rec[0] = tv.tv_sec;
		rec[1] = tv.tv_usec;
		rec[2] = n > (ssize_t)sizeof(buf) ? sizeof(buf) : (uint32_t)n;
		rec[3] = n;
		fwrite(rec, sizeof(rec), 1, out);
		fwrite(buf, rec[2], 1, out);
		fflush(out);
		frames++;
	}
	fclose(out);
	fprintf(stderr, "pcapdump: %lu frames\n", frames);
	return 0;
}
