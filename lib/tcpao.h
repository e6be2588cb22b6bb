/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libtcpao — the TCP-AO engine (RFC 5925, RFC 5926).
 *
 * Pure computation: no I/O, no threads, no global state, no allocation on
 * the per-segment path. Everything the RFCs define for one endpoint lives
 * behind this header; the daemon, the CLI and the tests need nothing else.
 *
 * Conventions: functions that can fail return 0 or a negative errno (the
 * errno Linux returns for the same mistake, where Linux has one). Integers
 * in structs are in host order; packets are bytes in network order.
 */
#ifndef TCPAO_H
#define TCPAO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <netinet/in.h>
#include <nettle/cmac.h>
#include <nettle/hmac.h>
#include <nettle/sha3.h>

#define TCPAO_OPT_KIND 29
#define TCPAO_MD5_OPT_KIND 19
#define TCPAO_OPT_HDRLEN 4      /* kind, length, KeyID, RNextKeyID */
#define TCPAO_MAXKEYLEN 80      /* Linux's TCP_AO_MAXKEYLEN */
#define TCPAO_MAX_MACLEN 64     /* longest digest we offer (SHA-512) */
#define TCPAO_DEFAULT_MACLEN 12 /* the 96-bit MACs of RFC 5926 */
#define TCPAO_TCP_OPTSPACE 40

/* ---- algorithms (alg.c) ------------------------------------------------ */

enum tcpao_alg {
	TCPAO_ALG_HMAC_SHA1,
	TCPAO_ALG_CMAC_AES128,
	TCPAO_ALG_HMAC_SHA256,
	/* Linux accepts any hmac(...) of its crypto API; these are the
	 * ones nettle has. Added last: state files store the number. */
	TCPAO_ALG_HMAC_SHA224,
	TCPAO_ALG_HMAC_SHA384,
	TCPAO_ALG_HMAC_SHA512,
	TCPAO_ALG_HMAC_SHA3_512,
	TCPAO_ALG_HMAC_MD5,
	TCPAO_ALG_HMAC_RMD160,
	TCPAO_ALG_COUNT
};

/* Accepts Linux's names: "hmac(sha1)", "cmac(aes128)" or "cmac(aes)",
 * "hmac(sha256)", "hmac(sha224)", "hmac(sha384)", "hmac(sha512)",
 * "hmac(sha3-512)", "hmac(md5)", "hmac(rmd160)". Returns 0 or -ENOENT. */
int tcpao_alg_from_name(const char *name, enum tcpao_alg *alg);
/* For operators (tcpao.conf, key specs): Linux's names and also RFC 5926's
 * ("HMAC-SHA-1-96", "AES-128-CMAC-96"), BIRD's ("hmac sha1", "cmac
 * aes128") and the same with '-' ("hmac-sha1"), case-insensitive.
 * Returns 0 or -ENOENT. */
int tcpao_alg_parse(const char *name, enum tcpao_alg *alg);
/* The i-th name tcpao_alg_parse accepts for alg (0: Linux's), or NULL
 * past the last. */
const char *tcpao_alg_names(enum tcpao_alg alg, size_t i);
/* The list for error messages. */
#define TCPAO_ALG_HINT "hmac(sha1), cmac(aes128), hmac(sha256), ...: see tcpao.conf(5)"
/* The name Linux reports back (TCP_AO_GET_KEYS): "cmac(aes)" for CMAC. */
const char *tcpao_alg_name(enum tcpao_alg alg);
size_t tcpao_alg_digest_len(enum tcpao_alg alg);
size_t tcpao_alg_traffic_key_len(enum tcpao_alg alg);

/* A MAC context keyed once, read by each message (alg.c: KEYED), or the
 * key itself for the algorithms keyed per message (RAW: SHA-384/512,
 * SHA3-512), whose keyed contexts would more than double this union. */
