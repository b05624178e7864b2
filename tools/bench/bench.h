/* SPDX-License-Identifier: GPL-2.0-only */
/* Small shared pieces of the benchmarks: timing and medians. */
#ifndef CRUX_BENCH_H
#define CRUX_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "../../tests/lib/tracker.h"

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * CPU time of the calling thread, user + system (BPF programs run in the syscalls that
 * trigger them, iterators in the read() that drives them: both count). Unlike wall time it
 * does not grow while other work on a shared machine has the CPU.
 */
static inline double bench_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of v[0..n) (sorts v). */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * A tracker for a benchmark: /sys/fs/bpf/crux-bench-<name>-<pid>, outside the crux-test-*
 * dirs a concurrent `make check` removes at its start (tools/bench/run.sh removes stale ones).
 */
static inline int bench_tracker_start(struct tracker *t, const char *name)
{
	char dir[128];

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/crux-bench-%s-%d", name, getpid());
	return tracker_start_at(t, dir);
}

#endif /* CRUX_BENCH_H */
