// SPDX-License-Identifier: GPL-2.0-only
/*
 * Releases the tracker infers from file reference counts: the last of several fds (dup,
 * fork) closed, close_range, dup2/dup3 over a socket, SCM_RIGHTS (received then closed:
 * exact; purged in flight or dropped by a plain read(): only reconcile can see it),
 * exec with close-on-exec sockets, process exit with dup'd fds, a close while another thread
 * is blocked in recv() (only reconcile can see that release). Each exact case is a TAP
 * check before any reconcile; the others report their figure and must agree after one.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "topo.h"
#include "tracker.h"
#include "util.h"

static struct tracker trk;
static struct topo_set all;

static void pair(int type, int sv[2], struct topo_set *s)
{
	if (socketpair(AF_UNIX, type, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	topo_set_add(s, topo_set_add_fd(&all, sv[0]));
	topo_set_add(s, topo_set_add_fd(&all, sv[1]));
}

static void expect(const struct topo_set *s, const char *label, bool exact)
{
	tracker_expect(&trk, -1, s->inos, s->n, label, exact);
}

static void scenario_dup(void)
{
	struct topo_set s = { 0 };
	int sv[2], d;

	pair(SOCK_STREAM | SOCK_CLOEXEC, sv, &s);
	d = dup(sv[0]);
	close(sv[0]);
	expect(&s, "dup: first of two fds closed, socket lives", true);
	close(d);
	expect(&s, "dup: last fd closed, socket gone, peer dead", true);
	close(sv[1]);
	topo_set_free(&s);
}

static int wait_body(struct topo_child *c, void *arg)
{
	topo_report(c, NULL, 0);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

static void scenario_fork(void)
{
	struct topo_set s = { 0 };
	struct topo_proc p = { 0 };
	int sv[2];
	__u64 none;

	pair(SOCK_DGRAM | SOCK_CLOEXEC, sv, &s);
	if (topo_proc_start(&p, wait_body, NULL, true) || topo_recv(&p, &none, 0) < 0)
		tap_bail("fork holder: %s", strerror(errno));
	close(sv[0]);
	expect(&s, "fork: parent closed its fd, the child still holds the socket", true);
	is_int(topo_proc_finish(&p), 0, "fork: child exits");
	expect(&s, "fork: the child's exit released the last reference", true);
	close(sv[1]);
	topo_set_free(&s);
}

/* Move fd to the lowest free fd >= at; returns it. */
static int move_fd(int fd, int at)
{
	int to = fcntl(fd, F_DUPFD_CLOEXEC, at);

	if (to < 0)
		tap_bail("F_DUPFD: %s", strerror(errno));
	close(fd);
	return to;
}

static void scenario_close_range(void)
{
	struct topo_set s = { 0 };
	int sv[4][2], keep, i;

	/* the pairs sit at 500..507, clear of every other fd of the test (the map's too) */
	for (i = 0; i < 4; i++) {
		pair(i % 2 ? SOCK_SEQPACKET : SOCK_STREAM, sv[i], &s);
		sv[i][0] = move_fd(sv[i][0], 500 + 2 * i);
		sv[i][1] = move_fd(sv[i][1], 501 + 2 * i);
	}
	/* one socket of the range survives through a dup above it */
	keep = move_fd(dup(sv[2][0]), 600);
	if (sv[0][0] != 500 || sv[3][1] != 507 || close_range(500, 507, 0))
		tap_bail("close_range: %s", strerror(errno));
	expect(&s, "close_range over 4 pairs, one socket kept by a dup outside the range", true);
	close(keep);
	expect(&s, "close_range: the kept socket closed too", true);
	topo_set_free(&s);
}

static void scenario_dup2(void)
{
	struct topo_set s = { 0 };
	int a[2], b[2], c[2];

	pair(SOCK_STREAM | SOCK_CLOEXEC, a, &s);
	pair(SOCK_DGRAM | SOCK_CLOEXEC, b, &s);
	pair(SOCK_SEQPACKET | SOCK_CLOEXEC, c, &s);
	if (dup2(b[0], a[0]) < 0 || dup3(b[1], c[0], O_CLOEXEC) < 0)
		tap_bail("dup2/dup3: %s", strerror(errno));
	expect(&s, "dup2 and dup3 over a socket release it", true);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	close(c[0]);
	close(c[1]);
	expect(&s, "dup2: everything closed", true);
	topo_set_free(&s);
}

