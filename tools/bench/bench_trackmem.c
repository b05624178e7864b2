// SPDX-License-Identifier: GPL-2.0-only
/*
 * Incremental dumps of a 1 GiB process that writes 1% of its pages between dumps, with a
 * tracker running (its own pin dir), every figure measured in this run:
 *  - wall time, frozen time (as `crux dump` reports it) and image size of a full dump
 *    without tracking (the baseline), of the first dump with --track-mem and of the next
 *    ones with --prev-images-dir (median);
 *  - pre-dump + final dump: the sum of their frozen times against the full dump's;
 *  - the cost of tracking inside the process: the first write to a page after a dump
 *    (a write-protect fault when tracked), and the throughput of a write loop over 1 s
 *    right after a dump, tracked against untracked.
 * The target is a child of this program that takes commands from files (a dump refuses
 * pipes and shared memory held outside the tree).
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "bench_trackmem: "
#include "log.h"
#include "util.h"
#include "bench.h"

#define PG 4096UL
#define MEM_PAGES (262144UL) /* 1 GiB */
#define HOT_PAGES (MEM_PAGES / 100)
#define ROUNDS 3

static char work[] = "/tmp/crux-bench-tm-XXXXXX";
static char tdir[64]; /* the target's command directory (work/a or work/b) */

/* ---- the target ---- */

static volatile sig_atomic_t got_cmd;

static void on_usr1(int s)
{
	(void)s;
	got_cmd = 1;
}

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13, *s ^= *s >> 7, *s ^= *s << 17;
	return *s;
}

static void put(const char *name, const char *text)
{
	char path[128], tmp[136];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tdir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, strlen(text)) < 0)
		_exit(3);
	close(fd);
	rename(tmp, path);
}

/*
 * The target's clocks are its own CPU time (user + system, the fault handling included):
 * on a shared machine, other work does not count against either side.
 */

/* "w SEED": one store into each of 1% of the pages (random); the CPU time it took, in ns. */
static double cmd_write(char *mem, uint64_t seed)
{
	double t0 = bench_cpu_ns();
	size_t i;

	for (i = 0; i < HOT_PAGES; i++)
		mem[(xs(&seed) % MEM_PAGES) * PG + 8 * (i % 64)]++;
	return bench_cpu_ns() - t0;
}

/* "t MS SEED": 64-byte writes into a hot set of 1% of the pages for MS ms of CPU; writes done. */
static double cmd_tput(char *mem, uint64_t ms, uint64_t seed)
{
	static uint64_t hot[HOT_PAGES];
	double end = bench_cpu_ns() + (double)ms * 1e6, ops = 0;
	uint64_t r = seed ^ 0x9e3779b97f4a7c15ULL;
	size_t i;

	for (i = 0; i < HOT_PAGES; i++)
		hot[i] = xs(&seed) % MEM_PAGES;
	while (bench_cpu_ns() < end) {
		for (i = 0; i < 256; i++) {
			uint64_t x = xs(&r);

			memset(mem + hot[x % HOT_PAGES] * PG + (x >> 32) % 64 * 64, (int)x, 64);
		}
		ops += 256;
	}
	return ops;
}

static void target(void)
{
	char *mem = mmap(NULL, MEM_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	char path[128], buf[128], out[128];
	unsigned long long a = 0, b = 0;
	size_t i;
	int fd, n;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (mem == MAP_FAILED)
		_exit(2);
	for (i = 0; i < MEM_PAGES; i++)
		memset(mem + i * PG, (int)(i * 7 + 1), 64);
	signal(SIGUSR1, on_usr1);
	put("result", "ready\n");
	snprintf(path, sizeof(path), "%s/cmd", tdir);
	for (;;) {
		while (!got_cmd)
			pause();
		got_cmd = 0;
		fd = open(path, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : (int)read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		if (sscanf(buf, "w %llu", &a) == 1)
			snprintf(out, sizeof(out), "done %.0f\n", cmd_write(mem, a));
		else if (sscanf(buf, "t %llu %llu", &a, &b) == 2)
			snprintf(out, sizeof(out), "done %.0f\n", cmd_tput(mem, a, b));
		else
			snprintf(out, sizeof(out), "done -1\n");
		put("result", out);
	}
}

/* ---- the driver ---- */

/* Run a command in the target of directory dir; its number. */
static int ask(pid_t pid, const char *dir, const char *cmd, double *ret)
{
	char path[128], buf[64];
	int i, fd, n;

	snprintf(path, sizeof(path), "%s/result", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cmd", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, cmd, strlen(cmd)) < 0)
		return -errno;
	close(fd);
	kill(pid, SIGUSR1);
	snprintf(path, sizeof(path), "%s/result", dir);
	for (i = 0; i < 300000; i++) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			n = (int)read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			return sscanf(buf, "done %lf", ret) == 1 ? 0 : -EPROTO;
		}
		usleep(1000);
	}
	return -ETIMEDOUT;
}

static uint64_t dir_bytes(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	uint64_t sum = 0;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d))) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!lstat(path, &st) && S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
	}
	if (d)
		closedir(d);
	return sum;
}

