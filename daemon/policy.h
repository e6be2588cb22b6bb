/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host policy: which connections of this host are protected with TCP-AO,
 * with which MKTs. Built from tcpao.conf (config.h) and changed at run time
 * by `tcpao key add|del|set` (control.h).
 *
 * A policy is a list of peer entries. An entry has a scope (remote prefix,
 * optional local prefix, optional local / remote port), two flags, and the
 * MKTs for that scope (a tcpao_keyring, newest key first as Linux keeps
 * them). A connection uses the most specific entry that matches it.
 *
 * Snapshot contract (for the datapath):
 *  - A policy is a plain value that owns its memory. Nothing in it changes
 *    unless one of the policy_* mutators below is called on it.
 *  - Workers only read a policy: policy_match(), the entry's fields and its
 *    keyring, policy_peer_keysel(). Those functions take no lock, allocate
 *    nothing and touch no global state, so any number of threads may call
 *    them on one policy at the same time.
 *  - A change (key add/del/set, reload) is made on a copy: policy_clone()
 *    the current policy, mutate the copy, hand the copy to the workers by
 *    message passing, free the old one when every worker has let go of it.
 *  - Copies are cheap: a clone shares every entry with its original
 *    (pvec.h: O(1)), and a change copies only the entries it changes
 *    (policy_entry_mut()) and the few nodes above them, so a change costs
 *    what it changes, not the size of the policy. An entry shared by
 *    versions is freed, its secrets wiped, when the last one lets go.
 *  - A clone records which entries it changed (policy_changes()): the
 *    audit, the peer sets and the key-age stamps look at those only.
 *  - Every key carries a serial (tcpao_keyring_serial()), unique within a
 *    policy and across its clones and reloads (policy_adopt_serials()). A serial
 *    names one version of one key: a traffic-key cache entry or a flow's
 *    tcpao_keysel stays valid exactly as long as its serial is still
 *    present (tcpao_keyring_find_serial()). A deleted key's serial is never
 *    reused; an unchanged key keeps its serial across clone and reload.
 *
 * Errors: mutators return 0 or a negative errno (Linux's, where Linux has
 * one for the same mistake) and, when err is not NULL, a one-line message
 * that never contains a secret.
 */
#ifndef TCPAOD_POLICY_H
#define TCPAOD_POLICY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "peerindex.h"
#include "pvec.h"
#include "tcpao.h"

struct keycount;
struct keychains;

/* Which connections an entry applies to. Addresses are IPv4 or IPv6, never
 * IPv4-mapped (mapped input is converted to IPv4). A local prefix of family
 * AF_UNSPEC and a port of 0 mean "any". */
struct policy_scope {
	struct tcpao_addr peer;
	uint8_t peer_len;
	struct tcpao_addr local;
	uint8_t local_len;
	uint16_t local_port;  /* host order */
	uint16_t remote_port; /* host order */
};

/* Where an entry, or a key, came from. */
enum policy_from {
	POLICY_FROM_FILE,    /* tcpao.conf: a reload replaces it */
	POLICY_FROM_RUNTIME, /* root, `tcpao key add` or tcpaod --key */
	POLICY_FROM_SOCKET,  /* a program's socket (the socket API) */
};

/* A key's tag (tcpao_keyring_tag()) in a host entry: where that key came
 * from (a runtime key may join an entry of the file). A socket's keys are
 * all the socket's. */
#define POLICY_KEY_FILE 0
#define POLICY_KEY_RUNTIME 1

