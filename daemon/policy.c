// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host policy: peer entries with their MKTs, matched per connection.
 * See policy.h for the snapshot contract.
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "keychain.h"
#include "peerindex.h"
#include "policy.h"

const char *policy_prefix_str(const struct tcpao_addr *addr, uint8_t len,
			      char *buf, size_t buflen)
{
	char text[INET6_ADDRSTRLEN];

	if (addr->family != AF_INET && addr->family != AF_INET6) {
		snprintf(buf, buflen, "any");
		return buf;
	}
	inet_ntop(addr->family, addr->bytes, text, sizeof(text));
	snprintf(buf, buflen, "%s/%u", text, len);
	return buf;
}

/* ---- entries shared between versions ----------------------------------- */

static void entry_ref(uintptr_t w)
{
	((struct policy_peer *)w)->ref++;
}

static void entry_unref(uintptr_t w)
{
	struct policy_peer *p = (struct policy_peer *)w;

	if (--p->ref)
		return;
	tcpao_keyring_free(&p->keys);
	free(p);
}

static const struct pvec_ops entry_ops = { entry_ref, entry_unref };

static uint64_t generations;
static uint64_t conn_seed; /* conn_key() */

static void indexes_init(struct policy_indexes *ix)
{
	peer_index_init(&ix->prefix);
	peer_index_init(&ix->cookie);
	peer_index_init(&ix->conn);
}

static void indexes_free(struct policy_indexes *ix)
{
	peer_index_free(&ix->prefix);
	peer_index_free(&ix->cookie);
	peer_index_free(&ix->conn);
}

struct policy *policy_new(void)
{
	struct policy *policy = calloc(1, sizeof(*policy));

	if (!policy)
		return NULL;
	policy->next_serial = 1;
	policy->gen = ++generations;
	/* Before any worker reads a policy: set once, on the first. */
	hash_seed_once(&conn_seed);
	pvec_init(&policy->entries, &entry_ops);
	indexes_init(&policy->ix);
	return policy;
}

void policy_free(struct policy *policy)
{
	if (!policy)
		return;
	pvec_free(&policy->entries);
	indexes_free(&policy->ix);
	free(policy->changed);
	keychains_unref(policy->chains);
	free(policy);
}

const struct keychain *policy_peer_chain(const struct policy *policy,
					 const struct policy_peer *peer)
{
	if (!peer->chain || !policy->chains || peer->chain > policy->chains->n)
		return NULL;
	return &policy->chains->v[peer->chain - 1];
}

const struct policy_peer *policy_entry(const struct policy *policy, size_t slot)
{
	return (const struct policy_peer *)pvec_get(&policy->entries, slot);
}

/* The record of changed slots; without memory, none (compared whole). */
static void note_change(struct policy *policy, size_t slot)
{
	if (!policy->base)
		return;
	if (policy->nchanged == policy->changed_cap) {
		size_t cap = policy->changed_cap ? 2 * policy->changed_cap : 8;
		size_t *v = realloc(policy->changed, cap * sizeof(*v));

		if (!v) {
			policy->base = 0;
			return;
		}
		policy->changed = v;
		policy->changed_cap = cap;
	}
	policy->changed[policy->nchanged++] = slot;
}

static struct policy_peer *entry_copy(const struct policy_peer *p)
{
	struct policy_peer *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *p;
	c->ref = 1;
	c->delta_of = p;
	c->delta_keys = 0;
	if (tcpao_keyring_copy(&c->keys, &p->keys)) {
		free(c);
		return NULL;
	}
	return c;
}

struct policy_peer *policy_entry_mut(struct policy *policy, size_t slot)
{
	uintptr_t *at = pvec_slot(&policy->entries, slot);
	struct policy_peer *p = at ? (struct policy_peer *)*at : NULL;

	if (p && p->ref > 1) { /* another version holds it too */
		struct policy_peer *c = entry_copy(p);

		if (!c)
			return NULL;
		p->ref--;
		*at = (uintptr_t)c;
		p = c;
	}
	if (p)
		note_change(policy, slot);
	return p;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

bool policy_changes(const struct policy *fresh, const struct policy *old,
		    size_t **slots, size_t *n)
{
	size_t k = 0, *v;

	*slots = NULL;
	*n = 0;
	if (!old || !fresh->base || fresh->base != old->gen)
		return false;
	if (!fresh->nchanged)
		return true;
	v = malloc(fresh->nchanged * sizeof(*v));
	if (!v)
		return false;
	memcpy(v, fresh->changed, fresh->nchanged * sizeof(*v));
	qsort(v, fresh->nchanged, sizeof(*v), cmp_size);
	for (size_t i = 0; i < fresh->nchanged; i++)
		if (!k || v[k - 1] != v[i])
			v[k++] = v[i];
	*slots = v;
	*n = k;
	return true;
}

/* A socket's cookie written as an IPv6 /128: the index of sockets'
 * entries is a peer index (a persistent map) keyed so. */
static struct tcpao_addr cookie_key(uint64_t cookie)
{
	struct tcpao_addr a = { .family = AF_INET6 };

	memcpy(a.bytes, &cookie, sizeof(cookie));
	return a;
}

/* A connection's socket entry: found by its peer and ports, not among
 * the entries of its peer's prefix (policy_match() looks in both). */
static bool conn_scope(const struct policy_scope *s)
{
	return s->local_port && s->remote_port &&
	       s->peer_len == 8 * tcpao_addr_len(&s->peer);
}

static bool conn_entry(const struct policy_peer *p)
{
	return p->sock_cookie && conn_scope(&p->scope);
}

/* A keyed hash of a peer and ports written as an IPv6 /128 (as
 * cookie_key()): keyed, so that no local user can pile its sockets'
 * entries onto another's. Candidates are checked against their scope. */
static struct tcpao_addr conn_key(const struct tcpao_addr *peer,
				  uint16_t lport, uint16_t rport)
{
	struct tcpao_addr a = { .family = AF_INET6 };
	uint64_t w[2], h[2];

	memcpy(w, peer->bytes, sizeof(w)); /* no call: a length known at build */
	if (peer->family == AF_INET) {     /* the bytes past its 4 are not its */
		w[0] &= htobe64(0xffffffff00000000ull);
		w[1] = 0;
	}
	h[0] = hash_mix(hash_mix(hash_mix(conn_seed, peer->family), w[0]), w[1]);
	h[1] = hash_mix(h[0], (uint64_t)lport << 16 | rport);
	memcpy(a.bytes, h, sizeof(h));
	return a;
}

/* Where p is found by its scope: its peer's prefix, or its connection. */
static struct peer_index *scope_index(struct policy_indexes *ix,
				      const struct policy_peer *p,
				      struct tcpao_addr *key, uint8_t *len)
{
	if (conn_entry(p)) {
		*key = conn_key(&p->scope.peer, p->scope.local_port, p->scope.remote_port);
		*len = 128;
		return &ix->conn;
	}
	*key = p->scope.peer;
	*len = p->scope.peer_len;
	return &ix->prefix;
}

/* Slot's entry p joins the indexes (by scope, by cookie). */
static int index_in(struct policy_indexes *ix, const struct policy_peer *p,
		    size_t slot)
{
	struct tcpao_addr c = cookie_key(p->sock_cookie), k;
	uint8_t len;
	struct peer_index *by_scope = scope_index(ix, p, &k, &len);

	if (peer_index_add(by_scope, &k, len, (uint32_t)slot))
		return -ENOMEM;
	if (p->sock_cookie && peer_index_add(&ix->cookie, &c, 128, (uint32_t)slot)) {
		peer_index_del(by_scope, &k, len, (uint32_t)slot);
		return -ENOMEM;
	}
	return 0;
}

static int index_out(struct policy_indexes *ix, const struct policy_peer *p,
		     size_t slot)
{
	struct tcpao_addr c = cookie_key(p->sock_cookie), k;
	uint8_t len;
	struct peer_index *by_scope = scope_index(ix, p, &k, &len);

	/* Out of the scope's index first: an entry stuck half out (no memory
	 * for the way back either) is then unmatched but still found by its
	 * cookie, and a second try (-ENOENT: out already) finishes. */
	if (peer_index_del(by_scope, &k, len, (uint32_t)slot) == -ENOMEM)
		return -ENOMEM;
	if (p->sock_cookie && peer_index_del(&ix->cookie, &c, 128, (uint32_t)slot) == -ENOMEM) {
		peer_index_add(by_scope, &k, len, (uint32_t)slot);
		return -ENOMEM;
	}
	return 0;
}

/* Puts p (its reference handed over) in the next slot, indexed. */
static int entry_push(struct policy *policy, struct policy_peer *p)
{
	size_t slot = policy->n;

	if (pvec_resize(&policy->entries, slot + 1)) {
		entry_unref((uintptr_t)p);
		return -ENOMEM;
	}
	if (pvec_set(&policy->entries, slot, (uintptr_t)p)) {
		entry_unref((uintptr_t)p);
		pvec_resize(&policy->entries, slot);
		return -ENOMEM;
	}
	if (index_in(&policy->ix, p, slot)) {
		pvec_resize(&policy->entries, slot); /* drops p */
		return -ENOMEM;
	}
	policy->n = slot + 1;
	note_change(policy, slot);
	return 0;
}

/* A new entry in the next slot, indexed; NULL without memory. */
static struct policy_peer *entry_append(struct policy *policy,
					const struct policy_scope *s,
					uint64_t cookie)
{
	struct policy_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->ref = 1;
	p->scope = *s;
	p->sock_cookie = cookie;
	tcpao_keyring_init(&p->keys);
	return entry_push(policy, p) ? NULL : p;
}

/* The slots renumbered without holes, the index rebuilt: a copy of the
 * whole, when removed entries are half the slots. */
static void compact(struct policy *policy)
{
	struct policy_indexes ix;
	struct pvec v;
	size_t n = 0;

	pvec_init(&v, &entry_ops);
	indexes_init(&ix);
	if (pvec_resize(&v, policy->n - policy->holes))
		goto fail;
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);

