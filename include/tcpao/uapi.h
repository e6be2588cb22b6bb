/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linux's TCP-AO socket API (Linux 6.7 and later, include/uapi/linux/tcp.h)
 * for systems whose kernel headers predate it (Debian 12's linux-libc-dev
 * is 6.1). Same names, values and layouts, written from the documented
 * ABI: a program built against this header runs unchanged on a kernel with
 * CONFIG_TCP_AO, or on any kernel with libtcpao-preload.so.
 *
 * Include it after <linux/tcp.h> or <netinet/tcp.h>: when TCP_AO_ADD_KEY
 * is already defined (new headers), this header defines nothing.
 */
#ifndef TCPAO_UAPI_H
#define TCPAO_UAPI_H

#include <linux/types.h>
#include <linux/socket.h>

#ifndef TCP_AO_ADD_KEY

#define TCP_AO_ADD_KEY 38  /* add one MKT */
#define TCP_AO_DEL_KEY 39  /* delete one MKT */
#define TCP_AO_INFO 40     /* get/set the socket's TCP-AO state */
#define TCP_AO_GET_KEYS 41 /* list MKTs */
#define TCP_AO_REPAIR 42   /* get/set ISNs and SNEs (TCP_REPAIR mode) */

#define TCP_AO_MAXKEYLEN 80

#define TCP_AO_KEYF_IFINDEX (1 << 0)     /* the key is bound to an L3 ifindex (VRF) */
#define TCP_AO_KEYF_EXCLUDE_OPT (1 << 1) /* MAC excludes TCP options but AO */

struct tcp_ao_add {
	struct __kernel_sockaddr_storage addr; /* peer; port must be 0 */
	char alg_name[64];                     /* "hmac(sha1)", "cmac(aes128)", ... */
	__s32 ifindex;                         /* with TCP_AO_KEYF_IFINDEX */
	__u32 set_current : 1,                 /* the new key becomes Current */
		set_rnext : 1,                 /* ... and/or RNext */
		reserved : 30;                 /* must be 0 */
	__u16 reserved2;                       /* must be 0 */
	__u8 prefix;                           /* peer prefix length */
	__u8 sndid;                            /* SendID */
	__u8 rcvid;                            /* RecvID */
	__u8 maclen;                           /* 0: default (12) */
	__u8 keyflags;                         /* TCP_AO_KEYF_* */
	__u8 keylen;
	__u8 key[TCP_AO_MAXKEYLEN];
} __attribute__((aligned(8)));

struct tcp_ao_del {
	struct __kernel_sockaddr_storage addr;
	__s32 ifindex;
	__u32 set_current : 1, /* current_key becomes Current */
		set_rnext : 1, /* rnext becomes RNext */
		del_async : 1, /* listening sockets only: do not wait */
		reserved : 29;
	__u16 reserved2;
	__u8 prefix;
	__u8 sndid;
	__u8 rcvid;
	__u8 current_key; /* sndid of the new Current */
	__u8 rnext;       /* rcvid of the new RNext */
	__u8 keyflags;
} __attribute__((aligned(8)));

struct tcp_ao_info_opt {
	__u32 set_current : 1,
		set_rnext : 1,
		ao_required : 1,   /* segments without AO are dropped */
		set_counters : 1,  /* set the five counters below */
		accept_icmps : 1,  /* deliver hard ICMP errors */
		reserved : 27;
	__u16 reserved2;
	__u8 current_key;
	__u8 rnext;
	__u64 pkt_good;
	__u64 pkt_bad;
	__u64 pkt_key_not_found;
	__u64 pkt_ao_required;
	__u64 pkt_dropped_icmp;
} __attribute__((aligned(8)));

struct tcp_ao_getsockopt {
	struct __kernel_sockaddr_storage addr;
	char alg_name[64];
	__u8 key[TCP_AO_MAXKEYLEN];
	__u32 nkeys; /* in: entries the buffer holds; out: matches */
	__u16 is_current : 1,
		is_rnext : 1,
		get_all : 1,
		reserved : 13;
	__u8 sndid;
	__u8 rcvid;
	__u8 prefix;
	__u8 maclen;
	__u8 keyflags;
	__u8 keylen;
	__s32 ifindex;
	__u64 pkt_good;
	__u64 pkt_bad;
} __attribute__((aligned(8)));

struct tcp_ao_repair {
	__be32 snt_isn;
	__be32 rcv_isn;
	__u32 snd_sne;
	__u32 rcv_sne;
} __attribute__((aligned(8)));

#endif /* TCP_AO_ADD_KEY */

/* The ABI, checked wherever this header is compiled. */
#if defined(__cplusplus)
#define TCPAO_UAPI_ASSERT static_assert
#else
#define TCPAO_UAPI_ASSERT _Static_assert
#endif
TCPAO_UAPI_ASSERT(sizeof(struct tcp_ao_add) == 288, "tcp_ao_add size");
TCPAO_UAPI_ASSERT(sizeof(struct tcp_ao_del) == 144, "tcp_ao_del size");
TCPAO_UAPI_ASSERT(sizeof(struct tcp_ao_info_opt) == 48, "tcp_ao_info_opt size");
TCPAO_UAPI_ASSERT(sizeof(struct tcp_ao_getsockopt) == 304, "tcp_ao_getsockopt size");
TCPAO_UAPI_ASSERT(sizeof(struct tcp_ao_repair) == 16, "tcp_ao_repair size");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, alg_name) == 128, "add.alg_name");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, ifindex) == 192, "add.ifindex");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, reserved2) == 200, "add.reserved2");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, prefix) == 202, "add.prefix");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, keylen) == 207, "add.keylen");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_add, key) == 208, "add.key");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_del, ifindex) == 128, "del.ifindex");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_del, prefix) == 138, "del.prefix");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_del, keyflags) == 143, "del.keyflags");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_info_opt, current_key) == 6, "info.current_key");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_info_opt, pkt_good) == 8, "info.pkt_good");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_info_opt, pkt_dropped_icmp) == 40, "info.pkt_dropped_icmp");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, key) == 192, "get.key");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, nkeys) == 272, "get.nkeys");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, sndid) == 278, "get.sndid");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, keylen) == 283, "get.keylen");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, ifindex) == 284, "get.ifindex");
TCPAO_UAPI_ASSERT(__builtin_offsetof(struct tcp_ao_getsockopt, pkt_good) == 288, "get.pkt_good");
#undef TCPAO_UAPI_ASSERT

#endif
