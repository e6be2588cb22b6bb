// SPDX-License-Identifier: GPL-2.0-or-later
/* A socket's keys found by peer (client/hostidx.c) give what walking every
 * key gives: two sockets take the same random TCP_AO_ADD_KEY, DEL_KEY
 * (with EBUSY re-links), GET_KEYS and accept(), one with its index, one
 * made to walk (idx_lost); every answer and the keys themselves must be
 * the same. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aosock.h"

static unsigned seed = 7;

static unsigned rnd(unsigned n)
{
	seed = seed * 1103515245u + 12345u;
	return (seed >> 8) % n;
}

/* A small pool, so that adds clash, deletes find keys and peers share. */
static void pick_addr(void *ss, uint8_t *prefix)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	static const uint8_t lens[] = { 32, 32, 32, 32, 32, 32, 24, 16, 0 };

	memset(ss, 0, sizeof(struct sockaddr_storage));
	sin->sin_family = AF_INET;
	*prefix = lens[rnd(sizeof(lens))];
	if (*prefix == 0)
		return; /* 0.0.0.0/0 */
	sin->sin_addr.s_addr = htonl(0xc6120000u | (rnd(3) << 8) | (1 + rnd(12)));
	if (*prefix < 32)
		sin->sin_addr.s_addr &= htonl(~0u << (32 - *prefix));
}

static void random_add(struct tcp_ao_add *a)
{
	memset(a, 0, sizeof(*a));
	pick_addr(&a->addr, &a->prefix);
	strcpy(a->alg_name, "hmac(sha1)");
	a->sndid = (uint8_t)rnd(6);
	a->rcvid = (uint8_t)rnd(6);
	a->set_current = rnd(8) == 0;
	a->set_rnext = rnd(8) == 0;
	a->keylen = 8;
	memcpy(a->key, "password", 8);
}

static void random_del(struct tcp_ao_del *d)
{
	memset(d, 0, sizeof(*d));
	pick_addr(&d->addr, &d->prefix);
	d->sndid = (uint8_t)rnd(6);
	d->rcvid = (uint8_t)rnd(6);
	d->del_async = rnd(4) == 0;
}

/* A delete of a key the socket holds: often its current or rnext key. */
static void del_held(struct tcp_ao_del *d, const struct aosock *s)
{
	const struct aosock_key *k = &s->keys[rnd((unsigned)s->n)];
	const struct aosock_key *cur = aosock_find_uid(s, rnd(2) ? s->current : s->rnext);
	struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;

	if (cur && rnd(2))
		k = cur;
	memset(d, 0, sizeof(*d));
	sin->sin_family = AF_INET;
	if (k->mkt.peer.family == AF_INET)
		sin->sin_addr = k->mkt.peer.v4;
	d->prefix = k->mkt.prefixlen;
	d->sndid = k->mkt.sndid;
	d->rcvid = k->mkt.rcvid;
	d->del_async = rnd(4) == 0;
}

static void random_get(struct tcp_ao_getsockopt *g)
{
	memset(g, 0, sizeof(*g));
	pick_addr(&g->addr, &g->prefix);
	g->nkeys = 1 + rnd(4);
	g->sndid = (uint8_t)rnd(6);
	g->rcvid = (uint8_t)rnd(6);
}

static void same_keys(const struct aosock *x, const struct aosock *y)
{
	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		assert_memory_equal(&x->keys[i].mkt, &y->keys[i].mkt, sizeof(x->keys[i].mkt));
		assert_int_equal(x->keys[i].uid, y->keys[i].uid);
		assert_ptr_equal(aosock_find_uid(x, x->keys[i].uid), &x->keys[i]);
	}
	assert_int_equal(x->current, y->current);
	assert_int_equal(x->rnext, y->rnext);
}

static void same_get_keys(const struct aosock *x, const struct aosock *y)
{
	struct tcp_ao_getsockopt g, *ex, *ey;
	size_t wx, wy;
	int rx, ry;

	random_get(&g);
	rx = aosock_get_keys(x, &g, sizeof(g), &ex, &wx);
	ry = aosock_get_keys(y, &g, sizeof(g), &ey, &wy);
	assert_int_equal(rx, ry);
	assert_int_equal(wx, wy);
	if (wx)
		assert_memory_equal(ex, ey, wx * sizeof(*ex));
	free(ex);
	free(ey);
}

static void same_accept(const struct aosock *x, const struct aosock *y)
{
	struct tcpao_addr peer = { .family = AF_INET };
	int keyid = (int)rnd(7) - 1, rnext = (int)rnd(7) - 1, rx, ry;
	struct aosock cx, cy;

	peer.v4.s_addr = htonl(0xc6120000u | (rnd(3) << 8) | (1 + rnd(12)));
	rx = aosock_accept(&cx, x, &peer, 0, keyid, rnext);
	ry = aosock_accept(&cy, y, &peer, 0, keyid, rnext);
	assert_int_equal(rx, ry);
	if (!rx) {
		assert_int_equal(cx.n, cy.n);
		for (size_t i = 0; i < cx.n; i++)
			assert_memory_equal(&cx.keys[i].mkt, &cy.keys[i].mkt,
					    sizeof(cx.keys[i].mkt));
		assert_int_equal(cx.current, cy.current);
		assert_int_equal(cx.rnext, cy.rnext);
	}
	aosock_free(&cx);
	aosock_free(&cy);
}

static void index_answers_as_the_walk(void **state)
{
	struct aosock_env env = { .state = AOSOCK_CLOSE };
	struct aosock x, y;
	size_t most = 0, busy = 0, found = 0;

	(void)state;
	aosock_init(&x, AF_INET);
	aosock_init(&y, AF_INET);
	y.idx_lost = true; /* walks every key, as before the index */
	for (int step = 0; step < 30000; step++) {
		struct tcpao_mkt gx, gy;
		int rx, ry;

		if (rnd(3) != 0 || x.n < 20) {
			struct tcp_ao_add a;

			random_add(&a);
			rx = aosock_add(&x, &env, &a, sizeof(a), NULL);
			ry = aosock_add(&y, &env, &a, sizeof(a), NULL);
		} else {
			struct tcp_ao_del d;

			if (rnd(2))
				random_del(&d);
			else
				del_held(&d, &x);
			rx = aosock_del(&x, &env, &d, sizeof(d), &gx);
			ry = aosock_del(&y, &env, &d, sizeof(d), &gy);
			if (!rx && !ry)
				assert_memory_equal(&gx, &gy, sizeof(gx));
			busy += rx == -EBUSY;
			found += rx == 0;
		}
		assert_int_equal(rx, ry);
		same_keys(&x, &y);
		same_get_keys(&x, &y);
		if (step % 5 == 0)
			same_accept(&x, &y);
		most = x.n > most ? x.n : most;
	}
	assert_false(x.idx_lost);
	assert_true(most >= 40);  /* enough keys for the index to matter */
	assert_true(busy > 10);   /* EBUSY re-links happened */
	assert_true(found > 100); /* and deletes that found their key */
	aosock_free(&x);
	aosock_free(&y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(index_answers_as_the_walk),
	};

	return cmocka_run_group_tests_name("keys-by-peer", tests, NULL, NULL);
}
