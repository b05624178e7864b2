// SPDX-License-Identifier: GPL-2.0-only
/*
 * crux dump of a process holding 100 unix sockets (50 socketpairs of mixed types), at 2k
 * and 200k unix sockets on the host, with a tracker running (its own pin dir):
 *  - whole-command dump time (--leave-running) and peak RSS, median of alternated runs,
 *    with the live map and with the sock_diag fallback (--no-map);
 *  - the classification step alone (pid-filtered tree iterator + classify_tree with live
 *    map lookups) against one full sock_diag dump of the host, the baseline of this run;
 *  - a criu column only when a criu >= 4.1 is on PATH (Debian's 3.17 cannot run here).
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "bench_dump: "
#include "classify.h"
#include "log.h"
#include "sockdiag.h"
#include "sockmap.h"
#include "treeiter.h"
#include "util.h"
#include "bench.h"
#include "../../tests/lib/topo.h"
#include "../../tests/lib/tracker.h"

#define HOLDER_PAIRS 50

static const unsigned sizes[] = { 2000, 200000 };

/* The dumped process: 50 socketpairs (stream, dgram, seqpacket), nothing shared with us. */
static pid_t holder_start(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int i, sp[2];
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		close_range(3, ~0U, 0);
		for (i = 0; i < HOLDER_PAIRS; i++)
			if (socketpair(AF_UNIX, types[i % 3], 0, sp))
				_exit(1);
		/* ready: the parent sees the last fd appear */
		for (;;)
			pause();
	}
	for (i = 0; i < 500; i++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, 3 + 2 * HOLDER_PAIRS - 1);
		if (!stat(path, &st))
			return pid;
		usleep(2000);
	}
	kill(pid, SIGKILL);
	return -1;
}

/* One `crux dump -R` of pid; wall ms and peak RSS KiB of the crux process. */
static int run_dump(pid_t pid, const char *pin_dir, bool no_map, double *ret_ms, long *ret_kb)
{
	char dir[] = "/tmp/crux-bench-dump-XXXXXX", img[64], spid[16];
	struct rusage ru;
	double t0;
	pid_t c;
	int st;

	if (!mkdtemp(dir))
		return -errno;
	snprintf(img, sizeof(img), "%s/img", dir);
	snprintf(spid, sizeof(spid), "%d", pid);
	t0 = bench_now_ns();
	c = fork();
	if (c == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1), dup2(null, 2);
		execl(tracker_crux_path(), "crux", "dump", "-t", spid, "-D", img, "-R",
		      no_map ? "--no-map" : "--pin-dir", no_map ? (char *)NULL : pin_dir,
		      (char *)NULL);
		_exit(127);
	}
	if (c < 0 || wait4(c, &st, 0, &ru) < 0)
		return -errno;
	*ret_ms = (bench_now_ns() - t0) / 1e6;
	*ret_kb = ru.ru_maxrss;
	snprintf(img, sizeof(img), "rm -rf %s", dir);
	if (system(img) != 0)
		return -EIO;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EPROTO;
}

struct lk_ctx {
	struct sockmap *m;
};

static int lk_sock(void *ctx, __u64 ino, struct crux_sock *ret)
{
	return sockmap__lookup(((struct lk_ctx *)ctx)->m, ino, ret);
}

static int lk_conn(void *ctx, __u64 ino, struct crux_conn *ret)
{
	return sockmap__lookup_conn(((struct lk_ctx *)ctx)->m, ino, ret);
}

/*
 * What the dumper does to classify: tree iterator, map lookups, the rule (*ret_us), and
 * the list of outside sockets pointing into the tree (*ret_inbound_us, a map scan).
 */
static int classify_once(struct treeiter *ti, struct sockmap *m, pid_t pid, double *ret_us,
			 double *ret_inbound_us)
{
	double t0 = bench_now_ns(), t1, t2;
	struct crux_fd_rec *recs = NULL;
	struct classify_sock *cs = NULL;
	struct crux_sock *in = NULL;
	struct classify_report *rep = NULL;
	struct lk_ctx c = { m };
	struct classify_lookup lk = { lk_sock, lk_conn, &c };
	struct classify_policy pol = { .peer_ino_is_live = true };
	__u64 *inos = NULL;
	size_t n = 0, n_in = 0, i;
	int err;

	err = treeiter__unix_fds(ti, pid, &recs, &n);
	if (err)
		return err;
	cs = calloc(n + 1, sizeof(*cs));
	inos = calloc(n + 1, sizeof(*inos));
	if (!cs || !inos) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		cs[i].pid = (__u32)pid;
		cs[i].fd = recs[i].fd;
		cs[i].sk.ino = recs[i].ino;
		cs[i].sk.sk = recs[i].sk;
		cs[i].sk.peer_ino = recs[i].peer_ino;
		cs[i].sk.peer_sk = recs[i].peer_sk;
		cs[i].sk.type = recs[i].type;
		cs[i].sk.state = recs[i].state;
		cs[i].sk.flags = recs[i].flags;
		cs[i].sk.listener_ino = recs[i].listener_ino;
		inos[i] = recs[i].ino;
	}
	t1 = bench_now_ns();
	err = sockmap__list_inbound(m, inos, n, &in, &n_in);
	t2 = bench_now_ns();
	if (!err)
		err = classify_tree(cs, n, in, n_in, &lk, &pol, &rep);
	*ret_us = (t1 - t0 + bench_now_ns() - t2) / 1e3;
	*ret_inbound_us = (t2 - t1) / 1e3;
	if (!err && rep->n_tree != 2 * HOLDER_PAIRS)
		err = -EPROTO;
	if (!err && rep->count[CLASSIFY_INTERNAL] != 2 * HOLDER_PAIRS)
		err = -EPROTO;