static void scenario_scm_rights(void)
{
	struct topo_set s = { 0 }, r = { 0 };
	int car[2], p[2], q[2], got = -1;
	char c;

	pair(SOCK_STREAM | SOCK_CLOEXEC, car, &s);
	pair(SOCK_STREAM | SOCK_CLOEXEC, p, &s);
	if (topo_send_fds(car[0], &p[0], 1))
		tap_bail("SCM_RIGHTS send: %s", strerror(errno));
	close(p[0]);
	expect(&s, "SCM_RIGHTS: sent and closed by the sender, alive in flight", true);
	if (topo_recv_fds(car[1], &got, 1) != 1)
		tap_bail("SCM_RIGHTS recv: %s", strerror(errno));
	expect(&s, "SCM_RIGHTS: received", true);
	close(got);
	expect(&s, "SCM_RIGHTS: closed by the receiver, released", true);
	close(p[1]);

	/* paths no hook sees (bpf.md 3.7): only a reconcile can fix them */
	pair(SOCK_DGRAM | SOCK_CLOEXEC, q, &r);
	if (topo_send_fds(car[0], &q[0], 1))
		tap_bail("SCM_RIGHTS send: %s", strerror(errno));
	close(q[0]);
	if (read(car[1], &c, 1) != 1) /* no cmsg buffer: the kernel drops the passed file */
		tap_bail("read: %s", strerror(errno));
	tracker_expect(&trk, -1, r.inos, r.n,
		       "SCM_RIGHTS dropped by a plain read(): before reconcile", false);
	close(q[1]);
	pair(SOCK_SEQPACKET | SOCK_CLOEXEC, q, &r);
	if (topo_send_fds(car[0], q, 2))
		tap_bail("SCM_RIGHTS send: %s", strerror(errno));
	close(q[0]);
	close(q[1]);
	close(car[0]);
	close(car[1]);
	tracker_expect(&trk, -1, r.inos, r.n,
		       "SCM_RIGHTS purged in flight with the carrier: before reconcile", false);
	expect(&s, "SCM_RIGHTS: carrier closed", true);
	tracker_expect_reconciled(&trk, -1, r.inos, r.n, "SCM_RIGHTS unhooked paths");
	topo_set_free(&s);
	topo_set_free(&r);
}

static void *blocked_recv(void *arg)
{
	char b;

	return (void *)(long)recv(*(int *)arg, &b, 1, 0);
}

/* Is thread tid of this process asleep (blocked in recv)? */
static bool thread_sleeping(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool sleeping = false;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sleeping = p[2] == 'S';
	if (f)
		fclose(f);
	return sleeping;
}

/*
 * close() while another thread is blocked in recv() on the socket: that thread's fdget
 * reference makes the last fput happen when its recv returns, where no hook sees it
 * (bpf.md 3.7). A figure before reconcile, exact after.
 */
static void scenario_close_while_blocked(void)
{
	struct topo_set s = { 0 };
	pthread_t th;
	int sv[2], i;
	void *ret;

	pair(SOCK_STREAM | SOCK_CLOEXEC, sv, &s);
	if (pthread_create(&th, NULL, blocked_recv, &sv[0]))
		tap_bail("pthread_create failed");
	/* wait until the thread sleeps in recv (the only other thread of the process) */
	for (i = 0; i < 2000; i++) {
		DIR *d = opendir("/proc/self/task");
		struct dirent *e;
		bool asleep = false;

		uint32_t tid;

		while (d && (e = readdir(d)))
			if (!parse_u32(e->d_name, 1, INT32_MAX, &tid) && (pid_t)tid != gettid())
				asleep = thread_sleeping(tid);
		if (d)
			closedir(d);
		if (asleep)
			break;
		usleep(1000);
	}
	close(sv[0]);
	if (write(sv[1], "x", 1) != 1)
		tap_bail("write: %s", strerror(errno));
	pthread_join(th, &ret);
	is_int((long)ret, 1, "the blocked recv() returned after the close");
	tracker_expect(&trk, -1, s.inos, s.n,
		       "close while another thread blocks in recv: before reconcile", false);
	tracker_expect_reconciled(&trk, -1, s.inos, s.n,
				  "close while another thread blocks in recv");
	close(sv[1]);
	topo_set_free(&s);
}

/* A holder that makes pairs with and without close-on-exec, then execs sleep. */
static int exec_body(struct topo_child *c, void *arg)
{
	int a[2], b[2], cc[2];
	__u64 inos[6];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, b) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, cc))
		return 2;
	fcntl(cc[0], F_SETFD, FD_CLOEXEC);
	inos[0] = topo_ino(a[0]);
	inos[1] = topo_ino(a[1]);
	inos[2] = topo_ino(b[0]);
	inos[3] = topo_ino(b[1]);
	inos[4] = topo_ino(cc[0]);
	inos[5] = topo_ino(cc[1]);
	/* a close-on-exec socket also dup'd at a second close-on-exec fd */
	if (fcntl(a[0], F_DUPFD_CLOEXEC, 0) < 0)
		return 2;
	topo_report(c, inos, 6);
	if (topo_wait_cmd(c) != 'x')
		return 0;
	execl("/bin/sleep", "sleep", "1000", (char *)NULL);
	return 3;
}

