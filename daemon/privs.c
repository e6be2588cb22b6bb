// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Dropping capabilities after setup, without libcap: the bounding set
 * first (PR_CAPBSET_DROP needs CAP_SETPCAP, dropped last), then capset().
 * uid 0 stays: files in TCPAO_RUNDIR and the state directory are root's,
 * and the helpers (iptables, ipset) expect root; what root may do is
 * bounded by the capability sets alone.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

/* Each justified in docs/SECURITY.md ("Control channel and privilege").
 * The guard's BPF programs are loaded and attached before this; its maps
 * are updated through descriptors already held, which needs no capability. */
static const int kept[] = {
	CAP_NET_ADMIN, /* nfqueue verdicts, ipset, sock_diag destroy, rules, TCP_REPAIR, SO_MARK */
	CAP_NET_RAW,   /* raw IPPROTO_RAW sockets for the segments tcpaod sends */
};

static uint64_t kept_mask(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		m |= 1ull << kept[i];
	return m;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 63;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 63;
		fclose(f);
	}
	return last;
}

static int drop_bounding(uint64_t keep)
{
	for (int cap = 0; cap <= last_cap(); cap++) {
		if (keep >> cap & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) && errno != EINVAL)
			return -errno;
	}
	return 0;
}

static int set_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	for (int i = 0; i < 2; i++)
		d[i].effective = d[i].permitted = (uint32_t)(keep >> (32 * i));
	return syscall(SYS_capset, &h, d) ? -errno : 0;
}

int privs_drop(char *err, size_t errlen)
{
	uint64_t keep = kept_mask();
	int rc;

	if (geteuid() != 0)
		return 0;
	rc = drop_bounding(keep);
	if (!rc)
		rc = set_caps(keep);
	if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		rc = -errno;
	if (rc)
		snprintf(err, errlen, "dropping capabilities: %s", strerror(-rc));
	return rc;
}