union tcpao_mac_ctx {
	struct hmac_sha1_ctx sha1;
	struct hmac_sha256_ctx sha256; /* and SHA-224 */
	struct hmac_md5_ctx md5;
	struct hmac_ripemd160_ctx rmd160;
	struct cmac_aes128_ctx cmac;
	struct {
		uint8_t len;
		uint8_t key[TCPAO_MAXKEYLEN];
	} raw;
};

/* The state of one message being MACed (struct tcpao_pool). */
union tcpao_mac_work {
	struct sha1_ctx sha1;
	struct sha256_ctx sha256;
	struct md5_ctx md5;
	struct ripemd160_ctx rmd160;
	struct cmac128_ctx cmac;
	struct hmac_sha512_ctx sha512; /* and SHA-384 */
	struct {
		struct sha3_512_ctx outer, inner, state;
	} sha3_512;
};

/* A traffic key, pre-keyed (RFC 5926 section 3.1's output, ready to MAC). */
struct tcpao_tk {
	enum tcpao_alg alg;
	union tcpao_mac_ctx keyed;
};

/* Per-thread working area: the MAC state of the message being computed.
 * Keeps traffic keys read-only so that one flow's keys can serve any
 * thread, and keeps the per-segment path free of allocation. Only the
 * running state is copied per message; the keyed parts (HMAC's outer
 * hash, CMAC's subkeys and cipher) are read from tk, which must outlive
 * the message (tcpao_mac_begin .. tcpao_mac_end). */
struct tcpao_pool {
	union tcpao_mac_work work;
	enum tcpao_alg alg;
	const struct tcpao_tk *tk;
};

void tcpao_tk_init(struct tcpao_tk *tk, enum tcpao_alg alg,
		   const uint8_t *key, size_t keylen);
void tcpao_tk_wipe(struct tcpao_tk *tk);

/* Incremental MAC over the pool's working copy of a traffic key. */
void tcpao_mac_begin(struct tcpao_pool *pool, const struct tcpao_tk *tk);
void tcpao_mac_update(struct tcpao_pool *pool, const void *data, size_t len);
/* Writes the first maclen bytes of the digest (maclen <= digest length). */
void tcpao_mac_end(struct tcpao_pool *pool, uint8_t *mac, size_t maclen);
void tcpao_pool_wipe(struct tcpao_pool *pool);

/* ---- hex (hex.c) ------------------------------------------------------- */

/* 0-15, or -1 for a character that is not a hex digit. */
int tcpao_hex_digit(char c);
/* Decodes `digits` hex digits into out; returns the byte count, -EINVAL
 * (odd count, a non-hex digit) or -E2BIG (more than max bytes). */
int tcpao_hex_decode(const char *hex, size_t digits, uint8_t *out, size_t max);

/* ---- addresses --------------------------------------------------------- */

struct tcpao_addr {
	sa_family_t family; /* AF_INET, AF_INET6; AF_UNSPEC: any (MKT peers) */
	union {
		struct in_addr v4;
		struct in6_addr v6;
		uint8_t bytes[16];
	};
};

/* "198.18.0.1", "fd00::1"; with want_prefix, "PREFIX/LEN" (LEN optional,
 * default full length). Returns 0 or -EINVAL. */
int tcpao_addr_parse(const char *text, struct tcpao_addr *addr,
		     uint8_t *prefixlen);
/* IPv4-mapped IPv6 (::ffff:a.b.c.d) becomes IPv4; others are unchanged. */
void tcpao_addr_unmap(struct tcpao_addr *addr);
/* The address of a struct sockaddr_in / sockaddr_in6 (ss), unmapped;
 * family AF_UNSPEC for any other family. */
void tcpao_addr_from_sockaddr(struct tcpao_addr *addr, const void *ss);
bool tcpao_addr_equal(const struct tcpao_addr *a, const struct tcpao_addr *b);
bool tcpao_addr_in_prefix(const struct tcpao_addr *addr,
			  const struct tcpao_addr *prefix, uint8_t prefixlen);
size_t tcpao_addr_len(const struct tcpao_addr *addr);

