/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reads the RFC 9235 test vectors (tests/data/rfc9235-vectors.txt). */
#ifndef TCPAO_TEST_VECTORS_H
#define TCPAO_TEST_VECTORS_H

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vector {
	char id[8];          /* "4.1.3" */
	int section;         /* 4..7 */
	int exclude_opts;    /* x.2 */
	int packet;          /* 1 SYN, 2 SYN-ACK, 3 client data, 4 server data */
	uint8_t tk[32];
	size_t tklen;
	uint8_t mac[12];
	uint8_t pkt[512];
	size_t len;
};

static size_t vec_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	int hi = -1;

	for (; *s && !isspace((unsigned char)*s) && n < max; s++) {
		int v = isdigit((unsigned char)*s) ? *s - '0' : tolower(*s) - 'a' + 10;

		if (hi < 0) {
			hi = v;
		} else {
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	return n;
}

/* Returns the number of vectors read (at most max), -1 if unreadable. */
static int vectors_load(const char *path, struct vector *v, int max)
{
	FILE *f = fopen(path, "r");
	char line[256];
	int n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (line[0] != ' ') {
			if (n + 1 >= max)
				break;
			struct vector *c = &v[++n];
			memset(c, 0, sizeof(*c));
			sscanf(line, "%7s", c->id);
			sscanf(c->id, "%d.%d.%d", &c->section, &c->exclude_opts,
			       &c->packet);
			c->exclude_opts = c->exclude_opts == 2;
			c->tklen = vec_hex(strstr(line, "TK=") + 3, c->tk, sizeof(c->tk));
			vec_hex(strstr(line, "MAC=") + 4, c->mac, sizeof(c->mac));
			continue;
		}
		if (n < 0)
			continue;
		for (char *p = line; *p;) {
			while (*p == ' ')
				p++;
			if (!isxdigit((unsigned char)*p))
				break;
			size_t k = vec_hex(p, v[n].pkt + v[n].len,
					   sizeof(v[n].pkt) - v[n].len);
			v[n].len += k;
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
	}
	fclose(f);
	return n + 1;
}

#endif
