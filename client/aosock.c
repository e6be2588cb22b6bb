// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Linux's TCP-AO socket option rules (net/ipv4/tcp_ao.c, Linux 6.12) over
 * one socket's state. Each check is where Linux makes it, so that a
 * request with several faults gets the errno Linux gives.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aosock.h"

#define KEYF_ADD_VALID (TCP_AO_KEYF_IFINDEX | TCP_AO_KEYF_EXCLUDE_OPT)
#define KEYF_DEL_VALID TCP_AO_KEYF_IFINDEX

void aosock_init(struct aosock *s, int family)
{
	memset(s, 0, sizeof(*s));
	s->family = family;
	s->next_uid = 1;
}

static void idx_clear(struct aosock *s)
{
	hostidx_free(&s->hosts);
	free(s->wide);
	s->wide = NULL;
	s->n_wide = s->cap_wide = 0;
	s->idx_lost = false;
}

void aosock_free(struct aosock *s)
{
	if (s->keys)
		explicit_bzero(s->keys, s->cap * sizeof(*s->keys));
	free(s->keys);
	free(s->md5);
	idx_clear(s);
	explicit_bzero(s, sizeof(*s));
}

/* ---- keys by peer ------------------------------------------------------ */

static bool is_host(const struct tcpao_addr *a, unsigned prefixlen)
{
	return (a->family == AF_INET && prefixlen == 32) ||
	       (a->family == AF_INET6 && prefixlen == 128);
}

static void idx_add(struct aosock *s, const struct aosock_key *k)
{
	if (s->idx_lost)
		return;
	if (is_host(&k->mkt.peer, k->mkt.prefixlen)) {
		s->idx_lost = hostidx_add(&s->hosts, &k->mkt.peer, k->uid) != 0;
		return;
	}
	if (s->n_wide == s->cap_wide) {
		size_t cap = s->cap_wide ? s->cap_wide * 2 : 8;
		uint32_t *v = realloc(s->wide, cap * sizeof(*v));

		if (!v) {
			s->idx_lost = true;
			return;
		}
		s->wide = v;
		s->cap_wide = cap;
	}
	s->wide[s->n_wide++] = k->uid;
}

static void idx_del(struct aosock *s, const struct aosock_key *k)
{
	if (s->idx_lost)
		return;
	if (is_host(&k->mkt.peer, k->mkt.prefixlen)) {
		hostidx_del(&s->hosts, &k->mkt.peer, k->uid);
		return;
	}
	for (size_t i = 0; i < s->n_wide; i++) {
		if (s->wide[i] == k->uid) {
			memmove(&s->wide[i], &s->wide[i + 1],
				(--s->n_wide - i) * sizeof(s->wide[0]));
			return;
		}
	}
}

/* Where the key of this uid is (keys[] is in uid order), or SIZE_MAX. */
static size_t pos_of(const struct aosock *s, uint32_t uid)
{
	for (size_t l = 0, h = s->n; l < h;) {
		size_t mid = l + (h - l) / 2;

		if (s->keys[mid].uid == uid)
			return mid;
		if (s->keys[mid].uid < uid)
			l = mid + 1;
		else
			h = mid;
	}
	return SIZE_MAX;
}

