// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux-map external PID` on a host with 2k / 20k / 200k unix sockets (socketpairs spread
 * over holder processes; the open-file limit is 20000), against `ss -xap`, which must walk
 * every socket and every process's fds to answer the same question (which sockets does
 * the tree hold, who holds their peers, who points into it). Both are timed as the user
 * runs them: the whole command, fork to exit, output discarded. Medians of alternated runs.
 * The tree: a logd-style datagram client of an outside server, an internal socketpair and
 * a listener.
 */
#include <argp.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sockdiag.h"
#include "util.h"
#include "bench.h"
#include "../../tests/lib/topo.h"
#include "../../tests/lib/tracker.h"

#define MAX_ROUNDS 31
#define PAIRS_PER_PROC 9000
#define MAX_PROCS 32

struct opts {
	__u32 rounds;
	__u32 max_socks;
};

static const unsigned sizes[] = { 2000, 20000, 200000 };

static long host_sockets(void)
{
	struct sockdiag_table *t;
	long n;

	if (sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &t))
		return -1;
	n = t->n;
	sockdiag_table__free(t);
	return n;
}

/* Run argv with stdout to out_fd (-1: /dev/null); returns the wall time in ms, < 0 on failure. */
static double run_timed(char *const argv[], int out_fd)
{
	double t0 = bench_now_ns();
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = out_fd >= 0 ? out_fd : open("/dev/null", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || dup2(fd, 1) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	return (bench_now_ns() - t0) / 1e6;
}

static const char *crux_map_path(void)
{
	const char *env = getenv("CRUX_MAP");

	return env && *env ? env : ".output/crux-map";
}

/* The dumped tree's sockets: a logd client, a socketpair, a listener. */
static int tree_body(struct topo_child *c, void *arg)
{
	const char *log_path = arg;
	int sv[2], lg, ls;
	__u64 v[1];

	lg = topo_connected(SOCK_DGRAM, log_path, strlen(log_path));
	ls = topo_bound(SOCK_STREAM, "\0crux-bench-map", 15, 8);
	if (lg < 0 || ls < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	v[0] = topo_ino(lg);
	topo_report(c, v, 1);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

static int logd_body(struct topo_child *c, void *arg)
{
	const char *log_path = arg;
	int d = topo_bound(SOCK_DGRAM, log_path, strlen(log_path), 0);
	__u64 v[1] = { d < 0 ? 0 : topo_ino(d) };

	topo_report(c, v, 1);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

/* Check once that crux-map answers about the tree (an external logd client). */
static int sanity(char *const argv[], __u64 log_ino)
{
	char path[] = "/tmp/crux-bench-map-XXXXXX", buf[65536], want[64];
	int fd = mkstemp(path);
	ssize_t n;

	if (fd < 0)
		return -1;
	unlink(path);
	if (run_timed(argv, fd) < 0) {
		close(fd);
		return -1;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\"ino\":%llu,", (unsigned long long)log_ino);
	return strstr(buf, want) && strstr(buf, "\"class\":\"external\"") ? 0 : -1;
}

static int measure(const struct opts *o, const char *pin_dir, pid_t tree, __u64 log_ino,
		   unsigned size)
{
	char pid_s[16];
	double cm[MAX_ROUNDS], ss[MAX_ROUNDS], cm_med, ss_med;
	char *cm_argv[] = {
		(char *)crux_map_path(), "--pin-dir", (char *)pin_dir, "-j", "external", pid_s, NULL
	};
	char *ss_argv[] = { "ss", "-xap", NULL };
	__u32 r;

	snprintf(pid_s, sizeof(pid_s), "%d", tree);
	if (sanity(cm_argv, log_ino)) {
		fprintf(stderr, "bench_crux_map: crux-map external %d gave no answer\n",
			tree); /* lint: allow */
		return -1;
	}
	for (r = 0; r < o->rounds; r++) {
		cm[r] = run_timed(cm_argv, -1);
		ss[r] = run_timed(ss_argv, -1);
		if (cm[r] < 0 || ss[r] < 0)
			return -1;
	}
	cm_med = bench_median(cm, (int)o->rounds);
	ss_med = bench_median(ss, (int)o->rounds);
	printf("%8u %10ld %14.2f %12.2f %8.1fx\n", size, host_sockets(), cm_med, ss_med,
	       ss_med / cm_med);
	fflush(stdout);
	return 0;
}

/* Top the host up to `size` sockets with holders of socketpairs. */
static int grow(struct topo_proc *procs, int *nprocs, unsigned size)
{
	long have = host_sockets();
	long pairs = have < 0 ? -1 : ((long)size - have) / 2;

	while (pairs > 0 && *nprocs < MAX_PROCS) {
		int n = pairs > PAIRS_PER_PROC ? PAIRS_PER_PROC : (int)pairs;

		if (topo_spread(&procs[*nprocs], 1, n))
			return -1;
		(*nprocs)++;
		pairs -= n;
	}
	return have < 0 ? -1 : 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case 'r':
		if (parse_u32(arg, 1, MAX_ROUNDS, &o->rounds))
			argp_error(state, "--rounds takes 1..%d, got '%s'", MAX_ROUNDS, arg);
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

static const struct argp_option options[] = {
	{ "rounds", 'r', "N", 0, "Runs per size (default 11)", 0 },
	{ "max", 'm', "SOCKETS", 0, "Stop after the size that reaches this (default 200000)", 0 },
	{ 0 },
};

static const struct argp argp = {
	.options = options,
	.parser = parse_opt,
	.doc = "crux-map external PID vs ss -xap at 2k/20k/200k host unix sockets.\v"
	       "EXAMPLES:\n"
	       "  bench_crux_map              2k, 20k, 200k sockets, 11 runs each\n"
	       "  bench_crux_map -m 20000 -r 5",
};

int main(int argc, char **argv)
{
	struct opts o = { .rounds = 11, .max_socks = 200000 };
	struct topo_proc procs[MAX_PROCS] = { 0 }, logd = { 0 }, tree = { 0 };
	char log_path[256];
	struct tracker trk;
	int nprocs = 0, rc = 1;
	__u64 v[1];
	size_t i;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 64;
	if (geteuid() != 0) {
		printf("bench_crux_map: needs root (bpf), skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (tracker_start(&trk, "bench-map")) {
		fprintf(stderr, "bench_crux_map: crux track did not start\n"); /* lint: allow */
		return 1;
	}
	topo_path(log_path, sizeof(log_path), "log");
	if (topo_proc_start(&logd, logd_body, log_path, false) || topo_recv(&logd, v, 1) != 1 ||
	    topo_proc_start(&tree, tree_body, log_path, false) || topo_recv(&tree, v, 1) != 1)
		goto out;
	printf("crux-map external PID (the tree: 3 sockets, one outside peer) vs ss -xap;"
	       " medians of %u runs, ms, whole command\n",
	       o.rounds);
	printf("%8s %10s %14s %12s %9s\n", "target", "sockets", "crux-map ms", "ss -xap ms",
	       "ss/crux");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (grow(procs, &nprocs, sizes[i]) ||
		    measure(&o, trk.pin_dir, tree.pid, v[0], sizes[i]))
			goto out;
		if (sizes[i] >= o.max_socks)
			break;
	}
	rc = 0;
out:
	topo_spread_stop(procs, nprocs);
	topo_proc_kill(&tree);
	topo_proc_kill(&logd);
	tracker_stop(&trk);
	topo_path_cleanup();
	return rc;
}
