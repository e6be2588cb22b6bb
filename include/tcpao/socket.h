/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcpao/socket.h: Linux's TCP-AO socket options as functions, for programs
 * that link libtcpao-preload.so directly instead of preloading it
 * (docs/socket-api.md, "C API").
 *
 * Each call is the setsockopt/getsockopt the kernel's API defines, with
 * Linux's structs (struct tcp_ao_add, ...), and returns 0 or a negative
 * errno: the errno Linux returns on that path. Linking the library
 * interposes setsockopt, connect, listen, accept and close as LD_PRELOAD
 * would, so the same code answers (client/preload.c over client/aosock.c)
 * and the daemon gets the socket's keys on connect() and listen(). Where
 * the kernel has TCP-AO itself, the calls go to the kernel untouched.
 *
 * Include this instead of <netinet/tcp.h>: it brings <linux/tcp.h>.
 */
#ifndef TCPAO_SOCKET_H
#define TCPAO_SOCKET_H

#include <stddef.h>
#include <linux/tcp.h>
#include <tcpao/uapi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* setsockopt(TCP_AO_ADD_KEY): adds one MKT. */
int tcpao_sock_add_key(int fd, const struct tcp_ao_add *key);
/* setsockopt(TCP_AO_DEL_KEY): deletes one MKT; -EBUSY for the key in use
 * as Current or RNext unless del also moves them. */
int tcpao_sock_del_key(int fd, const struct tcp_ao_del *del);
/* setsockopt(TCP_AO_INFO): set_current / set_rnext, ao_required,
 * accept_icmps, counters. */
int tcpao_sock_set_info(int fd, const struct tcp_ao_info_opt *info);
/* getsockopt(TCP_AO_INFO): current_key, rnext, flags and counters. */
int tcpao_sock_get_info(int fd, struct tcp_ao_info_opt *info);
/* getsockopt(TCP_AO_GET_KEYS): keys[0] holds the filter (get_all, or
 * is_current / is_rnext, or addr/prefix/sndid/rcvid) and keys[0].nkeys the
 * number of entries keys holds. On return the first min(capacity, matches)
 * entries are filled and keys[0].nkeys is the number of matches. */
int tcpao_sock_get_keys(int fd, struct tcp_ao_getsockopt *keys);

#ifdef __cplusplus
}
#endif

#endif