static bool wait_comm(pid_t pid, const char *want)
{
	char path[64], comm[32];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "re");
		struct timespec ts = { 0, 5000000 };

		if (f) {
			bool match = fgets(comm, sizeof(comm), f) &&
				     !strncmp(comm, want, strlen(want));

			fclose(f);
			if (match)
				return true;
		}
		nanosleep(&ts, NULL);
	}
	return false;
}

/*
 * Until pid sleeps in (clock_)nanosleep: its execve() has returned to user space. The
 * close-on-exec files are closed during exec, but a socket is released by the deferred
 * fput() that runs on that return: the new comm alone is too early to compare with
 * sock_diag.
 */
static bool wait_sleeping(pid_t pid)
{
	char path[64], buf[64];
	int i;

	snprintf(path, sizeof(path), "/proc/%d/syscall", pid);
	for (i = 0; i < 2000; i++) {
		FILE *f = fopen(path, "re");
		struct timespec ts = { 0, 5000000 };
		long nr = -1;

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				nr = strtol(buf, NULL, 10);
			fclose(f);
		}
		if (nr == SYS_nanosleep || nr == SYS_clock_nanosleep)
			return true;
		nanosleep(&ts, NULL);
	}
	return false;
}

static void scenario_exec(void)
{
	struct topo_proc p = { 0 };
	__u64 inos[6];
	size_t i;

	if (topo_proc_start(&p, exec_body, NULL, false) || topo_recv(&p, inos, 6) != 6)
		tap_bail("exec holder: %s", strerror(errno));
	for (i = 0; i < 6; i++)
		topo_set_add(&all, inos[i]);
	tracker_expect(&trk, -1, inos, 6, "exec holder before exec", true);
	topo_send_cmd(&p, 'x');
	ok(wait_comm(p.pid, "sleep") && wait_sleeping(p.pid), "holder exec'd sleep, now asleep");
	tracker_expect(&trk, -1, inos, 6, "exec released the close-on-exec sockets", true);
	topo_proc_kill(&p);
	tracker_expect(&trk, -1, inos, 6, "exit of the exec'd process released the rest", true);
}

/* A holder with dup'd sockets and a connection to the parent's listener, then exit. */
static int exit_body(struct topo_child *c, void *arg)
{
	const char *path = arg;
	int sv[2], cl, i;
	__u64 inos[3];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 2;
	for (i = 0; i < 3; i++)
		if (dup(sv[0]) < 0 || dup(sv[1]) < 0)
			return 2;
	cl = topo_connected(SOCK_STREAM, path, strlen(path));
	if (cl < 0)
		return 2;
	inos[0] = topo_ino(sv[0]);
	inos[1] = topo_ino(sv[1]);
	inos[2] = topo_ino(cl);
	topo_report(c, inos, 3);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

static void scenario_exit(void)
{
	struct topo_proc p = { 0 };
	struct topo_set s = { 0 };
	char path[256];
	__u64 inos[3];
	int lfd, afd, i;

	topo_path(path, sizeof(path), "exit.sock");
	lfd = topo_bound(SOCK_STREAM | SOCK_CLOEXEC, path, strlen(path), 4);
	if (lfd < 0 || topo_proc_start(&p, exit_body, path, false) || topo_recv(&p, inos, 3) != 3)
		tap_bail("exit holder: %s", strerror(errno));
	afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	topo_set_add(&s, topo_set_add_fd(&all, lfd));
	topo_set_add(&s, topo_set_add_fd(&all, afd));
	for (i = 0; i < 3; i++) {
		topo_set_add(&s, inos[i]);
		topo_set_add(&all, inos[i]);
	}
	expect(&s, "exit holder alive: 4 fds per socket of its pair, a connection to us", true);
	is_int(topo_proc_finish(&p), 0, "exit holder exits");
	expect(&s, "process exit released its sockets (dup'd fds too); our side sees a dead peer",
	       true);
	close(afd);
	close(lfd);
	topo_set_free(&s);
}

int main(void)
{
	atexit(topo_path_cleanup);
	tracker_test_init(&trk, "fds");

	scenario_dup();
	scenario_fork();
	scenario_close_range();
	scenario_dup2();
	scenario_scm_rights();
	scenario_close_while_blocked();
	scenario_exec();
	scenario_exit();

	tracker_expect_reconciled(&trk, -1, all.inos, all.n, "every socket of the test");
	topo_set_free(&all);
	return done_testing();
}
