// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracker overhead per operation: the same loops with and without a running `crux track`
 * (its own pin dir), in alternated rounds (off/on, then on/off, ...), reported as medians
 * and as ratios on/off. Loops: socketpair + 2x close; connect + accept + 2x close; close()
 * of a non-socket fd (only the closes are timed: the fds are dup'ed beforehand).
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include "util.h"
#include "bench.h"
#include "../../tests/lib/topo.h"
#include "../../tests/lib/tracker.h"

#define MAX_ROUNDS 31
#define CLOSE_BATCH 1000

struct opts {
	__u32 rounds;
	__u32 scale_pct; /* iterations in percent of the defaults */
};

typedef double (*loop_fn)(long iters);

static double loop_socketpair(long iters)
{
	double t0 = bench_cpu_ns();
	int sv[2];
	long i;

	for (i = 0; i < iters; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
			return -1;
		close(sv[0]);
		close(sv[1]);
	}
	return (bench_cpu_ns() - t0) / iters;
}

static double loop_connect(long iters)
{
	char name[64];
	int len = snprintf(name, sizeof(name), "%ccrux-bench-%d", 0, getpid());
	_cleanup_close_ int l = topo_bound(SOCK_STREAM | SOCK_CLOEXEC, name, len, 64);
	struct sockaddr_un sa;
	socklen_t alen = topo_addr(&sa, name, len);
	double t0;
	long i;

	if (l < 0)
		return -1;
	t0 = bench_cpu_ns();
	for (i = 0; i < iters; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), a;

		if (c < 0 || connect(c, (struct sockaddr *)&sa, alen))
			return -1;
		a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (a < 0)
			return -1;
		close(a);
		close(c);
	}
	return (bench_cpu_ns() - t0) / iters;
}

static double loop_close_file(long iters)
{
	_cleanup_close_ int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fds[CLOSE_BATCH], j;
	double total = 0, t0;
	long done = 0;

	if (null < 0)
		return -1;
	while (done < iters) {
		for (j = 0; j < CLOSE_BATCH; j++)
			if ((fds[j] = fcntl(null, F_DUPFD_CLOEXEC, 0)) < 0)
				return -1;
		t0 = bench_cpu_ns();
		for (j = 0; j < CLOSE_BATCH; j++)
			close(fds[j]);
		total += bench_cpu_ns() - t0;
		done += CLOSE_BATCH;
	}
	return total / done;
}

static const struct {
	const char *name;
	loop_fn fn;
	long iters;
} loops[] = {
	{ "socketpair + 2x close", loop_socketpair, 100000 },
	{ "connect + accept + 2x close", loop_connect, 20000 },
	{ "close() of a non-socket fd", loop_close_file, 200000 },
};

#define NLOOPS ARRAY_SIZE(loops)

static int run_loops(const struct opts *o, double res[][MAX_ROUNDS], int round)
{
	size_t l;

	for (l = 0; l < NLOOPS; l++) {
		long iters = loops[l].iters * o->scale_pct / 100;

		res[l][round] = loops[l].fn(iters > 0 ? iters : 1);
		if (res[l][round] < 0) {
			printf("bench_tracker: loop '%s' failed: %s\n", loops[l].name,
			       strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int run_on(const struct opts *o, double res[][MAX_ROUNDS], int round)
{
	struct tracker t;
	int err;

	if (bench_tracker_start(&t, "tracker")) {
		printf("bench_tracker: crux track did not start\n");
		tracker_stop(&t);
		return -1;
	}
	err = run_loops(o, res, round);
	tracker_stop(&t);
	return err;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case 'r':
		if (parse_u32(arg, 1, MAX_ROUNDS, &o->rounds))
			argp_error(state, "--rounds takes 1..%d, got '%s'", MAX_ROUNDS, arg);
		break;
	case 's':
		if (parse_u32(arg, 1, 1000, &o->scale_pct))
			argp_error(state, "--scale takes a percentage 1..1000, got '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp_option options[] = {
	{ "rounds", 'r', "N", 0, "Alternated off/on rounds (default 7)", 0 },
	{ "scale", 's', "PCT", 0, "Iterations in percent of the defaults (default 100)", 0 },
	{ 0 },
};

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.doc = "Tracker overhead per socket operation: loops with and without crux track.\v"
	       "EXAMPLES:\n"
	       "  bench_tracker              7 rounds, default iterations\n"
	       "  bench_tracker -r 3 -s 20   a quick look",
};

int main(int argc, char **argv)
{
	static double off[NLOOPS][MAX_ROUNDS], on[NLOOPS][MAX_ROUNDS];
	struct opts o = { .rounds = 7, .scale_pct = 100 };
	__u32 r;
	size_t l;

	argp_parse(&argp, argc, argv, 0, NULL, &o);
	if (geteuid() != 0) {
		printf("bench_tracker: needs root (BPF)\n");
		return 1;
	}
	printf("tracker overhead: ns of thread CPU time per iteration, median of %u alternated "
	       "off/on rounds\n",
	       o.rounds);
	for (r = 0; r < o.rounds; r++) {
		/* alternate the order so a drift of the machine hits both sides alike */
		if (r % 2 == 0 && (run_loops(&o, off, r) || run_on(&o, on, r)))
			return 1;
		if (r % 2 == 1 && (run_on(&o, on, r) || run_loops(&o, off, r)))
			return 1;
	}
	printf("%-28s %7s %9s %9s %8s %7s\n", "loop", "iters", "off", "on", "on-off", "on/off");
	for (l = 0; l < NLOOPS; l++) {
		double a = bench_median(off[l], o.rounds), b = bench_median(on[l], o.rounds);

		printf("%-28s %7ld %9.1f %9.1f %+8.1f %6.3fx\n", loops[l].name,
		       loops[l].iters * o.scale_pct / 100, a, b, b - a, b / a);
	}
	return 0;
}
