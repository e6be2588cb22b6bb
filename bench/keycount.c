// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * bench-keycount: what counting one received segment for a socket's key
 * costs (daemon/keycount.h, TCP_AO_GET_KEYS), three ways: a mutex around
 * the table (what keycount.c did before 2026-12-02), one shared counter
 * per key with a relaxed atomic add, and per-worker cells (keycount.c
 * now). With 1 thread, and with 2 threads counting the same socket's
 * keys at once (two workers, one socket: the worst case). Variants are
 * interleaved round by round; medians of CPU ns per count are printed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "keycount.h"

#define KEYS 4
#define ITERS 2000000
#define ROUNDS 15

enum way { MUTEX, SHARED, PER_WORKER, WAYS };
static const char *const names[WAYS] = { "mutex", "atomic add", "per-worker" };

/* The two alternatives: a key's counters found by a linear search, as
 * keycount.c does. */
struct alt {
	pthread_mutex_t lock;
	uint64_t serial[KEYS];
	_Atomic uint64_t good[KEYS];
};

static struct alt alt;
static struct keycount kc;
static pthread_barrier_t start;

static int slot(uint64_t serial)
{
	for (int i = 0; i < KEYS; i++)
		if (alt.serial[i] == serial)
			return i;
	return 0;
}

static void count(enum way way, unsigned int writer, uint64_t serial)
{
	int i;

	switch (way) {
	case MUTEX:
		pthread_mutex_lock(&alt.lock);
		i = slot(serial);
		atomic_store_explicit(&alt.good[i],
				      atomic_load_explicit(&alt.good[i], memory_order_relaxed) + 1,
				      memory_order_relaxed);
		pthread_mutex_unlock(&alt.lock);
		break;
	case SHARED:
		atomic_fetch_add_explicit(&alt.good[slot(serial)], 1,
					  memory_order_relaxed);
		break;
	default:
		keycount_inc(&kc, writer, serial, true);
	}
}

struct job {
	enum way way;
	unsigned int writer;
	double cpu_s;
};

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time, not wall time: on a shared machine the threads are often
 * descheduled; contention shows as more CPU per count. */
static void *run(void *arg)
{
	struct job *j = arg;
	double t0;

	pthread_barrier_wait(&start);
	t0 = thread_cpu_s();

	for (uint64_t n = 0; n < ITERS; n++)
		count(j->way, j->writer, 1 + n % KEYS);
	j->cpu_s = thread_cpu_s() - t0;
	return NULL;
}

/* CPU ns per count of one thread, with nthreads counting at once. */
static double measure(enum way way, unsigned int nthreads)
{
	pthread_t t[2];
	struct job j[2];
	double sum = 0;

	pthread_barrier_init(&start, NULL, nthreads);
	for (unsigned int i = 0; i < nthreads; i++) {
		j[i] = (struct job){ .way = way, .writer = i };
		pthread_create(&t[i], NULL, run, &j[i]);
	}
	for (unsigned int i = 0; i < nthreads; i++) {
		pthread_join(t[i], NULL);
		sum += j[i].cpu_s;
	}
	pthread_barrier_destroy(&start);
	return sum * 1e9 / ITERS / nthreads;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	double ns[2][WAYS][ROUNDS];
	uint64_t good, bad;

	pthread_mutex_init(&alt.lock, NULL);
	for (int i = 0; i < KEYS; i++)
		alt.serial[i] = (uint64_t)i + 1;
	keycount_init(&kc, false, 2);
	for (int r = 0; r < ROUNDS; r++)
		for (int t = 0; t < 2; t++)
			for (int k = 0; k < WAYS; k++) {
				int w = (k + r) % WAYS;

				ns[t][w][r] = measure((enum way)w, (unsigned int)t + 1);
			}
	keycount_get(&kc, 1, &good, &bad);
	/* 3 threads' worth of counts per round (1 + 2), a quarter per key. */
	if (good != (uint64_t)ROUNDS * 3 * ITERS / KEYS) {
		fprintf(stderr, "per-worker counts lost: %llu\n",
			(unsigned long long)good);
		return 1;
	}
	printf("CPU ns per counted segment, median of %d rounds (%d keys, %d counts per thread)\n",
	       ROUNDS, KEYS, ITERS);
	printf("%-12s %10s %22s\n", "way", "1 thread", "2 threads, one socket");
	for (int w = 0; w < WAYS; w++) {
		qsort(ns[0][w], ROUNDS, sizeof(double), cmp);
		qsort(ns[1][w], ROUNDS, sizeof(double), cmp);
		printf("%-12s %10.1f %22.1f\n", names[w], ns[0][w][ROUNDS / 2],
		       ns[1][w][ROUNDS / 2]);
	}
	keycount_free(&kc);
	return 0;
}