/* ---- TCP options (option.c) -------------------------------------------- */

/* What a TCP option list holds that TCP-AO cares about. Offsets are from
 * the start of the TCP header; 0 means absent. */
struct tcpao_opts {
	uint16_t ao_off;      /* the AO option (kind byte) */
	uint8_t ao_len;       /* its length byte */
	uint8_t keyid;
	uint8_t rnext;
	uint16_t md5_off;
	uint16_t mss_off;     /* MSS option (kind 2, length 4) */
	uint16_t sack_off;    /* SACK blocks option (kind 5) */
	uint8_t sack_len;
};

enum tcpao_opts_status {
	TCPAO_OPTS_OK,
	TCPAO_OPTS_MALFORMED, /* length 0/1, overrun, AO shorter than 4 */
	TCPAO_OPTS_DUP_AO,    /* more than one AO option */
};

/* Parses the options of a TCP header (hdr points at the TCP header,
 * hdrlen = data offset * 4, 20..60). Reads nothing outside hdr[0..hdrlen). */
enum tcpao_opts_status tcpao_opts_parse(const uint8_t *hdr, size_t hdrlen,
					struct tcpao_opts *opts);

/* ---- master key tuples (mkt.c, keyspec.c) ------------------------------ */

enum {
	TCPAO_MKT_IFINDEX = 1 << 0,     /* Linux's TCP_AO_KEYF_IFINDEX */
	TCPAO_MKT_EXCLUDE_OPT = 1 << 1, /* Linux's TCP_AO_KEYF_EXCLUDE_OPT */
};

struct tcpao_mkt {
	uint8_t sndid;
	uint8_t rcvid;
	uint8_t maclen;
	uint8_t keylen;
	enum tcpao_alg alg;
	uint8_t prefixlen;
	unsigned int flags;
	int ifindex;
	struct tcpao_addr peer;
	uint8_t key[TCPAO_MAXKEYLEN];
};

/* Checks one key as Linux's TCP_AO_ADD_KEY does: 0 or -EINVAL / -EMSGSIZE /
 * -ENOENT. A maclen of 0 becomes the default; a v4-mapped peer becomes
 * IPv4 (its prefix counts IPv4 bits, as in Linux). */
int tcpao_mkt_check(struct tcpao_mkt *mkt);
bool tcpao_mkt_matches(const struct tcpao_mkt *mkt,
		       const struct tcpao_addr *peer, int ifindex);
/* Its VRF half: with the flag, ifindex 0 is the default VRF, not a
 * wildcard. */
static inline bool tcpao_mkt_in_vrf(const struct tcpao_mkt *mkt, int ifindex)
{
	return !(mkt->flags & TCPAO_MKT_IFINDEX) || mkt->ifindex == ifindex;
}
/* Two keys whose peers overlap may not share a sndid or a rcvid. a is the
 * key already held, b the one being added (ifindex rules are Linux's). */
bool tcpao_mkt_conflicts(const struct tcpao_mkt *a, const struct tcpao_mkt *b);
void tcpao_mkt_wipe(struct tcpao_mkt *mkt);

/* Key syntax shared by every command:
 *   sndid=N,rcvid=N,alg=NAME,secret=TEXT|hex:HEX[,peer=PREFIX][,maclen=N]
 *   [,exclude-options][,ifindex=N]
 * (id=N sets both ids). On error returns -EINVAL and a message in err. */
int tcpao_mkt_parse(const char *spec, struct tcpao_mkt *mkt,
		    char *err, size_t errlen);
/* Writes the message into err (when err and errlen), returns rc: the
 * error return of the parsers that take err and errlen (keyspec.c). */
