// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target: the capture reader and the whole `tcpao verify`
 * pipeline (flows, verification, both output formats) on arbitrary files.
 * The input goes to a memfd so that libpcap reads it as it reads a file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture.h"
#include "report.h"
#include "verify.h"

/* Keys that match the seed corpus: RFC 9235 (both algorithms, both option
 * modes), the Cisco captures, and one with a peer prefix. */
static const char *const specs[] = {
	"sndid=61,rcvid=84,alg=hmac(sha1),secret=testvector",
	"sndid=61,rcvid=84,alg=cmac(aes128),secret=testvector,exclude-options",
	"sndid=123,rcvid=123,alg=hmac(sha1),secret=123,exclude-options",
	"sndid=84,rcvid=61,alg=hmac(sha256),secret=x,peer=10.0.0.0/8,maclen=16",
};
#define N_KEYS (sizeof(specs) / sizeof(specs[0]))

static struct tcpao_mkt keys[N_KEYS];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[160];

	for (size_t i = 0; i < N_KEYS; i++) {
		if (tcpao_mkt_parse(specs[i], &keys[i], err, sizeof(err))) {
			fprintf(stderr, "fuzz_capture: key %zu: %s\n", i, err);
			abort();
		}
	}
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	return 0;
}

static FILE *stream_of(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-capture", 0);
	FILE *f;

	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	lseek(fd, 0, SEEK_SET);
	f = fdopen(fd, "rb");
	if (!f)
		abort();
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct report report = { .out = devnull, .json = size & 1 };
	struct capture_packet pkt;
	struct verify_outcome o;
	struct capture *cap;
	struct verifier v;
	char err[512];
	int rc;

	cap = capture_open_stream(stream_of(data, size), err, sizeof(err));
	if (!cap)
		return 0;
	verifier_init(&v, keys, N_KEYS);
	while ((rc = capture_next(cap, &pkt)) == 1) {
		int n = verifier_packet(&v, &pkt, &o);

		if (n < 0)
			break;
		if (n > 0)
			report_segment(&report, &o);
	}
	report_summary(&report, &v.stats, capture_stats(cap),
		       verify_stats_failed(&v.stats) ? "failed" : "ok",
		       rc < 0 ? capture_error(cap) : NULL);
	verifier_free(&v);
	capture_close(cap);
	return 0;
}