		if (!p)
			continue;
		if (index_in(&ix, p, n))
			goto fail;
		entry_ref((uintptr_t)p);
		if (pvec_set(&v, n++, (uintptr_t)p)) {
			entry_unref((uintptr_t)p);
			goto fail;
		}
	}
	pvec_free(&policy->entries);
	indexes_free(&policy->ix);
	policy->entries = v;
	policy->ix = ix;
	policy->n = n;
	policy->holes = 0;
	policy->base = 0; /* slots renumbered: compared whole */
	return;
fail: /* no memory: the holes stay */
	pvec_free(&v);
	indexes_free(&ix);
}

/* 0, or -ENOMEM: the entry stays, still indexed. No entry: 0. */
static int entry_remove(struct policy *policy, size_t slot)
{
	const struct policy_peer *p = slot < policy->n ? policy_entry(policy, slot) : NULL;

	if (!p)
		return 0;
	note_change(policy, slot);
	/* The slot's path made this version's first: then clearing it takes
	 * no memory, and no failure leaves the entry in place unindexed. */
	if (!pvec_slot(&policy->entries, slot) || index_out(&policy->ix, p, slot))
		return -ENOMEM;
	pvec_set(&policy->entries, slot, 0);
	policy->holes++;
	while (policy->n && !policy_entry(policy, policy->n - 1) &&
	       !pvec_resize(&policy->entries, policy->n - 1)) {
		policy->n--;
		policy->holes--;
	}
	if (policy->holes > 64 && 2 * policy->holes > policy->n)
		compact(policy);
	return 0;
}

struct policy *policy_clone(const struct policy *policy)
{
	struct policy *copy = policy_new();

	if (!copy)
		return NULL;
	pvec_clone(&copy->entries, &policy->entries);
	copy->entries.ops = &entry_ops;
	indexes_free(&copy->ix);
	peer_index_clone(&copy->ix.prefix, &policy->ix.prefix);
	peer_index_clone(&copy->ix.cookie, &policy->ix.cookie);
	peer_index_clone(&copy->ix.conn, &policy->ix.conn);
	copy->n = policy->n;
	copy->holes = policy->holes;
	copy->next_serial = policy->next_serial;
	copy->chains = keychains_ref(policy->chains);
	copy->base = policy->gen;
	copy->mark = policy->mark;
	return copy;
}

/* ---- scopes ------------------------------------------------------------ */

