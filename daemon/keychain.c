// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Key chain schedule: pure functions of (chain, time). See keychain.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keychain.h"

/* Saturating, so ALWAYS - tolerance stays ALWAYS. */
static int64_t add_sat(int64_t a, int64_t b)
{
	if (a == KEYCHAIN_ALWAYS || a == KEYCHAIN_NEVER)
		return a;
	if (b > 0 && a > KEYCHAIN_NEVER - b)
		return KEYCHAIN_NEVER;
	if (b < 0 && a < KEYCHAIN_ALWAYS - b)
		return KEYCHAIN_ALWAYS;
	return a + b;
}

static bool inside(const struct keychain_window *w, int64_t now, int64_t tol)
{
	return add_sat(w->start, -tol) <= now && now < add_sat(w->end, tol);
}

/* The earliest of t's ends that lies after now. */
static void later(int64_t *next, int64_t t, int64_t now)
{
	if (t > now && t < *next)
		*next = t;
}

/* The key to hold in a gap: the one whose send window ended last; before
 * any has started, the one that starts first. */
static int held_key(const struct keychain *c, int64_t now)
{
	int best = -1, first = -1;

	for (size_t i = 0; i < c->n; i++) {
		const struct keychain_window *w = &c->keys[i].send;

		if (w->end <= now && (best < 0 || w->end >= c->keys[best].send.end))
			best = (int)i;
		if (w->start > now && (first < 0 || w->start < c->keys[first].send.start))
			first = (int)i;
	}
	return best >= 0 ? best : first;
}

void keychain_eval(const struct keychain *c, int64_t now,
		   struct keychain_sched *s)
{
	*s = (struct keychain_sched){ .active = -1, .next = KEYCHAIN_NEVER };
	for (size_t i = 0; i < c->n; i++) {
		const struct keychain_key *k = &c->keys[i];

		if (inside(&k->send, now, 0)) {
			s->send |= 1ull << i;
			if (s->active < 0 ||
			    k->send.start >= c->keys[s->active].send.start)
				s->active = (int)i;
		}
		if (inside(&k->accept, now, c->tolerance))
			s->accept |= 1ull << i;
		later(&s->next, k->send.start, now);
		later(&s->next, k->send.end, now);
		later(&s->next, add_sat(k->accept.start, -c->tolerance), now);
		later(&s->next, add_sat(k->accept.end, c->tolerance), now);
	}
	if (s->active >= 0 || !c->n)
		return;
	s->gap = true;
	s->active = held_key(c, now);
	s->accept |= 1ull << s->active;
}

/* ---- time syntax ------------------------------------------------------- */

static int parse_int(const char *s, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int keychain_parse_time(const char *s, int64_t *out)
{
	struct tm tm = { 0 };
	const char *rest;

	/* Unix seconds up to year 9999: sums with durations cannot wrap. */
	if (!parse_int(s, out))
		return *out >= 0 && *out <= 253402300799LL ? 0 : -EINVAL;
	rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest)
		return -EINVAL;
	if (*rest && strcmp(rest, "Z") && strcmp(rest, "+00:00"))
		return -EINVAL; /* only UTC: a router's clock zone is no help */
	*out = (int64_t)timegm(&tm);
	return *out >= 0 && *out <= 253402300799LL ? 0 : -EINVAL;
}

int keychain_parse_duration(const char *s, int64_t *out)
{
	static const struct { char c; int64_t mul; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 },
	};
	char num[32];
	size_t n = strlen(s);
	int64_t mul = 1;

	if (!n || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, s, n + 1);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (num[n - 1] == units[i].c) {
			mul = units[i].mul;
			num[n - 1] = '\0';
		}
	if (parse_int(num, out) || *out < 0 || *out > (int64_t)1e12 / mul)
		return -EINVAL;
	*out *= mul;
	return 0;
}

const char *keychain_time_str(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (t == KEYCHAIN_ALWAYS)
		snprintf(buf, len, "always");
	else if (t == KEYCHAIN_NEVER)
		snprintf(buf, len, "never");
	else if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "%lld", (long long)t);
	return buf;
}

/* ---- the set of chains ------------------------------------------------- */

struct keychains *keychains_new(void)
{
	struct keychains *cs = calloc(1, sizeof(*cs));

	if (cs)
		atomic_init(&cs->refs, 1);
	return cs;
}

