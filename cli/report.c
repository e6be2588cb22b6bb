// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The output of `tcpao verify`. Text for people (one line per segment, in
 * the spirit of tcpdump), JSON lines for programs. Never prints secrets:
 * keys are named by their position on the command line.
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "report.h"

/* The results verify reports, in the order of the summary. */
static const enum tcpao_result reported[] = {
	TCPAO_GOOD, TCPAO_BAD_MAC, TCPAO_KEY_NOT_FOUND, TCPAO_NO_ISN,
	TCPAO_TRUNCATED, TCPAO_MALFORMED,
};
#define N_REPORTED (sizeof(reported) / sizeof(reported[0]))

static const char *direction_name(enum verify_direction d)
{
	switch (d) {
	case VERIFY_DIR_CLIENT:
		return "client";
	case VERIFY_DIR_SERVER:
		return "server";
	default:
		return NULL;
	}
}

/* tcpdump's way: S, F, P, R, U, then "." for ACK. */
static void flags_text(uint8_t flags, char *out)
{
	static const struct { uint8_t bit; char c; } names[] = {
		{ TCPAO_TH_SYN, 'S' }, { TCPAO_TH_FIN, 'F' }, { 0x08, 'P' },
		{ TCPAO_TH_RST, 'R' }, { 0x20, 'U' }, { TCPAO_TH_ACK, '.' },
	};
	size_t n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit)
			out[n++] = names[i].c;
	out[n] = '\0';
	if (!n)
		strcpy(out, "none");
}

static void addr_text(const struct tcpao_addr *a, char *out, size_t len)
{
	if (!inet_ntop(a->family, a->bytes, out, (socklen_t)len))
		snprintf(out, len, "?");
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void json_segment(FILE *f, const struct verify_outcome *o,
			 const char *src, const char *dst, const char *flags)
{
	const struct tcpao_seg *seg = &o->seg;
	const char *dir = direction_name(o->direction);

	fprintf(f, "{\"frame\":%" PRIu64 ",\"time\":%" PRId64 ".%06u,"
		"\"src\":\"%s\",\"sport\":%u,\"dst\":\"%s\",\"dport\":%u,",
		o->pkt->frame, o->pkt->ts_sec, o->pkt->ts_nsec / 1000,
		src, seg->sport, dst, seg->dport);
	fprintf(f, "\"direction\":%s%s%s,\"flags\":\"%s\",\"seq\":%u,\"ack\":%u,",
		dir ? "\"" : "", dir ? dir : "null", dir ? "\"" : "", flags,
		seg->seq, seg->ack);
	if (seg->tcp)
		fprintf(f, "\"len\":%zu,", tcpao_seg_payload_len(seg));
	else
		fputs("\"len\":null,", f);
	if (o->have_ao)
		fprintf(f, "\"keyid\":%u,\"rnext\":%u,", seg->opts.keyid,
			seg->opts.rnext);
	else
		fputs("\"keyid\":null,\"rnext\":null,", f);
	if (o->have_sne)
		fprintf(f, "\"sne\":%u,", o->sne);
	else
		fputs("\"sne\":null,", f);
	if (o->key >= 0)
		fprintf(f, "\"key\":%d,", o->key + 1);
	else
		fputs("\"key\":null,", f);
	fprintf(f, "\"result\":\"%s\",\"reason\":", tcpao_result_name(o->result));
	json_string(f, o->reason);
	fputs("}\n", f);
}

static void text_segment(FILE *f, const struct verify_outcome *o,
			 const char *src, const char *dst, const char *flags)
{
	const struct tcpao_seg *seg = &o->seg;
	const char *dir = direction_name(o->direction);
	bool v6 = seg->saddr.family == AF_INET6;

	fprintf(f, "%" PRIu64 " %" PRId64 ".%06u %s%s%s:%u > %s%s%s:%u %s [%s] seq %u",
		o->pkt->frame, o->pkt->ts_sec, o->pkt->ts_nsec / 1000,
		v6 ? "[" : "", src, v6 ? "]" : "", seg->sport,
		v6 ? "[" : "", dst, v6 ? "]" : "", seg->dport,
		dir ? dir : "?", flags, seg->seq);
	if (o->have_ao)
		fprintf(f, " keyid %u rnext %u", seg->opts.keyid, seg->opts.rnext);
	else
		fputs(" keyid ? rnext ?", f);
	if (o->have_sne)
		fprintf(f, " sne %u", o->sne);
	else
		fputs(" sne ?", f);
	fprintf(f, ": %s (%s)\n", tcpao_result_name(o->result), o->reason);
}

void report_segment(const struct report *r, const struct verify_outcome *o)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], flags[8];

	if (r->quiet && o->result == TCPAO_GOOD)
		return;
	addr_text(&o->seg.saddr, src, sizeof(src));
	addr_text(&o->seg.daddr, dst, sizeof(dst));
	flags_text(o->seg.flags, flags);
	if (r->json)
		json_segment(r->out, o, src, dst, flags);
	else
		text_segment(r->out, o, src, dst, flags);
}