struct policy_peer {
	unsigned ref; /* holders among the versions' nodes (pvec.h) */
	struct policy_scope scope;
	/* Segments of a matched connection that carry no AO option are dropped
	 * (TCPAORequired). When false, a connection whose SYN carries no AO
	 * is left alone in the clear (migration); an AO connection still
	 * requires AO on every segment. Default true. */
	bool ao_required;
	/* Hard ICMP errors (v4 type 3 codes 2-4, v6 type 1 codes 1, 4) for
	 * matched connections are delivered instead of dropped. Default false. */
	bool accept_icmps;
	/* The MKTs. Each key's peer/prefixlen equal the scope's peer. */
	struct tcpao_keyring keys;
	/* Preferred keys for new connections, and for live ones when
	 * their epoch changes: sndid of the current key, rcvid of the rnext
	 * key; -1 for Linux's default (the newest matching key). */
	int current_sndid;
	int rnext_rcvid;
	/* Bumped each time current (rnext) is set explicitly: the datapath
	 * moves the live connections of this entry to the new preference when
	 * it sees a new value. Separate, because setting only the rnext key
	 * must leave the current key where the peer's RNextKeyID put it. */
	uint64_t current_epoch;
	uint64_t rnext_epoch;
	/* The key new connections sign with (policy_current_key()), by
	 * serial, and since when (policy_now()): the key-age metric.
	 * policy_stamp_current() keeps them. */
	uint64_t current_serial;
	int64_t current_since;
	/* Where the entry was defined ("file:line"), or "runtime", or
	 * "socket". from and uid say the same for programs. */
	char origin[96];
	enum policy_from from;
	uint32_t uid;      /* POLICY_FROM_SOCKET: the socket's owner */
	bool sock_listener; /* its scope is its keys' prefixes, not the /0 */
	/* Socket-owned entries (sockets.c): the socket's SO_COOKIE, 0 for host
	 * policy. They win over host entries (keys set on a socket override
	 * the policy). sock_cnt: the socket's five TCP_AO_INFO counters for
	 * segments of no flow (a listener's), owned by sockets.c. */
	uint64_t sock_cookie;
	_Atomic uint64_t *sock_cnt;
	/* Its per-key counters (keycount.h), owned by sockets.c; NULL for
	 * host policy. */
	struct keycount *sock_keycnt;
	/* A socket's entry copied from delta_of (another version's) and
	 * changed since by delta_keys key adds / dels, the last one of
	 * delta_peer/delta_len (+1 added, -1 deleted): the peer sets count
	 * the one key instead of the whole ring (members.c). NULL: new. */
	const struct policy_peer *delta_of;
	unsigned delta_keys;
	int delta_sign;
	struct tcpao_addr delta_peer;
	uint8_t delta_len;
	/* Host policy with `key-chain NAME`: 1 + the chain's index in the
	 * policy's chains, 0 for none. Its chain keys are in `keys` only
	 * while accept-valid (rollover.h keeps them so). */
	unsigned chain;
};

struct policy_indexes {
	struct peer_index prefix, cookie, conn;
};

struct policy {
	/* The entries by slot (struct policy_peer *; 0 where one was
	 * removed): read them with policy_entry(), change them through
	 * policy_entry_mut(). Slots keep their order (the order defined). */
	struct pvec entries;
	size_t n;     /* slots */
	size_t holes; /* removed entries' slots, until renumbered */
	/* Slots by peer prefix (peerindex.h), sockets' by cookie, and a
	 * connection's socket entry (a host peer and both ports: a server's
	 * sockets to one peer may be thousands, TIME-WAIT ones included) by
	 * its peer and ports instead of its prefix (policy_match() looks in
	 * both).
	 * Always complete. */
	struct policy_indexes ix;
	uint64_t next_serial; /* the next key serial to hand out */
	/* This version, the version it was cloned from (0: none, or the
	 * slots were renumbered), and the slots changed since (repeats). */
	uint64_t gen, base;
	size_t *changed, nchanged, changed_cap;
	/* The config file's key chains (keychain.h): immutable, shared with
	 * the clones. NULL when the file has none. */
	struct keychains *chains;
	uint32_t mark; /* the file's "mark" statement; 0: none */
};

/* The chain of a host entry, or NULL. */
const struct keychain *policy_peer_chain(const struct policy *policy,
					 const struct policy_peer *peer);

struct policy *policy_new(void);
/* Wipes every secret, then frees. NULL is fine. */
void policy_free(struct policy *policy);
/* A copy (serials and epochs included) sharing every entry with the
 * original, or NULL on ENOMEM. O(1). */