static int by_pos_desc(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

/* The keys that may concern one peer address, newest first: its host
 * keys and every wider key; or, without an index or past the room here,
 * every key. */
struct keyscan {
	size_t at[128];
	size_t n, j;
	bool all;
};

static size_t candidates(const struct aosock *s, const struct tcpao_addr *peer,
			 size_t *at, size_t max)
{
	uint32_t uids[64];
	struct tcpao_addr a = *peer;
	size_t n, total = 0;

	tcpao_addr_unmap(&a);
	if (s->idx_lost || (a.family != AF_INET && a.family != AF_INET6))
		return SIZE_MAX;
	n = hostidx_get(&s->hosts, &a, uids, 64);
	if (n > 64 || n + s->n_wide > max)
		return SIZE_MAX;
	for (size_t i = 0; i < n + s->n_wide; i++) {
		at[total] = pos_of(s, i < n ? uids[i] : s->wide[i - n]);
		if (at[total++] == SIZE_MAX)
			return SIZE_MAX;
	}
	qsort(at, total, sizeof(*at), by_pos_desc);
	return total;
}

/* peer NULL: every key. The keys must not change during the scan. */
static void scan_begin(struct keyscan *sc, const struct aosock *s,
		       const struct tcpao_addr *peer)
{
	sc->j = 0;
	sc->n = peer ? candidates(s, peer, sc->at, sizeof(sc->at) / sizeof(sc->at[0]))
		     : SIZE_MAX;
	sc->all = sc->n == SIZE_MAX;
	if (sc->all)
		sc->n = s->n;
}

static struct aosock_key *scan_next(struct keyscan *sc, const struct aosock *s)
{
	size_t i;

	if (sc->j >= sc->n)
		return NULL;
	i = sc->all ? s->n - 1 - sc->j : sc->at[sc->j];
	sc->j++;
	return &s->keys[i];
}

int aosock_copy_in(void *dst, size_t ksize, const void *src, size_t usize)
{
	const uint8_t *extra = (const uint8_t *)src + ksize;

	if (usize < ksize) {
		memcpy(dst, src, usize);
		memset((uint8_t *)dst + usize, 0, ksize - usize);
		return 0;
	}
	for (size_t i = 0; i < usize - ksize; i++)
		if (extra[i])
			return -E2BIG;
	memcpy(dst, src, ksize);
	return 0;
}

/* A setsockopt's struct: shorter than the kernel's is EINVAL, as in
 * Linux's handlers; then aosock_copy_in. */
static int copy_cmd(void *cmd, size_t size, const void *buf, size_t optlen)
{
	if (optlen < size)
		return -EINVAL;
	return aosock_copy_in(cmd, size, buf, optlen);
}

const struct aosock_key *aosock_find_uid(const struct aosock *s, uint32_t uid)
{
	size_t i = uid ? pos_of(s, uid) : SIZE_MAX;

	return i == SIZE_MAX ? NULL : &s->keys[i];
}

/* ---- addresses --------------------------------------------------------- */

static bool v4_host_bits(uint32_t addr_be, uint8_t prefix)
{
	uint32_t mask = prefix ? htonl(~0u << (32 - prefix)) : 0;

	return addr_be & ~mask;
}

static bool v6_host_bits(const struct in6_addr *a, uint8_t prefix)
{
	for (unsigned i = prefix; i < 128; i++)
		if (a->s6_addr[i / 8] & (0x80 >> (i % 8)))
			return true;
	return false;
}

static void set_v4(struct tcpao_addr *out, uint32_t addr_be)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET;
	out->v4.s_addr = addr_be;
}

static void set_v6(struct tcpao_addr *out, const struct in6_addr *a)
{
	memset(out, 0, sizeof(*out));
	out->family = AF_INET6;
	out->v6 = *a;
}

/* tcp_ao_verify_ipv4() */
static int verify_ipv4(const struct tcp_ao_add *cmd,
		       const struct aosock_env *env, struct tcpao_addr *out)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&cmd->addr;
	uint32_t a = sin->sin_addr.s_addr;

	if (sin->sin_family != AF_INET || sin->sin_port)
		return -EINVAL;
	set_v4(out, a);
	if (!cmd->prefix)
		return a ? -EINVAL : 0;
	if (!a || cmd->prefix > 32 || v4_host_bits(a, cmd->prefix))
		return -EINVAL;
	if (env->has_daddr &&
	    (env->daddr.family != AF_INET ||
	     !tcpao_addr_in_prefix(&env->daddr, out, cmd->prefix)))
		return -EINVAL;
	return 0;
}

/* tcp_ao_verify_ipv6(): v4-mapped keys are kept as IPv4. */
static int verify_ipv6(const struct tcp_ao_add *cmd,
		       const struct aosock_env *env, struct tcpao_addr *out)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&cmd->addr;
	const struct in6_addr *a = &sin6->sin6_addr;

	if (sin6->sin6_family != AF_INET6 || sin6->sin6_port)
		return -EINVAL;
	set_v6(out, a);
	if (!cmd->prefix)
		return IN6_IS_ADDR_UNSPECIFIED(a) ? 0 : -EINVAL;
	if (IN6_IS_ADDR_V4MAPPED(a)) {
		uint32_t v4 = a->s6_addr32[3];

		if (cmd->prefix > 32 || !v4 || v4_host_bits(v4, cmd->prefix))
			return -EINVAL;
		set_v4(out, v4);
		if (env->has_daddr &&
		    (env->daddr.family != AF_INET ||
		     !tcpao_addr_in_prefix(&env->daddr, out, cmd->prefix)))
			return -EINVAL;
		return 0;
	}
	if (IN6_IS_ADDR_UNSPECIFIED(a) || cmd->prefix > 128 ||
	    v6_host_bits(a, cmd->prefix))
		return -EINVAL;
	if (env->has_daddr &&
	    (env->daddr.family != AF_INET6 ||
	     !tcpao_addr_in_prefix(&env->daddr, out, cmd->prefix)))
		return -EINVAL;
	return 0;
}

static bool addr_is_any(const struct tcpao_addr *a)
{
	static const uint8_t zero[16];

	return !memcmp(a->bytes, zero, tcpao_addr_len(a));
}

/* __tcp_ao_key_cmp(): family equal, then any address or equal under the
 * shorter prefix; ifindex only when the key has the flag. */