static bool has_host_bits(const struct tcpao_addr *addr, uint8_t len)
{
	size_t bits = tcpao_addr_len(addr) * 8;

	for (size_t i = len; i < bits; i++)
		if (addr->bytes[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

/* IPv4-mapped prefixes become IPv4 prefixes. */
static int unmap_prefix(struct tcpao_addr *addr, uint8_t *len)
{
	if (addr->family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&addr->v6))
		return 0;
	if (*len < 96)
		return -EINVAL;
	tcpao_addr_unmap(addr);
	*len -= 96;
	return 0;
}

static int check_prefix(const char *what, struct tcpao_addr *addr,
			uint8_t *len, char *err, size_t errlen)
{
	char text[64];

	if (addr->family != AF_INET && addr->family != AF_INET6)
		return tcpao_errf(err, errlen, -EINVAL, "%s: an IPv4 or IPv6 prefix is required", what);
	if (*len > tcpao_addr_len(addr) * 8)
		return tcpao_errf(err, errlen, -EINVAL, "%s: prefix length %u is too long", what, *len);
	if (unmap_prefix(addr, len))
		return tcpao_errf(err, errlen, -EINVAL, "%s: an IPv4-mapped prefix must be /96 or longer", what);
	if (has_host_bits(addr, *len))
		return tcpao_errf(err, errlen, -EINVAL, "%s: %s has host bits set",
			    what, policy_prefix_str(addr, *len, text, sizeof(text)));
	return 0;
}

static int scope_normalize(struct policy_scope *scope, char *err, size_t errlen)
{
	int rc = check_prefix("peer", &scope->peer, &scope->peer_len, err, errlen);

	if (rc)
		return rc;
	if (scope->local.family == AF_UNSPEC) {
		memset(&scope->local, 0, sizeof(scope->local));
		scope->local_len = 0;
		return 0;
	}
	rc = check_prefix("local", &scope->local, &scope->local_len, err, errlen);
	if (rc)
		return rc;
	if (scope->local.family != scope->peer.family)
		return tcpao_errf(err, errlen, -EINVAL, "local and peer addresses are of different families");
	return 0;
}

static bool scope_equal(const struct policy_scope *a, const struct policy_scope *b)
{
	return a->peer_len == b->peer_len && tcpao_addr_equal(&a->peer, &b->peer) &&
	       a->local.family == b->local.family &&
	       (a->local.family == AF_UNSPEC ||
		(a->local_len == b->local_len && tcpao_addr_equal(&a->local, &b->local))) &&
	       a->local_port == b->local_port && a->remote_port == b->remote_port;
}

static int addr_cmp(const struct tcpao_addr *a, const struct tcpao_addr *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return a->family == AF_UNSPEC ? 0 : memcmp(a->bytes, b->bytes, tcpao_addr_len(a));
}

int policy_scope_cmp(const struct policy_scope *a, const struct policy_scope *b)
{
	int c = addr_cmp(&a->peer, &b->peer) ?: (int)a->peer_len - (int)b->peer_len ?:
		addr_cmp(&a->local, &b->local);

	if (c)
		return c;
	if (a->local.family != AF_UNSPEC && a->local_len != b->local_len)
		return (int)a->local_len - (int)b->local_len;
	return (int)a->local_port - (int)b->local_port ?:
	       (int)a->remote_port - (int)b->remote_port;
}

static bool prefixes_overlap(const struct tcpao_addr *a, uint8_t alen,
			     const struct tcpao_addr *b, uint8_t blen)
{
	return tcpao_addr_in_prefix(a, b, alen < blen ? alen : blen);
}

static bool ports_overlap(uint16_t a, uint16_t b)
{
	return !a || !b || a == b;
}

/* Some connection could match both scopes. */
static bool scopes_overlap(const struct policy_scope *a, const struct policy_scope *b)
{
	if (!prefixes_overlap(&a->peer, a->peer_len, &b->peer, b->peer_len))
		return false;
	if (a->local.family != AF_UNSPEC && b->local.family != AF_UNSPEC &&
	    !prefixes_overlap(&a->local, a->local_len, &b->local, b->local_len))
		return false;
	return ports_overlap(a->local_port, b->local_port) &&
	       ports_overlap(a->remote_port, b->remote_port);
}

/* The next slot whose entry's peer prefix is exactly prefix/len, in the
 * order defined, or SIZE_MAX. Start with *it = 0. */
static size_t next_live(const struct policy *policy, const uint32_t *ids,
			size_t n, size_t *at)
{
	while (*at < n) {
		size_t slot = ids[(*at)++];

		if (policy_entry(policy, slot))
			return slot;
	}
	return SIZE_MAX;
}

static size_t next_of_prefix(const struct policy *policy,
			     const struct tcpao_addr *prefix, uint8_t len,
			     size_t *it)
{
	size_t n;
	const uint32_t *ids = peer_index_ids(&policy->ix.prefix, prefix, len, &n);

	return next_live(policy, ids, n, it);
}

/* The slot of the host entry of exactly scope s (normalized). */
static size_t find_slot(const struct policy *policy, const struct policy_scope *s)
{
	size_t it = 0, slot;

	while ((slot = next_of_prefix(policy, &s->peer, s->peer_len, &it)) != SIZE_MAX) {
		const struct policy_peer *p = policy_entry(policy, slot);

		if (!p->sock_cookie && scope_equal(&p->scope, s))
			return slot;
	}
	return SIZE_MAX;
}

/* The same for a scope not normalized yet. */
static size_t host_slot(const struct policy *policy, const struct policy_scope *scope)
{
	struct policy_scope s = *scope;

	return scope_normalize(&s, NULL, 0) ? SIZE_MAX : find_slot(policy, &s);
}

const struct policy_peer *policy_peer_find(const struct policy *policy,
					   const struct policy_scope *scope)
{
	size_t slot = host_slot(policy, scope);

	return slot == SIZE_MAX ? NULL : policy_entry(policy, slot);
}

struct policy_peer *policy_peer_find_mut(struct policy *policy,
					 const struct policy_scope *scope)
{
	size_t slot = host_slot(policy, scope);

	return slot == SIZE_MAX ? NULL : policy_entry_mut(policy, slot);
}

struct policy_peer *policy_peer_get(struct policy *policy,
				    const struct policy_scope *scope,
				    const char *origin, int *rc,
				    char *err, size_t errlen)
{
	struct policy_scope s = *scope;
	struct policy_peer *peer;
	size_t slot;

	*rc = scope_normalize(&s, err, errlen);
	if (*rc)
		return NULL;
	slot = find_slot(policy, &s);
	peer = slot != SIZE_MAX ? policy_entry_mut(policy, slot) : entry_append(policy, &s, 0);
	if (!peer) {
		*rc = tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	if (slot != SIZE_MAX)
		return peer;
	peer->ao_required = true;
	peer->current_sndid = -1;
	peer->rnext_rcvid = -1;
	snprintf(peer->origin, sizeof(peer->origin), "%s", origin ? origin : "runtime");
	peer->from = origin ? POLICY_FROM_FILE : POLICY_FROM_RUNTIME;
	return peer;
}

/* ---- keys -------------------------------------------------------------- */

/* Walks the slots whose entry's peer prefix may contain addr/max_len:
 * those of each of its prefixes present, longest first (in the order
 * defined within one prefix); with every set, all entries in the order
 * defined. Start from a zeroed walk; SIZE_MAX when done. */
struct prefix_walk {
	bool started, every;
	int len;		/* the length walked; -1: done */
	const uint32_t *ids;	/* its slots (peer_index_ids()) */
	size_t nids, at;
	size_t next;		/* walking all: the next slot */
};

static void walk_length(const struct policy *policy, const struct tcpao_addr *addr,
			struct prefix_walk *w, int below)
{
	w->len = peer_index_len_below(&policy->ix.prefix, addr->family, below);
	w->ids = w->len < 0 ? NULL : peer_index_ids(&policy->ix.prefix, addr, (uint8_t)w->len, &w->nids);
	w->nids = w->ids ? w->nids : 0;
	w->at = 0;
}

static size_t next_containing(const struct policy *policy,
			      const struct tcpao_addr *addr, uint8_t max_len,
			      struct prefix_walk *w)
{
	size_t slot;

	if (w->every) {
		while (w->next < policy->n)
			if (policy_entry(policy, slot = w->next++))
				return slot;
		return SIZE_MAX;
	}
	if (!w->started) {
		w->started = true;
		walk_length(policy, addr, w, max_len + 1);
	}
	while (w->len >= 0) {
		slot = next_live(policy, w->ids, w->nids, &w->at);
		if (slot != SIZE_MAX)
			return slot;
		walk_length(policy, addr, w, w->len);
	}
	return SIZE_MAX;
}

/* Only entries whose scope overlaps can clash; each ring answers from
 * its index, so this costs the overlapping entries, not O(keys). */
static int check_clash(struct policy *policy, const struct policy_scope *scope,
		       const struct tcpao_mkt *mkt, char *err, size_t errlen)
{
	struct prefix_walk w = { 0 };
	size_t slot;
	char text[64];

	/* The prefix's ancestors, unless some prefix is longer than it:
	 * then its descendants too, and every entry is walked. */
	w.every = peer_index_len_below(&policy->ix.prefix, scope->peer.family, 129) > scope->peer_len;
	while ((slot = next_containing(policy, &scope->peer, scope->peer_len, &w)) != SIZE_MAX) {
		const struct policy_peer *p = policy_entry(policy, slot);

		/* The ring's clash index is a cache no reader looks at: built
		 * here even on an entry other versions share. */
		if (p->sock_cookie || !scopes_overlap(&p->scope, scope) ||
		    !tcpao_keyring_clashes((struct tcpao_keyring *)&p->keys, mkt))
			continue;
		/* Rare: a walk to name the key. */
		for (size_t k = 0; k < p->keys.n; k++)
			if (tcpao_mkt_conflicts(tcpao_keyring_key(&p->keys, k), mkt))
				return tcpao_errf(err, errlen, -EEXIST,
					    "key sndid %u rcvid %u clashes with key sndid %u rcvid %u of peer %s (%s)",
					    mkt->sndid, mkt->rcvid,
					    (*tcpao_keyring_key(&p->keys, k)).sndid, (*tcpao_keyring_key(&p->keys, k)).rcvid,
					    policy_prefix_str(&p->scope.peer, p->scope.peer_len,
							      text, sizeof(text)),
					    p->origin);
	}
	return 0;
}

/* Entries a peer prefix selects: all of them for AF_UNSPEC. */
static bool selects(const struct policy_peer *p, const struct tcpao_addr *peer,
		    uint8_t peer_len)
{
	struct tcpao_addr a = *peer;
	uint8_t len = peer_len;

	if (p->sock_cookie) /* host operations leave sockets' keys alone */
		return false;
	if (peer->family == AF_UNSPEC)
		return true;
	if (unmap_prefix(&a, &len))
		return false;
	return p->scope.peer_len == len && tcpao_addr_equal(&p->scope.peer, &a);
}

/* The next slot a peer prefix selects (selects()): those of its prefix
 * through the index, every slot for AF_UNSPEC; SIZE_MAX when done.
 * Start with *it = 0. */
static size_t next_selected(const struct policy *policy, const struct tcpao_addr *peer,
			    uint8_t peer_len, size_t *it)
{
	struct tcpao_addr a = *peer;
	uint8_t len = peer_len;
	size_t slot;

	if (peer->family != AF_UNSPEC) {
		if (unmap_prefix(&a, &len))
			return SIZE_MAX;
		while ((slot = next_of_prefix(policy, &a, len, it)) != SIZE_MAX)
			if (selects(policy_entry(policy, slot), peer, peer_len))
				return slot;
		return SIZE_MAX;
	}
	while (*it < policy->n) {
		const struct policy_peer *p = policy_entry(policy, slot = (*it)++);

		if (p && selects(p, peer, peer_len))
			return slot;
	}
	return SIZE_MAX;
}

static int check_key(struct tcpao_mkt *key, char *err, size_t errlen)
{
	int rc = tcpao_mkt_check(key);

	if (rc == -EMSGSIZE)
		return tcpao_errf(err, errlen, rc, "maclen %u does not fit %s or the option space",
			    key->maclen, tcpao_alg_name(key->alg));
	if (rc)
		return tcpao_errf(err, errlen, rc, "invalid key");
	if (!key->keylen)
		return tcpao_errf(err, errlen, -EINVAL, "the secret is empty");
	return 0;
}

/* Links a checked key into one entry (its peer already the entry's). */
static int insert_key(struct policy *policy, struct policy_peer *peer,
		      const struct tcpao_mkt *key, uint8_t tag, bool set_current,
		      bool set_rnext, char *err, size_t errlen)
{
	int rc = tcpao_keyring_add(&peer->keys, key);

	if (rc)
		return tcpao_errf(err, errlen, rc, "cannot add key: %s", strerror(-rc));
	tcpao_keyring_set(&peer->keys, 0, policy->next_serial++, tag); /* key 0: cannot fail */
	if (set_current)
		peer->current_sndid = key->sndid;
	if (set_rnext)
		peer->rnext_rcvid = key->rcvid;
	peer->current_epoch += set_current;
	peer->rnext_epoch += set_rnext;
	return 0;
}

static int add_to_scope(struct policy *policy, const struct policy_scope *scope,
			struct tcpao_mkt *key, uint8_t tag, bool set_current,
			bool set_rnext, char *err, size_t errlen)
{
	size_t before = policy->n;
	struct policy_peer *peer;
	int rc;

	peer = policy_peer_get(policy, scope, NULL, &rc, err, errlen);
	if (!peer)
		return rc;
	rc = check_clash(policy, &peer->scope, key, err, errlen) ?:
	     insert_key(policy, peer, key, tag, set_current, set_rnext, err, errlen);
	if (rc && policy->n > before) /* leave no empty entry behind */
		entry_remove(policy, policy->n - 1);
	return rc;
}

/* A key for a peer prefix joins every entry of that prefix, whatever its
 * local address and ports: all connections to the peer get it. */
static int add_to_prefix(struct policy *policy, struct tcpao_mkt *key, uint8_t tag,
			 bool set_current, bool set_rnext, char *err, size_t errlen)
{
	struct policy_scope s = { .peer = key->peer, .peer_len = key->prefixlen };
	size_t targets = 0, it = 0, slot;
	int rc;

	/* The key's prefix is checked, unmapped: its entries are in the
	 * index under it. */
	while ((slot = next_selected(policy, &key->peer, key->prefixlen, &it)) != SIZE_MAX) {
		rc = check_clash(policy, &policy_entry(policy, slot)->scope, key, err, errlen);
		if (rc)
			return rc;
		targets++;
	}
	if (!targets)
		return add_to_scope(policy, &s, key, tag, set_current, set_rnext, err, errlen);
	it = 0;
	while ((slot = next_selected(policy, &key->peer, key->prefixlen, &it)) != SIZE_MAX) {
		struct policy_peer *p = policy_entry_mut(policy, slot);

		rc = p ? insert_key(policy, p, key, tag, set_current, set_rnext, err, errlen)
		       : tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		if (rc)
			return rc;
	}
	return 0;
}

int policy_add_key_from(struct policy *policy, const struct policy_scope *scope,
			const struct tcpao_mkt *mkt, enum policy_from from,
			bool set_current, bool set_rnext, char *err,
			size_t errlen)
{
	uint8_t tag = from == POLICY_FROM_FILE ? POLICY_KEY_FILE : POLICY_KEY_RUNTIME;
	struct policy_scope s = {0};
	struct tcpao_mkt key = *mkt;
	int rc = 0;

	if (from == POLICY_FROM_SOCKET)
		return tcpao_errf(err, errlen, -EINVAL, "a socket's key goes to its own entry");

	if (scope) {
		s = *scope;
		rc = scope_normalize(&s, err, errlen);
		if (rc)
			goto out;
	}
	if (key.peer.family != AF_UNSPEC) {
		rc = check_prefix("peer", &key.peer, &key.prefixlen, err, errlen);
		if (rc)
			goto out;
		if (!scope) {
			rc = check_key(&key, err, errlen) ?:
			     add_to_prefix(policy, &key, tag, set_current, set_rnext, err, errlen);
			goto out;
		}
		if (key.prefixlen != s.peer_len || !tcpao_addr_equal(&key.peer, &s.peer)) {
			rc = tcpao_errf(err, errlen, -EINVAL, "the key's peer differs from its entry's");
			goto out;
		}
	} else if (!scope) {
		rc = tcpao_errf(err, errlen, -EINVAL, "a host-policy key needs a peer prefix (peer=PREFIX)");
		goto out;
	}
	key.peer = s.peer;
	key.prefixlen = s.peer_len;
	rc = check_key(&key, err, errlen) ?:
	     add_to_scope(policy, &s, &key, tag, set_current, set_rnext, err, errlen);
out:
	tcpao_mkt_wipe(&key);
	return rc;
}

int policy_add_key_to(struct policy *policy, const struct policy_scope *scope,
		      const struct tcpao_mkt *mkt, bool set_current,
		      bool set_rnext, char *err, size_t errlen)
{
	return policy_add_key_from(policy, scope, mkt, POLICY_FROM_RUNTIME,
				   set_current, set_rnext, err, errlen);
}

const char *policy_key_origin(const struct policy_peer *p, size_t k, char *buf,
			      size_t buflen)
{
	if (p->from == POLICY_FROM_SOCKET)
		snprintf(buf, buflen, "socket:uid=%u:cookie=%llu", p->uid,
			 (unsigned long long)p->sock_cookie);
	else
		snprintf(buf, buflen, "%s", tcpao_keyring_tag(&p->keys, k) == POLICY_KEY_RUNTIME ?
			 "runtime" : "file");
	return buf;
}

int policy_add_key(struct policy *policy, const struct tcpao_mkt *mkt,
		   char *err, size_t errlen)
{
	return policy_add_key_to(policy, NULL, mkt, false, false, err, errlen);
}

static int find_key(const struct policy_peer *p, int sndid, int rcvid)
{
	for (size_t i = 0; i < p->keys.n; i++)
		if ((sndid < 0 || (*tcpao_keyring_key(&p->keys, i)).sndid == sndid) &&
		    (rcvid < 0 || (*tcpao_keyring_key(&p->keys, i)).rcvid == rcvid))
			return (int)i;
	return -1;
}

/* Linux's TCP_AO_DEL_KEY checks for one entry. */
static int check_del(const struct policy_peer *p, const struct policy_key_ref *ref,
		     int new_current, int new_rnext, char *err, size_t errlen)
{
	int cur = new_current >= 0 ? find_key(p, new_current, -1) : -1;
	int rn = new_rnext >= 0 ? find_key(p, -1, new_rnext) : -1;
	const struct tcpao_mkt *victim = tcpao_keyring_key(&p->keys, find_key(p, ref->sndid, ref->rcvid));

	if (new_current >= 0 && (cur < 0 || tcpao_keyring_key(&p->keys, cur) == victim))
		return tcpao_errf(err, errlen, -ENOENT, "no other key with sndid %d to make current", new_current);
	if (new_rnext >= 0 && (rn < 0 || tcpao_keyring_key(&p->keys, rn) == victim))
		return tcpao_errf(err, errlen, -ENOENT, "no other key with rcvid %d to make rnext", new_rnext);
	if (new_current < 0 && p->current_sndid == victim->sndid)
		return tcpao_errf(err, errlen, -EBUSY,
			    "key sndid %u rcvid %u is the current key: give a new one (--current ID)",
			    ref->sndid, ref->rcvid);
	if (new_rnext < 0 && p->rnext_rcvid == victim->rcvid)
		return tcpao_errf(err, errlen, -EBUSY,
			    "key sndid %u rcvid %u is the rnext key: give a new one (--rnext ID)",
			    ref->sndid, ref->rcvid);
	return 0;
}

int policy_del_key(struct policy *policy, const struct policy_key_ref *ref,
		   int new_current, int new_rnext, char *err, size_t errlen)
{
	size_t found = 0, it = 0, slot;
	int rc;

	while ((slot = next_selected(policy, &ref->peer, ref->peer_len, &it)) != SIZE_MAX) {
		const struct policy_peer *p = policy_entry(policy, slot);

		if (find_key(p, ref->sndid, ref->rcvid) < 0)
			continue;
		rc = check_del(p, ref, new_current, new_rnext, err, errlen);
		if (rc)
			return rc;
		found++;
	}
	if (!found)
		return tcpao_errf(err, errlen, -ENOENT, "no key sndid %u rcvid %u for that peer",
			    ref->sndid, ref->rcvid);
	it = 0;
	while ((slot = next_selected(policy, &ref->peer, ref->peer_len, &it)) != SIZE_MAX) {
		struct policy_peer *p;

		if (find_key(policy_entry(policy, slot), ref->sndid, ref->rcvid) < 0)
			continue;
		if (!(p = policy_entry_mut(policy, slot)))
			return tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		rc = tcpao_keyring_del(&p->keys, NULL, p->scope.peer_len, ref->sndid, ref->rcvid);
		if (rc) /* said done, the key would still sign */
			return tcpao_errf(err, errlen, rc, "%s", strerror(-rc));
		if (new_current >= 0)
			p->current_sndid = new_current;
		if (new_rnext >= 0)
			p->rnext_rcvid = new_rnext;
		p->current_epoch += new_current >= 0;
		p->rnext_epoch += new_rnext >= 0;
	}
	return 0;
}

int policy_set_keysel(struct policy *policy, const struct tcpao_addr *peer,
		      uint8_t peer_len, int current, int rnext,
		      char *err, size_t errlen)
{
	size_t changed = 0, it = 0, slot;

	if (current < 0 && rnext < 0)
		return tcpao_errf(err, errlen, -EINVAL, "give a current key, an rnext key or both");
	while ((slot = next_selected(policy, peer, peer_len, &it)) != SIZE_MAX) {
		const struct policy_peer *q = policy_entry(policy, slot);
		struct policy_peer *p;

		if ((current >= 0 && find_key(q, current, -1) < 0) ||
		    (rnext >= 0 && find_key(q, -1, rnext) < 0))
			continue;
		if (!(p = policy_entry_mut(policy, slot)))
			return tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		if (current >= 0)
			p->current_sndid = current;
		if (rnext >= 0)
			p->rnext_rcvid = rnext;
		p->current_epoch += current >= 0;
		p->rnext_epoch += rnext >= 0;
		changed++;
	}
	if (!changed)
		return tcpao_errf(err, errlen, -ENOENT, "no peer has a key with %s%d%s%s%d",
			    current >= 0 ? "sndid " : "", current >= 0 ? current : 0,
			    current >= 0 && rnext >= 0 ? " and " : "",
			    rnext >= 0 ? "rcvid " : "", rnext >= 0 ? rnext : 0);
	return 0;
}

/* ---- lookups (worker side: no locks, no allocation) -------------------- */

static bool scope_matches(const struct policy_scope *s,
			  const struct tcpao_addr *local, uint16_t lport,
			  const struct tcpao_addr *remote, uint16_t rport)
{
	if (!tcpao_addr_in_prefix(remote, &s->peer, s->peer_len))
		return false;
	if (s->local.family != AF_UNSPEC &&
	    !tcpao_addr_in_prefix(local, &s->local, s->local_len))
		return false;
	return (!s->local_port || s->local_port == lport) &&
	       (!s->remote_port || s->remote_port == rport);
}

bool policy_entry_scopes(const struct policy_peer *p,
			 const struct tcpao_addr *local, uint16_t lport,
			 const struct tcpao_addr *remote, uint16_t rport)
{
	struct tcpao_addr l = *local, r = *remote;

	tcpao_addr_unmap(&l);
	tcpao_addr_unmap(&r);
	return scope_matches(&p->scope, &l, lport, &r, rport);
}

bool policy_listener_serves(const struct policy_peer *p,
			    const struct tcpao_addr *remote)
{
	struct tcpao_addr r = *remote;
	int held = tcpao_keyring_holds_peer(&p->keys, remote);

	if (held >= 0)
		return held;
	tcpao_addr_unmap(&r);
	for (size_t k = 0; k < p->keys.n; k++) {
		struct tcpao_addr peer = (*tcpao_keyring_key(&p->keys, k)).peer;
		uint8_t len = (*tcpao_keyring_key(&p->keys, k)).prefixlen;

		if (peer.family == AF_UNSPEC)
			return true;
		if (!unmap_prefix(&peer, &len) && tcpao_addr_in_prefix(&r, &peer, len))
			return true;
	}
	return false;
}

/* Larger is more specific. */
static unsigned specificity(const struct policy_scope *s)
{
	unsigned local = s->local.family == AF_UNSPEC ? 0 : 1u + s->local_len;

	unsigned ports = (unsigned)!!s->local_port + !!s->remote_port;

	return (unsigned)s->peer_len << 16 | local << 2 | ports;
}

/* The best entry so far for one connection (policy_match()). */
struct match {
	const struct tcpao_addr *local, *remote;
	uint16_t lport, rport;
	const struct policy_peer *best, *listener, *only;
	unsigned best_spec;
};

/* Among entries that are not a fallback, the larger wins: a socket's
 * over the host policy, then the more specific. */
static unsigned rank(const struct policy_peer *p)
{
	return specificity(&p->scope) | (p->sock_cookie ? 1u << 31 : 0);
}

/* A listener is every peer's on its port (Linux: its ao_required refuses,
 * its counters count them all), but any other entry for this peer comes
 * first: a user's listener never overrides root's policy for a peer. */
static bool fallback(const struct policy_peer *p, const struct tcpao_addr *remote)
{
	return p->sock_listener && !policy_listener_serves(p, remote);
}

static void decide(struct match *m, const struct policy_peer *p)
{
	if (fallback(p, m->remote)) {
		if (!m->listener || specificity(&p->scope) > specificity(&m->listener->scope))
			m->listener = p;
		return;
	}
	if (!m->best || rank(p) > m->best_spec) {
		m->best = p;
		m->best_spec = rank(p);
	}
}

/* Whether a listener serves the peer (a probe of its keys) only orders
 * it against other entries: the one entry that scopes a connection is its
 * entry either way, so the first waits to be decided until a second
 * comes (once per SYN to a listener of many keys). */
static void consider(struct match *m, const struct policy_peer *p)
{
	if (!scope_matches(&p->scope, m->local, m->lport, m->remote, m->rport))
		return;
	if (!m->only) {
		m->only = p;
		return;
	}
	if (!m->best && !m->listener) /* nothing decided: p is the second */
		decide(m, m->only);
	decide(m, p);
}

bool policy_prefers(const struct policy_peer *a, const struct policy_peer *b,
		    const struct tcpao_addr *remote)
{
	bool fa = fallback(a, remote), fb = fallback(b, remote);

	if (fa != fb)
		return fb;
	if (fa)
		return specificity(&a->scope) > specificity(&b->scope);
	return rank(a) > rank(b);
}

const struct policy_peer *policy_match(const struct policy *policy,
				       const struct tcpao_addr *local,
				       uint16_t lport,
				       const struct tcpao_addr *remote,
				       uint16_t rport)
{
	struct tcpao_addr l = *local, r = *remote, k;
	struct match m = { .local = &l, .remote = &r, .lport = lport, .rport = rport };
	struct prefix_walk w = { 0 };
	const uint32_t *ids;
	size_t n, at = 0, slot;

	tcpao_addr_unmap(&l);
	tcpao_addr_unmap(&r);
	if (peer_index_len_below(&policy->ix.conn, AF_INET6, 129) == 128) { /* not empty */
		k = conn_key(&r, lport, rport);
		ids = peer_index_ids(&policy->ix.conn, &k, 128, &n);
		while ((slot = next_live(policy, ids, n, &at)) != SIZE_MAX)
			consider(&m, policy_entry(policy, slot));
	}
	while ((slot = next_containing(policy, &r, 128, &w)) != SIZE_MAX)
		consider(&m, policy_entry(policy, slot));
	if (!m.best && !m.listener) /* one entry, or none */
		return m.only;
	return m.best ? m.best : m.listener;
}

bool policy_covers(const struct policy *policy, const struct tcpao_addr *addr)
{
	struct tcpao_addr a = *addr;

	tcpao_addr_unmap(&a);
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);

		if (!p)
			continue;
		if (p->sock_listener ? policy_listener_serves(p, &a)
		    : tcpao_addr_in_prefix(&a, &p->scope.peer, p->scope.peer_len))
			return true;
	}
	return false;
}

bool policy_key_prefix(const struct policy_peer *p, struct tcpao_addr *a,
		       uint8_t *len)
{
	if (a->family == AF_UNSPEC) { /* a key for any peer */
		*a = p->scope.peer;
		*len = 0;
	}
	return !unmap_prefix(a, len);
}

size_t policy_entry_prefixes(const struct policy_peer *p,
			     void (*fn)(const struct tcpao_addr *prefix,
					uint8_t len, void *arg),
			     void *arg)
{
	size_t n = 0;

	if (!p->sock_listener) {
		if (fn)
			fn(&p->scope.peer, p->scope.peer_len, arg);
		return 1;
	}
	for (size_t k = 0; k < p->keys.n; k++) {
		struct tcpao_addr a = (*tcpao_keyring_key(&p->keys, k)).peer;
		uint8_t len = (*tcpao_keyring_key(&p->keys, k)).prefixlen;

		if (!policy_key_prefix(p, &a, &len))
			continue;
		if (fn)
			fn(&a, len, arg);
		n++;
	}
	return n;
}

size_t policy_foreach_prefix(const struct policy *policy,
			     void (*fn)(const struct tcpao_addr *prefix,
					uint8_t len, void *arg),
			     void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < policy->n; i++)
		if (policy_entry(policy, i))
			n += policy_entry_prefixes(policy_entry(policy, i), fn, arg);
	return n;
}