struct policy *policy_clone(const struct policy *policy);

/* Entry `slot` (< n), or NULL where one was removed. Read only. */
const struct policy_peer *policy_entry(const struct policy *policy, size_t slot);
/* The same, this version's own to change (copied when shared, noted as
 * changed); NULL where none or without memory. */
struct policy_peer *policy_entry_mut(struct policy *policy, size_t slot);
/* The slots `fresh` changed since `old`, sorted and unique, into *slots
 * (malloc'd, NULL when none): true when fresh is a clone of old (its
 * slots not renumbered since), false when the two must be compared whole
 * (or without memory). Entries of other slots are the same in both. */
bool policy_changes(const struct policy *fresh, const struct policy *old,
		    size_t **slots, size_t *n);

/* The entry with exactly this scope, creating it with the default flags
 * when absent (origin is copied). Returns NULL and sets *rc on error:
 * -EINVAL for an invalid scope (host bits set, prefix too long, mixed
 * families, no peer), -ENOMEM. */
struct policy_peer *policy_peer_get(struct policy *policy,
				    const struct policy_scope *scope,
				    const char *origin, int *rc,
				    char *err, size_t errlen);
/* A total order of scopes: 0 exactly when they are the same scope. */
int policy_scope_cmp(const struct policy_scope *a, const struct policy_scope *b);
/* The host entry with exactly this scope, or NULL: to read, and to
 * change (policy_entry_mut()). */
const struct policy_peer *policy_peer_find(const struct policy *policy,
					   const struct policy_scope *scope);
struct policy_peer *policy_peer_find_mut(struct policy *policy,
					 const struct policy_scope *scope);

/* Adds an MKT to every entry whose peer prefix is mkt->peer/prefixlen,
 * whatever their local address and ports (so every connection to that
 * peer gets the key); when there is none, to a new entry {peer, any local,
 * any ports}. With a scope, to that entry only (created if absent; the
 * key's peer must then equal the scope's, or be unset).
 * The key's peer must be a real prefix (AF_UNSPEC is -EINVAL: a host
 * policy never covers every address). Errors: -EINVAL (bad key or scope),
 * -EEXIST (sndid or rcvid already used by a key of an entry whose scope
 * overlaps, as Linux's rule for overlapping peers), -ENOMEM.
 * set_current / set_rnext make the new key the entry's preference. */
int policy_add_key(struct policy *policy, const struct tcpao_mkt *mkt,
		   char *err, size_t errlen);
int policy_add_key_to(struct policy *policy, const struct policy_scope *scope,
		      const struct tcpao_mkt *mkt, bool set_current,
		      bool set_rnext, char *err, size_t errlen);
/* The same, saying where the key comes from (policy_add_key_to() is
 * POLICY_FROM_RUNTIME; the config file's keys are POLICY_FROM_FILE). */
int policy_add_key_from(struct policy *policy, const struct policy_scope *scope,
			const struct tcpao_mkt *mkt, enum policy_from from,
			bool set_current, bool set_rnext, char *err,
			size_t errlen);
/* "file", "runtime", "socket:uid=U:cookie=C" (C decimal, the socket's
 * SO_COOKIE): where key k of p came from. */
const char *policy_key_origin(const struct policy_peer *p, size_t k, char *buf,
			      size_t buflen);

/* ---- socket entries (sockets.c owns the sockets, this file the entries) */

/* What the policy records of a socket configured with the socket API. */
struct policy_sock {
	uint64_t cookie;
	uint32_t uid;
	bool listener;
	_Atomic uint64_t *cnt;    /* see policy_peer.sock_cnt */
	struct keycount *keycnt;
};

/* The socket's entry, or NULL: to read, and to change. */
const struct policy_peer *policy_sock_entry(const struct policy *policy,
					    uint64_t cookie);
