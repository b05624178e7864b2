// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux-map external PID` on a host with 2k / 20k / 200k unix sockets (socketpairs spread
 * over holder processes; the open-file limit is 20000), against `ss -xap`, which must walk
 * every socket and every process's fds to answer the same question (which sockets does
 * the tree hold, who holds their peers, who points into it). Both are timed as the user
 * runs them: the whole command, fork to exit, output discarded. Medians of alternated runs.
 * Three trees, see tree_body().
 */
#include <argp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "bench_crux_map: "
#include "log.h"
#include "sockdiag.h"
#include "util.h"
#include "bench.h"
#include "../../tests/lib/topo.h"
#include "../../tests/lib/tracker.h"

static const unsigned sizes[] = { 2000, 20000, 200000 };

/*
 * Run argv with stdout to out_fd (-1: /dev/null). Returns the wall time in ms (< 0 on
 * failure); *cpu_ms gets the child's user + system time, which a loaded host inflates less.
 */
static double run_timed(char *const argv[], int out_fd, double *cpu_ms)
{
	double t0 = bench_now_ns();
	struct rusage ru;
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
	if (wait4(pid, &status, 0, &ru) < 0) {
		kill(pid, SIGKILL); /* interrupted: the bench is stopping */
		waitpid(pid, &status, 0);
		return -1;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return -1;
	*cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
		  (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	return (bench_now_ns() - t0) / 1e6;
}

static const char *crux_map_path(void)
{
	const char *env = getenv("CRUX_MAP");

	return env && *env ? env : ".output/crux-map";
}

/*
 * The dumped trees. clients: a logd client, a stream client of an outside listener, a
 * socketpair (no socket an outside client could point at: no full map pass). listener:
 * the same plus a listener (its queue comes from sock_diag). dgram-server: the same plus
 * a bound datagram socket (its clients can only be found by a pass over the whole map).
 */
enum tree_kind { TREE_CLIENTS, TREE_LISTENER, TREE_DGRAM_SERVER, TREE__MAX };

static const char *const tree_names[TREE__MAX] = { "clients", "listener", "dgram-server" };

struct tree_arg {
	const char *log_path;
	enum tree_kind kind;
};

static int tree_body(struct topo_child *c, void *arg)
{
	const struct tree_arg *a = arg;
	char path[256], name[64];
	int sv[2], lg, st, extra = 0;
	__u64 v[1];

	lg = topo_connected(SOCK_DGRAM, a->log_path, strlen(a->log_path));
	st = topo_connected(SOCK_STREAM, "\0crux-bench-map-l", 17);
	snprintf(name, sizeof(name), "%ccrux-bench-map-%d", '\0', getpid());
	if (a->kind == TREE_LISTENER)
		extra = topo_bound(SOCK_STREAM, name, strlen(name + 1) + 1, 8);
	if (a->kind == TREE_DGRAM_SERVER)
		extra = topo_bound(SOCK_DGRAM, topo_path(path, sizeof(path), name + 1),
				   strlen(path), 0);
	if (lg < 0 || st < 0 || extra < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	v[0] = topo_ino(lg);
	topo_report(c, v, 1);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

/* Outside the trees: a logd-style datagram server and a stream listener. */
static int outside_body(struct topo_child *c, void *arg)
{
	const char *log_path = arg;
	int d = topo_bound(SOCK_DGRAM, log_path, strlen(log_path), 0);
	int l = topo_bound(SOCK_STREAM, "\0crux-bench-map-l", 17, 64);
	__u64 v[1] = { d < 0 || l < 0 ? 0 : topo_ino(d) };

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
	double cpu;
	ssize_t n;

	if (fd < 0)
		return -1;
	unlink(path);
	if (run_timed(argv, fd, &cpu) < 0) {
		close(fd);
		return -1;
	}
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "\"ino\":%llu,", (unsigned long long)log_ino);
	return strstr(buf, want) && strstr(buf, "\"class\":\"external\"") ? 0 : -1;
}

static void print_row(unsigned size, const char *what, double cm[][BENCH_MAX_ROUNDS], double *ss,
		      __u32 rounds)
{
	double med[TREE__MAX], ss_med = bench_median(ss, (int)rounds);
	int k;

	for (k = 0; k < TREE__MAX; k++)
		med[k] = bench_median(cm[k], (int)rounds);
	printf("%8u %8ld %5s %9.2f %9.2f %12.2f %10.2f %8.0fx %8.0fx\n", size, bench_host_sockets(),
	       what, med[TREE_CLIENTS], med[TREE_LISTENER], med[TREE_DGRAM_SERVER], ss_med,
	       ss_med / med[TREE_CLIENTS], ss_med / med[TREE_DGRAM_SERVER]);
	fflush(stdout);
}

static int measure(const struct bench_size_opts *o, const char *pin_dir,
		   const struct topo_proc *trees, const __u64 *log_inos, unsigned size)
{
	char pid_s[TREE__MAX][16];
	double cm[TREE__MAX][BENCH_MAX_ROUNDS], ss[BENCH_MAX_ROUNDS];
	double cm_cpu[TREE__MAX][BENCH_MAX_ROUNDS], ss_cpu[BENCH_MAX_ROUNDS];
	char *cm_argv[TREE__MAX][7];
	char *ss_argv[] = { "ss", "-xap", NULL };
	__u32 r;
	int k;

	for (k = 0; k < TREE__MAX; k++) {
		char *argv[] = { (char *)crux_map_path(),
				 "--pin-dir",
				 (char *)pin_dir,
				 "-j",
				 "external",
				 pid_s[k],
				 NULL };

		snprintf(pid_s[k], sizeof(pid_s[k]), "%d", trees[k].pid);
		memcpy(cm_argv[k], argv, sizeof(argv));
		if (sanity(cm_argv[k], log_inos[k])) {
			pr_err("crux-map external %d gave no answer", trees[k].pid);
			return -1;
		}
	}
	for (r = 0; r < o->rounds; r++) {
		for (k = 0; k < TREE__MAX; k++) {
			cm[k][r] = run_timed(cm_argv[k], -1, &cm_cpu[k][r]);
			if (cm[k][r] < 0)
				return -1;
		}
		ss[r] = run_timed(ss_argv, -1, &ss_cpu[r]);
		if (ss[r] < 0)
			return -1;
	}
	print_row(size, "wall", cm, ss, o->rounds);
	print_row(size, "cpu", cm_cpu, ss_cpu, o->rounds);
	return 0;
}

static const struct argp_option options[] = {
	BENCH_SIZE_OPTIONS(11),
	{ 0 },
};

static const struct argp argp = {
	.options = options,
	.parser = bench_size_parse_opt,
	.doc = "crux-map external PID vs ss -xap at 2k/20k/200k host unix sockets.\v"
	       "EXAMPLES:\n"
	       "  bench_crux_map              2k, 20k, 200k sockets, 11 runs each\n"
	       "  bench_crux_map -m 20000 -r 5",
};

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	stopping = 1;
}

int main(int argc, char **argv)
{
	struct bench_size_opts o = { .rounds = 11, .max_socks = 200000 };
	struct topo_proc procs[BENCH_MAX_PROCS] = { 0 }, outside = { 0 }, trees[TREE__MAX] = { 0 };
	struct tree_arg args[TREE__MAX];
	__u64 v[1], log_inos[TREE__MAX];
	char log_path[256];
	struct tracker trk;
	int nprocs = 0, rc = 1, k;
	size_t i;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 64;
	if (geteuid() != 0) {
		printf("bench_crux_map: needs root (bpf), skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	/* SIGINT/SIGTERM interrupt the waits (no SA_RESTART): the run stops and cleans up */
	sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_stop }, NULL);
	sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_stop }, NULL);
	/* not under crux-test-*: a concurrent test run's cleanup removes those */
	memset(&trk, 0, sizeof(trk));
	snprintf(trk.pin_dir, sizeof(trk.pin_dir), "/sys/fs/bpf/crux-bench-map-%d", getpid());
	if (tracker_restart(&trk)) {
		pr_err("crux track did not start under %s", trk.pin_dir);
		return 1;
	}
	topo_path(log_path, sizeof(log_path), "log");
	if (topo_proc_start(&outside, outside_body, log_path, false) ||
	    topo_recv(&outside, v, 1) != 1)
		goto out;
	for (k = 0; k < TREE__MAX; k++) {
		args[k] = (struct tree_arg){ .log_path = log_path, .kind = (enum tree_kind)k };
		if (topo_proc_start(&trees[k], tree_body, &args[k], false) ||
		    topo_recv(&trees[k], &log_inos[k], 1) != 1)
			goto out;
	}
	printf("crux-map external PID vs ss -xap: whole command (wall ms, and cpu ms = user +\n"
	       "system of the command), medians of %u runs.\n"
	       "Trees: %s (3 sockets, outside peers), %s (+ a listener),\n"
	       "%s (+ a bound dgram socket: its clients need a pass over the whole map)\n",
	       o.rounds, tree_names[0], tree_names[1], tree_names[2]);
	printf("%8s %8s %5s %9s %9s %12s %10s %9s %9s\n", "target", "sockets", "ms", "clients",
	       "listener", "dgram-server", "ss -xap", "ss/clnt", "ss/dgsrv");
	for (i = 0; i < ARRAY_SIZE(sizes) && !stopping; i++) {
		if (bench_grow_host(procs, &nprocs, sizes[i]) ||
		    measure(&o, trk.pin_dir, trees, log_inos, sizes[i]))
			goto out;
		if (sizes[i] >= o.max_socks)
			break;
	}
	rc = 0;
out:
	topo_spread_stop(procs, nprocs);
	for (k = 0; k < TREE__MAX; k++)
		topo_proc_kill(&trees[k]);
	topo_proc_kill(&outside);
	tracker_stop(&trk);
	topo_path_cleanup();
	return rc;
}
