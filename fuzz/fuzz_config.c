// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpao.conf's parser (daemon/config.c) on any text: a policy or a clear
 * error, never a crash or a leak. Relative secret files are looked up in
 * a directory that does not exist, so the input decides nothing outside.
 */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy *policy = NULL;
	char err[512];

	if (size > 65536)
		return 0;
	if (config_parse((const char *)data, size, "fuzz", "/nonexistent/tcpao-fuzz",
			 &policy, err, sizeof(err)) == 0)
		policy_free(policy);
	return 0;
}