struct policy_peer *policy_sock_entry_mut(struct policy *policy, uint64_t cookie);
/* Replaces the socket's entry (and any entry of a socket that is gone
 * with the same scope) by one with this scope and a copy of `keys`
 * (only those matching only_peer in VRF l3index, when given): with new
 * serials, or with
 * the ring's own when keep_serials (an accepted socket goes on with its
 * listener's). A listener's entry matches only the peers of its keys. */
struct policy_peer *policy_sock_set(struct policy *policy,
				    const struct policy_sock *sock,
				    const struct policy_scope *scope,
				    const struct tcpao_keyring *keys,
				    bool keep_serials,
				    const struct tcpao_addr *only_peer, int l3index,
				    int *rc, char *err, size_t errlen);
int policy_sock_add_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_mkt *mkt);
int policy_sock_del_key(struct policy *policy, uint64_t cookie,
			const struct tcpao_addr *peer, uint8_t len,
			uint8_t sndid, uint8_t rcvid);
/* Flags of a socket's entry; -1 leaves ao_required / accept_icmps, and
 * current / rnext are set as given (-1: Linux's default). */
void policy_sock_flags(struct policy_peer *e, int ao_required,
		       int accept_icmps, int current, int rnext);
/* Removes the socket's entry: 0, -ENOENT (it had none) or -ENOMEM (it
 * stays). */
int policy_sock_remove(struct policy *policy, uint64_t cookie);

/* Which key to delete, and optional new preferences (-1: unchanged).
 * A NULL scope in the calls below means: every entry whose peer prefix
 * equals `peer`/`peer_len`; an AF_UNSPEC peer means every entry. */
struct policy_key_ref {
	struct tcpao_addr peer;
	uint8_t peer_len;
	uint8_t sndid;
	uint8_t rcvid;
};

/* Deletes the key. -ENOENT when no such key (or new_current / new_rnext
 * name no key of that entry, or name the deleted key, as Linux);
 * -EBUSY when it is the entry's explicit current or rnext preference and
 * no replacement is given. Live connections are the caller's business:
 * the datapath refuses (EBUSY) before calling this when a live flow signs
 * with the key and no new current key is given. */
int policy_del_key(struct policy *policy, const struct policy_key_ref *ref,
		   int new_current, int new_rnext, char *err, size_t errlen);

/* Sets the preferred keys (-1: leave as is) of every entry selected by
 * peer/peer_len (AF_UNSPEC: all entries). Only entries holding a key with
 * sndid == current (and rcvid == rnext) are changed; -ENOENT when no entry
 * holds them. Bumps the epochs of the preferences changed. */
int policy_set_keysel(struct policy *policy, const struct tcpao_addr *peer,
		      uint8_t peer_len, int current, int rnext,
		      char *err, size_t errlen);

/* The most specific entry matching a connection, or NULL. Specificity:
 * longer remote prefix, then longer local prefix, then more ports given;
 * ties go to the entry defined first; a socket's entry before any other.
 * A listener's entry matches a peer none of its keys serves only when no
 * other entry does (its ao_required and counters are every peer's, as in
 * Linux, but never override another entry). Addresses may be IPv4-mapped.
 * Ports in host order. No locks, no allocation. */
const struct policy_peer *policy_match(const struct policy *policy,
				       const struct tcpao_addr *local,
				       uint16_t lport,
				       const struct tcpao_addr *remote,
				       uint16_t rport);
/* policy_match() would take a over b for a connection from remote (not
 * IPv4-mapped) that both scope; false when it cannot tell (a tie goes to
 * the entry found first). */
bool policy_prefers(const struct policy_peer *a, const struct policy_peer *b,
		    const struct tcpao_addr *remote);
/* Whether entry p's scope takes in this connection: only such entries,
 * changed, can change what policy_match() returns for it. */
bool policy_entry_scopes(const struct policy_peer *p,
			 const struct tcpao_addr *local, uint16_t lport,
			 const struct tcpao_addr *remote, uint16_t rport);
/* A listener's keys serve `remote` (one of them matches it): the peers
 * whose connections it protects; any other connects in the clear, unless
 * the listener requires AO. */