size_t policy_required_ports(const struct policy *policy, uint16_t *out,
			     size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);

		if (!p || !p->sock_listener || !p->ao_required || !p->scope.local_port)
			continue;
		if (out && n < cap)
			out[n] = p->scope.local_port;
		n++;
	}
	return n;
}

int policy_peer_keysel(const struct policy_peer *peer,
		       const struct tcpao_addr *remote, int ifindex,
		       struct tcpao_keysel *sel)
{
	const struct tcpao_keyring *ring = &peer->keys;
	const struct tcpao_ringkey *k;

	if (tcpao_keysel_default(sel, ring, remote, ifindex))
		return -ENOENT;
	if (peer->current_sndid >= 0 &&
	    (k = tcpao_keyring_lookup(ring, remote, ifindex, peer->current_sndid, -1)))
		sel->current = k->serial;
	if (peer->rnext_rcvid >= 0 &&
	    (k = tcpao_keyring_lookup(ring, remote, ifindex, -1, peer->rnext_rcvid)))
		sel->rnext = k->serial;
	return 0;
}

/* ---- the current key's age --------------------------------------------- */

int policy_current_key(const struct policy_peer *p)
{
	int k = p->current_sndid >= 0 ? find_key(p, p->current_sndid, -1) : 0;

	return k < (int)p->keys.n ? k : -1;
}

