// SPDX-License-Identifier: GPL-2.0-or-later
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>

#include "pmtu.h"

#define PMTU_SLOTS 256
#define PMTU_TTL_MS (10 * 60 * 1000) /* Linux's ip_rt_mtu_expires */

struct pmtu_entry {
	struct tcpao_addr remote;
	uint32_t kernel_mtu;
	uint64_t noted_ms;
};

static struct {
	pthread_mutex_t lock;
	struct pmtu_entry slots[PMTU_SLOTS];
	size_t n;
} table = { .lock = PTHREAD_MUTEX_INITIALIZER };

static _Atomic uint32_t generation;

uint32_t pmtu_generation(void)
{
	return atomic_load_explicit(&generation, memory_order_acquire);
}

static struct pmtu_entry *find(const struct tcpao_addr *remote)
{
	for (size_t i = 0; i < table.n; i++)
		if (tcpao_addr_equal(&table.slots[i].remote, remote))
			return &table.slots[i];
	return NULL;
}

void pmtu_note(const struct tcpao_addr *remote, uint32_t kernel_mtu,
	       uint64_t now_ms)
{
	struct pmtu_entry *e;

	pthread_mutex_lock(&table.lock);
	e = find(remote);
	if (!e) {
		/* Full: the oldest entry goes. */
		size_t victim = 0;

		if (table.n < PMTU_SLOTS) {
			victim = table.n++;
		} else {
			for (size_t i = 1; i < table.n; i++)
				if (table.slots[i].noted_ms <
				    table.slots[victim].noted_ms)
					victim = i;
		}
		e = &table.slots[victim];
		e->remote = *remote;
	}
	e->kernel_mtu = kernel_mtu;
	e->noted_ms = now_ms;
	atomic_fetch_add_explicit(&generation, 1, memory_order_release);
	pthread_mutex_unlock(&table.lock);
}

uint32_t pmtu_kernel_mtu(const struct tcpao_addr *remote, uint64_t now_ms)
{
	struct pmtu_entry *e;
	uint32_t mtu = 0;

	pthread_mutex_lock(&table.lock);
	e = find(remote);
	if (e && now_ms - e->noted_ms < PMTU_TTL_MS)
		mtu = e->kernel_mtu;
	pthread_mutex_unlock(&table.lock);
	return mtu;
}

void pmtu_expire(uint64_t now_ms)
{
	bool changed = false;

	pthread_mutex_lock(&table.lock);
	for (size_t i = 0; i < table.n; i++) {
		if (now_ms - table.slots[i].noted_ms < PMTU_TTL_MS)
			continue;
		table.slots[i--] = table.slots[--table.n];
		changed = true;
	}
	if (changed)
		atomic_fetch_add_explicit(&generation, 1, memory_order_release);
	pthread_mutex_unlock(&table.lock);
}