static bool key_cmp(const struct tcpao_mkt *k, int l3index,
		    const struct tcpao_addr *addr, unsigned prefix,
		    int sndid, int rcvid)
{
	unsigned len;

	if (sndid >= 0 && k->sndid != sndid)
		return false;
	if (rcvid >= 0 && k->rcvid != rcvid)
		return false;
	if (l3index >= 0 && (k->flags & TCPAO_MKT_IFINDEX) &&
	    k->ifindex != l3index)
		return false;
	if (addr->family == AF_UNSPEC)
		return true;
	if (k->peer.family != addr->family)
		return false;
	if (addr_is_any(addr) || addr_is_any(&k->peer))
		return true;
	len = prefix < k->prefixlen ? prefix : k->prefixlen;
	return tcpao_addr_in_prefix(addr, &k->peer, (uint8_t)len);
}

/* ---- MD5 keys ---------------------------------------------------------- */

struct md5sig { /* struct tcp_md5sig's layout (linux/tcp.h) */
	struct sockaddr_storage addr;
	uint8_t flags, prefixlen;
	uint16_t keylen;
	int ifindex;
	uint8_t key[80];
};
#define MD5SIG_FLAG_PREFIX 0x1
#define MD5SIG_FLAG_IFINDEX 0x2

/* struct tcp_md5sig as the MD5 key it adds (or deletes: keylen 0). */
static bool md5_parse(const void *buf, size_t optlen, struct aosock_md5 *k,
		      uint16_t *keylen)
{
	struct md5sig m = { 0 };

	memset(k, 0, sizeof(*k));
	memcpy(&m, buf, optlen < sizeof(m) ? optlen : sizeof(m));
	if (m.addr.ss_family == AF_INET) {
		set_v4(&k->addr, ((struct sockaddr_in *)&m.addr)->sin_addr.s_addr);
	} else if (m.addr.ss_family == AF_INET6) {
		set_v6(&k->addr, &((struct sockaddr_in6 *)&m.addr)->sin6_addr);
		tcpao_addr_unmap(&k->addr);
	} else {
		return false;
	}
	k->prefixlen = (m.flags & MD5SIG_FLAG_PREFIX) ? m.prefixlen
						       : (uint8_t)(tcpao_addr_len(&k->addr) * 8);
	if (k->addr.family == AF_INET && k->prefixlen > 32 &&
	    m.addr.ss_family == AF_INET6)
		k->prefixlen -= 96;
	k->has_l3index = m.flags & MD5SIG_FLAG_IFINDEX;
	k->l3index = k->has_l3index ? m.ifindex : 0;
	*keylen = m.keylen;
	return true;
}

int aosock_md5_check(const struct aosock *s, const void *buf, size_t optlen)
{
	struct aosock_md5 k;
	uint16_t keylen;

	if (!s->has_info || !md5_parse(buf, optlen, &k, &keylen) || !keylen)
		return 0;
	if (s->ao_required)
		return -EKEYREJECTED;
	for (size_t i = 0; i < s->n; i++)
		if (key_cmp(&s->keys[i].mkt, k.has_l3index ? k.l3index : -1,
			    &k.addr, tcpao_addr_len(&k.addr) * 8, -1, -1))
			return -EKEYREJECTED;
	return 0;
}

void aosock_md5_track(struct aosock *s, const void *buf, size_t optlen)
{
	struct aosock_md5 k, *grown;
	uint16_t keylen;

	if (!md5_parse(buf, optlen, &k, &keylen))
		return;
	for (size_t i = 0; i < s->n_md5; i++) {
		struct aosock_md5 *o = &s->md5[i];

		if (o->prefixlen == k.prefixlen && o->l3index == k.l3index &&
		    tcpao_addr_equal(&o->addr, &k.addr)) {
			/* keylen 0 deletes (tcp_v4_parse_md5_keys) */
			if (!keylen)
				s->md5[i] = s->md5[--s->n_md5];
			return;
		}
	}
	if (!keylen)
		return;
	grown = realloc(s->md5, (s->n_md5 + 1) * sizeof(*grown));
	if (!grown)
		return;
	s->md5 = grown;
	s->md5[s->n_md5++] = k;
}

static bool md5_covers(const struct aosock_md5 *m, const struct tcpao_addr *a)
{
	return m->addr.family == a->family &&
	       (addr_is_any(a) || tcpao_addr_in_prefix(a, &m->addr, m->prefixlen) ||
		tcpao_addr_in_prefix(&m->addr, a, m->prefixlen));
}

/* tcp_md5_do_lookup(l3index) with IFINDEX, else _any_l3index. */
bool aosock_md5_conflicts(const struct aosock *s, const struct tcpao_mkt *mkt)
{
	for (size_t i = 0; i < s->n_md5; i++) {
		const struct aosock_md5 *m = &s->md5[i];

		if (!md5_covers(m, &mkt->peer))
			continue;
		if (!(mkt->flags & TCPAO_MKT_IFINDEX))
			return true;
		if (!m->has_l3index || m->l3index == mkt->ifindex)
			return true;
	}
	return false;
}