int64_t policy_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static void stamp(struct policy *policy, size_t slot, int64_t now)
{
	const struct policy_peer *p = policy_entry(policy, slot);
	int k = p ? policy_current_key(p) : -1;
	uint64_t serial = k >= 0 ? tcpao_keyring_serial(&p->keys, k) : 0;
	struct policy_peer *m;

	if (!p || (serial == p->current_serial && p->current_since))
		return;
	if ((m = policy_entry_mut(policy, slot))) {
		m->current_serial = serial;
		m->current_since = now;
	}
}

void policy_stamp_current(struct policy *policy, int64_t now)
{
	size_t n = policy->nchanged;

	/* A clone's other entries are its base's, stamped when published. */
	for (size_t i = 0; i < (policy->base ? n : policy->n); i++)
		stamp(policy, policy->base ? policy->changed[i] : i, now);
}

/* ---- reload ------------------------------------------------------------ */

static bool same_key(const struct tcpao_mkt *a, const struct tcpao_mkt *b)
{
	return a->sndid == b->sndid && a->rcvid == b->rcvid &&
	       a->alg == b->alg && a->maclen == b->maclen &&
	       a->flags == b->flags && a->ifindex == b->ifindex &&
	       a->keylen == b->keylen && !memcmp(a->key, b->key, a->keylen);
}

