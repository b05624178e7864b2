// SPDX-License-Identifier: GPL-2.0-only
/* A private `crux track` per test (see tracker.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockdiag.h"
#include "sockmap.h"
#include "tap.h"
#include "tracker.h"

#define TRACKER_WAIT_MS 20000 /* a seed at 200k host sockets takes about a second */

const char *tracker_crux_path(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("CRUX");
	char exe[PATH_MAX - 16], *out;
	ssize_t n;

	if (env && *env)
		return env;
	if (path[0])
		return path;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return ".output/crux";
	exe[n] = 0;
	/* .../.output/tests/<group>/test_x or .../.output/bench/bench_x -> .../.output/crux */
	out = strstr(exe, "/.output/");
	if (!out)
		return ".output/crux";
	out[strlen("/.output")] = 0;
	snprintf(path, sizeof(path), "%s/crux", exe);
	return path;
}

static int tracker_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void tracker_rm_dir(const char *dir)
{
	nftw(dir, tracker_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void tracker_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Run crux with args, wait for it; returns its exit status. */
static int tracker_run(char *const argv[], bool wait_it, pid_t *ret_pid)
{
	pid_t parent = getpid(), pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		/* data on stdout is not TAP; the tracker keeps no reference to our sockets */
		if (null >= 0)
			dup2(null, STDOUT_FILENO);
		close_range(3, ~0U, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	if (ret_pid)
		*ret_pid = pid;
	if (!wait_it)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void tracker_detach_map(struct tracker *t)
{
	sockmap__close(t->map);
	t->map = NULL;
}

/*
 * Ready once the tracker registered its pid and completed its seed, which is a reconcile
 * pass: RECONCILE_TIME moves past the moment we started it.
 */
static int tracker_wait_ready(struct tracker *t, __u64 started_ns)
{
	__u64 stats[CRUX_ST__MAX];
	int waited, err = -ETIMEDOUT, status;

	for (waited = 0; waited < TRACKER_WAIT_MS; waited += 10) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			diag("crux track exited early (status %#x)", status);
			return -ECHILD;
		}
		if (!t->map && sockmap__open(t->pin_dir, &t->map, NULL) < 0) {
			tracker_sleep_ms(10);
			continue;
		}
		err = sockmap__stats(t->map, stats);
		if (!err && stats[CRUX_ST_TRACKER_PID] == (__u64)t->pid &&
		    stats[CRUX_ST_RECONCILE_TIME] >= started_ns) {
			/* reopen: the handle must see the iterator links pinned after the maps */
			tracker_detach_map(t);
			return 0;
		}
		tracker_sleep_ms(10);
	}
	diag("crux track did not get ready in %d ms (last error %d)", TRACKER_WAIT_MS, err);
	return err;
}

int tracker_restart(struct tracker *t)
{
	/* no periodic reconcile: what the tests see before their own pass is events only */
	char *argv[] = { (char *)tracker_crux_path(),
			 "track",
			 "--pin-dir",
			 t->pin_dir,
			 "--reconcile-ms",
			 "0",
			 NULL };
	struct timespec now;
	int err;

	tracker_detach_map(t);
	clock_gettime(CLOCK_REALTIME, &now);
	err = tracker_run(argv, false, &t->pid);
	if (err)
		return err;
	return tracker_wait_ready(t, now.tv_sec * 1000000000ULL + now.tv_nsec);
}

int tracker_start_at(struct tracker *t, const char *pin_dir)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->pin_dir, sizeof(t->pin_dir), "%s", pin_dir);
	tracker_rm_dir(t->pin_dir);
	return tracker_restart(t);
}

int tracker_start(struct tracker *t, const char *name)
{
	char dir[sizeof(t->pin_dir)];

	snprintf(dir, sizeof(dir), "/sys/fs/bpf/crux-test-%s-%d", name, getpid());
	return tracker_start_at(t, dir);
}

static struct tracker *tracker_at_exit;

static void tracker_exit_stop(void)
{
	if (tracker_at_exit)
		tracker_stop(tracker_at_exit);
}

/* Interrupted (prove's timeout, ^C): exit through atexit, which stops the tracker. */
static void tracker_on_signal(int sig)
{
	exit(128 + sig);
}

