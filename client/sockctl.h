/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A socket's TCP-AO state handed to the namespace's tcpaod: the socket is
 * named by passing its descriptor (SCM_RIGHTS) with each request; holding
 * the socket is the permission to configure it. Requests: sock-* in
 * docs/control-protocol.md. Starts the daemon when none runs (autostart.c).
 */
#ifndef TCPAO_SOCKCTL_H
#define TCPAO_SOCKCTL_H

#include <stdint.h>

#include "aosock.h"

/* Hands the whole state of a listening (role "listen") or connecting
 * (role "connect", to dest:dport) socket to the daemon, which protects its
 * flows from now on. 0 or a negative errno. */
int sockctl_register(int fd, const struct aosock *s, const char *role,
		     const struct tcpao_addr *dest, uint16_t dport);
/* A listener without keys: the namespace's daemon (started if needed)
 * drops AO segments sent to it, as Linux does, and stays while it lives. */
int sockctl_watch(int fd);
/* Incremental changes on a registered socket. */
int sockctl_key_add(int fd, const struct aosock *s, const struct aosock_key *k);
int sockctl_key_del(int fd, const struct aosock *s, const struct tcpao_mkt *k);
int sockctl_set(int fd, const struct aosock *s);
/* An accepted socket: the daemon copies the listener's matching keys and
 * tells which keys the SYN asked for (-1: unknown). */
int sockctl_accept(int fd, int *syn_keyid, int *syn_rnext);
/* The socket's five counters (TCP_AO_INFO order) and its current keys as
 * the datapath uses them now (-1: none). */
int sockctl_info(int fd, uint64_t cnt[5], int *current_sndid, int *rnext_rcvid);
/* pkt_good and pkt_bad of these TCP_AO_GET_KEYS entries, the daemon's. */
int sockctl_key_counts(int fd, struct tcp_ao_getsockopt *e, size_t n);
/* Returns once the daemon has handled every segment queued so far: what
 * a closed socket sent, what arrived for an open one. Never starts one. */
int sockctl_sync(void);
/* The daemon's global counters (`tcpao stat`) named in names[], 0 for
 * those it does not report; all 0 when no daemon runs. */
int sockctl_stat(const char *const names[], uint64_t vals[], size_t n);
/* TCP_AO_REPAIR's ISNs and SNEs, with the sequence numbers the SNEs
 * belong to (snd_una and rcv_nxt, as Linux). */
struct sockctl_repair {
	uint32_t snt_isn, rcv_isn;
	uint32_t snd_seq, snd_sne;
	uint32_t rcv_seq, rcv_sne;
};
/* A registered socket restored with TCP_REPAIR carries on with r. */
int sockctl_repair(int fd, const struct sockctl_repair *r);
/* The values of the socket's live flow; -ENOENT when the daemon has no
 * flow with known ISNs for it (yet). */
int sockctl_repair_get(int fd, struct sockctl_repair *r);

#endif