bool aosock_md5_matches(const struct aosock *s, const struct tcpao_addr *peer,
			int l3index)
{
	for (size_t i = 0; i < s->n_md5; i++) {
		const struct aosock_md5 *m = &s->md5[i];

		if (m->has_l3index && m->l3index != l3index)
			continue;
		if (m->addr.family == peer->family &&
		    tcpao_addr_in_prefix(peer, &m->addr, m->prefixlen))
			return true;
	}
	return false;
}

/* ---- TCP_AO_ADD_KEY ---------------------------------------------------- */

int aosock_gate(const struct aosock *s, const struct aosock_env *env)
{
	if (env->state == AOSOCK_LISTEN || env->state == AOSOCK_CLOSE ||
	    s->has_info || env->repair)
		return 0;
	return -EISCONN;
}

static bool id_conflict(const struct aosock *s, const struct tcpao_mkt *mkt)
{
	struct keyscan sc;
	const struct aosock_key *k;

	scan_begin(&sc, s, is_host(&mkt->peer, mkt->prefixlen) ? &mkt->peer : NULL);
	while ((k = scan_next(&sc, s)))
		if (tcpao_mkt_conflicts(&k->mkt, mkt))
			return true;
	return false;
}

/* RFC 5926 3.1.1.2: an AES-128-CMAC master key of another length is first
 * reduced to CMAC(0^16, key); Linux stores and reports the result. */
static void cmac_reduce(struct tcpao_mkt *mkt)
{
	static const uint8_t zero[16];
	struct tcpao_tk tk;
	struct tcpao_pool pool;

	tcpao_tk_init(&tk, TCPAO_ALG_CMAC_AES128, zero, sizeof(zero));
	tcpao_mac_begin(&pool, &tk);
	tcpao_mac_update(&pool, mkt->key, mkt->keylen);
	explicit_bzero(mkt->key, sizeof(mkt->key));
	tcpao_mac_end(&pool, mkt->key, 16);
	mkt->keylen = 16;
	tcpao_pool_wipe(&pool);
	tcpao_tk_wipe(&tk);
}

/* tcp_ao_key_alloc() + tcp_ao_parse_crypto() */
static int parse_crypto(const struct tcp_ao_add *cmd, struct tcpao_mkt *mkt)
{
	char name[64];

	memcpy(name, cmd->alg_name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	if (tcpao_alg_from_name(name, &mkt->alg))
		return -ENOENT;
	mkt->maclen = cmd->maclen ? cmd->maclen : TCPAO_DEFAULT_MACLEN;
	if (((TCPAO_OPT_HDRLEN + mkt->maclen + 3u) & ~3u) > 40 - 4 - 12 - 4)
		return -EMSGSIZE;
	mkt->keylen = cmd->keylen;
	memcpy(mkt->key, cmd->key, cmd->keylen);
	if (mkt->alg == TCPAO_ALG_CMAC_AES128 && mkt->keylen != 16) {
		/* plain "cmac(aes)" takes the key as AES's (16 bytes here) */
		if (strcmp(name, "cmac(aes128)"))
			return -EINVAL;
		cmac_reduce(mkt);
	}
	if (mkt->maclen > tcpao_alg_digest_len(mkt->alg))
		return -EINVAL;
	return 0;
}

static int link_key(struct aosock *s, const struct tcpao_mkt *mkt,
		    struct aosock_key **added)
{
	struct aosock_key *k;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct aosock_key *keys = calloc(cap, sizeof(*keys));

		if (!keys)
			return -ENOMEM;
		if (s->n)
			memcpy(keys, s->keys, s->n * sizeof(*keys));
		if (s->keys)
			explicit_bzero(s->keys, s->cap * sizeof(*s->keys));
		free(s->keys);
		s->keys = keys;
		s->cap = cap;
	}
	k = &s->keys[s->n++];
	memset(k, 0, sizeof(*k));
	k->mkt = *mkt;
	k->uid = s->next_uid++;
	idx_add(s, k);
	if (added)
		*added = k;
	return 0;
}

static int check_ifindex(const struct tcp_ao_add *cmd,
			 const struct aosock_env *env)
{
	if (cmd->ifindex && !(cmd->keyflags & TCP_AO_KEYF_IFINDEX))
		return -EINVAL;
	if (!(cmd->keyflags & TCP_AO_KEYF_IFINDEX) || !cmd->ifindex)
		return 0;
	if (!env->is_l3mdev || !env->is_l3mdev(cmd->ifindex))
		return -EINVAL;
	if (env->bound_ifindex != cmd->ifindex &&
	    env->state != AOSOCK_LISTEN && env->state != AOSOCK_CLOSE)
		return -EINVAL;
	return 0;
}