static void json_summary(FILE *f, const struct verify_stats *s,
			 const struct capture_stats *cs, const char *verdict,
			 const char *error)
{
	fprintf(f, "{\"summary\":{\"frames\":%" PRIu64 ",\"ao-segments\":%" PRIu64,
		cs->frames, s->ao_segments);
	for (size_t i = 0; i < N_REPORTED; i++)
		fprintf(f, ",\"%s\":%" PRIu64, tcpao_result_name(reported[i]),
			s->results[reported[i]]);
	fprintf(f, ",\"unsigned\":%" PRIu64 ",\"plain\":%" PRIu64
		",\"unreadable-tcp\":%" PRIu64 ",\"non-tcp\":%" PRIu64
		",\"ip-fragments\":%" PRIu64 ",\"non-ip-frames\":%" PRIu64
		",\"flows\":%" PRIu64 ",\"handshakes\":%" PRIu64
		",\"verdict\":\"%s\",\"error\":",
		s->unsigned_segments, s->plain_segments, s->unreadable_tcp,
		s->non_tcp, s->fragments, cs->non_ip, s->flows, s->handshakes,
		verdict);
	if (error)
		json_string(f, error);
	else
		fputs("null", f);
	fputs("}}\n", f);
}

static void text_summary(FILE *f, const struct verify_stats *s,
			 const struct capture_stats *cs, const char *verdict,
			 const char *error)
{
	fprintf(f, "summary: %" PRIu64 " TCP-AO segments (4-tuples %" PRIu64
		", handshakes %" PRIu64 "):",
		s->ao_segments, s->flows, s->handshakes);
	for (size_t i = 0; i < N_REPORTED; i++)
		fprintf(f, "%s %" PRIu64 " %s", i ? "," : "",
			s->results[reported[i]], tcpao_result_name(reported[i]));
	fprintf(f, "\nother: %" PRIu64 " unsigned on TCP-AO 4-tuples, %" PRIu64
		" plain TCP, %" PRIu64 " unreadable TCP, %" PRIu64
		" other IP, %" PRIu64 " IP fragments, %" PRIu64
		" non-IP frames (of %" PRIu64 " frames)\n",
		s->unsigned_segments, s->plain_segments, s->unreadable_tcp,
		s->non_tcp, s->fragments, cs->non_ip, cs->frames);
	if (error)
		fprintf(f, "capture error: %s\n", error);
	fprintf(f, "verdict: %s\n", verdict);
}

void report_summary(const struct report *r, const struct verify_stats *s,
		    const struct capture_stats *cs, const char *verdict,
		    const char *error)
{
	if (r->json)
		json_summary(r->out, s, cs, verdict, error);
	else
		text_summary(r->out, s, cs, verdict, error);
}
