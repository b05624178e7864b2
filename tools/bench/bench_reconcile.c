// SPDX-License-Identifier: GPL-2.0-only
/*
 * One strict reconcile pass of the live map at 2k / 20k / 200k host unix sockets (this
 * netns), against the baseline of one full sock_diag dump (UDIAG_SHOW_NAME|PEER|ICONS)
 * of the same host in the same run. The sockets are socketpairs spread over holder
 * processes (the open-file limit is 20000). Medians of alternated runs.
 */
#include <argp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sockdiag.h"
#include "sockmap.h"
#include "util.h"
#include "bench.h"
#include "../../tests/lib/topo.h"
#include "../../tests/lib/tracker.h"

static const unsigned sizes[] = { 2000, 20000, 200000 };

static int measure(struct tracker *trk, const struct bench_size_opts *o, unsigned size)
{
	double rec[BENCH_MAX_ROUNDS] = { 0 }, diag_ms[BENCH_MAX_ROUNDS] = { 0 },
	       wall[BENCH_MAX_ROUNDS] = { 0 }, t0, w0;
	struct sockdiag_table *t;
	__u64 swept, stats[CRUX_ST__MAX];
	__u32 r;

	for (r = 0; r < o->rounds; r++) {
		w0 = bench_now_ns();
		t0 = bench_cpu_ns();
		if (tracker_reconcile(trk, &swept))
			return -1;
		rec[r] = (bench_cpu_ns() - t0) / 1e6;
		wall[r] = (bench_now_ns() - w0) / 1e6;
		t0 = bench_cpu_ns();
		if (sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &t))
			return -1;
		diag_ms[r] = (bench_cpu_ns() - t0) / 1e6;
		sockdiag_table__free(t);
	}
	if (sockmap__stats(trk->map, stats))
		stats[CRUX_ST_UPSERT_FAIL] = 0;
	printf("%8u %10ld %12.2f %12.2f %12.2f %8.2fx %s\n", size, bench_host_sockets(),
	       bench_median(rec, o->rounds), bench_median(wall, o->rounds),
	       bench_median(diag_ms, o->rounds),
	       bench_median(rec, o->rounds) / bench_median(diag_ms, o->rounds),
	       stats[CRUX_ST_UPSERT_FAIL] ? "(map full: upserts failed)" : "");
	return 0;
}

static const struct argp_option options[] = {
	BENCH_SIZE_OPTIONS(5),
	{ 0 },
};

static const struct argp argp = {
	.options = options,
	.parser = bench_size_parse_opt,
	.doc = "One strict reconcile pass at 2k/20k/200k host unix sockets, vs a sock_diag dump.\v"
	       "EXAMPLES:\n"
	       "  bench_reconcile              2k, 20k, 200k sockets, 5 runs each\n"
	       "  bench_reconcile -m 20000     stop at 20k",
};

int main(int argc, char **argv)
{
	static struct topo_proc procs[BENCH_MAX_PROCS];
	struct bench_size_opts o = { .rounds = 5, .max_socks = 200000 };
	struct tracker trk;
	int nprocs = 0, rc = 0;
	long base;
	size_t i;

	argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (geteuid() != 0) {
		printf("bench_reconcile: needs root (BPF)\n");
		return 1;
	}
	if (bench_tracker_start(&trk, "reconcile")) {
		printf("bench_reconcile: crux track did not start\n");
		tracker_stop(&trk);
		return 1;
	}
	printf("reconcile: ms per strict pass vs one sock_diag dump (thread CPU time; wall time "
	       "of the pass too), median of %u runs\n",
	       o.rounds);
	printf("%8s %10s %12s %12s %12s %9s\n", "target", "sockets", "reconcile", "(wall)",
	       "sock_diag", "ratio");
	base = bench_host_sockets();
	printf("(%ld unix sockets in this netns before the benchmark; smaller sizes are skipped)\n",
	       base);
	for (i = 0; i < ARRAY_SIZE(sizes) && sizes[i] <= o.max_socks; i++) {
		if (base > (long)sizes[i] * 11 / 10)
			continue;
		if (bench_grow_host(procs, &nprocs, sizes[i]) || measure(&trk, &o, sizes[i])) {
			printf("bench_reconcile: failed at %u sockets\n", sizes[i]);
			rc = 1;
			break;
		}
	}
	topo_spread_stop(procs, nprocs);
	tracker_stop(&trk);
	return rc;
}