int aosock_add(struct aosock *s, const struct aosock_env *env,
	       const void *buf, size_t optlen, struct aosock_key **added)
{
	struct tcp_ao_add cmd;
	struct tcpao_mkt mkt = { 0 };
	struct aosock_key *k;
	int rc;

	rc = copy_cmd(&cmd, sizeof(cmd), buf, optlen);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (cmd.keylen > TCP_AO_MAXKEYLEN || cmd.reserved || cmd.reserved2)
		goto out;
	rc = s->family == AF_INET ? verify_ipv4(&cmd, env, &mkt.peer)
				  : verify_ipv6(&cmd, env, &mkt.peer);
	if (rc)
		goto out;
	rc = -EINVAL;
	mkt.prefixlen = cmd.prefix;
	if (cmd.keyflags & ~KEYF_ADD_VALID)
		goto out;
	if ((cmd.set_current || cmd.set_rnext) && env->state == AOSOCK_LISTEN)
		goto out;
	rc = check_ifindex(&cmd, env);
	if (rc)
		goto out;
	mkt.flags = cmd.keyflags;
	mkt.ifindex = cmd.ifindex;
	mkt.sndid = cmd.sndid;
	mkt.rcvid = cmd.rcvid;
	rc = -EKEYREJECTED;
	if (aosock_md5_conflicts(s, &mkt))
		goto out;
	rc = -EEXIST;
	if (s->has_info && id_conflict(s, &mkt))
		goto out;
	rc = parse_crypto(&cmd, &mkt);
	if (rc)
		goto out;
	rc = -ENOMEM;
	if (env->optmem_max > 0 &&
	    (long)((s->n + 1) * AOSOCK_KEY_OPTMEM + AOSOCK_INFO_OPTMEM) > env->optmem_max)
		goto out;
	rc = link_key(s, &mkt, &k);
	if (rc)
		goto out;
	/* Repair mode on a live socket: the first key is Current and RNext. */
	if (env->state != AOSOCK_LISTEN && env->state != AOSOCK_CLOSE &&
	    !s->has_info)
		s->current = s->rnext = k->uid;
	s->has_info = true;
	if (cmd.set_current)
		s->current = k->uid;
	if (cmd.set_rnext)
		s->rnext = k->uid;
	if (added)
		*added = k;
out:
	explicit_bzero(&cmd, sizeof(cmd));
	tcpao_mkt_wipe(&mkt);
	return rc;
}

/* ---- TCP_AO_DEL_KEY ---------------------------------------------------- */

/* Newest first, as Linux walks its list. */
static struct aosock_key *find_id(struct aosock *s, int sndid, int rcvid)
{
	for (size_t i = s->n; i-- > 0;)
		if ((sndid < 0 || s->keys[i].mkt.sndid == sndid) &&
		    (rcvid < 0 || s->keys[i].mkt.rcvid == rcvid))
			return &s->keys[i];
	return NULL;
}

void aosock_follow_datapath(struct aosock *s, const struct aosock_env *env)
{
	struct aosock_key *k;

	if (env->dp_current >= 0 && (k = find_id(s, env->dp_current, -1)))
		s->current = k->uid;
	if (env->dp_rnext >= 0 && (k = find_id(s, -1, env->dp_rnext)))
		s->rnext = k->uid;
}

static void unlink_key(struct aosock *s, struct aosock_key *k)
{
	size_t i = (size_t)(k - s->keys);

	idx_del(s, k);
	explicit_bzero(k, sizeof(*k));
	memmove(&s->keys[i], &s->keys[i + 1], (s->n - i - 1) * sizeof(*k));
	s->n--;
	explicit_bzero(&s->keys[s->n], sizeof(*k));
}

/* Re-linked at the head (tcp_ao_delete_key()'s EBUSY path), with a new
 * uid: keys[] stays in uid order. */
static void move_to_head(struct aosock *s, struct aosock_key *k)
{
	struct aosock_key copy = *k;
	size_t i = (size_t)(k - s->keys);
	uint32_t old = k->uid;

	idx_del(s, k);
	memmove(&s->keys[i], &s->keys[i + 1], (s->n - i - 1) * sizeof(*k));
	copy.uid = s->next_uid++;
	if (s->current == old)
		s->current = copy.uid;
	if (s->rnext == old)
		s->rnext = copy.uid;
	s->keys[s->n - 1] = copy;
	idx_add(s, &s->keys[s->n - 1]);
	explicit_bzero(&copy, sizeof(copy));
}

static int del_addr(const struct aosock *s, const struct tcp_ao_del *cmd,
		    struct tcpao_addr *addr)
{
	if (s->family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&cmd->addr;

		set_v4(addr, sin->sin_addr.s_addr);
		return sin->sin_port ? -EINVAL : 0;
	}
	const struct sockaddr_in6 *sin6 = (const void *)&cmd->addr;

	set_v6(addr, &sin6->sin6_addr);
	tcpao_addr_unmap(addr);
	return sin6->sin6_port ? -EINVAL : 0;
}

