/* SPDX-License-Identifier: GPL-2.0-only */
/* Small shared pieces of the benchmarks: timing and medians. */
#ifndef CRUX_BENCH_H
#define CRUX_BENCH_H

#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "sockdiag.h"
#include "util.h"
#include "../../tests/lib/topo.h"
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

/* The open-file limit is 20000 per process: host sockets come from many holders. */
#define BENCH_PAIRS_PER_PROC 9000
#define BENCH_MAX_PROCS 32

/* Unix sockets in this netns (sock_diag), or -1. */
static inline long bench_host_sockets(void)
{
	struct sockdiag_table *t;
	long n;

	if (sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &t))
		return -1;
	n = (long)t->n;
	sockdiag_table__free(t);
	return n;
}

/* Top the host up to `size` sockets with holders of socketpairs (procs[BENCH_MAX_PROCS]). */
static inline int bench_grow_host(struct topo_proc *procs, int *nprocs, unsigned size)
{
	long have = bench_host_sockets();
	long pairs = have < 0 ? -1 : ((long)size - have) / 2;

	while (pairs > 0 && *nprocs < BENCH_MAX_PROCS) {
		int n = pairs > BENCH_PAIRS_PER_PROC ? BENCH_PAIRS_PER_PROC : (int)pairs;

		if (topo_spread(&procs[*nprocs], 1, n))
			return -1;
		(*nprocs)++;
		pairs -= n;
	}
	return have < 0 ? -1 : 0;
}

/*
 * The options of the benchmarks that grow the host to 2k/20k/200k sockets:
 * -r/--rounds (runs per size) and -m/--max (stop after the size that reaches it).
 */
#define BENCH_MAX_ROUNDS 31

struct bench_size_opts {
	__u32 rounds;
	__u32 max_socks;
};

#define BENCH_SIZE_OPTIONS(default_rounds)                                           \
	{ "rounds", 'r', "N", 0, "Runs per size (default " #default_rounds ")", 0 }, \
	{                                                                            \
		"max", 'm', "SOCKETS", 0,                                            \
			"Stop after the size that reaches this (default 200000)", 0  \
	}

static inline error_t bench_size_parse_opt(int key, char *arg, struct argp_state *state)
{
	struct bench_size_opts *o = state->input;

	switch (key) {
	case 'r':
		if (parse_u32(arg, 1, BENCH_MAX_ROUNDS, &o->rounds))
			argp_error(state, "--rounds takes 1..%d, got '%s'", BENCH_MAX_ROUNDS, arg);
		break;
	case 'm':
		if (parse_u32(arg, 1000, 280000, &o->max_socks))
			argp_error(state, "--max takes 1000..280000 sockets, got '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

#endif /* CRUX_BENCH_H */