void tracker_test_init(struct tracker *t, const char *name)
{
	if (geteuid() != 0)
		tap_plan_skip_all("root unavailable");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		tap_plan_skip_all("BTF (/sys/kernel/btf/vmlinux) unavailable");
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, tracker_on_signal);
	signal(SIGINT, tracker_on_signal);
	signal(SIGHUP, tracker_on_signal);
	tracker_at_exit = t;
	atexit(tracker_exit_stop);
	if (tracker_start(t, name))
		tap_bail("crux track did not start (pin dir %s)", t->pin_dir);
	ok(1, "crux track started, pinned under %s", t->pin_dir);
}

void tracker_kill(struct tracker *t, int sig)
{
	int status;

	tracker_detach_map(t);
	if (t->pid <= 0)
		return;
	kill(t->pid, sig);
	while (waitpid(t->pid, &status, 0) < 0 && errno == EINTR)
		;
	t->pid = 0;
}

void tracker_stop(struct tracker *t)
{
	char *argv[] = {
		(char *)tracker_crux_path(), "track", "--stop", "--pin-dir", t->pin_dir, NULL
	};

	if (!t->pin_dir[0])
		return;
	tracker_kill(t, SIGTERM);
	tracker_run(argv, true, NULL);
	tracker_rm_dir(t->pin_dir);
	t->pin_dir[0] = 0;
}

int tracker_records(struct tracker *t, struct crux_sock **ret, size_t *ret_n)
{
	int err;

	if (!t->map && (err = sockmap__open(t->pin_dir, &t->map, NULL)) < 0)
		return err;
	return sockmap__list(t->map, ret, ret_n);
}

int tracker_reconcile(struct tracker *t, __u64 *ret_swept)
{
	__u64 swept = 0;
	int err;

	if (!t->map && (err = sockmap__open(t->pin_dir, &t->map, NULL)) < 0)
		return err;
	err = sockmap__reconcile(t->map, true, &swept);
	if (!err && ret_swept)
		*ret_swept = swept;
	return err;
}

int tracker_compare(struct tracker *t, int netns_fd, const __u64 *inos, size_t n, const char *label,
		    struct mapcheck_result *ret)
{
	struct sockdiag_table *tab = NULL;
	struct crux_sock *recs = NULL;
	size_t nrecs = 0;
	int err;

	if (access(t->pin_dir, F_OK))
		diag("%s: the pin dir %s is gone: removed from outside (a concurrent make check's "
		     "tools/cleanup.sh?); what follows is not the tracker's doing",
		     label, t->pin_dir);
	err = sockdiag_dump_unix(netns_fd, SOCKDIAG_SHOW_DEFAULT, &tab);
	if (err) {
		diag("%s: sock_diag dump failed: %s", label, strerror(-err));
		return err;
	}
	err = tracker_records(t, &recs, &nrecs);
	if (err < 0) {
		diag("%s: reading the map failed: %s", label, strerror(-err));
		sockdiag_table__free(tab);
		return err;
	}
	err = mapcheck_compare(tab, recs, nrecs, inos, n, label, 30, ret);
	free(recs);
	sockdiag_table__free(tab);
	return err;
}

int tracker_expect(struct tracker *t, int netns_fd, const __u64 *inos, size_t n, const char *label,
		   bool exact)
{
	struct mapcheck_result r = { 0 };
	int d = tracker_compare(t, netns_fd, inos, n, label, &r);

	if (exact)
		ok(d == 0,
		   "%s: map agrees with sock_diag from events alone (kernel %u, map %u, "
		   "missing %u, stale %u, wrong %u)",
		   label, r.kernel, r.map, r.missing, r.stale, r.wrong);
	else
		diag("%s: kernel %u, map %u, missing %u, stale %u, wrong %u (a figure, not a check)",
		     label, r.kernel, r.map, r.missing, r.stale, r.wrong);
	return d;
}

int tracker_expect_reconciled(struct tracker *t, int netns_fd, const __u64 *inos, size_t n,
			      const char *label)
{
	struct mapcheck_result r = { 0 };
	__u64 swept = 0;
	int err = tracker_reconcile(t, &swept), d;

	if (!is_int(err, 0, "%s: reconcile pass", label))
		return err;
	d = tracker_compare(t, netns_fd, inos, n, label, &r);
	ok(d == 0,
	   "%s: map agrees with sock_diag after one reconcile (kernel %u, map %u, "
	   "missing %u, stale %u, wrong %u; swept %llu host-wide)",
	   label, r.kernel, r.map, r.missing, r.stale, r.wrong, (unsigned long long)swept);
	return d;
}