struct keychain *keychains_add(struct keychains *cs, const char *name)
{
	struct keychain *v = realloc(cs->v, (cs->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	cs->v = v;
	memset(&v[cs->n], 0, sizeof(v[cs->n]));
	snprintf(v[cs->n].name, sizeof(v[cs->n].name), "%s", name);
	return &v[cs->n++];
}

const struct keychain *keychains_find(const struct keychains *cs,
				      const char *name, size_t *index)
{
	for (size_t i = 0; cs && i < cs->n; i++)
		if (!strcmp(cs->v[i].name, name)) {
			if (index)
				*index = i;
			return &cs->v[i];
		}
	return NULL;
}

struct keychains *keychains_ref(struct keychains *cs)
{
	if (cs)
		atomic_fetch_add(&cs->refs, 1);
	return cs;
}

void keychains_unref(struct keychains *cs)
{
	if (!cs || atomic_fetch_sub(&cs->refs, 1) != 1)
		return;
	if (cs->v)
		explicit_bzero(cs->v, cs->n * sizeof(*cs->v));
	free(cs->v);
	free(cs);
}

bool keychain_has_rcvid(const struct keychain *c, uint8_t rcvid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->keys[i].mkt.rcvid == rcvid)
			return true;
	return false;
}

/* ---- checks ------------------------------------------------------------ */

static void say(void (*warn)(void *, const char *), void *arg, size_t *count,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void say(void (*warn)(void *, const char *), void *arg, size_t *count,
		const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	(*count)++;
	if (warn)
		warn(arg, msg);
}

/* The end of the send coverage that contains t (joined windows), or t
 * itself when no window contains it. */
static int64_t covered_until(const struct keychain *c, int64_t t)
{
	bool grew = true;

	while (grew && t != KEYCHAIN_NEVER) {
		grew = false;
		for (size_t i = 0; i < c->n; i++)
			if (inside(&c->keys[i].send, t, 0)) {
				t = c->keys[i].send.end;
				grew = true;
				break;
			}
	}
	return t;
}

static void check_key(const struct keychain *c, size_t i, int64_t now,
		      void (*warn)(void *, const char *), void *arg, size_t *count)
{
	const struct keychain_key *k = &c->keys[i];
	char a[32], b[32];

	if (k->accept.end != KEYCHAIN_NEVER && k->accept.end + c->tolerance <= now)
		say(warn, arg, count, "key-chain %s key %llu: expired (accept ended %s)",
		    c->name, (unsigned long long)k->id, keychain_time_str(k->accept.end, a, sizeof(a)));
	else if (k->send.end <= now)
		say(warn, arg, count, "key-chain %s key %llu: send window ended %s",
		    c->name, (unsigned long long)k->id, keychain_time_str(k->send.end, a, sizeof(a)));
	if (k->send.start < k->accept.start || k->send.end > k->accept.end)
		say(warn, arg, count, "key-chain %s key %llu: sent outside its accept window",
		    c->name, (unsigned long long)k->id);
	for (size_t j = i + 1; j < c->n; j++) {
		const struct keychain_window *w = &c->keys[j].send;

		if (w->start < k->send.end && k->send.start < w->end)
			say(warn, arg, count, "key-chain %s: send windows of keys %llu and %llu overlap from %s to %s (the later start is sent)",
			    c->name, (unsigned long long)k->id, (unsigned long long)c->keys[j].id,
			    keychain_time_str(w->start > k->send.start ? w->start : k->send.start, a, sizeof(a)),
			    keychain_time_str(w->end < k->send.end ? w->end : k->send.end, b, sizeof(b)));
	}
}

size_t keychain_check(const struct keychain *c, int64_t now,
		      void (*warn)(void *, const char *), void *arg)
{
	char a[32], b[32];
	size_t count = 0;
	int64_t t = now;

	for (size_t i = 0; i < c->n; i++)
		check_key(c, i, now, warn, arg, &count);
	/* Walk the send coverage from now: every hole is a gap. */
	for (int guard = 0; guard <= KEYCHAIN_KEYS_MAX && t != KEYCHAIN_NEVER; guard++) {
		int64_t end = covered_until(c, t), resume = KEYCHAIN_NEVER;

		for (size_t i = 0; i < c->n; i++)
			later(&resume, c->keys[i].send.start, end - 1);
		if (end == KEYCHAIN_NEVER)
			break;
		if (resume == KEYCHAIN_NEVER) {
			say(warn, arg, &count, "key-chain %s loses its last valid send key at %s",
			    c->name, keychain_time_str(end, a, sizeof(a)));
			break;
		}
		if (resume > end)
			say(warn, arg, &count, "key-chain %s: no valid send key from %s to %s (gap: the last key is held)",
			    c->name, keychain_time_str(end, a, sizeof(a)),
			    keychain_time_str(resume, b, sizeof(b)));
		t = resume;
	}
	return count;
}

int64_t keychain_end(const struct keychain *c)
{
	int64_t end = KEYCHAIN_ALWAYS;

	for (size_t i = 0; i < c->n; i++)
		if (c->keys[i].send.end > end)
			end = c->keys[i].send.end;
	return end;
}