int tcpao_errf(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- traffic keys (kdf.c) ---------------------------------------------- */

/* The connection context of RFC 5925 section 5.2, seen from the sender of
 * the segments it signs. disn is 0 for the SYN's key. */
struct tcpao_ctx {
	struct tcpao_addr saddr;
	struct tcpao_addr daddr;
	uint16_t sport;
	uint16_t dport;
	uint32_t sisn;
	uint32_t disn;
};

/* RFC 5926 section 3.1 KDF. out must hold tcpao_alg_traffic_key_len(). */
void tcpao_kdf(const struct tcpao_mkt *mkt, const struct tcpao_ctx *ctx,
	       uint8_t *out);
void tcpao_tk_derive(struct tcpao_tk *tk, const struct tcpao_mkt *mkt,
		     const struct tcpao_ctx *ctx);

/* ---- sequence number extension (sne.c) --------------------------------- */

/* The highest sequence number seen in one direction and its SNE. */
struct tcpao_sne {
	uint32_t seq;
	uint32_t sne;
};

void tcpao_sne_init(struct tcpao_sne *s, uint32_t isn);
/* SNE of seq, within 2^31 either side of the highest seen. */
uint32_t tcpao_sne_of(const struct tcpao_sne *s, uint32_t seq);
/* Moves the reference forward when seq is newer. */
void tcpao_sne_advance(struct tcpao_sne *s, uint32_t seq);

/* ---- segments (segment.c) ---------------------------------------------- */

enum tcpao_seg_status {
	TCPAO_SEG_OK,
	TCPAO_SEG_NOT_TCP,     /* another protocol: not ours */
	TCPAO_SEG_FRAGMENT,    /* an IP fragment: cannot be verified alone */
	TCPAO_SEG_TRUNCATED,   /* shorter than its IP length says */
	TCPAO_SEG_MALFORMED,   /* bad header lengths or options */
};

/* A parsed view of one IPv4/IPv6 packet holding a TCP segment. Points into
 * the caller's buffer; owns nothing. */
struct tcpao_seg {
	uint8_t *ip;
	size_t iplen;         /* from the IP header */
	uint8_t iphlen;       /* incl. IPv6 extension headers */
	struct tcpao_addr saddr, daddr;
	uint8_t *tcp;
	size_t tcplen;        /* header + payload */
	uint8_t thlen;        /* data offset * 4 */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;        /* TH_SYN etc. */
	struct tcpao_opts opts;
};

#define TCPAO_TH_FIN 0x01
#define TCPAO_TH_SYN 0x02
#define TCPAO_TH_RST 0x04
#define TCPAO_TH_ACK 0x10

/* caplen = bytes available; a packet cut short is TRUNCATED (the header
 * fields that were present are still filled in when possible). */
enum tcpao_seg_status tcpao_seg_parse(struct tcpao_seg *seg, uint8_t *pkt,
				      size_t caplen);
size_t tcpao_seg_payload_len(const struct tcpao_seg *seg);

/* The MAC of RFC 5925 section 5.1 over the segment as it is in the buffer
 * (the AO option present, its MAC field treated as zero). */
void tcpao_seg_mac(const struct tcpao_seg *seg, const struct tcpao_tk *tk,
		   struct tcpao_pool *pool, uint32_t sne, bool exclude_opts,
		   uint8_t *mac, size_t maclen);

/* Makes room for an AO option of 4 + maclen bytes and fills its header
 * (MAC zeroed), dropping SACK blocks that no longer fit. cap is the buffer
 * size. The IP and TCP lengths are updated; the checksum is not. Returns
 * the new packet length or -EMSGSIZE. */
int tcpao_seg_add_ao(struct tcpao_seg *seg, size_t cap, uint8_t keyid,
		     uint8_t rnext, uint8_t maclen);
/* Removes the AO option, lowering the MSS option of a SYN by the AO option's
 * length. Returns the new packet length. */
size_t tcpao_seg_strip_ao(struct tcpao_seg *seg);
/* The same, lowering the MSS by room instead when that is more: room for
 * the longest AO option the connection's keys may put in a segment
 * (tcpao_ao_room()), since the stack sizes every segment by this MSS. */
size_t tcpao_seg_strip_ao_room(struct tcpao_seg *seg, size_t room);
/* The bytes an AO option with this MAC length takes, NOPs included. */
size_t tcpao_ao_room(uint8_t maclen);
void tcpao_seg_fix_checksum(struct tcpao_seg *seg);
/* The same result without reading the payload, for a segment whose
 * checksum was right before its TCP header (options, lengths) was edited:
 * take tcpao_seg_header_sum() before the edit, pass it to
 * tcpao_seg_update_checksum() after (RFC 1624). */
uint16_t tcpao_seg_header_sum(const struct tcpao_seg *seg);
void tcpao_seg_update_checksum(struct tcpao_seg *seg, uint16_t before);
/* Internet checksum helpers: add 16-bit big-endian words, then fold. */
uint32_t tcpao_csum_add(uint32_t sum, const void *data, size_t len);
uint16_t tcpao_csum_fold(uint32_t sum);
bool tcpao_seg_checksum_ok(const struct tcpao_seg *seg);

/* ---- one direction of a connection (conn.c) ---------------------------- */

/* Traffic keys derived for a direction, cached per MKT. */
#define TCPAO_TK_CACHE 4

struct tcpao_tk_slot {
	uint64_t serial;   /* the MKT's; 0: empty */
	uint32_t sisn;
	uint32_t disn;     /* 0 for the SYN's key */
	struct tcpao_tk tk;
};

/* Everything needed to sign or verify the segments sent one way. */
struct tcpao_dir {
	struct tcpao_ctx ctx;  /* sender's addresses, ports and ISNs */
	bool have_sisn;
	bool have_disn;
	struct tcpao_sne sne;
	struct tcpao_tk_slot cache[TCPAO_TK_CACHE];
	uint8_t next_slot;
};

void tcpao_dir_init(struct tcpao_dir *dir, const struct tcpao_seg *seg);
/* Learns ISNs from SYN / SYN-ACK and advances the SNE. verify and sign do
 * it for the segments they pass; the peer's direction learns our ISN with
 * tcpao_dir_set_disn(). */
void tcpao_dir_observe(struct tcpao_dir *dir, const struct tcpao_seg *seg);
void tcpao_dir_set_disn(struct tcpao_dir *dir, uint32_t disn);
void tcpao_dir_wipe(struct tcpao_dir *dir);

/* The key for this segment (SYN key or the other), derived on first use.
 * serial identifies the MKT's version (a changed MKT has a new serial).
 * Returns NULL when an ISN is missing. */
const struct tcpao_tk *tcpao_dir_tk(struct tcpao_dir *dir,
				    const struct tcpao_mkt *mkt,
				    uint64_t serial,
				    const struct tcpao_seg *seg);

enum tcpao_result {
	TCPAO_GOOD,           /* MAC verified */
	TCPAO_BAD_MAC,
	TCPAO_KEY_NOT_FOUND,  /* no MKT with rcvid == KeyID for this peer */
	TCPAO_AO_REQUIRED,    /* no AO option on a flow that needs one */
	TCPAO_AO_MD5,         /* AO and MD5 options together */
	TCPAO_NO_ISN,         /* ISN unknown: cannot derive the keys */
	TCPAO_MALFORMED,
	TCPAO_TRUNCATED,
	TCPAO_RESULT_COUNT
};

/* Short stable names: "good", "bad-mac", "key-not-found", ... */
const char *tcpao_result_name(enum tcpao_result r);

/* Verifies seg (received this way) with mkt. */
enum tcpao_result tcpao_dir_verify(struct tcpao_dir *dir,
				   const struct tcpao_mkt *mkt,
				   uint64_t serial,
				   const struct tcpao_seg *seg,
				   struct tcpao_pool *pool);
/* Computes and writes the MAC of a segment that already carries an AO
 * option (tcpao_seg_add_ao). Returns TCPAO_GOOD or TCPAO_NO_ISN. */
enum tcpao_result tcpao_dir_sign(struct tcpao_dir *dir,
				 const struct tcpao_mkt *mkt,
				 uint64_t serial,
				 struct tcpao_seg *seg,
				 struct tcpao_pool *pool);

/* ---- key selection (keysel.c) ------------------------------------------ */

/* One key of a ring, and what its owner keeps with it. */
struct tcpao_ringkey {
	struct tcpao_mkt mkt;
	uint64_t serial;          /* names this key's version */
	uint64_t seq;             /* order of adds: the peer index names keys by it */
	uint8_t tag;              /* for the owner (0 on add) */
};

struct tcpao_keychunk;
/* What spans and groups are searched by, of their first key: the rank
 * (from the oldest key; a span's from its group's first), seq and
 * serial. */
enum { TCPAO_BY_RANK, TCPAO_BY_SEQ, TCPAO_BY_SERIAL, TCPAO_BY_N };
struct tcpao_spankeys {
	uint64_t first[TCPAO_BY_N];
};
/* A chunk of a ring's keys. */
struct tcpao_keyspan {
	struct tcpao_spankeys at;
	struct tcpao_keychunk *chunk;
	uint32_t id;              /* the chunk's in the holder counts */
};
#define TCPAO_KEYGROUP 32
/* Spans of a ring, shared by the versions that hold the group (ref). */
struct tcpao_keygroup {
	unsigned ref;
	uint32_t n, cap;          /* cap <= TCPAO_KEYGROUP */
	struct tcpao_keyspan s[];
};
/* A group as a ring lists it (at: of its first key, the rank in the ring). */
struct tcpao_groupref {
	struct tcpao_spankeys at;
	struct tcpao_keygroup *group;
};
struct tcpao_keyrefs;

/* A set of MKTs, as a socket or a policy holds them. Keys added later come
 * first, as in Linux: key i is the i-th newest (tcpao_keyring_key()).
 * Serials identify each key's version.
 *
 * The keys sit in chunks of up to 128, oldest first, listed in groups of
 * spans, that versions of a ring share (copy on write, keyring.c): a copy
 * costs its array of groups, a change the group and the chunk it touches.
 * Read only through the accessors below. */
struct tcpao_keyring {
	struct tcpao_groupref *groups; /* oldest first; this version's own */
	size_t ngroups, groups_cap;
	size_t nspans;               /* in all groups */
	size_t n;
	uint64_t next_serial, next_seq, max_serial;
	/* A serial was set out of the order of adds (a reload keeps old
	 * serials): tcpao_keyring_find_serial() must then walk. */
	bool serials_unordered;
	uint64_t id;              /* this ring's, not its copies' */
	/* Holder counts of the chunks, shared with copies (keyring.c). */
	struct tcpao_keyrefs *refs;
	/* Clash index (keyring.c), NULL until needed; never read by lookups
	 * (it may be built on a ring that others read), passed on to copies. */
	struct tcpao_keyidx *idx;
	/* Host keys by peer address (keypeers.c), from 32 keys on: kept by
	 * add and del, shared with copies, read by the lookups. */
	struct tcpao_keypeers *peers;
};

/* Key i (< n), newest first. */
const struct tcpao_ringkey *tcpao_keyring_at(const struct tcpao_keyring *ring, size_t i);
static inline const struct tcpao_mkt *tcpao_keyring_key(const struct tcpao_keyring *ring,
							size_t i)
{
	return &tcpao_keyring_at(ring, i)->mkt;
}
static inline uint64_t tcpao_keyring_serial(const struct tcpao_keyring *ring, size_t i)
{
	return tcpao_keyring_at(ring, i)->serial;
}
static inline uint8_t tcpao_keyring_tag(const struct tcpao_keyring *ring, size_t i)
{
	return tcpao_keyring_at(ring, i)->tag;
}
/* Sets key i's serial and tag (a chunk shared with another version is
 * copied first): -ENOMEM. Never fails on key 0 after an add. */
int tcpao_keyring_set(struct tcpao_keyring *ring, size_t i, uint64_t serial, uint8_t tag);

void tcpao_keyring_init(struct tcpao_keyring *ring);
void tcpao_keyring_free(struct tcpao_keyring *ring); /* wipes the secrets */
/* dst (not initialized) becomes a copy of src, indexes included, sharing
 * src's chunks and index pages (O(chunks)); -ENOMEM leaves dst empty. */
int tcpao_keyring_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src);
/* Does some key's peer prefix hold remote (any ids, any ifindex)? 1 or
 * 0 from the ring's peer index, -1 when it cannot tell (walk the keys). */
