/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One socket's TCP-AO state as Linux keeps it (struct tcp_ao_info): the
 * MKT list (newest first), Current and RNext, ao_required, accept_icmps and
 * the counters; and Linux's setsockopt/getsockopt rules over it, with the
 * same checks in the same order and the same errno (Linux 6.12,
 * net/ipv4/tcp_ao.c; see docs/socket-api.md).
 *
 * Pure: no system calls. What the rules need to know about the kernel
 * socket comes in struct aosock_env; the caller copies user memory in and
 * out (aosock_copy_in() gives copy_struct_from_user's E2BIG rule).
 */
#ifndef TCPAO_AOSOCK_H
#define TCPAO_AOSOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hostidx.h"
#include "tcpao.h"
#include "tcpao/uapi.h"

/* Linux's TCP states (include/net/tcp_states.h). */
enum {
	AOSOCK_ESTABLISHED = 1,
	AOSOCK_SYN_SENT = 2,
	AOSOCK_SYN_RECV = 3,
	AOSOCK_CLOSE = 7,
	AOSOCK_LISTEN = 10,
};

struct aosock_key {
	struct tcpao_mkt mkt; /* peer unmapped; CMAC keys reduced to 16 bytes */
	uint32_t uid;         /* names this key for current/rnext */
};

/* A TCP-MD5 key the socket holds (tracked from TCP_MD5SIG[_EXT]). */
struct aosock_md5 {
	struct tcpao_addr addr;
	uint8_t prefixlen;
	bool has_l3index;
	int l3index;
};

struct aosock {
	int family;            /* AF_INET or AF_INET6: the socket's */
	bool has_info;         /* Linux's ao_info exists */
	struct aosock_key *keys; /* keys[n-1] is the newest (the list head) */
	size_t n, cap;
	uint32_t next_uid;
	uint32_t current, rnext; /* uid; 0: none */
	bool ao_required, accept_icmps;
	/* Counters: the value reported is base + what the daemon counted. */
	uint64_t cnt_base[5];
	struct tcp_ao_repair repair;
	struct aosock_md5 *md5;
	size_t n_md5;
	/* The keys by peer: host keys in hosts, the other keys' uids in wide
	 * (ascending). keys[] stays in uid order, so a uid's key is found by
	 * bisection. idx_lost: an allocation failed, lookups walk all keys. */
	struct hostidx hosts;
	uint32_t *wide;
	size_t n_wide, cap_wide;
	bool idx_lost;
};

/* What the rules need to know about the kernel socket, read by the caller. */
struct aosock_env {
	int state;             /* AOSOCK_* (TCP_INFO's tcpi_state) */
	bool repair;           /* TCP_REPAIR is on */
	bool has_daddr;        /* connected, or connecting */
	struct tcpao_addr daddr; /* unmapped */
	int bound_ifindex;     /* SO_BINDTOIFINDEX, 0 */
	bool (*is_l3mdev)(int ifindex); /* a VRF device? */
	uint64_t cnt[5];       /* the daemon's counters for this socket */
	int dp_current;        /* the datapath's current sndid / rnext rcvid */
	int dp_rnext;          /* on a live connection; -1: none, unknown */
	long optmem_max;       /* net.core.optmem_max (read for ADD_KEY); <= 0: no limit */
};

/* What a key costs against optmem_max, as Linux's sock_kmalloc() of a
 * struct tcp_ao_key (about 250 bytes) and the tcp_ao_info once. */
#define AOSOCK_KEY_OPTMEM 256
#define AOSOCK_INFO_OPTMEM 64

void aosock_init(struct aosock *s, int family);
void aosock_free(struct aosock *s); /* wipes the secrets */

/* copy_struct_from_user(): usize < ksize zero-fills; larger is -E2BIG
 * unless the extra bytes are zero. */
int aosock_copy_in(void *dst, size_t ksize, const void *src, size_t usize);

/* setsockopt(TCP_AO_ADD_KEY / DEL_KEY / INFO) after the EISCONN gate; buf
 * holds optlen bytes of the caller's optval. 0 or a negative errno. */
int aosock_add(struct aosock *s, const struct aosock_env *env,
	       const void *buf, size_t optlen, struct aosock_key **added);
/* DEL_KEY: on 0, the key removed is copied to *gone (wipe it after);
 * -EBUSY moved it to the head and removed none. */
int aosock_del(struct aosock *s, const struct aosock_env *env,
	       const void *buf, size_t optlen, struct tcpao_mkt *gone);
int aosock_set_info(struct aosock *s, const struct aosock_env *env,
		    const void *buf, size_t optlen);
/* The gate of do_tcp_setsockopt for ADD/DEL/INFO: -EISCONN or 0. */
int aosock_gate(const struct aosock *s, const struct aosock_env *env);

/* getsockopt(TCP_AO_INFO): in/out of len bytes (len > 0). */
int aosock_get_info(const struct aosock *s, const struct aosock_env *env,
		    void *buf, size_t len);
/* getsockopt(TCP_AO_GET_KEYS) after the ENOENT check: req holds len
 * bytes (len > 0). Returns the number of matching keys, or a negative
 * errno; *out (free it, wiped) holds the first min(nkeys, matches) entries.
 * The caller writes each at i * len and nkeys at offset 272, as Linux. */
int aosock_get_keys(const struct aosock *s, const void *req, size_t len,
		    struct tcp_ao_getsockopt **out, size_t *written);

/* connect(): drops the keys that do not match the peer and picks Current /
 * RNext as Linux (the newest matching key). -EKEYREJECTED when no key is
 * left, or an MD5 key also matches. An MD5 key alone for the peer drops
 * ao_info (has_info false: an MD5 connection). l3index: the VRF of the
 * bound device (l3mdev_master_ifindex()). Nothing to do without ao_info. */
int aosock_connect(struct aosock *s, const struct tcpao_addr *peer, int l3index);
/* accept(): a child with the listener's keys matching the peer (fresh
 * counters), Current / RNext by the SYN's RNextKeyID / KeyID (-1: unknown,
 * then the oldest matching key). -EKEYREJECTED when none matches. */
int aosock_accept(struct aosock *child, const struct aosock *listener,
		  const struct tcpao_addr *peer, int l3index, int syn_keyid,
		  int syn_rnext);

/* TCP_MD5SIG[_EXT] before the kernel sees it: -EKEYREJECTED for a key
 * on an ao_required socket or for a peer an AO key matches
 * (tcp_ao_required() in tcp_v{4,6}_parse_md5_keys()), else 0. */
int aosock_md5_check(const struct aosock *s, const void *buf, size_t optlen);
/* TCP_MD5SIG[_EXT] seen on the socket (optval as struct tcp_md5sig). */
void aosock_md5_track(struct aosock *s, const void *buf, size_t optlen);
/* An MD5 key conflicts with this AO key (EKEYREJECTED rule). */
bool aosock_md5_conflicts(const struct aosock *s, const struct tcpao_mkt *mkt);
/* An MD5 key matches peer in the VRF l3index (tcp_md5_do_lookup()). */
bool aosock_md5_matches(const struct aosock *s, const struct tcpao_addr *peer,
			int l3index);

const struct aosock_key *aosock_find_uid(const struct aosock *s, uint32_t uid);
/* Adopts the datapath's current / rnext keys (env->dp_*): on a live
 * connection the peer's RNextKeyID moves current, as in Linux. */
void aosock_follow_datapath(struct aosock *s, const struct aosock_env *env);

#endif