int aosock_del(struct aosock *s, const struct aosock_env *env,
	       const void *buf, size_t optlen, struct tcpao_mkt *gone)
{
	struct aosock_key *new_cur = NULL, *new_next = NULL, *k = NULL;
	struct keyscan sc;
	struct tcp_ao_del cmd;
	struct tcpao_addr addr;
	int l3index, rc;

	rc = copy_cmd(&cmd, sizeof(cmd), buf, optlen);
	if (rc)
		return rc;
	if (cmd.reserved || cmd.reserved2)
		return -EINVAL;
	if ((cmd.set_current || cmd.set_rnext) && env->state == AOSOCK_LISTEN)
		return -EINVAL;
	if (cmd.keyflags & ~KEYF_DEL_VALID)
		return -EINVAL;
	if (cmd.ifindex && !(cmd.keyflags & TCP_AO_KEYF_IFINDEX))
		return -EINVAL;
	l3index = (cmd.keyflags & TCP_AO_KEYF_IFINDEX) ? cmd.ifindex : 0;
	if (!s->has_info)
		return -ENOENT;
	if (cmd.set_current && !(new_cur = find_id(s, cmd.current_key, -1)))
		return -ENOENT;
	if (cmd.set_rnext && !(new_next = find_id(s, -1, cmd.rnext)))
		return -ENOENT;
	if (cmd.del_async && env->state != AOSOCK_LISTEN)
		return -EINVAL;
	rc = del_addr(s, &cmd, &addr);
	if (rc)
		return rc;
	scan_begin(&sc, s, is_host(&addr, cmd.prefix) ? &addr : NULL);
	for (struct aosock_key *c; !k && (c = scan_next(&sc, s));) {
		const struct tcpao_mkt *m = &c->mkt;

		if (m->sndid == cmd.sndid && m->rcvid == cmd.rcvid &&
		    m->peer.family == addr.family && m->prefixlen == cmd.prefix &&
		    !memcmp(m->peer.bytes, addr.bytes, tcpao_addr_len(&addr)) &&
		    (m->flags & TCPAO_MKT_IFINDEX) ==
			    (cmd.keyflags & TCP_AO_KEYF_IFINDEX) &&
		    m->ifindex == l3index && c != new_cur && c != new_next)
			k = c;
	}
	if (!k)
		return -ENOENT;
	if (cmd.del_async) {
		if (s->current == k->uid)
			s->current = 0;
		if (s->rnext == k->uid)
			s->rnext = 0;
		*gone = k->mkt;
		unlink_key(s, k);
		return 0;
	}
	if (new_cur)
		s->current = new_cur->uid;
	if (new_next)
		s->rnext = new_next->uid;
	if (s->current == k->uid || s->rnext == k->uid) {
		move_to_head(s, k);
		return -EBUSY;
	}
	*gone = k->mkt;
	unlink_key(s, k);
	return 0;
}

/* ---- TCP_AO_INFO ------------------------------------------------------- */

int aosock_set_info(struct aosock *s, const struct aosock_env *env,
		    const void *buf, size_t optlen)
{
	const struct aosock_key *cur = NULL, *next = NULL;
	struct tcp_ao_info_opt cmd;
	int rc;

	rc = copy_cmd(&cmd, sizeof(cmd), buf, optlen);
	if (rc)
		return rc;
	if ((cmd.set_current || cmd.set_rnext) && env->state == AOSOCK_LISTEN)
		return -EINVAL;
	if (cmd.reserved || cmd.reserved2)
		return -EINVAL;
	if (!s->has_info && env->state != AOSOCK_LISTEN &&
	    env->state != AOSOCK_CLOSE)
		return -EINVAL;
	if (cmd.ao_required && s->n_md5)
		return -EKEYREJECTED;
	if (cmd.set_current && !(cur = find_id(s, cmd.current_key, -1)))
		return -ENOENT;
	if (cmd.set_rnext && !(next = find_id(s, -1, cmd.rnext)))
		return -ENOENT;
	if (cmd.set_counters) {
		const uint64_t want[5] = { cmd.pkt_good, cmd.pkt_bad,
					   cmd.pkt_key_not_found,
					   cmd.pkt_ao_required,
					   cmd.pkt_dropped_icmp };

		for (int i = 0; i < 5; i++)
			s->cnt_base[i] = want[i] - env->cnt[i];
	}
	s->ao_required = cmd.ao_required;
	s->accept_icmps = cmd.accept_icmps;
	if (cur)
		s->current = cur->uid;
	if (next)
		s->rnext = next->uid;
	s->has_info = true;
	return 0;
}