int tcpao_keyring_holds_peer(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *remote);
/* The indexes of the keys matching a peer, oldest first, into out (up to
 * cap); SIZE_MAX when there are more than cap. */
size_t tcpao_keyring_matching(const struct tcpao_keyring *ring,
			      const struct tcpao_addr *peer, int ifindex,
			      int *out, size_t cap);
/* The room of the longest AO option among the keys matching a peer
 * (tcpao_ao_room()): what a SYN's MSS leaves for the keys Current may
 * move to. By the peer index: a listener's thousands of keys are not
 * walked per SYN. */
size_t tcpao_keyring_ao_room(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex);
/* What a SYN from peer with this KeyID and RNextKeyID needs, in one look
 * at the peer's keys: the first key whose rcvid is keyid and the first
 * whose sndid is rnext (NULL: none), and tcpao_keyring_ao_room(). The
 * keys, not their indices: a passive open uses them as they are. */
struct tcpao_synkeys {
	const struct tcpao_ringkey *rcv, *snd;
	size_t room;
};
void tcpao_keyring_syn(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		       int ifindex, uint8_t keyid, uint8_t rnext, struct tcpao_synkeys *out);
/* -EEXIST on a sndid/rcvid clash with an overlapping key, -ENOMEM. */
int tcpao_keyring_add(struct tcpao_keyring *ring, const struct tcpao_mkt *mkt);
/* Would adding mkt clash (sndid or rcvid of an overlapping key)? O(1) for
 * rings of one prefix length; may build the ring's index. */
