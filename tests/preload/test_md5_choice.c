// SPDX-License-Identifier: GPL-2.0-or-later
/* The MD5/AO rules of a socket: which MD5 keys an AO socket refuses
 * (tcp_ao_required()), and what connect() makes of a socket with both
 * (tcp_connect(): per-peer lookups in the socket's VRF). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/tcp.h>

#include "aosock.h"

#define MD5SIG_FLAG_IFINDEX 0x2

static void set_sin(void *ss, const char *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(struct sockaddr_storage));
	sin->sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
}

static void add_ao(struct aosock *s, const char *ip, int prefix)
{
	struct aosock_env env = { .state = AOSOCK_CLOSE };
	struct tcp_ao_add a = { 0 };

	set_sin(&a.addr, ip);
	strcpy(a.alg_name, "hmac(sha1)");
	a.prefix = (uint8_t)prefix;
	a.sndid = a.rcvid = 100;
	a.keylen = 8;
	memcpy(a.key, "password", 8);
	assert_int_equal(aosock_add(s, &env, &a, sizeof(a), NULL), 0);
}

static void md5sig(struct tcp_md5sig *m, const char *ip, int l3index,
		   int keylen)
{
	memset(m, 0, sizeof(*m));
	set_sin(&m->tcpm_addr, ip);
	if (l3index) {
		m->tcpm_flags = MD5SIG_FLAG_IFINDEX;
		m->tcpm_ifindex = l3index;
	}
	m->tcpm_keylen = (uint16_t)keylen;
	memset(m->tcpm_key, 'k', (size_t)keylen);
}

static void add_md5(struct aosock *s, const char *ip, int l3index)
{
	struct tcp_md5sig m;

	md5sig(&m, ip, l3index, 8);
	assert_int_equal(aosock_md5_check(s, &m, sizeof(m)), 0);
	aosock_md5_track(s, &m, sizeof(m));
}

static struct tcpao_addr peer(const char *ip)
{
	struct tcpao_addr a = { .family = AF_INET };

	assert_int_equal(inet_pton(AF_INET, ip, &a.v4), 1);
	return a;
}

static void md5_key_for_an_ao_peer_is_refused(void **state)
{
	struct aosock s;
	struct tcp_md5sig m;

	(void)state;
	aosock_init(&s, AF_INET);
	add_ao(&s, "198.18.0.2", 32);
	md5sig(&m, "198.18.0.2", 0, 8);
	assert_int_equal(aosock_md5_check(&s, &m, sizeof(m)), -EKEYREJECTED);
	md5sig(&m, "198.18.0.3", 0, 8);
	assert_int_equal(aosock_md5_check(&s, &m, sizeof(m)), 0);
	md5sig(&m, "198.18.0.2", 0, 0); /* a delete is never refused */
	assert_int_equal(aosock_md5_check(&s, &m, sizeof(m)), 0);
	s.ao_required = true;
	md5sig(&m, "198.18.0.3", 0, 8);
	assert_int_equal(aosock_md5_check(&s, &m, sizeof(m)), -EKEYREJECTED);
	aosock_free(&s);
}

static void connect_to_the_ao_peer_uses_ao(void **state)
{
	struct aosock s;
	struct tcpao_addr p = peer("198.18.0.2");

	(void)state;
	aosock_init(&s, AF_INET);
	add_ao(&s, "198.18.0.2", 32);
	add_md5(&s, "198.18.0.3", 0);
	assert_int_equal(aosock_connect(&s, &p, 0), 0);
	assert_true(s.has_info);
	assert_int_equal(s.n, 1);
	aosock_free(&s);
}

static void connect_to_the_md5_peer_drops_ao(void **state)
{
	struct aosock s;
	struct tcpao_addr p = peer("198.18.0.3");

	(void)state;
	aosock_init(&s, AF_INET);
	add_ao(&s, "198.18.0.2", 32);
	add_md5(&s, "198.18.0.3", 0);
	assert_int_equal(aosock_connect(&s, &p, 0), 0);
	assert_false(s.has_info);
	assert_int_equal(s.n, 0);
	aosock_free(&s);
}

static void both_keys_match_refused(void **state)
{
	struct aosock s;
	struct tcpao_addr p = peer("198.18.0.3");

	(void)state;
	aosock_init(&s, AF_INET);
	add_md5(&s, "198.18.0.3", 0);
	add_ao(&s, "198.18.0.2", 32);
	s.ao_required = true; /* AO wanted for every peer: ambiguous */
	assert_int_equal(aosock_connect(&s, &p, 0), -EKEYREJECTED);
	aosock_free(&s);
}

/* An MD5 key of another VRF does not count for this connection. */
static void md5_key_of_another_vrf(void **state)
{
	struct aosock s;
	struct tcpao_addr p = peer("198.18.0.3");

	(void)state;
	aosock_init(&s, AF_INET);
	add_ao(&s, "198.18.0.2", 32);
	add_md5(&s, "198.18.0.3", 5);
	assert_int_equal(aosock_connect(&s, &p, 0), -EKEYREJECTED);
	assert_true(s.has_info);
	assert_int_equal(aosock_connect(&s, &p, 5), 0);
	assert_false(s.has_info);
	aosock_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(md5_key_for_an_ao_peer_is_refused),
		cmocka_unit_test(connect_to_the_ao_peer_uses_ao),
		cmocka_unit_test(connect_to_the_md5_peer_drops_ao),
		cmocka_unit_test(both_keys_match_refused),
		cmocka_unit_test(md5_key_of_another_vrf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