int aosock_get_info(const struct aosock *s, const struct aosock_env *env,
		    void *buf, size_t len)
{
	const struct aosock_key *cur, *next;
	struct tcp_ao_info_opt out;
	int rc = aosock_copy_in(&out, sizeof(out), buf, len);

	if (rc)
		return rc;
	if (out.reserved || out.reserved2)
		return -EINVAL;
	if (!s->has_info)
		return -ENOENT;
	memset(&out, 0, sizeof(out));
	out.ao_required = s->ao_required;
	out.accept_icmps = s->accept_icmps;
	out.pkt_good = s->cnt_base[0] + env->cnt[0];
	out.pkt_bad = s->cnt_base[1] + env->cnt[1];
	out.pkt_key_not_found = s->cnt_base[2] + env->cnt[2];
	out.pkt_ao_required = s->cnt_base[3] + env->cnt[3];
	out.pkt_dropped_icmp = s->cnt_base[4] + env->cnt[4];
	cur = aosock_find_uid(s, s->current);
	next = aosock_find_uid(s, s->rnext);
	if (cur) {
		out.set_current = 1;
		out.current_key = cur->mkt.sndid;
	}
	if (next) {
		out.set_rnext = 1;
		out.rnext = next->mkt.rcvid;
	}
	memcpy(buf, &out, len < sizeof(out) ? len : sizeof(out));
	return 0;
}

/* ---- TCP_AO_GET_KEYS --------------------------------------------------- */

/* The address filter of tcp_ao_copy_mkts_to_user(). */
static int get_filter_addr(const struct tcp_ao_getsockopt *in, bool matching,
			   struct tcpao_addr *addr, bool *given)
{
	*given = true;
	if (in->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)&in->addr;
		uint32_t a = sin->sin_addr.s_addr;

		if (in->prefix > 32 || (!a && in->prefix) ||
		    v4_host_bits(a, in->prefix))
			return -EINVAL;
		set_v4(addr, a);
		return !matching && sin->sin_port ? -EINVAL : 0;
	}
	if (in->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)&in->addr;
		const struct in6_addr *a6 = &sin6->sin6_addr;

		if (in->prefix && IN6_IS_ADDR_V4MAPPED(a6)) {
			uint32_t a = a6->s6_addr32[3];

			if (in->prefix > 32 || !a || v4_host_bits(a, in->prefix))
				return -EINVAL;
		} else if (in->prefix) {
			if (IN6_IS_ADDR_UNSPECIFIED(a6) || in->prefix > 128 ||
			    v6_host_bits(a6, in->prefix))
				return -EINVAL;
		} else if (!IN6_IS_ADDR_UNSPECIFIED(a6)) {
			return -EINVAL;
		}
		set_v6(addr, a6);
		tcpao_addr_unmap(addr);
		return 0;
	}
	*given = false;
	memset(addr, 0, sizeof(*addr));
	return in->addr.ss_family == 0 && !matching ? 0 : -EAFNOSUPPORT;
}

static void fill_entry(struct tcp_ao_getsockopt *e, const struct aosock *s,
		       const struct aosock_key *k)
{
	const struct tcpao_mkt *m = &k->mkt;

	memset(e, 0, sizeof(*e));
	if (m->peer.family == AF_INET) {
		struct sockaddr_in *sin = (void *)&e->addr;

		sin->sin_family = AF_INET;
		sin->sin_addr = m->peer.v4;
	} else {
		struct sockaddr_in6 *sin6 = (void *)&e->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = m->peer.v6;
	}
	e->sndid = m->sndid;
	e->rcvid = m->rcvid;
	e->prefix = m->prefixlen;
	e->keyflags = (uint8_t)m->flags;
	e->is_current = s->current == k->uid;
	e->is_rnext = s->rnext == k->uid;
	e->maclen = m->maclen;
	e->keylen = m->keylen;
	memcpy(e->key, m->key, m->keylen);
	e->ifindex = m->ifindex; /* pkt_good, pkt_bad: the daemon's */
	strncpy(e->alg_name, tcpao_alg_name(m->alg), sizeof(e->alg_name) - 1);
}

int aosock_get_keys(const struct aosock *s, const void *req, size_t len,
		    struct tcp_ao_getsockopt **outp, size_t *written)
{
	struct tcp_ao_getsockopt in, *out;
	struct keyscan sc;
	struct tcpao_addr addr;
	bool matching = true, given;
	size_t matched = 0;
	int l3index, rc = aosock_copy_in(&in, sizeof(in), req, len);

