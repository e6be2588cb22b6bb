// SPDX-License-Identifier: GPL-2.0-or-later
/* Allocation failures on demand (failalloc.h). */
#include <stddef.h>

#include "failalloc.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *old, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *old, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
void __wrap_free(void *p);

static long fail_in;      /* the fail_in-th allocation from now fails (0: none) */
static bool sticky, down; /* and every one after it */
static long live;
void (*failalloc_on_free)(void *p);

void failalloc_arm(long n, bool and_after)
{
	fail_in = n;
	sticky = and_after;
	down = false;
}

bool failalloc_fired(void)
{
	bool fired = !fail_in;

	fail_in = 0;
	down = false;
	return fired;
}

long failalloc_live(void)
{
	return live;
}

static bool failing(void)
{
	if (down)
		return true;
	if (!fail_in || --fail_in)
		return false;
	down = sticky;
	return true;
}

static void *counted(void *p)
{
	live += p != NULL;
	return p;
}

void *__wrap_malloc(size_t n)
{
	return counted(failing() ? NULL : __real_malloc(n));
}

void *__wrap_calloc(size_t n, size_t size)
{
	return counted(failing() ? NULL : __real_calloc(n, size));
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	return counted(failing() ? NULL : __real_aligned_alloc(align, n));
}

void *__wrap_realloc(void *old, size_t n)
{
	void *p = failing() ? NULL : __real_realloc(old, n);

	live += p && !old;
	return p;
}

void __wrap_free(void *p)
{
	if (p && failalloc_on_free)
		failalloc_on_free(p);
	live -= p != NULL;
	__real_free(p);
}
