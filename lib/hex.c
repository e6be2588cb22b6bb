// SPDX-License-Identifier: GPL-2.0-or-later
/* Hexadecimal digits, for secrets written as hex:HEX and escaped text. */
#include <errno.h>

#include "tcpao.h"

int tcpao_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int tcpao_hex_decode(const char *hex, size_t digits, uint8_t *out, size_t max)
{
	if (digits % 2)
		return -EINVAL;
	if (digits / 2 > max)
		return -E2BIG;
	for (size_t i = 0; i < digits / 2; i++) {
		int hi = tcpao_hex_digit(hex[2 * i]);
		int lo = tcpao_hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(digits / 2);
}
