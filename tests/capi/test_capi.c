// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The C API (tcpao/socket.h) on closed sockets, no daemon, no network:
 * Linux's errno for bad calls, a key that goes in comes back out, and
 * the examples built and run. Linked with libtcpao-preload.so, as an
 * application would be; on a kernel with TCP-AO the kernel answers, with
 * the same errnos.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include <tcpao/socket.h>

static int tcp4(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	return fd;
}

/* A valid key for 198.18.0.2/32, SendID 1, RecvID 2. */
static struct tcp_ao_add good_key(void)
{
	struct tcp_ao_add k = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&k.addr;

	sin->sin_family = AF_INET;
	inet_pton(AF_INET, "198.18.0.2", &sin->sin_addr);
	strcpy(k.alg_name, "hmac(sha256)");
	k.prefix = 32;
	k.sndid = 1;
	k.rcvid = 2;
	k.maclen = 12;
	k.keylen = 6;
	memcpy(k.key, "secret", 6);
	return k;
}

static int add(struct tcp_ao_add k)
{
	int fd = tcp4(), rc = tcpao_sock_add_key(fd, &k);

	close(fd);
	return rc;
}

static void test_add_errnos(void **state)
{
	struct tcp_ao_add k;

	k = good_key();
	k.keylen = TCP_AO_MAXKEYLEN + 1;
	assert_int_equal(add(k), -EINVAL);

	k = good_key();
	k.maclen = 100;
	assert_int_equal(add(k), -EMSGSIZE);

	k = good_key();
	strcpy(k.alg_name, "hmac(nosuchhash)");
	assert_int_equal(add(k), -ENOENT);

	k = good_key();
	((struct sockaddr_in *)&k.addr)->sin_port = htons(179);
	assert_int_equal(add(k), -EINVAL);

	k = good_key();
	k.reserved2 = 1;
	assert_int_equal(add(k), -EINVAL);
}

/* Without ao_info every get and delete is ENOENT. */
static void test_no_keys(void **state)
{
	struct tcp_ao_getsockopt keys[1] = { { .get_all = 1, .nkeys = 1 } };
	struct tcp_ao_info_opt info = { 0 };
	struct tcp_ao_del del = { 0 };
	int fd = tcp4();

	del.addr.ss_family = AF_INET;
	assert_int_equal(tcpao_sock_get_keys(fd, keys), -ENOENT);
	assert_int_equal(tcpao_sock_get_info(fd, &info), -ENOENT);
	assert_int_equal(tcpao_sock_del_key(fd, &del), -ENOENT);
	close(fd);
}

static void test_round_trip(void **state)
{
	struct tcp_ao_getsockopt keys[2] = { { .get_all = 1, .nkeys = 2 } };
	struct tcp_ao_info_opt info = { 0 };
	struct tcp_ao_add k = good_key();
	struct tcp_ao_del del = { 0 };
	int fd = tcp4();

	k.set_current = 1;
	k.set_rnext = 1;
	assert_int_equal(tcpao_sock_add_key(fd, &k), 0);
	assert_int_equal(tcpao_sock_add_key(fd, &k), -EEXIST);

	assert_int_equal(tcpao_sock_get_keys(fd, keys), 0);
	assert_int_equal(keys[0].nkeys, 1);
	assert_int_equal(keys[0].sndid, 1);
	assert_int_equal(keys[0].rcvid, 2);
	assert_int_equal(keys[0].maclen, 12);
	assert_string_equal(keys[0].alg_name, "hmac(sha256)");

	assert_int_equal(tcpao_sock_get_info(fd, &info), 0);
	assert_int_equal(info.current_key, 1);
	assert_int_equal(info.rnext, 2);

	/* rnext to a key the socket does not have */
	memset(&info, 0, sizeof(info));
	info.set_rnext = 1;
	info.rnext = 9;
	assert_int_equal(tcpao_sock_set_info(fd, &info), -ENOENT);

	memcpy(&del.addr, &k.addr, sizeof(del.addr));
	del.prefix = 32;
	del.sndid = 1;
	del.rcvid = 2;
	/* Current and RNext: not without moving them (the rotation) */
	assert_int_equal(tcpao_sock_del_key(fd, &del), -EBUSY);
	k.sndid = 3;
	k.rcvid = 4;
	k.set_current = 0;
	k.set_rnext = 0;
	assert_int_equal(tcpao_sock_add_key(fd, &k), 0);
	del.set_current = 1;
	del.current_key = 3;
	del.set_rnext = 1;
	del.rnext = 4;
	assert_int_equal(tcpao_sock_del_key(fd, &del), 0);
	assert_int_equal(tcpao_sock_del_key(fd, &del), -ENOENT);
	close(fd);
}

/* Built, linked and runnable: without arguments each prints its usage. */
static void test_examples_run(void **state)
{
	const char *examples[] = { EXAMPLE_LISTENER, EXAMPLE_ROTATE_CLIENT };

	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (!pid) {
			execl(examples[i], examples[i], (char *)NULL);
			_exit(127);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_errnos),
		cmocka_unit_test(test_no_keys),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_examples_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