static uint64_t old_serial(const struct policy_peer *old, const struct tcpao_mkt *key)
{
	for (size_t i = 0; old && i < old->keys.n; i++)
		if (same_key(tcpao_keyring_key(&old->keys, i), key))
			return tcpao_keyring_serial(&old->keys, i);
	return 0;
}

void policy_adopt_serials(struct policy *fresh, const struct policy *old)
{
	uint64_t next = old->next_serial;

	for (size_t i = 0; i < fresh->n; i++) {
		struct policy_peer *p = policy_entry(fresh, i) ? policy_entry_mut(fresh, i) : NULL;
		const struct policy_peer *o = p ? policy_peer_find(old, &p->scope) : NULL;

		for (size_t k = 0; p && k < p->keys.n; k++) {
			uint64_t s = old_serial(o, tcpao_keyring_key(&p->keys, k));

			/* A fresh entry's chunks are its own: no copy, no failure
			 * (as policy_entry_mut() above, memory is not checked). */
			tcpao_keyring_set(&p->keys, k, s ? s : next++,
					  tcpao_keyring_tag(&p->keys, k));
		}
		if (o) {
			p->current_serial = o->current_serial;
			p->current_since = o->current_since;
			p->current_epoch = o->current_epoch +
				(o->current_sndid != p->current_sndid);
			p->rnext_epoch = o->rnext_epoch +
				(o->rnext_rcvid != p->rnext_rcvid);
		}
	}
	fresh->next_serial = next;
}

