/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A ring's index of its host keys (a /32 or a /128) by peer address, for
 * lookups (keyring.c's own; not part of the engine's API). A listener
 * with one key per peer finds a SYN's keys without walking them all.
 *
 * It is kept up to date by every add and del of the ring, and shared with
 * its copies (a change copies the page it writes), so a ring that is only read (a published policy's) has a complete
 * index that nothing changes: workers read it without a lock. It holds
 * addresses and seqs, no secret.
 */
#ifndef TCPAO_KEYPEERS_H
#define TCPAO_KEYPEERS_H

#include "tcpao.h"

/* keyring.c's chunks of keys, oldest first, up to 128, listed by spans
 * in groups of 32 (tcpao.h): here for keyring_key_at(). */
#define KEYRING_CHUNK_SHIFT 7
#define KEYRING_GROUP_SHIFT (KEYRING_CHUNK_SHIFT + 5)
struct tcpao_keychunk {
	uint32_t n, cap;
	struct tcpao_ringkey k[];
};

/* Where key i sits (keyring.c): its group, span and offset, packed, for
 * the index to keep beside its seq. Moves and deletes make it stale. */
#define KEY_NOWHERE UINT32_MAX
uint32_t keyring_where(const struct tcpao_keyring *ring, size_t i);

/* The key at where if its seq is seq, and its index; NULL if it moved.
 * Three loads instead of keyring_seq_key()'s searches, inline in every
 * lookup by the index; the bounds keep a stale place inside this
 * version's own arrays. */
static inline const struct tcpao_ringkey *
keyring_key_at(const struct tcpao_keyring *ring, uint32_t where, uint64_t seq, size_t *index)
{
	size_t g = where >> KEYRING_GROUP_SHIFT,
	       j = where >> KEYRING_CHUNK_SHIFT & (TCPAO_KEYGROUP - 1),
	       o = where & ((1u << KEYRING_CHUNK_SHIFT) - 1);
	const struct tcpao_keygroup *gr;
	const struct tcpao_keyspan *s;

	if (g >= ring->ngroups || j >= (gr = ring->groups[g].group)->n)
		return NULL;
	s = &gr->s[j];
	if (o >= s->chunk->n || s->chunk->k[o].seq != seq)
		return NULL;
	*index = ring->n - 1 - (ring->groups[g].at.first[TCPAO_BY_RANK] +
				s->at.first[TCPAO_BY_RANK] + o);
	return &s->chunk->k[o];
}

/* The key whose seq is seq and its index, by searches (keyring.c); NULL
 * if none. */
const struct tcpao_ringkey *keyring_seq_key(const struct tcpao_keyring *ring,
					    uint64_t seq, size_t *index);

/* After key 0 was added (ring->n counts it); -ENOMEM drops the index. */
int keypeers_added(struct tcpao_keyring *ring);
/* Before key i is deleted. */
void keypeers_deleting(struct tcpao_keyring *ring, size_t i);
int keypeers_copy(struct tcpao_keyring *dst, const struct tcpao_keyring *src);
void keypeers_free(struct tcpao_keyring *ring);
/* The first key (lowest index) matching peer, ifindex and the ids (-1:
 * any), and in *key the key itself; -1 when none, -2 when the index
 * cannot tell (walk instead). */
int keypeers_find(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, int sndid, int rcvid, const struct tcpao_ringkey **key);
/* The key with exactly this peer, prefix length and ids (as
 * tcpao_keyring_del() wants it), -1 when none, -2 when the index cannot
 * tell (it holds no such key: walk). */
int keypeers_exact(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		   uint8_t prefixlen, uint8_t sndid, uint8_t rcvid);
/* 1 when a key's peer is remote (ids and ifindex aside), 0 when none,
 * -1 when the index cannot tell. */
int keypeers_holds(const struct tcpao_keyring *ring, const struct tcpao_addr *remote);
/* The indexes of the keys matching peer and ifindex, oldest first (the
 * order to add them to another ring), into out; SIZE_MAX when the index
 * cannot tell or there are more than cap. */
size_t keypeers_matching(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
			 int ifindex, int *out, size_t cap);
/* tcpao_keyring_syn(): by the index, or a walk when it cannot tell. */
void keypeers_syn(const struct tcpao_keyring *ring, const struct tcpao_addr *peer,
		  int ifindex, uint8_t keyid, uint8_t rnext, struct tcpao_synkeys *out);

#endif
