/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Records by a 64-bit key (a socket's SO_COOKIE): open addressing, at most
 * half full, keyed by a random seed so that no local user can choose
 * cookies that pile onto one chain. The map holds pointers, not records;
 * a record names its own key (the `key` callback).
 */
#ifndef TCPAOD_COOKIEMAP_H
#define TCPAOD_COOKIEMAP_H

#include <stddef.h>
#include <stdint.h>

struct cookiemap {
	void **slots;
	size_t cap;   /* power of two, or 0 */
	size_t count;
	uint64_t seed;
	uint64_t (*key)(const void *rec);
};

void cookiemap_init(struct cookiemap *m, uint64_t (*key)(const void *rec));
void cookiemap_free(struct cookiemap *m);
/* The record with this key, or NULL. */
void *cookiemap_find(const struct cookiemap *m, uint64_t key);
/* Adds rec (its key not present); 0 or -ENOMEM (the map unchanged). */
int cookiemap_add(struct cookiemap *m, void *rec);
/* Removes rec, which must be present. */
void cookiemap_del(struct cookiemap *m, const void *rec);

#endif