/* What did not come from the file survives a reload. */
static int keep_socket_entry(struct policy *fresh, const struct policy_peer *o)
{
	/* Shared, not copied: the entry does not change. */
	entry_ref((uintptr_t)o);
	return entry_push(fresh, (struct policy_peer *)o);
}

static bool has_serial(const struct policy_peer *p, uint64_t serial)
{
	return tcpao_keyring_find_serial(&p->keys, serial) >= 0;
}

/* The old entry's preferences, when they name its runtime key k. */
static void keep_preference(struct policy_peer *e, const struct policy_peer *o,
			    const struct tcpao_mkt *k)
{
	if (e->current_sndid < 0 && o->current_sndid == k->sndid)
		e->current_sndid = k->sndid;
	if (e->rnext_rcvid < 0 && o->rnext_rcvid == k->rcvid)
		e->rnext_rcvid = k->rcvid;
}

static int keep_runtime_keys(struct policy *fresh, const struct policy_peer *o,
			     size_t *clashes)
{
	struct policy_peer *e = NULL;
	int rc = 0;

	/* Oldest first, so that they keep their order at the head. */
	for (size_t k = o->keys.n; k-- > 0;) {
		const struct tcpao_mkt *key = tcpao_keyring_key(&o->keys, k);

		if (tcpao_keyring_tag(&o->keys, k) != POLICY_KEY_RUNTIME)
			continue;
		if (!e && !(e = policy_peer_get(fresh, &o->scope, NULL, &rc, NULL, 0)))
			return rc;
		if (has_serial(e, tcpao_keyring_serial(&o->keys, k)))
			continue; /* the file now has the same key */
		if (check_clash(fresh, &e->scope, key, NULL, 0) ||
		    tcpao_keyring_add(&e->keys, key)) {
			(*clashes)++;
			continue;
		}
		tcpao_keyring_set(&e->keys, 0, tcpao_keyring_serial(&o->keys, k),
				  POLICY_KEY_RUNTIME); /* key 0: cannot fail */
		keep_preference(e, o, key);
	}
	if (e) { /* as policy_adopt_serials(): same preference, same epoch */
		e->current_epoch = o->current_epoch + (o->current_sndid != e->current_sndid);
		e->rnext_epoch = o->rnext_epoch + (o->rnext_rcvid != e->rnext_rcvid);
		if (!e->current_since) { /* an entry of runtime keys alone */
			e->current_serial = o->current_serial;
			e->current_since = o->current_since;
		}
	}
	return 0;
}

int policy_keep_unfiled(struct policy *fresh, const struct policy *old,
			size_t *clashes)
{
	int rc = 0;

	*clashes = 0;
	for (size_t i = 0; i < old->n && !rc; i++) {
		const struct policy_peer *o = policy_entry(old, i);

		if (o)
			rc = o->sock_cookie ? keep_socket_entry(fresh, o)
				    : keep_runtime_keys(fresh, o, clashes);
	}
	if (fresh->next_serial < old->next_serial)
		fresh->next_serial = old->next_serial;
	return rc;
}

/* ---- what a change does ----------------------------------------------- */