	*outp = NULL;
	*written = 0;
	if (rc)
		return rc;
	if (in.pkt_good || in.pkt_bad)
		return -EINVAL;
	if (in.keyflags & ~TCP_AO_KEYF_IFINDEX)
		return -EINVAL;
	if (in.ifindex && !(in.keyflags & TCP_AO_KEYF_IFINDEX))
		return -EINVAL;
	if (in.reserved)
		return -EINVAL;
	l3index = (in.keyflags & TCP_AO_KEYF_IFINDEX) ? in.ifindex : -1;
	if (in.get_all || in.is_current || in.is_rnext) {
		if (in.get_all && (in.is_current || in.is_rnext))
			return -EINVAL;
		matching = false;
	}
	rc = get_filter_addr(&in, matching, &addr, &given);
	if (rc)
		return rc;
	if (!matching && (given || in.prefix || in.sndid || in.rcvid))
		return -EINVAL;
	out = calloc(in.nkeys < s->n ? in.nkeys + 1 : s->n + 1, sizeof(*out));
	if (!out)
		return -ENOMEM;
	scan_begin(&sc, s, matching && given && is_host(&addr, in.prefix) ? &addr : NULL);
	for (const struct aosock_key *k; (k = scan_next(&sc, s));) {
		if (in.get_all) {
			/* every key */
		} else if (in.is_current || in.is_rnext) {
			if (!((in.is_current && s->current == k->uid) ||
			      (in.is_rnext && s->rnext == k->uid)))
				continue;
		} else if (!key_cmp(&k->mkt, l3index, &addr, in.prefix,
				    in.sndid, in.rcvid)) {
			continue;
		}
		if (++matched > in.nkeys)
			continue;
		fill_entry(&out[(*written)++], s, k);
	}
	*outp = out;
	return (int)matched;
}

/* ---- connect / accept -------------------------------------------------- */

/* tcp_ao_destroy_sock(): the socket no longer has AO. */
static void drop_ao(struct aosock *s)
{
	if (s->keys)
		explicit_bzero(s->keys, s->cap * sizeof(*s->keys));
	free(s->keys);
	s->keys = NULL;
	s->n = s->cap = 0;
	idx_clear(s);
	s->current = s->rnext = 0;
	s->has_info = false;
	s->ao_required = s->accept_icmps = false;
	memset(s->cnt_base, 0, sizeof(s->cnt_base));
	memset(&s->repair, 0, sizeof(s->repair));
}

int aosock_connect(struct aosock *s, const struct tcpao_addr *peer, int l3index)
{
	const struct aosock_key *first = NULL, *m;
	bool ao_match = false;
	struct keyscan sc;

	if (!s->has_info)
		return 0;
	scan_begin(&sc, s, peer);
	while (!ao_match && (m = scan_next(&sc, s)))
		ao_match = tcpao_mkt_matches(&m->mkt, peer, l3index);
	/* tcp_connect(): an MD5 key for the peer makes it an MD5 connection,
	 * unless AO is wanted too (ambiguous: refused); without one, AO needs
	 * a key for the peer. */
	if (aosock_md5_matches(s, peer, l3index)) {
		if (ao_match || s->ao_required)
			return -EKEYREJECTED;
		drop_ao(s);
		return 0;
	}
	if (!ao_match)
		return -EKEYREJECTED;
	/* tcp_ao_connect_init(): only the peer's keys stay. */
	for (size_t i = s->n; i-- > 0;) {
		struct aosock_key *k = &s->keys[i];

		if (tcpao_mkt_matches(&k->mkt, peer, l3index))
			continue;
		if (s->current == k->uid)
			s->current = 0;
		if (s->rnext == k->uid)
			s->rnext = 0;
		unlink_key(s, k);
	}
	first = &s->keys[s->n - 1];
	if (!aosock_find_uid(s, s->current))
		s->current = first->uid;
	if (!aosock_find_uid(s, s->rnext))
		s->rnext = first->uid;
	return 0;
}

int aosock_accept(struct aosock *child, const struct aosock *listener,
		  const struct tcpao_addr *peer, int l3index, int syn_keyid,
		  int syn_rnext)
{
	const struct aosock_key *cur = NULL, *next = NULL;
	struct keyscan sc;

	aosock_init(child, listener->family);
	child->ao_required = listener->ao_required;
	child->accept_icmps = listener->accept_icmps;
	if (listener->n_md5) {
		child->md5 = malloc(listener->n_md5 * sizeof(*child->md5));
		if (!child->md5)
			return -ENOMEM;
		memcpy(child->md5, listener->md5, listener->n_md5 * sizeof(*child->md5));
		child->n_md5 = listener->n_md5;
	}
	if (!listener->has_info)
		return 0;
	child->has_info = true;
	/* tcp_ao_copy_all_matching(): head insertion reverses the order, so
	 * the child's newest key is the listener's oldest match. */
	scan_begin(&sc, listener, peer);
	for (const struct aosock_key *l; (l = scan_next(&sc, listener));) {
		struct aosock_key *k;

		if (!tcpao_mkt_matches(&l->mkt, peer, l3index))
			continue;
		if (link_key(child, &l->mkt, &k))
			return -ENOMEM;
	}
	if (!child->n)
		return -EKEYREJECTED;
	for (size_t i = child->n; i-- > 0;) {
		const struct aosock_key *k = &child->keys[i];

		if (!cur && syn_rnext >= 0 && k->mkt.sndid == syn_rnext)
			cur = k;
		if (!next && syn_keyid >= 0 && k->mkt.rcvid == syn_keyid)
			next = k;
	}
	child->current = (cur ? cur : &child->keys[child->n - 1])->uid;
	child->rnext = (next ? next : &child->keys[child->n - 1])->uid;
	return 0;
}
