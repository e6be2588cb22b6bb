// SPDX-License-Identifier: GPL-2.0-or-later
/* TCP option lists: finding the AO option (kind 29) and its neighbours. */
#include <string.h>

#include "tcpao.h"

enum {
	OPT_EOL = 0,
	OPT_NOP = 1,
	OPT_MSS = 2,
	OPT_SACK = 5,
};

enum tcpao_opts_status tcpao_opts_parse(const uint8_t *hdr, size_t hdrlen,
					struct tcpao_opts *opts)
{
	size_t off = 20;

	memset(opts, 0, sizeof(*opts));
	while (off < hdrlen) {
		uint8_t kind = hdr[off];

		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			off++;
			continue;
		}
		if (off + 1 >= hdrlen)
			return TCPAO_OPTS_MALFORMED;
		uint8_t len = hdr[off + 1];
		if (len < 2 || off + len > hdrlen)
			return TCPAO_OPTS_MALFORMED;

		switch (kind) {
		case TCPAO_OPT_KIND:
			if (opts->ao_off)
				return TCPAO_OPTS_DUP_AO;
			if (len < TCPAO_OPT_HDRLEN)
				return TCPAO_OPTS_MALFORMED;
			opts->ao_off = (uint16_t)off;
			opts->ao_len = len;
			opts->keyid = hdr[off + 2];
			opts->rnext = hdr[off + 3];
			break;
		case TCPAO_MD5_OPT_KIND:
			opts->md5_off = (uint16_t)off;
			break;
		case OPT_MSS:
			if (len == 4)
				opts->mss_off = (uint16_t)off;
			break;
		case OPT_SACK:
			opts->sack_off = (uint16_t)off;
			opts->sack_len = len;
			break;
		}
		off += len;
	}
	return TCPAO_OPTS_OK;
}
