// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host policy: peer entries with their MKTs, matched per connection.
 * See policy.h for the snapshot contract.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct policy *policy_new(void)
{
	struct policy *policy = calloc(1, sizeof(*policy));

	if (policy)
		policy->next_serial = 1;
	return policy;
}

void policy_free(struct policy *policy)
{
	if (!policy)
		return;
	for (size_t i = 0; i < policy->n; i++)
		tcpao_keyring_free(&policy->peers[i].keys);
	peer_index_free(policy->index);
	free(policy->peers);
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

/* ---- the index of entries by peer prefix ------------------------------ */

static void index_drop(struct policy *policy)
{
	peer_index_free(policy->index);
	policy->index = NULL;
	policy->indexed = 0;
}

/* The index when it covers every entry, else NULL. */
static const struct peer_index *index_of(const struct policy *policy)
{
	return policy->index && policy->indexed == policy->n ? policy->index : NULL;
}

static bool index_entry(struct policy *policy, size_t i)
{
	const struct policy_scope *s = &policy->peers[i].scope;

	if (peer_index_add(policy->index, &s->peer, s->peer_len, (uint32_t)i)) {
		index_drop(policy);
		return false;
	}
	policy->indexed = i + 1;
	return true;
}

void policy_index(struct policy *policy)
{
	if (index_of(policy))
		return;
	index_drop(policy);
	policy->index = peer_index_new();
	for (size_t i = 0; policy->index && i < policy->n; i++)
		if (!index_entry(policy, i))
			return;
}

/* After an entry was added at the end: the index follows, or goes. */
static void index_appended(struct policy *policy)
{
	if (policy->index && policy->indexed + 1 == policy->n)
		index_entry(policy, policy->n - 1);
	else
		index_drop(policy);
}

/* A deep copy of a ring, same layout (room in front), no clash index. */
static int keyring_copy(struct tcpao_keyring *dst,
			const struct tcpao_keyring *src)
{
	struct tcpao_mkt *keys;
	uint64_t *serials;
	uint8_t *tags;

	*dst = *src;
	dst->keys = NULL;
	dst->serials = NULL;
	dst->tags = NULL;
	dst->idx = NULL;
	if (!src->cap)
		return 0;
	/* Only the n keys in use are copied (a clone per change): no need to
	 * zero the spare room first. */
	keys = malloc(src->cap * sizeof(*keys));
	serials = malloc(src->cap * sizeof(*serials));
	tags = malloc(src->cap);
	if (!keys || !serials || !tags) {
		free(keys);
		free(serials);
		free(tags);
		tcpao_keyring_init(dst);
		return -ENOMEM;
	}
	dst->keys = keys + src->head;
	dst->serials = serials + src->head;
	dst->tags = tags + src->head;
	memcpy(dst->keys, src->keys, src->n * sizeof(*keys));
	memcpy(dst->serials, src->serials, src->n * sizeof(*serials));
	memcpy(dst->tags, src->tags, src->n);
	return 0;
}

struct policy *policy_clone(const struct policy *policy)
{
	struct policy *copy = policy_new();

	if (!copy)
		return NULL;
	copy->next_serial = policy->next_serial;
	copy->chains = keychains_ref(policy->chains);
	copy->mark = policy->mark;
	if (!policy->n)
		return copy;
	copy->peers = calloc(policy->n, sizeof(*copy->peers));
	if (!copy->peers) {
		free(copy);
		return NULL;
	}
	copy->cap = policy->n;
	for (size_t i = 0; i < policy->n; i++) {
		copy->peers[i] = policy->peers[i];
		if (keyring_copy(&copy->peers[i].keys, &policy->peers[i].keys)) {
			copy->n = i;
			policy_free(copy);
			return NULL;
		}
		copy->n = i + 1;
	}
	/* A copy is cheaper than a rebuild; none is no error. */
	if (index_of(policy) && (copy->index = peer_index_clone(policy->index)))
		copy->indexed = copy->n;
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

/* Walks the entries whose peer prefix is exactly prefix/len: through
 * the index when there is one, else every entry. Start with it = -1. */
static struct policy_peer *next_of_prefix(const struct policy *policy,
					  const struct tcpao_addr *prefix,
					  uint8_t len, size_t *it)
{
	const struct peer_index *ix = index_of(policy);
	size_t i = *it;

	if (ix) {
		i = i == SIZE_MAX ? peer_index_first(ix, prefix, len)
				  : peer_index_next(ix, (uint32_t)i);
		*it = i;
		return i == PEER_INDEX_NONE ? NULL : &policy->peers[i];
	}
	for (i = i == SIZE_MAX ? 0 : i + 1; i < policy->n; i++) {
		const struct policy_scope *s = &policy->peers[i].scope;

		if (s->peer_len == len && tcpao_addr_equal(&s->peer, prefix)) {
			*it = i;
			return &policy->peers[i];
		}
	}
	*it = i;
	return NULL;
}

struct policy_peer *policy_peer_find(const struct policy *policy,
				     const struct policy_scope *scope)
{
	struct policy_scope s = *scope;
	struct policy_peer *p;
	size_t it = SIZE_MAX;

	if (scope_normalize(&s, NULL, 0))
		return NULL;
	while ((p = next_of_prefix(policy, &s.peer, s.peer_len, &it)))
		if (!p->sock_cookie && scope_equal(&p->scope, &s))
			return p;
	return NULL;
}

static int grow(struct policy *policy)
{
	size_t cap = policy->cap ? policy->cap * 2 : 8;
	struct policy_peer *peers = realloc(policy->peers, cap * sizeof(*peers));

	if (!peers)
		return -ENOMEM;
	policy->peers = peers;
	policy->cap = cap;
	return 0;
}

struct policy_peer *policy_peer_get(struct policy *policy,
				    const struct policy_scope *scope,
				    const char *origin, int *rc,
				    char *err, size_t errlen)
{
	struct policy_scope s = *scope;
	struct policy_peer *peer;

	*rc = scope_normalize(&s, err, errlen);
	if (*rc)
		return NULL;
	peer = policy_peer_find(policy, &s);
	if (peer)
		return peer;
	if (policy->n == policy->cap && grow(policy)) {
		*rc = tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	peer = &policy->peers[policy->n++];
	memset(peer, 0, sizeof(*peer));
	peer->scope = s;
	peer->ao_required = true;
	peer->current_sndid = -1;
	peer->rnext_rcvid = -1;
	tcpao_keyring_init(&peer->keys);
	snprintf(peer->origin, sizeof(peer->origin), "%s", origin ? origin : "runtime");
	peer->from = origin ? POLICY_FROM_FILE : POLICY_FROM_RUNTIME;
	index_appended(policy);
	return peer;
}

/* ---- keys -------------------------------------------------------------- */

/* Walks the entries whose peer prefix may contain addr/max_len: with the
 * index, those of each of its prefixes present, longest first (in the
 * order defined within one prefix); without it, or with every set, all
 * entries in the order defined. Start from a zeroed walk. */
struct prefix_walk {
	bool started, every;
	int len;	/* the length walked; -1: done */
	size_t it;	/* its entry, SIZE_MAX before the first */
	size_t next;	/* walking all: the next entry */
};

static struct policy_peer *next_containing(const struct policy *policy,
					   const struct tcpao_addr *addr,
					   uint8_t max_len, struct prefix_walk *w)
{
	const struct peer_index *ix = index_of(policy);
	struct policy_peer *p;

	if (!ix || w->every)
		return w->next < policy->n ? &policy->peers[w->next++] : NULL;
	if (!w->started) {
		w->started = true;
		w->len = peer_index_len_below(ix, addr->family, max_len + 1);
		w->it = SIZE_MAX;
	}
	while (w->len >= 0) {
		if ((p = next_of_prefix(policy, addr, (uint8_t)w->len, &w->it)))
			return p;
		w->len = peer_index_len_below(ix, addr->family, w->len);
		w->it = SIZE_MAX;
	}
	return NULL;
}

/* Only entries whose scope overlaps can clash; each ring answers from
 * its index, so this costs the overlapping entries, not O(keys). */
static int check_clash(struct policy *policy, const struct policy_scope *scope,
		       const struct tcpao_mkt *mkt, char *err, size_t errlen)
{
	struct prefix_walk w = { 0 };
	const struct peer_index *ix;
	struct policy_peer *p;
	char text[64];

	/* The prefix's ancestors, unless some prefix is longer than it:
	 * then its descendants too, and every entry is walked. */
	policy_index(policy);
	ix = index_of(policy);
	w.every = ix && peer_index_len_below(ix, scope->peer.family, 129) > scope->peer_len;
	while ((p = next_containing(policy, &scope->peer, scope->peer_len, &w))) {
		if (p->sock_cookie || !scopes_overlap(&p->scope, scope) ||
		    !tcpao_keyring_clashes(&p->keys, mkt))
			continue;
		/* Rare: a walk to name the key. */
		for (size_t k = 0; k < p->keys.n; k++)
			if (tcpao_mkt_conflicts(&p->keys.keys[k], mkt))
				return tcpao_errf(err, errlen, -EEXIST,
					    "key sndid %u rcvid %u clashes with key sndid %u rcvid %u of peer %s (%s)",
					    mkt->sndid, mkt->rcvid,
					    p->keys.keys[k].sndid, p->keys.keys[k].rcvid,
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
	peer->keys.serials[0] = policy->next_serial++;
	peer->keys.tags[0] = tag;
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
	if (rc && policy->n > before) { /* leave no empty entry behind */
		tcpao_keyring_free(&peer->keys);
		policy->n--;
		index_drop(policy);
	}
	return rc;
}

/* A key for a peer prefix joins every entry of that prefix, whatever its
 * local address and ports: all connections to the peer get it. */
static int add_to_prefix(struct policy *policy, struct tcpao_mkt *key, uint8_t tag,
			 bool set_current, bool set_rnext, char *err, size_t errlen)
{
	struct policy_scope s = { .peer = key->peer, .peer_len = key->prefixlen };
	struct policy_peer *p;
	size_t targets = 0, it = SIZE_MAX;
	int rc;

	/* The key's prefix is checked, unmapped: its entries are in the
	 * index under it (check_clash() built it). */
	policy_index(policy);
	while ((p = next_of_prefix(policy, &key->peer, key->prefixlen, &it))) {
		if (!selects(p, &key->peer, key->prefixlen))
			continue;
		rc = check_clash(policy, &p->scope, key, err, errlen);
		if (rc)
			return rc;
		targets++;
	}
	if (!targets)
		return add_to_scope(policy, &s, key, tag, set_current, set_rnext, err, errlen);
	it = SIZE_MAX;
	while ((p = next_of_prefix(policy, &key->peer, key->prefixlen, &it))) {
		if (!selects(p, &key->peer, key->prefixlen))
			continue;
		rc = insert_key(policy, p, key, tag, set_current, set_rnext, err, errlen);
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
		snprintf(buf, buflen, "%s", p->keys.tags[k] == POLICY_KEY_RUNTIME ?
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
		if ((sndid < 0 || p->keys.keys[i].sndid == sndid) &&
		    (rcvid < 0 || p->keys.keys[i].rcvid == rcvid))
			return (int)i;
	return -1;
}

/* Linux's TCP_AO_DEL_KEY checks for one entry. */
static int check_del(const struct policy_peer *p, const struct policy_key_ref *ref,
		     int new_current, int new_rnext, char *err, size_t errlen)
{
	int cur = new_current >= 0 ? find_key(p, new_current, -1) : -1;
	int rn = new_rnext >= 0 ? find_key(p, -1, new_rnext) : -1;
	const struct tcpao_mkt *victim = &p->keys.keys[find_key(p, ref->sndid, ref->rcvid)];

	if (new_current >= 0 && (cur < 0 || &p->keys.keys[cur] == victim))
		return tcpao_errf(err, errlen, -ENOENT, "no other key with sndid %d to make current", new_current);
	if (new_rnext >= 0 && (rn < 0 || &p->keys.keys[rn] == victim))
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
	size_t found = 0;
	int rc;

	for (size_t i = 0; i < policy->n; i++) {
		struct policy_peer *p = &policy->peers[i];

		if (!selects(p, &ref->peer, ref->peer_len) ||
		    find_key(p, ref->sndid, ref->rcvid) < 0)
			continue;
		rc = check_del(p, ref, new_current, new_rnext, err, errlen);
		if (rc)
			return rc;
		found++;
	}
	if (!found)
		return tcpao_errf(err, errlen, -ENOENT, "no key sndid %u rcvid %u for that peer",
			    ref->sndid, ref->rcvid);
	for (size_t i = 0; i < policy->n; i++) {
		struct policy_peer *p = &policy->peers[i];

		if (!selects(p, &ref->peer, ref->peer_len) ||
		    find_key(p, ref->sndid, ref->rcvid) < 0)
			continue;
		tcpao_keyring_del(&p->keys, NULL, p->scope.peer_len, ref->sndid, ref->rcvid);
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
	size_t changed = 0;

	if (current < 0 && rnext < 0)
		return tcpao_errf(err, errlen, -EINVAL, "give a current key, an rnext key or both");
	for (size_t i = 0; i < policy->n; i++) {
		struct policy_peer *p = &policy->peers[i];

		if (!selects(p, peer, peer_len) ||
		    (current >= 0 && find_key(p, current, -1) < 0) ||
		    (rnext >= 0 && find_key(p, -1, rnext) < 0))
			continue;
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

bool policy_listener_serves(const struct policy_peer *p,
			    const struct tcpao_addr *remote)
{
	struct tcpao_addr r = *remote;

	tcpao_addr_unmap(&r);
	for (size_t k = 0; k < p->keys.n; k++) {
		struct tcpao_addr peer = p->keys.keys[k].peer;
		uint8_t len = p->keys.keys[k].prefixlen;

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

const struct policy_peer *policy_match(const struct policy *policy,
				       const struct tcpao_addr *local,
				       uint16_t lport,
				       const struct tcpao_addr *remote,
				       uint16_t rport)
{
	const struct policy_peer *best = NULL, *listener = NULL, *p;
	struct tcpao_addr l = *local, r = *remote;
	struct prefix_walk w = { 0 };
	unsigned best_spec = 0;

	tcpao_addr_unmap(&l);
	tcpao_addr_unmap(&r);
	while ((p = next_containing(policy, &r, 128, &w))) {
		unsigned spec;

		if (!scope_matches(&p->scope, &l, lport, &r, rport))
			continue;
		/* A listener is every peer's on its port (Linux: its
		 * ao_required refuses, its counters count them all), but
		 * any other entry for this peer comes first: a user's
		 * listener never overrides root's policy for a peer. */
		if (p->sock_listener && !policy_listener_serves(p, &r)) {
			if (!listener || specificity(&p->scope) > specificity(&listener->scope))
				listener = p;
			continue;
		}
		spec = specificity(&p->scope) | (p->sock_cookie ? 1u << 31 : 0);
		if (!best || spec > best_spec) {
			best = p;
			best_spec = spec;
		}
	}
	return best ? best : listener;
}

bool policy_covers(const struct policy *policy, const struct tcpao_addr *addr)
{
	struct tcpao_addr a = *addr;

	tcpao_addr_unmap(&a);
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = &policy->peers[i];

		if (p->sock_listener ? policy_listener_serves(p, &a)
		    : tcpao_addr_in_prefix(&a, &p->scope.peer, p->scope.peer_len))
			return true;
	}
	return false;
}

size_t policy_foreach_prefix(const struct policy *policy,
			     void (*fn)(const struct tcpao_addr *prefix,
					uint8_t len, void *arg),
			     void *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = &policy->peers[i];

		if (!p->sock_listener) {
			if (fn)
				fn(&p->scope.peer, p->scope.peer_len, arg);
			n++;
			continue;
		}
		for (size_t k = 0; k < p->keys.n; k++) {
			struct tcpao_addr a = p->keys.keys[k].peer;
			uint8_t len = p->keys.keys[k].prefixlen;

			if (a.family == AF_UNSPEC) { /* a key for any peer */
				a = p->scope.peer;
				len = 0;
			}
			if (unmap_prefix(&a, &len))
				continue;
			if (fn)
				fn(&a, len, arg);
			n++;
		}
	}
	return n;
}

size_t policy_required_ports(const struct policy *policy, uint16_t *out,
			     size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = &policy->peers[i];

		if (!p->sock_listener || !p->ao_required || !p->scope.local_port)
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
	int i;

	if (tcpao_keysel_default(sel, ring, remote, ifindex))
		return -ENOENT;
	if (peer->current_sndid >= 0) {
		i = tcpao_keyring_find_sndid(ring, remote, ifindex, (uint8_t)peer->current_sndid);
		if (i >= 0)
			sel->current = ring->serials[i];
	}
	if (peer->rnext_rcvid >= 0) {
		i = tcpao_keyring_find_rcvid(ring, remote, ifindex, (uint8_t)peer->rnext_rcvid);
		if (i >= 0)
			sel->rnext = ring->serials[i];
	}
	return 0;
}

bool policy_next_prefix(const struct policy *policy, size_t *cursor,
			struct tcpao_addr *prefix, uint8_t *prefix_len)
{
	for (size_t i = *cursor; i < policy->n; i++) {
		const struct policy_scope *s = &policy->peers[i].scope;
		bool seen = policy->peers[i].sock_listener;

		for (size_t j = 0; j < i && !seen; j++)
			seen = policy->peers[j].scope.peer_len == s->peer_len &&
			       tcpao_addr_equal(&policy->peers[j].scope.peer, &s->peer);
		if (seen)
			continue;
		*prefix = s->peer;
		*prefix_len = s->peer_len;
		*cursor = i + 1;
		return true;
	}
	*cursor = policy->n;
	return false;
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

void policy_stamp_current(struct policy *policy, int64_t now)
{
	for (size_t i = 0; i < policy->n; i++) {
		struct policy_peer *p = &policy->peers[i];
		int k = policy_current_key(p);
		uint64_t serial = k >= 0 ? p->keys.serials[k] : 0;

		if (serial == p->current_serial && p->current_since)
			continue;
		p->current_serial = serial;
		p->current_since = now;
	}
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
		if (same_key(&old->keys.keys[i], key))
			return old->keys.serials[i];
	return 0;
}

void policy_adopt_serials(struct policy *fresh, const struct policy *old)
{
	uint64_t next = old->next_serial;

	for (size_t i = 0; i < fresh->n; i++) {
		struct policy_peer *p = &fresh->peers[i];
		const struct policy_peer *o = policy_peer_find(old, &p->scope);

		for (size_t k = 0; k < p->keys.n; k++) {
			uint64_t s = old_serial(o, &p->keys.keys[k]);

			p->keys.serials[k] = s ? s : next++;
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
	struct policy_peer *e;

	if (fresh->n == fresh->cap && grow(fresh))
		return -ENOMEM;
	e = &fresh->peers[fresh->n];
	*e = *o;
	if (keyring_copy(&e->keys, &o->keys))
		return -ENOMEM;
	fresh->n++;
	index_appended(fresh);
	return 0;
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
		const struct tcpao_mkt *key = &o->keys.keys[k];

		if (o->keys.tags[k] != POLICY_KEY_RUNTIME)
			continue;
		if (!e && !(e = policy_peer_get(fresh, &o->scope, NULL, &rc, NULL, 0)))
			return rc;
		if (has_serial(e, o->keys.serials[k]))
			continue; /* the file now has the same key */
		if (check_clash(fresh, &e->scope, key, NULL, 0) ||
		    tcpao_keyring_add(&e->keys, key)) {
			(*clashes)++;
			continue;
		}
		e->keys.serials[0] = o->keys.serials[k];
		e->keys.tags[0] = POLICY_KEY_RUNTIME;
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
		const struct policy_peer *o = &old->peers[i];

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

/* Every serial of a policy, sorted (NULL when none or no memory). */
static uint64_t *serials_of(const struct policy *p, size_t *n)
{
	size_t total = 0, at = 0;
	uint64_t *v;

	for (size_t i = 0; i < p->n; i++)
		total += p->peers[i].keys.n;
	v = malloc((total + 1) * sizeof(*v));
	for (size_t i = 0; v && i < p->n; i++)
		for (size_t k = 0; k < p->peers[i].keys.n; k++)
			v[at++] = p->peers[i].keys.serials[k];
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
		const struct tcpao_mkt *o = &q->keys.keys[i];

		if (o->sndid == k->sndid && o->rcvid == k->rcvid &&
		    ((o->flags & TCPAO_MKT_IFINDEX) ? o->ifindex : -1) == kifx)
			return true;
	}
	return false;
}

void policy_diff(const struct policy *old, const struct policy *fresh,
		 void (*fn)(void *arg, const char *what,
			    const struct policy_peer *p, size_t k),
		 void *arg)
{
	size_t nold, nfresh;
	uint64_t *vold = serials_of(old, &nold), *vfresh = serials_of(fresh, &nfresh);

	for (size_t i = 0; i < old->n; i++)
		for (size_t k = 0; k < old->peers[i].keys.n; k++)
			if (!in_sorted(vfresh, nfresh, old->peers[i].keys.serials[k]) &&
			    !has_ids(fresh, &old->peers[i], &old->peers[i].keys.keys[k]))
				fn(arg, "drop", &old->peers[i], k);
	for (size_t i = 0; i < fresh->n; i++)
		for (size_t k = 0; k < fresh->peers[i].keys.n; k++)
			if (!in_sorted(vold, nold, fresh->peers[i].keys.serials[k]))
				fn(arg, has_ids(old, &fresh->peers[i],
						&fresh->peers[i].keys.keys[k]) ? "change" : "add",
				   &fresh->peers[i], k);
	free(vold);
	free(vfresh);
}

/* ---- socket entries ---------------------------------------------------- */

struct policy_peer *policy_sock_entry(const struct policy *policy,
				      uint64_t cookie)
{
	for (size_t i = 0; cookie && i < policy->n; i++)
		if (policy->peers[i].sock_cookie == cookie)
			return &policy->peers[i];
	return NULL;
}

static void entry_remove(struct policy *policy, struct policy_peer *e)
{
	size_t i = (size_t)(e - policy->peers);

	tcpao_keyring_free(&e->keys);
	memmove(e, e + 1, (policy->n - i - 1) * sizeof(*e));
	policy->n--;
	index_drop(policy);
}

bool policy_sock_remove(struct policy *policy, uint64_t cookie)
{
	struct policy_peer *e = policy_sock_entry(policy, cookie);

	if (e)
		entry_remove(policy, e);
	return e != NULL;
}

/* Another socket's entry of exactly this scope (a socket that is gone and
 * whose entry sockets_gc() has not removed yet). */
static struct policy_peer *sock_scope_taken(struct policy *policy,
					    const struct policy_scope *s)
{
	for (size_t i = 0; i < policy->n; i++)
		if (policy->peers[i].sock_cookie &&
		    scope_equal(&policy->peers[i].scope, s))
			return &policy->peers[i];
	return NULL;
}

static int copy_sock_keys(struct policy *policy, struct policy_peer *e,
			  const struct tcpao_keyring *src, bool keep_serials,
			  const struct tcpao_addr *only_peer, int l3index)
{
	for (size_t i = src->n; i-- > 0;) {
		int rc;

		if (only_peer && !tcpao_mkt_matches(&src->keys[i], only_peer, l3index))
			continue;
		rc = tcpao_keyring_add(&e->keys, &src->keys[i]);
		if (rc)
			return rc;
		e->keys.serials[0] = keep_serials ? src->serials[i] : policy->next_serial++;
	}
	return 0;
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
	policy_sock_remove(policy, sock->cookie);
	if ((e = sock_scope_taken(policy, &s)))
		entry_remove(policy, e);
	if (policy->n == policy->cap && grow(policy)) {
		*rc = tcpao_errf(err, errlen, -ENOMEM, "out of memory");
		return NULL;
	}
	e = &policy->peers[policy->n++];
	memset(e, 0, sizeof(*e));
	e->scope = s;
	index_appended(policy);
	e->current_sndid = -1;
	e->rnext_rcvid = -1;
	tcpao_keyring_init(&e->keys);
	snprintf(e->origin, sizeof(e->origin), "socket");
	e->from = POLICY_FROM_SOCKET;
	e->uid = sock->uid;
	e->sock_cookie = sock->cookie;
	e->sock_cnt = sock->cnt;
	e->sock_keycnt = sock->keycnt;
	e->sock_listener = sock->listener;
	*rc = keys ? copy_sock_keys(policy, e, keys, keep_serials, only_peer, l3index) : 0;
	if (*rc) {
		tcpao_errf(err, errlen, *rc, "cannot add key: %s", strerror(-*rc));
		entry_remove(policy, e);
		return NULL;
	}
	return e;
}

int policy_sock_add_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_mkt *mkt)
{
	struct policy_peer *e = policy_sock_entry(policy, cookie);
	int rc = e ? tcpao_keyring_add(&e->keys, mkt) : -ENOENT;

	if (!rc)
		e->keys.serials[0] = policy->next_serial++;
	return rc;
}

int policy_sock_del_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_addr *peer, uint8_t len,
			uint8_t sndid, uint8_t rcvid)
{
	struct policy_peer *e = policy_sock_entry(policy, cookie);

	return e ? tcpao_keyring_del(&e->keys, peer, len, sndid, rcvid) : -ENOENT;
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