out:
	classify_report__free(rep);
	free(in);
	free(inos);
	free(cs);
	free(recs);
	return err;
}

static int measure(const struct bench_size_opts *o, struct tracker *trk, struct treeiter *ti,
		   pid_t holder, unsigned size)
{
	double dm[BENCH_MAX_ROUNDS] = { 0 }, dn[BENCH_MAX_ROUNDS] = { 0 },
	       cl[BENCH_MAX_ROUNDS] = { 0 };
	double sd[BENCH_MAX_ROUNDS] = { 0 }, ib[BENCH_MAX_ROUNDS] = { 0 }, t0;
	long kb_map = 0, kb_nomap = 0, kb;
	struct sockdiag_table *t;
	__u32 r;
	int err;

	for (r = 0; r < o->rounds; r++) {
		err = run_dump(holder, trk->pin_dir, false, &dm[r], &kb);
		if (err)
			return pr_err_ret(err, "crux dump failed (%d)", err);
		kb_map = MAX(kb_map, kb);
		err = run_dump(holder, trk->pin_dir, true, &dn[r], &kb);
		if (err)
			return pr_err_ret(err, "crux dump --no-map failed");
		kb_nomap = MAX(kb_nomap, kb);
		err = classify_once(ti, trk->map, holder, &cl[r], &ib[r]);
		if (err)
			return pr_err_ret(err, "classification failed (%d)", err);
		t0 = bench_now_ns();
		if (sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &t))
			return -1;
		sd[r] = (bench_now_ns() - t0) / 1e3;
		sockdiag_table__free(t);
	}
	printf("%7u %8ld | %8.1f %7ld | %8.1f %7ld | %8.1f %9.1f %10.1f %7.0fx\n", size,
	       bench_host_sockets(), bench_median(dm, o->rounds), kb_map,
	       bench_median(dn, o->rounds), kb_nomap, bench_median(cl, o->rounds),
	       bench_median(ib, o->rounds), bench_median(sd, o->rounds),
	       bench_median(sd, o->rounds) / bench_median(cl, o->rounds));
	return 0;
}

/* criu >= 4.1 on PATH? (4.1 is the first that knows [vvar_vclock], engine.md §1) */
static void criu_note(void)
{
	FILE *f = popen("criu --version 2>/dev/null", "r");
	char line[128];
	int maj = 0, min = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Version: %d.%d", &maj, &min) == 2)
			break;
	if (f)
		pclose(f);
	if (maj > 4 || (maj == 4 && min >= 1))
		printf("criu %d.%d found: the criu column is not implemented yet\n", maj, min);
	else if (maj)
		printf("criu column skipped: criu %d.%d < 4.1 cannot dump on this kernel\n", maj,
		       min);
	else
		printf("criu column skipped: no criu on PATH\n");
}

static const struct argp_option options[] = {
	BENCH_SIZE_OPTIONS(5),
	{ 0 },
};

static const struct argp argp = {
	.options = options,
	.parser = bench_size_parse_opt,
	.doc = "crux dump of a 100-socket process at 2k and 200k host sockets; classification "
	       "vs a full sock_diag dump.\v"
	       "EXAMPLES:\n"
	       "  bench_dump              2k and 200k sockets, 5 runs each\n"
	       "  bench_dump -m 2000 -r 3 only the 2k size, 3 runs",
};

int main(int argc, char **argv)
{
	struct bench_size_opts o = { .rounds = 5, .max_socks = 200000 };
	struct topo_proc procs[BENCH_MAX_PROCS];
	struct tracker trk;
	struct treeiter *ti = NULL;
	int nprocs = 0, rc = 1;
	pid_t holder;
	size_t i;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return 64;
	if (topo_raise_nofile() < 0 || tracker_start(&trk, "bench-dump")) {
		pr_err("cannot start a tracker");
		return 1;
	}
	if (treeiter__new(&ti)) {
		pr_err("cannot load the tree iterator");
		goto out;
	}
	holder = holder_start();
	if (holder < 0) {
		pr_err("cannot start the 100-socket holder");
		goto out;
	}
	criu_note();
	printf("%7s %8s | %16s | %16s | %8s %9s %10s %8s\n", "", "host", "dump, live map",
	       "dump, --no-map", "classify", "inbound", "sock_diag", "diag/");
	printf("%7s %8s | %8s %7s | %8s %7s | %8s %9s %10s %8s\n", "target", "sockets", "ms",
	       "RSS KiB", "ms", "RSS KiB", "us", "scan us", "dump us", "classify");
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (bench_grow_host(procs, &nprocs, sizes[i]) || tracker_reconcile(&trk, NULL)) {
			pr_err("cannot grow to %u sockets", sizes[i]);
			goto out_kill;
		}
		if (measure(&o, &trk, ti, holder, sizes[i]))
			goto out_kill;
		if (sizes[i] >= o.max_socks)
			break;
	}
	rc = 0;
out_kill:
	kill(holder, SIGKILL);
	waitpid(holder, NULL, 0);
out:
	topo_spread_stop(procs, nprocs);
	treeiter__free(ti);
	tracker_stop(&trk);
	return rc;
}
