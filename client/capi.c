// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The C API (tcpao/socket.h): each function is the socket option itself.
 * setsockopt/getsockopt resolve to this library's interposers
 * (preload.c), so a linked program gets exactly the preload's answers,
 * and the kernel's where it has TCP-AO.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "tcpao/socket.h"

static int set_opt(int fd, int opt, const void *val, size_t len)
{
	return setsockopt(fd, IPPROTO_TCP, opt, val, (socklen_t)len) ? -errno : 0;
}

static int get_opt(int fd, int opt, void *val, size_t len)
{
	socklen_t l = (socklen_t)len;

	return getsockopt(fd, IPPROTO_TCP, opt, val, &l) ? -errno : 0;
}

int tcpao_sock_add_key(int fd, const struct tcp_ao_add *key)
{
	return set_opt(fd, TCP_AO_ADD_KEY, key, sizeof(*key));
}

int tcpao_sock_del_key(int fd, const struct tcp_ao_del *del)
{
	return set_opt(fd, TCP_AO_DEL_KEY, del, sizeof(*del));
}

int tcpao_sock_set_info(int fd, const struct tcp_ao_info_opt *info)
{
	return set_opt(fd, TCP_AO_INFO, info, sizeof(*info));
}

int tcpao_sock_get_info(int fd, struct tcp_ao_info_opt *info)
{
	return get_opt(fd, TCP_AO_INFO, info, sizeof(*info));
}

int tcpao_sock_get_keys(int fd, struct tcp_ao_getsockopt *keys)
{
	/* optlen is one entry's size; Linux reads nkeys entries from there. */
	return get_opt(fd, TCP_AO_GET_KEYS, keys, sizeof(*keys));
}
