/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Allocation failures on demand, for the tests of what changes state
 * (failalloc_dep in tests/meson.build: -Wl,--wrap= of malloc, calloc,
 * realloc, aligned_alloc and free). The n-th allocation from a point
 * fails, once (a passing shortage) or with every one after it (memory
 * gone: the way back fails too); blocks allocated and not freed are
 * counted, so that a test sees a leak.
 */
#ifndef TCPAO_TEST_FAILALLOC_H
#define TCPAO_TEST_FAILALLOC_H

#include <stdbool.h>

/* The n-th allocation from now fails (0: none), and every one after it
 * when and_after, until failalloc_fired(). */
void failalloc_arm(long n, bool and_after);
/* Disarms; true when the armed failure happened. */
bool failalloc_fired(void);
/* Blocks allocated and not freed, through the wrapped allocators. */
long failalloc_live(void);
/* Called with every block freed before it goes (NULL: none). */
extern void (*failalloc_on_free)(void *p);

#endif
