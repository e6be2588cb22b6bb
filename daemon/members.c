// SPDX-License-Identifier: GPL-2.0-or-later
/* Reference counts of the peer sets' members: see members.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "members.h"

struct member_slot {
	struct ipset_member m; /* family 0: empty */
	uint32_t count;
};

void members_free(struct member_counts *m)
{
	free(m->slots);
	free(m->ports);
	memset(m, 0, sizeof(*m));
}

static size_t hash(const struct ipset_member *x)
{
	uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)x->prefix.family << 8 | x->len);

	for (size_t i = 0; i < tcpao_addr_len(&x->prefix); i++)
		h = (h ^ x->prefix.bytes[i]) * 0x100000001b3ull;
	return (size_t)(h ^ h >> 29);
}

static struct member_slot *probe(struct member_slot *slots, size_t n,
				 const struct ipset_member *x)
{
	size_t i = hash(x) & (n - 1);

	while (slots[i].m.prefix.family && ipset_member_cmp(&slots[i].m, x))
		i = (i + 1) & (n - 1);
	return &slots[i];
}

/* Rehashed without the members no entry wants. */
static int rehash(struct member_counts *m)
{
	size_t live = 0, n = 64;
	struct member_slot *slots;

	for (size_t i = 0; i < m->nslots; i++)
		live += m->slots[i].count > 0;
	while (n < 4 * (live + 1))
		n *= 2;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].count)
			*probe(slots, n, &m->slots[i].m) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->nslots = n;
	m->used = live;
	return 0;
}

/* Room for one more of `size` bytes in *v, which holds n of *cap. */
static int room(void *v, size_t n, size_t *cap, size_t size)
{
	void **vp = v, *p;
	size_t c = *cap ? 2 * *cap : 8;

	if (n < *cap)
		return 0;
	if (!(p = realloc(*vp, c * size)))
		return -ENOMEM;
	*vp = p;
	*cap = c;
	return 0;
}

static int note_member(struct ipset_member **v, size_t *n, size_t *cap,
		       const struct ipset_member *x)
{
	if (room(v, *n, cap, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = *x;
	return 0;
}

static int note_port(uint16_t **v, size_t *n, size_t *cap, uint16_t port)
{
	if (room(v, *n, cap, sizeof(**v)))
		return -ENOMEM;
	(*v)[(*n)++] = port;
	return 0;
}

static int count_member(struct member_counts *m, const struct ipset_member *x, int sign,
			struct members_delta *d)
{
	struct member_slot *s;

	if (2 * (m->used + 1) > m->nslots && rehash(m))
		return -ENOMEM;
	s = probe(m->slots, m->nslots, x);
	if (!s->m.prefix.family) {
		if (sign < 0)
			return 0; /* not counted: nothing to take back */
		s->m = *x;
		m->used++;
	}
	if (sign > 0 && !s->count++) {
		m->family[x->prefix.family == AF_INET6]++;
		return d ? note_member(&d->add, &d->nadd, &d->cap_add, x) : 0;
	}
	if (sign < 0 && s->count && !--s->count) {
		m->family[x->prefix.family == AF_INET6]--;
		return d ? note_member(&d->del, &d->ndel, &d->cap_del, x) : 0;
	}
	return 0;
}

static int count_port(struct member_counts *m, uint16_t port, int sign,
		      struct members_delta *d)
{
	if (!m->ports && !(m->ports = calloc(65536, sizeof(*m->ports))))
		return -ENOMEM;
	if (sign > 0 && !m->ports[port]++) {
		m->nports++;
		return d ? note_port(&d->port_add, &d->nport_add, &d->cap_port_add, port) : 0;
	}
	if (sign < 0 && m->ports[port] && !--m->ports[port]) {
		m->nports--;
		return d ? note_port(&d->port_del, &d->nport_del, &d->cap_port_del, port) : 0;
	}
	return 0;
}

struct counting {
	struct member_counts *m;
	int sign, rc;
	struct members_delta *d;
};

/* hash:net has no /0: two /1 instead (as rules.c loads them). */
static void count_prefix(const struct tcpao_addr *prefix, uint8_t len, void *arg)
{
	struct counting *c = arg;
	struct ipset_member x = { .prefix = *prefix, .len = len };

	if (prefix->family != AF_INET && prefix->family != AF_INET6)
		return;
	if (len) {
		c->rc = c->rc ?: count_member(c->m, &x, c->sign, c->d);
		return;
	}
	memset(&x, 0, sizeof(x));
	x.prefix.family = prefix->family;
	x.len = 1;
	c->rc = c->rc ?: count_member(c->m, &x, c->sign, c->d);
	x.prefix.bytes[0] = 0x80;
	c->rc = c->rc ?: count_member(c->m, &x, c->sign, c->d);
}

int members_count(struct member_counts *m, const struct policy_peer *p, int sign,
		  struct members_delta *d)
{
	struct counting c = { .m = m, .sign = sign, .d = d };

	policy_entry_prefixes(p, count_prefix, &c);
	/* Listeners that require AO: their port, whoever the peer. */
	if (!c.rc && p->sock_listener && p->ao_required && p->scope.local_port)
		c.rc = count_port(m, p->scope.local_port, sign, d);
	return c.rc;
}

static bool port_of(const struct policy_peer *p)
{
	return p->sock_listener && p->ao_required && p->scope.local_port;
}

/* p is o with one key more or less (or none): flags aside, the same. */
static bool one_key_apart(const struct policy_peer *o, const struct policy_peer *p)
{
	size_t want = o->keys.n + (size_t)(p->delta_keys ? p->delta_sign : 0);

	return p->delta_of == o && p->delta_keys <= 1 && p->sock_cookie &&
	       p->sock_listener == o->sock_listener && p->keys.n == want &&
	       p->scope.local_port == o->scope.local_port &&
	       !policy_scope_cmp(&p->scope, &o->scope);
}

int members_count_change(struct member_counts *m, const struct policy_peer *o,
			 const struct policy_peer *p, int sign,
			 struct members_delta *d)
{
	struct counting c = { .m = m, .sign = sign, .d = d };
	struct tcpao_addr a = p->delta_peer;
	uint8_t len = p->delta_len;

	if (!one_key_apart(o, p))
		return 0;
	/* A connected socket's member is its scope, whatever its keys. */
	if (p->delta_keys && p->delta_sign == sign && p->sock_listener &&
	    policy_key_prefix(p, &a, &len))
		count_prefix(&a, len, &c);
	if (!c.rc && port_of(sign > 0 ? p : o) && !port_of(sign > 0 ? o : p))
		c.rc = count_port(m, p->scope.local_port, sign, d);
	return c.rc ? c.rc : 1;
}

int members_reset(struct member_counts *m, const struct policy *policy)
{
	members_free(m);
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);
		int rc = p ? members_count(m, p, 1, NULL) : 0;

		if (rc) {
			members_free(m);
			return rc;
		}
	}
	return 0;
}

void members_delta_free(struct members_delta *d)
{
	free(d->add);
	free(d->del);
	free(d->port_add);
	free(d->port_del);
	memset(d, 0, sizeof(*d));
}

int members_list(const struct member_counts *m, struct ipset_member **out, size_t *n)
{
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!m->family[0] && !m->family[1])
		return 0;
	*out = malloc((m->family[0] + m->family[1]) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < m->nslots; i++)
		if (m->slots[i].count)
			(*out)[k++] = m->slots[i].m;
	*n = ipset_members_unique(*out, k);
	return 0;
}