static int cmp_serial(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The slots compared: `slots` (n of them), or all of p's when NULL. */
struct slot_set {
	const size_t *slots;
	size_t n;
};

static size_t set_len(const struct slot_set *set, const struct policy *p)
{
	return set->slots ? set->n : p->n;
}

static const struct policy_peer *set_entry(const struct slot_set *set,
					   const struct policy *p, size_t i)
{
	return policy_entry(p, set->slots ? set->slots[i] : i);
}

/* Every serial of those entries, sorted (NULL when none or no memory). */
static uint64_t *serials_of(const struct policy *p, const struct slot_set *set, size_t *n)
{
	size_t total = 0, at = 0;
	uint64_t *v;

	for (size_t i = 0; i < set_len(set, p); i++)
		total += set_entry(set, p, i) ? set_entry(set, p, i)->keys.n : 0;
	v = malloc((total + 1) * sizeof(*v));
	for (size_t i = 0; v && i < set_len(set, p); i++) {
		const struct policy_peer *e = set_entry(set, p, i);

		for (size_t k = 0; e && k < e->keys.n; k++)
			v[at++] = tcpao_keyring_serial(&e->keys, k);
	}
	if (v)
		qsort(v, at, sizeof(*v), cmp_serial);
	*n = v ? at : 0;
	return v;
}

static bool in_sorted(const uint64_t *v, size_t n, uint64_t s)
{
	return v && bsearch(&s, v, n, sizeof(*v), cmp_serial);
}

/* The same ids in the entry of the same scope: a changed key. */
static bool has_ids(const struct policy *policy, const struct policy_peer *p,
		    const struct tcpao_mkt *k)
{
	const struct policy_peer *q = p->sock_cookie ? policy_sock_entry(policy, p->sock_cookie)
						     : policy_peer_find(policy, &p->scope);

	int kifx = (k->flags & TCPAO_MKT_IFINDEX) ? k->ifindex : -1;

	/* The same ids bound to another VRF are another key. */
	for (size_t i = 0; q && i < q->keys.n; i++) {
		const struct tcpao_mkt *o = tcpao_keyring_key(&q->keys, i);

		if (o->sndid == k->sndid && o->rcvid == k->rcvid &&
		    ((o->flags & TCPAO_MKT_IFINDEX) ? o->ifindex : -1) == kifx)
			return true;
	}
	return false;
}

/* Keys of entries outside the set are the same in both policies (a
 * serial names one key in one entry), so comparing the set is enough. */
static void diff_set(const struct policy *old, const struct policy *fresh,
		     const struct slot_set *set,
		     void (*fn)(void *arg, const char *what,
				const struct policy_peer *p, size_t k),
		     void *arg)
{
	size_t nold, nfresh;
	uint64_t *vold = serials_of(old, set, &nold), *vfresh = serials_of(fresh, set, &nfresh);

	for (size_t i = 0; i < set_len(set, old); i++) {
		const struct policy_peer *o = set_entry(set, old, i);

		for (size_t k = 0; o && k < o->keys.n; k++)
			if (!in_sorted(vfresh, nfresh, tcpao_keyring_serial(&o->keys, k)) &&
			    !has_ids(fresh, o, tcpao_keyring_key(&o->keys, k)))
				fn(arg, "drop", o, k);
	}
	for (size_t i = 0; i < set_len(set, fresh); i++) {
		const struct policy_peer *p = set_entry(set, fresh, i);

		for (size_t k = 0; p && k < p->keys.n; k++)
			if (!in_sorted(vold, nold, tcpao_keyring_serial(&p->keys, k)))
				fn(arg, has_ids(old, p, tcpao_keyring_key(&p->keys, k)) ? "change" : "add", p, k);
	}
	free(vold);
	free(vfresh);
}

void policy_diff(const struct policy *old, const struct policy *fresh,
		 void (*fn)(void *arg, const char *what,
			    const struct policy_peer *p, size_t k),
		 void *arg)
{
	struct slot_set set = { 0 };
	size_t *slots;

	if (policy_changes(fresh, old, &slots, &set.n)) {
		set.slots = slots ? slots : (const size_t[1]){ 0 };
		diff_set(old, fresh, &set, fn, arg);
		free(slots);
		return;
	}
	diff_set(old, fresh, &(struct slot_set){ 0 }, fn, arg);
}

/* ---- socket entries ---------------------------------------------------- */

/* The socket's slot, or SIZE_MAX. */
static size_t sock_slot(const struct policy *policy, uint64_t cookie)
{
	struct tcpao_addr c = cookie_key(cookie);
	size_t n, at = 0, slot;
	const uint32_t *ids = cookie ? peer_index_ids(&policy->ix.cookie, &c, 128, &n) : NULL;

	while (ids && (slot = next_live(policy, ids, n, &at)) != SIZE_MAX)
		if (policy_entry(policy, slot)->sock_cookie == cookie)
			return slot;
	return SIZE_MAX;
}

const struct policy_peer *policy_sock_entry(const struct policy *policy,
					    uint64_t cookie)
{
	size_t slot = sock_slot(policy, cookie);

	return slot == SIZE_MAX ? NULL : policy_entry(policy, slot);
}

/* The socket's entry, this policy's own to change: -ENOENT when there is
 * none, -ENOMEM when it cannot be copied. */
static int sock_entry_own(struct policy *policy, uint64_t cookie, struct policy_peer **e)
{
	size_t slot = sock_slot(policy, cookie);

	if (slot == SIZE_MAX)
		return -ENOENT;
	return (*e = policy_entry_mut(policy, slot)) ? 0 : -ENOMEM;
}

struct policy_peer *policy_sock_entry_mut(struct policy *policy, uint64_t cookie)
{
	struct policy_peer *e = NULL;

	sock_entry_own(policy, cookie, &e);
	return e;
}

int policy_sock_remove(struct policy *policy, uint64_t cookie)
{
	size_t slot = sock_slot(policy, cookie);

	return slot == SIZE_MAX ? -ENOENT : entry_remove(policy, slot);
}

/* Another socket's entry of exactly this scope (a socket that is gone and
 * whose entry sockets_gc() has not removed yet). */
static size_t sock_scope_taken(const struct policy *policy,
			       const struct policy_scope *s)
{
	struct tcpao_addr k = conn_key(&s->peer, s->local_port, s->remote_port);
	size_t n = 0, it = 0, slot;
	const uint32_t *ids = conn_scope(s) ? peer_index_ids(&policy->ix.conn, &k, 128, &n)
					    : NULL;

	while ((slot = ids ? next_live(policy, ids, n, &it)
			   : next_of_prefix(policy, &s->peer, s->peer_len, &it)) != SIZE_MAX)
		if (policy_entry(policy, slot)->sock_cookie &&
		    scope_equal(&policy_entry(policy, slot)->scope, s))
			return slot;
	return SIZE_MAX;
}

static int copy_sock_key(struct policy *policy, struct policy_peer *e,
			 const struct tcpao_keyring *src, size_t i, bool keep_serials)
{
	int rc = tcpao_keyring_add(&e->keys, tcpao_keyring_key(src, i));

	if (!rc) /* key 0: cannot fail */
		tcpao_keyring_set(&e->keys, 0, keep_serials ? tcpao_keyring_serial(src, i)
							    : policy->next_serial++, 0);
	return rc;
}

/* Oldest first, so that the copy keeps the order. An accepted socket's
 * keys (only_peer) are found by the listener's peer index, not a walk. */
static int copy_sock_keys(struct policy *policy, struct policy_peer *e,
			  const struct tcpao_keyring *src, bool keep_serials,
			  const struct tcpao_addr *only_peer, int l3index)
{
	int at[64], rc = 0;
	size_t n = only_peer ? tcpao_keyring_matching(src, only_peer, l3index, at, 64)
			     : SIZE_MAX;

	for (size_t k = 0; n != SIZE_MAX && k < n && !rc; k++)
		rc = copy_sock_key(policy, e, src, (size_t)at[k], keep_serials);
	for (size_t i = src->n; n == SIZE_MAX && i-- > 0 && !rc;)
		if (!only_peer || tcpao_mkt_matches(tcpao_keyring_key(src, i), only_peer, l3index))
			rc = copy_sock_key(policy, e, src, i, keep_serials);
	return rc;
}

struct policy_peer *policy_sock_set(struct policy *policy,
				    const struct policy_sock *sock,
				    const struct policy_scope *scope,
				    const struct tcpao_keyring *keys,
				    bool keep_serials,
				    const struct tcpao_addr *only_peer, int l3index,
				    int *rc, char *err, size_t errlen)
{
	struct policy_scope s = *scope;
	struct policy_peer *e;

	*rc = scope_normalize(&s, err, errlen);
	if (*rc)
		return NULL;
	/* Either left behind would answer for the socket too. */
	if (policy_sock_remove(policy, sock->cookie) == -ENOMEM ||
	    entry_remove(policy, sock_scope_taken(policy, &s)))
		e = NULL;
	else
		e = entry_append(policy, &s, sock->cookie);
	if (!e) {
		*rc = tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	e->current_sndid = -1;
	e->rnext_rcvid = -1;
	tcpao_keyring_init(&e->keys);
	snprintf(e->origin, sizeof(e->origin), "socket");
	e->from = POLICY_FROM_SOCKET;
	e->uid = sock->uid;
	e->sock_cnt = sock->cnt;
	e->sock_keycnt = sock->keycnt;
	e->sock_listener = sock->listener;
	*rc = keys ? copy_sock_keys(policy, e, keys, keep_serials, only_peer, l3index) : 0;
	if (*rc) {
		tcpao_errf(err, errlen, *rc, "cannot add key: %s", strerror(-*rc));
		entry_remove(policy, policy->n - 1);
		return NULL;
	}
	return e;
}

/* The key a socket's entry gained or lost, for the peer sets. */
static void note_key(struct policy_peer *e, const struct tcpao_addr *peer,
		     uint8_t len, int sign)
{
	e->delta_keys++;
	e->delta_sign = sign;
	e->delta_peer = *peer;
	e->delta_len = len;
}

int policy_sock_add_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_mkt *mkt)
{
	struct policy_peer *e = NULL;
	int rc = sock_entry_own(policy, cookie, &e);

	if (!rc)
		rc = tcpao_keyring_add(&e->keys, mkt);
	if (!rc) {
		tcpao_keyring_set(&e->keys, 0, policy->next_serial++, 0); /* cannot fail */
		note_key(e, &mkt->peer, mkt->prefixlen, 1);
	}
	return rc;
}

int policy_sock_del_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_addr *peer, uint8_t len,
			uint8_t sndid, uint8_t rcvid)
{
	struct policy_peer *e = NULL;
	int rc = sock_entry_own(policy, cookie, &e);

	if (!rc)
		rc = tcpao_keyring_del(&e->keys, peer, len, sndid, rcvid);
	if (!rc)
		note_key(e, peer, len, -1);
	return rc;
}

void policy_sock_flags(struct policy_peer *e, int ao_required,
		       int accept_icmps, int current, int rnext)
{
	if (ao_required >= 0)
		e->ao_required = ao_required;
	if (accept_icmps >= 0)
		e->accept_icmps = accept_icmps;
	e->current_epoch += e->current_sndid != current;
	e->rnext_epoch += e->rnext_rcvid != rnext;
	e->current_sndid = current;
	e->rnext_rcvid = rnext;
}
