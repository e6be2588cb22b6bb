/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Key ages across restarts: since when each host entry's current key has
 * been its current key (policy_peer.current_since, the key-age metric),
 * kept in state-dir/key-ages so that a restarted tcpaod does not report a
 * key rotated months ago as new. Only scopes, key ids and times: no
 * secret. The times are CLOCK_BOOTTIME seconds, like the state directory
 * (/run) they live in: both end with the boot.
 */
#ifndef TCPAOD_KEYAGE_H
#define TCPAOD_KEYAGE_H

#include "policy.h"

/* Gives each host entry whose current key is the one the file names for
 * its scope that key's age from the file. Call before
 * policy_stamp_current(). A missing or foreign file changes nothing. */
void keyage_restore(const char *dir, struct policy *policy);

/* Writes the current keys' ages (atomically: a new file renamed over the
 * old), unless they are what was written last. 0 or a negative errno. */
int keyage_save(const char *dir, const struct policy *policy);

/* Forgets what was written last (tests). */
void keyage_reset(void);

#endif