bool tcpao_keyring_clashes(struct tcpao_keyring *ring,
			   const struct tcpao_mkt *mkt);
int tcpao_keyring_del(struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		      uint8_t prefixlen, uint8_t sndid, uint8_t rcvid);
/* Lookups for a peer; -1 when none. */
int tcpao_keyring_find_rcvid(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex,
			     uint8_t rcvid);
int tcpao_keyring_find_sndid(const struct tcpao_keyring *ring,
			     const struct tcpao_addr *peer, int ifindex,
			     uint8_t sndid);
int tcpao_keyring_first(const struct tcpao_keyring *ring,
			const struct tcpao_addr *peer, int ifindex);
int tcpao_keyring_find_serial(const struct tcpao_keyring *ring,
			      uint64_t serial);
/* The first key matching a peer and the ids (-1: any), NULL when none:
 * for a caller that wants the key, not its index (one search less). */
const struct tcpao_ringkey *tcpao_keyring_lookup(const struct tcpao_keyring *ring,
						 const struct tcpao_addr *peer,
						 int ifindex, int sndid, int rcvid);

/* The keys a connection uses, by serial (0: none). */
struct tcpao_keysel {
	uint64_t current; /* signs what we send; its sndid is our KeyID */
	uint64_t rnext;   /* its rcvid is the RNextKeyID we announce */
};

/* Default choice on connect: the first key matching the peer (the last
 * added), as Linux. Returns -ENOENT when no key matches. */
int tcpao_keysel_default(struct tcpao_keysel *sel,
			 const struct tcpao_keyring *ring,
			 const struct tcpao_addr *peer, int ifindex);
/* On a verified segment whose RNextKeyID is rnext: switch current to the
 * key with that sndid, if there is one (RFC 5925 section 7.5.2, Linux). */
void tcpao_keysel_follow_peer(struct tcpao_keysel *sel,
			      const struct tcpao_keyring *ring,
			      const struct tcpao_addr *peer, int ifindex,
			      uint8_t rnext);

#endif