struct run {
	double wall_ms, frozen_ms;
	uint64_t bytes;
};

/* crux SUB -t pid -D work/NAME ARGS...; wall time, "frozen X ms", image size. */
static int crux(const char *sub, pid_t pid, const char *name, const char *pin_dir, const char *a1,
		const char *a2, const char *a3, struct run *r)
{
	char img[128], out[160], spid[16], line[512];
	double t0;
	FILE *f;
	pid_t c;
	int st;

	snprintf(img, sizeof(img), "%s/%s", work, name);
	snprintf(out, sizeof(out), "%s/%s.out", work, name);
	snprintf(spid, sizeof(spid), "%d", pid);
	t0 = bench_now_ns();
	c = fork();
	if (c == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(fd, 1), dup2(fd, 2);
		close_range(3, ~0U, 0);
		if (strcmp(sub, "dump"))
			execl(tracker_crux_path(), "crux", sub, "-t", spid, "-D", img, a1, a2, a3,
			      (char *)NULL);
		execl(tracker_crux_path(), "crux", sub, "-t", spid, "-D", img, "--pin-dir", pin_dir,
		      a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	if (c < 0 || waitpid(c, &st, 0) < 0)
		return -errno;
	r->wall_ms = (bench_now_ns() - t0) / 1e6;
	r->bytes = dir_bytes(img);
	r->frozen_ms = -1;
	f = fopen(out, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "frozen ");

		if (p)
			r->frozen_ms = strtod(p + 7, NULL);
	}
	if (f)
		fclose(f);
	if (!WIFEXITED(st) || WEXITSTATUS(st) || r->frozen_ms < 0) {
		snprintf(line, sizeof(line), "cat %s >&2", out);
		if (system(line)) {
		}
		return pr_err_ret(-EPROTO, "crux %s %s failed", sub, name);
	}
	return 0;
}

static void row(const char *what, const struct run *r)
{
	printf("  %-34s %9.1f %9.1f %10.1f\n", what, r->wall_ms, r->frozen_ms,
	       (double)r->bytes / (1 << 20));
}

static int cmp_run(const void *a, const void *b)
{
	double x = ((const struct run *)a)->wall_ms, y = ((const struct run *)b)->wall_ms;

	return x < y ? -1 : x > y;
}

struct figures {
	struct run full, first, next[ROUNDS], pre, fin;
	double w_off, w_on, t_off[ROUNDS], t_on[ROUNDS];
};

struct targets {
	pid_t a, b; /* a: dumped and tracked; b: never tracked, the same work */
	char da[64], db[64];
};

/*
 * The chain: d0 (--track-mem), then each round: a write loop over a new 1% hot set in the
 * tracked target (its first writes fault) and the same in the untracked one, then a dump
 * dK --prev-images-dir ../dK-1 of the tracked one.
 */
static int chain(const struct targets *t, const char *pin, struct figures *f)
{
	char name[16], prev[40], cmd[32];
	int k, err;

	err = crux("dump", t->a, "d0", pin, "-R", "--track-mem", NULL, &f->first);
	for (k = 1; !err && k <= ROUNDS; k++) {
		snprintf(cmd, sizeof(cmd), "t 1000 %d", 10 + k);
		err = ask(t->a, t->da, cmd, &f->t_on[k - 1]);
		if (!err)
			err = ask(t->b, t->db, cmd, &f->t_off[k - 1]);
		snprintf(name, sizeof(name), "d%d", k);
		snprintf(prev, sizeof(prev), "--prev-images-dir=../d%d", k - 1);
		if (!err)
			err = crux("dump", t->a, name, pin, "-R", "--track-mem", prev,
				   &f->next[k - 1]);
	}
	/* the first store into each page of a new 1% set, right after the last dump */
	if (!err)
		err = ask(t->a, t->da, "w 7", &f->w_on);
	return err ?: ask(t->b, t->db, "w 7", &f->w_off);
}

static int measure(const struct targets *t, const char *pin, struct figures *f)
{
	char rm[96];
	double x;
	int err;

	err = crux("dump", t->a, "full", pin, "-R", NULL, NULL, &f->full);
	snprintf(rm, sizeof(rm), "rm -rf %s/full", work);
	if (system(rm)) {
	}
	if (!err)
		err = chain(t, pin, f);
	/* pre-dump (tracking continues from the chain, everything copied: no parent) */
	if (!err)
		err = crux("pre-dump", t->a, "p1", pin, NULL, NULL, NULL, &f->pre);
	if (!err)
		err = ask(t->a, t->da, "w 30", &x);
	if (!err) /* the final dump kills the target */
		err = crux("dump", t->a, "fin", pin, "--prev-images-dir=../p1", NULL, NULL,
			   &f->fin);
	return err;
}

static void aim(const char *what, double v, double want, bool above)
{
	printf("  %-58s %8.1f  (aim %s %g: %s)\n", what, v, above ? ">=" : "<=", want,
	       (above ? v >= want : v <= want) ? "met" : "MISSED");
}

static void report(struct figures *f)
{
	struct run next;
	double wo, wn, sz, toff, ton;

	qsort(f->next, ROUNDS, sizeof(f->next[0]), cmp_run);
	next = f->next[ROUNDS / 2];
	printf("  %-34s %9s %9s %10s\n", "", "wall ms", "frozen ms", "image MiB");
	row("full dump (no tracking)", &f->full);
	row("first dump --track-mem", &f->first);
	row("next dumps --prev-images-dir (med)", &next);
	row("pre-dump", &f->pre);
	row("final dump after the pre-dump", &f->fin);
	aim("first dump time / next dump time", f->first.wall_ms / next.wall_ms, 20, true);
	sz = 100.0 * (double)next.bytes / (double)f->first.bytes;
	aim("next dump size, % of the first", sz, 5, false);
	aim("full dump frozen / (pre-dump + final dump frozen)",
	    f->full.frozen_ms / (f->pre.frozen_ms + f->fin.frozen_ms), 10, true);
	wo = f->w_off / HOT_PAGES;
	wn = f->w_on / HOT_PAGES;
	printf("  first write to a page after a dump: %.0f ns untracked, %.0f ns tracked "
	       "(the write-protect fault costs %.2f us per page written)\n",
	       wo, wn, (wn - wo) / 1e3);
	toff = bench_median(f->t_off, ROUNDS);
	ton = bench_median(f->t_on, ROUNDS);
	printf("  write loop, 1 CPU-s after each dump (64-byte writes into a new 1%% hot set), "
	       "median: %.1f M/s untracked, %.1f M/s tracked\n",
	       toff / 1e6, ton / 1e6);
	aim("tracked write throughput, % of untracked", 100.0 * ton / toff, 95, true);
}

static pid_t spawn(char *dir, const char *name)
{
	char p[128];
	pid_t pid;
	int i;

	snprintf(dir, 64, "%s/%s", work, name);
	mkdir(dir, 0700);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		snprintf(tdir, sizeof(tdir), "%s", dir);
		dup2(null, 0), dup2(null, 1), dup2(null, 2);
		close_range(3, ~0U, 0);
		target();
	}
	snprintf(p, sizeof(p), "%s/result", dir);
	for (i = 0; pid > 0 && i < 6000 && access(p, F_OK); i++)
		usleep(10000);
	return pid;
}

int main(int argc, char **argv)
{
	struct figures f = { 0 };
	struct targets t = { 0 };
	struct tracker trk;
	char rm[96];
	int rc = 1;

	(void)argc, (void)argv;
	log_init("bench_trackmem");
	if (!mkdtemp(work))
		return 1;
	if (bench_tracker_start(&trk, "trackmem")) {
		pr_err("cannot start a tracker");
		return 1;
	}
	t.a = spawn(t.da, "a");
	t.b = spawn(t.db, "b");
	printf("two 1 GiB processes (%lu pages each; one dumped and tracked, one never), %lu pages "
	       "(1%%) written between dumps, %d rounds, tracker running\n",
	       MEM_PAGES, HOT_PAGES, ROUNDS);
	if (t.a > 0 && t.b > 0 && !measure(&t, trk.pin_dir, &f)) {
		report(&f);
		rc = 0;
	}
	if (t.a > 0)
		kill(t.a, SIGKILL), waitpid(t.a, NULL, 0);
	if (t.b > 0)
		kill(t.b, SIGKILL), waitpid(t.b, NULL, 0);
	tracker_stop(&trk);
	snprintf(rm, sizeof(rm), "rm -rf %s", work);
	if (system(rm)) {
	}
	return rc;
}