bool policy_listener_serves(const struct policy_peer *p,
			    const struct tcpao_addr *remote);
/* True when some entry's remote prefix contains addr (whatever the ports
 * and local address): the test the ipset/nft set implements. */
bool policy_covers(const struct policy *policy, const struct tcpao_addr *addr);

/* The keys a new connection to `remote` starts with: the entry's preferred
 * keys when set and present, otherwise Linux's default (the newest key
 * matching the peer, for both). -ENOENT when no key matches. */
int policy_peer_keysel(const struct policy_peer *peer,
		       const struct tcpao_addr *remote, int ifindex,
		       struct tcpao_keysel *sel);

/* Calls fn (when not NULL) for every remote prefix whose segments must
 * reach the queue: each entry's peer prefix, but for a listener's entry
 * its keys' prefixes (never the /0 unless a key says /0). Duplicates are
 * the caller's business. Returns how many prefixes were given. */
size_t policy_foreach_prefix(const struct policy *policy,
			     void (*fn)(const struct tcpao_addr *prefix,
					uint8_t len, void *arg),
			     void *arg);
/* The prefix a key of p gives the peer sets (what policy_entry_prefixes()
 * gives for it); false when none. */
bool policy_key_prefix(const struct policy_peer *p, struct tcpao_addr *a,
		       uint8_t *len);
/* The same for one entry. */
size_t policy_entry_prefixes(const struct policy_peer *p,
			     void (*fn)(const struct tcpao_addr *prefix,
					uint8_t len, void *arg),
			     void *arg);
/* The local ports whose every segment must reach the ingress queue,
 * whoever the peer: those of listeners that require AO (Linux refuses
 * unsigned segments from any peer then). Up to cap into out (may be NULL);
 * duplicates are the caller's business. Returns how many there are. */
size_t policy_required_ports(const struct policy *policy, uint16_t *out,
			     size_t cap);

/* After a reload: every key of `fresh` that is identical to a key of the
 * same scope in `old` (ids, algorithm, secret, maclen, flags, ifindex)
 * takes that key's serial, and every entry with the same preferences keeps
 * its epochs; other keys get serials above every serial of `old`.
 * So live flows whose keys did not change are untouched by the reload. */
void policy_adopt_serials(struct policy *fresh, const struct policy *old);

/* After a reload: what did not come from the file survives it. Every
 * socket's entry of `old` joins `fresh` as it was, and every runtime key
 * of a host entry joins the entry of the same scope in `fresh` (created
 * when the file no longer has it) with its serial and, when the file set
 * none, its entry's preferences. Call after policy_adopt_serials(). A
 * runtime key that now clashes with a key of the file is left out and
 * counted in *clashes. Returns 0 or -ENOMEM. */
int policy_keep_unfiled(struct policy *fresh, const struct policy *old,
			size_t *clashes);

/* What replacing `old` by `fresh` does to keys: fn(arg, "add" | "change"
 * | "drop", entry, key index) where entry is fresh's for add and change,
 * old's for drop. Keys are told apart by serial (policy_adopt_serials()
 * keeps an unchanged key's). */
void policy_diff(const struct policy *old, const struct policy *fresh,
		 void (*fn)(void *arg, const char *what,
			    const struct policy_peer *p, size_t k),
		 void *arg);

/* The index of the key new connections to the entry sign with: the
 * current preference when a key has that sndid, else the newest key;
 * -1 when none. */
int policy_current_key(const struct policy_peer *p);
/* The clock of current_since: seconds of CLOCK_BOOTTIME (never stepped). */
int64_t policy_now(void);
/* Before a policy is published: an entry whose current key is another
 * key than at its last stamp is stamped now. A clone looks only at the
 * entries it changed: the others were stamped when its base was. */
void policy_stamp_current(struct policy *policy, int64_t now);

/* "198.18.0.0/24" / "fd00::/64"; "any" for AF_UNSPEC. buf >= 64 bytes. */
const char *policy_prefix_str(const struct tcpao_addr *addr, uint8_t len,
			      char *buf, size_t buflen);

#endif
