// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the restore e2e tests (not a test itself: no test_ prefix). It builds one
 * topology, touches DIR/ready, then counts forever (DIR/counter every 2 ms). On SIGUSR1 it
 * checks by itself that its state survived a dump and restore, and exits 0 (or prints
 * "rsttgt: FAIL ..." to stderr and exits 1). DIR/expect holds the counter at dump time.
 *
 *   rsttgt TOPOLOGY DIR [ARG]
 *
 *   basic         memory (heap, anonymous and COW'd file mappings), files at offsets,
 *                 fd numbers and close-on-exec, cwd, umask, comm, signal mask, a pending
 *                 signal, the SIGUSR1 handler itself, an itimer, the nice value and the
 *                 robust futex list glibc registered
 *   sockets       stream/dgram/seqpacket socketpairs with queued data, a half-closed pair,
 *                 a pipe with data, a listener with an accepted and a pending connection,
 *                 a named dgram server with a connected client, an abstract name
 *   tree          session leader with two children (one with a child of its own) sharing
 *                 a socketpair and a pipe; pids, parents, session and group are checked
 *   logd-server   (not dumped) a dgram server bound at DIR/logd, appends to DIR/log.txt
 *   logd-client   a dgram socket connected to the server at ARG; on SIGUSR1 it sends
 *                 "after-restore" there and exits 0 if the send worked
 *   stream-server (not dumped) a stream listener at DIR/ssrv; what each connection sends
 *                 is appended to DIR/log.txt
 *   stream-client a stream socket (fd 4) connected to the listener at ARG; on SIGUSR1 it
 *                 sends "after-restore" on it
 *   chroot        chroot()ed into DIR (its files are then /counter, /ready, /expect);
 *                 checks that / is still DIR and its cwd DIR/sub
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topo.h"

#define PATTERN_PAGES 64
#define HEAP_BYTES (1 << 20)

static char dir[200];
static volatile sig_atomic_t verify_now;
static int failures;
static unsigned long counter;

static void die(const char *what)
{
	dprintf(2, "rsttgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

#define check(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			dprintf(2, "rsttgt[%d]: FAIL %s:%d: ", getpid(), __func__, __LINE__); \
			dprintf(2, __VA_ARGS__);                                              \
			dprintf(2, " (errno %d)\n", errno);                                   \
			failures++;                                                           \
		}                                                                             \
	} while (0)

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* topo_bound()/topo_connected() with a setup failure being fatal. */
static int bound(int type, const char *name, size_t len)
{
	int s = topo_bound(type, name, len, 0);

	if (s < 0)
		die("bind");
	return s;
}

static int connected(int type, const char *path)
{
	int s = topo_connected(type, path, strlen(path));

	if (s < 0)
		die("connect");
	return s;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

/* Read exactly one message (or up to sizeof buf stream bytes) and compare. */
static void expect_read(int fd, const char *want, const char *what)
{
	char buf[256] = { 0 };
	ssize_t n = recv(fd, buf, strlen(want), MSG_DONTWAIT);

	if (n < 0 && errno == ENOTSOCK)
		n = read(fd, buf, strlen(want));
	check(n == (ssize_t)strlen(want) && !memcmp(buf, want, strlen(want)),
	      "%s: read %zd bytes '%.*s', want '%s'", what, n, (int)(n > 0 ? n : 0), buf, want);
}

/* One datagram, boundaries kept: a larger buffer must still return exactly want. */
static void expect_msg(int fd, const char *want, const char *what)
{
	char buf[256] = { 0 };
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	check(n == (ssize_t)strlen(want) && !memcmp(buf, want, strlen(want)),
	      "%s: message of %zd bytes '%.*s', want '%s'", what, n, (int)(n > 0 ? n : 0), buf,
	      want);
}

static void roundtrip(int a, int b, const char *what)
{
	put(a, "rt");
	expect_read(b, "rt", what);
}

static void expect_name(int fd, bool peer, const char *name, size_t len, const char *what)
{
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);
	int r = peer ? getpeername(fd, (struct sockaddr *)&sa, &sl) :
		       getsockname(fd, (struct sockaddr *)&sa, &sl);

	/* Path names come back with the NUL the kernel appends at bind (Linux >= 5.x). */
	if (len && name[0] && sl == offsetof(struct sockaddr_un, sun_path) + len + 1)
		sl--;
	check(r == 0 && sl == offsetof(struct sockaddr_un, sun_path) + len &&
		      !memcmp(sa.sun_path, name, len),
	      "%s: %s name differs (len %u)", what, peer ? "peer" : "own", sl);
}

/* The open fd numbers, as a bitmap of the first 1024 (the reading fd excluded). */
static void fd_set_of(unsigned char *bits)
{
	char p[64];
	int fd;

	memset(bits, 0, 128);
	for (fd = 0; fd < 1024; fd++) {
		snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
		if (access(p, F_OK) == 0)
			bits[fd / 8] |= 1 << (fd % 8);
	}
}

/* ---- basic ---- */

static struct {
	unsigned char *heap, *anon, *cow;
	int data_fd, app_fd, null_fd, dir_fd;
	char comm[16];
	uid_t uid;
	gid_t gid;
	int ngroups, capbset_net_raw;
	unsigned char fds[128];
	gid_t groups[64];
	void *robust_head;
	size_t robust_len;
} b;

static void fill(unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static bool filled(const unsigned char *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return false;
	return true;
}

static void setup_basic(void)
{
	char p[300];
	sigset_t s;
	int fd;

	b.heap = malloc(HEAP_BYTES);
	if (!b.heap)
		die("malloc");
	fill(b.heap, HEAP_BYTES, 1);
	b.anon = mmap(NULL, PATTERN_PAGES * 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b.anon == MAP_FAILED)
		die("mmap");
	fill(b.anon, PATTERN_PAGES * 4096, 2);
	path_of(p, sizeof(p), "mapped");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 4 * 4096))
		die("mapped");
	b.cow = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (b.cow == MAP_FAILED)
		die("mmap file");
	close(fd);
	fill(b.cow + 4096, 4096, 3); /* one COW'd page, the others still the file's zeros */

	path_of(p, sizeof(p), "data");
	fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("data");
	put(fd, "0123456789");
	lseek(fd, 4, SEEK_SET);
	b.data_fd = dup2(fd, 42);
	close(fd);
	path_of(p, sizeof(p), "append");
	b.app_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	b.null_fd = open("/dev/null", O_RDWR);
	b.dir_fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (b.data_fd < 0 || b.app_fd < 0 || b.null_fd < 0)
		die("files");
	put(b.app_fd, "first;");
	if (chdir(dir))
		die("chdir");
	umask(027);
	snprintf(b.comm, sizeof(b.comm), "rst-basic");
	prctl(PR_SET_NAME, b.comm);
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, NULL);
	kill(getpid(), SIGUSR2); /* stays pending */
	b.uid = geteuid();
	b.gid = getegid();
	b.ngroups = getgroups(64, b.groups);
	b.capbset_net_raw = prctl(PR_CAPBSET_READ, 13 /* CAP_NET_RAW */);
	fd_set_of(b.fds);
	{
		/* a virtual-time timer that never fires here: it only has to come back armed */
		struct itimerval it = { .it_interval = { 1000, 0 }, .it_value = { 2000, 0 } };

		if (setitimer(ITIMER_VIRTUAL, &it, NULL) || setpriority(PRIO_PROCESS, 0, 7))
			die("itimer/nice");
	}
	if (syscall(SYS_get_robust_list, 0, &b.robust_head, &b.robust_len) || !b.robust_head)
		die("get_robust_list");
}

static void verify_basic(void)
{
	char buf[64] = { 0 }, p[300];
	sigset_t s;
	mode_t m;

	check(filled(b.heap, HEAP_BYTES, 1), "heap pattern");
	check(filled(b.anon, PATTERN_PAGES * 4096, 2), "anonymous mapping pattern");
	check(filled(b.cow + 4096, 4096, 3), "COW'd page of the file mapping");
	check(b.cow[0] == 0 && b.cow[3 * 4096] == 0, "untouched pages of the file mapping");
	check(read(42, buf, 2) == 2 && !memcmp(buf, "45", 2), "fd 42 at offset 4: '%s'", buf);
	check(fcntl(42, F_GETFD) == 0, "fd 42 has no close-on-exec");
	check(fcntl(b.app_fd, F_GETFD) == FD_CLOEXEC, "append fd keeps close-on-exec");
	check((fcntl(b.app_fd, F_GETFL) & O_APPEND) != 0, "append fd keeps O_APPEND");
	put(b.app_fd, "second;");
	path_of(p, sizeof(p), "append");
	{
		int fd = open(p, O_RDONLY);

		memset(buf, 0, sizeof(buf));
		check(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 13 &&
			      !strcmp(buf, "first;second;"),
		      "append file holds '%s'", buf);
		close(fd);
	}
	check(write(b.null_fd, "x", 1) == 1, "/dev/null writable");
	check(faccessat(b.dir_fd, "data", R_OK, 0) == 0, "directory fd still resolves names");
	check(getcwd(buf, sizeof(buf)) && !strcmp(buf, dir), "cwd is %s", buf);
	m = umask(0);
	check(m == 027, "umask %o", m);
	prctl(PR_GET_NAME, buf);
	check(!strcmp(buf, b.comm), "comm '%s'", buf);
	sigprocmask(SIG_BLOCK, NULL, &s);
	check(sigismember(&s, SIGUSR2), "SIGUSR2 still blocked");
	sigpending(&s);
	check(sigismember(&s, SIGUSR2), "SIGUSR2 still pending");
	check(getuid() == b.uid && geteuid() == b.uid && getgid() == b.gid && getegid() == b.gid,
	      "credentials uid %d gid %d, want %d/%d", geteuid(), getegid(), b.uid, b.gid);
	{
		gid_t g[64];
		int n = getgroups(64, g);

		check(n == b.ngroups && !memcmp(g, b.groups, n * sizeof(g[0])),
		      "%d supplementary groups, want %d", n, b.ngroups);
	}
	{
		unsigned char now[128];

		fd_set_of(now);
		check(!memcmp(now, b.fds, sizeof(now)), "the same fd numbers are open, no more");
	}
	check(prctl(PR_CAPBSET_READ, 13) == b.capbset_net_raw, "CAP_NET_RAW in bounding set: %d",
	      b.capbset_net_raw);
	{
		struct itimerval it;
		void *head = NULL;
		size_t len = 0;

		check(!getitimer(ITIMER_VIRTUAL, &it) && it.it_interval.tv_sec == 1000 &&
			      it.it_value.tv_sec > 1000,
		      "ITIMER_VIRTUAL armed: interval %ld value %ld", (long)it.it_interval.tv_sec,
		      (long)it.it_value.tv_sec);
		errno = 0;
		check(getpriority(PRIO_PROCESS, 0) == 7 && !errno, "nice 7: %d",
		      getpriority(PRIO_PROCESS, 0));
		check(!syscall(SYS_get_robust_list, 0, &head, &len) && head == b.robust_head &&
			      len == b.robust_len,
		      "robust futex list %p/%zu, want %p/%zu", head, len, b.robust_head,
		      b.robust_len);
	}
}

/* ---- sockets ---- */

static struct {
	int sp[2], dg[2], sq[2], hc[2], pp[2];
	int lsn, c1, acc, c2, dsrv, dcli, abs, gone;
	char lsn_path[300], dsrv_path[300];
} k;

/* Abstract names are per network namespace: make ours unique to this target's DIR. */
static char abs_name[108];
static size_t abs_len;

static void setup_sockets(void)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, k.sp) || socketpair(AF_UNIX, SOCK_DGRAM, 0, k.dg) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, k.sq) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, k.hc) || pipe(k.pp))
		die("socketpair");
	put(k.sp[0], "to-one");
	put(k.sp[1], "to-zero");
	put(k.dg[0], "d1");
	put(k.dg[0], "d22");
	put(k.dg[0], "d333");
	put(k.sq[1], "s1");
	put(k.sq[1], "s22");
	put(k.hc[0], "last");
	shutdown(k.hc[0], SHUT_WR);
	put(k.pp[1], "piped");

	path_of(k.lsn_path, sizeof(k.lsn_path), "lsn");
	k.lsn = bound(SOCK_STREAM, k.lsn_path, strlen(k.lsn_path));
	if (listen(k.lsn, 7))
		die("listen");
	k.c1 = connected(SOCK_STREAM, k.lsn_path);
	k.acc = accept(k.lsn, NULL, NULL);
	if (k.acc < 0)
		die("accept");
	put(k.c1, "for-server");
	put(k.acc, "for-client");
	k.c2 = connected(SOCK_STREAM, k.lsn_path); /* left pending */

	path_of(k.dsrv_path, sizeof(k.dsrv_path), "dsrv");
	k.dsrv = bound(SOCK_DGRAM, k.dsrv_path, strlen(k.dsrv_path));
	k.dcli = connected(SOCK_DGRAM, k.dsrv_path);
	put(k.dcli, "m1");
	put(k.dcli, "m22");
	abs_len = 1 + (size_t)snprintf(abs_name + 1, sizeof(abs_name) - 1, "crux-rsttgt%s", dir);
	k.abs = bound(SOCK_DGRAM, abs_name, abs_len);
	{
		char p[300];

		path_of(p, sizeof(p), "gone");
		k.gone = bound(SOCK_STREAM, p, strlen(p));
		unlink(p); /* bound to a name since removed */
	}
}

static void verify_sockets(void)
{
	char buf[16];
	int a;

	expect_read(k.sp[1], "to-one", "stream pair 0->1 queue");
	expect_read(k.sp[0], "to-zero", "stream pair 1->0 queue");
	roundtrip(k.sp[0], k.sp[1], "stream pair after restore");
	expect_msg(k.dg[1], "d1", "dgram pair message 1");
	expect_msg(k.dg[1], "d22", "dgram pair message 2");
	expect_msg(k.dg[1], "d333", "dgram pair message 3");
	roundtrip(k.dg[1], k.dg[0], "dgram pair after restore");
	expect_msg(k.sq[0], "s1", "seqpacket message 1");
	expect_msg(k.sq[0], "s22", "seqpacket message 2");
	roundtrip(k.sq[0], k.sq[1], "seqpacket pair after restore");
	expect_read(k.hc[1], "last", "half-closed pair queue");
	check(read(k.hc[1], buf, sizeof(buf)) == 0, "half-closed pair reads EOF");
	roundtrip(k.hc[1], k.hc[0], "half-closed pair, other direction");
	expect_read(k.pp[0], "piped", "pipe data");
	roundtrip(k.pp[1], k.pp[0], "pipe after restore");

	expect_read(k.acc, "for-server", "accepted connection queue");
	expect_read(k.c1, "for-client", "client connection queue");
	roundtrip(k.c1, k.acc, "accepted connection after restore");
	expect_name(k.acc, false, k.lsn_path, strlen(k.lsn_path), "accepted socket");
	expect_name(k.c1, true, k.lsn_path, strlen(k.lsn_path), "client socket");
	a = accept(k.lsn, NULL, NULL);
	check(a >= 0, "the pending connection is still queued on the listener");
	if (a >= 0)
		roundtrip(k.c2, a, "pending connection once accepted");

	expect_msg(k.dsrv, "m1", "dgram server message 1");
	expect_msg(k.dsrv, "m22", "dgram server message 2");
	roundtrip(k.dcli, k.dsrv, "dgram client to its server");
	expect_name(k.dcli, true, k.dsrv_path, strlen(k.dsrv_path), "dgram client");
	expect_name(k.abs, false, abs_name, abs_len, "abstract socket");
	{
		char p[300];
		struct stat st;

		path_of(p, sizeof(p), "gone");
		expect_name(k.gone, false, p, strlen(p), "socket bound to a deleted path");
		check(stat(p, &st) < 0 && errno == ENOENT, "the deleted path stays deleted");
	}
}

/* ---- tree ---- */

static struct {
	pid_t root, child[2], grandchild, parent;
	int sp[2], pp[2];
} t;

static void child_loop(int idx)
{
	while (!verify_now)
		pause();
	check(getppid() == t.parent, "parent is %d, was %d", getppid(), t.parent);
	check(getsid(0) == t.root, "session %d, want %d", getsid(0), t.root);
	check(getpgrp() == t.root, "group %d, want %d", getpgrp(), t.root);
	if (idx == 0) {
		kill(t.grandchild, SIGUSR1);
		expect_read(t.sp[1], "to-child", "tree socketpair queue");
		put(t.sp[1], "to-parent");
		int st = 0;
		check(waitpid(t.grandchild, &st, 0) == t.grandchild && WIFEXITED(st) &&
			      WEXITSTATUS(st) == 0,
		      "grandchild status %#x", st);
	} else if (idx == 1) {
		expect_read(t.pp[0], "tree-pipe", "tree pipe data");
	}
	_exit(failures ? 1 : 0);
}

static void on_usr1(int sig);

static pid_t fork_child(int idx)
{
	pid_t c = fork();

	if (c < 0)
		die("fork");
	if (c == 0) {
		t.parent = getppid();
		if (idx == 0)
			t.grandchild = fork_child(2);
		child_loop(idx);
	}
	return c;
}

static void setup_tree(void)
{
	setsid();
	t.root = getpid();
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, t.sp) || pipe(t.pp))
		die("socketpair/pipe");
	put(t.sp[0], "to-child");
	put(t.pp[1], "tree-pipe");
	t.child[0] = fork_child(0);
	t.child[1] = fork_child(1);
}

static void verify_tree(void)
{
	int i, st;

	check(getpid() == t.root && getsid(0) == t.root, "root pid/session");
	for (i = 0; i < 2; i++)
		kill(t.child[i], SIGUSR1);
	for (i = 0; i < 2; i++) {
		st = -1;
		check(waitpid(t.child[i], &st, 0) == t.child[i] && WIFEXITED(st) &&
			      WEXITSTATUS(st) == 0,
		      "child %d exit status %#x", t.child[i], st);
	}
	{
		char buf[16] = { 0 };
		ssize_t n = read(t.sp[0], buf, sizeof(buf));

		check(n == 9 && !memcmp(buf, "to-parent", 9), "reply from child 0: '%s'", buf);
	}
}

/* ---- logd ---- */

static int logd_fd = -1;

static void run_logd_server(void)
{
	char p[300], buf[512];
	int s, out;

	path_of(p, sizeof(p), "logd");
	unlink(p);
	s = bound(SOCK_DGRAM, p, strlen(p));
	path_of(p, sizeof(p), "log.txt");
	out = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (out < 0)
		die("log.txt");
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT, 0600));
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n > 0) {
			buf[n++] = '\n';
			if (write(out, buf, (size_t)n) != n)
				die("log write");
		}
	}
}

/* Serve any number of connections, one line per read, until killed. */
static void run_stream_server(void)
{
	char p[300], buf[512];
	struct pollfd fds[64];
	int n = 1, out, i;

	path_of(p, sizeof(p), "ssrv");
	unlink(p);
	fds[0].fd = topo_bound(SOCK_STREAM, p, strlen(p), 16);
	fds[0].events = POLLIN;
	path_of(p, sizeof(p), "log.txt");
	out = open(p, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fds[0].fd < 0 || out < 0)
		die("stream server");
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT, 0600));
	for (;;) {
		if (poll(fds, n, -1) < 0)
			continue;
		if ((fds[0].revents & POLLIN) && n < 64) {
			fds[n].fd = accept(fds[0].fd, NULL, NULL);
			fds[n].events = POLLIN;
			n += fds[n].fd >= 0;
		}
		for (i = 1; i < n; i++) {
			ssize_t r;

			if (!fds[i].revents)
				continue;
			r = read(fds[i].fd, buf, sizeof(buf) - 1);
			if (r <= 0) { /* closed: forget it */
				close(fds[i].fd);
				fds[i--] = fds[--n];
				continue;
			}
			buf[r++] = '\n';
			if (write(out, buf, (size_t)r) != r)
				die("log write");
		}
	}
}

static void verify_logd(void)
{
	ssize_t n = send(logd_fd, "after-restore", 13, 0);

	check(n == 13, "send to the logd after restore: %zd", n);
}

/* ---- main ---- */

static void on_usr1(int sig)
{
	(void)sig;
	verify_now = 1;
}

static unsigned long read_expect(void)
{
	char p[300], buf[32] = { 0 };
	int fd;

	path_of(p, sizeof(p), "expect");
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, buf, sizeof(buf) - 1) < 0)
		buf[0] = '\0';
	close(fd);
	return strtoul(buf, NULL, 10);
}

static struct stat chroot_dir, chroot_cwd;

/* Root into DIR, cwd in DIR/sub: both must come back from a restore. */
static void setup_chroot(void)
{
	char p[300];

	path_of(p, sizeof(p), "sub");
	if (mkdir(p, 0700) && errno != EEXIST)
		die("mkdir sub");
	if (stat(dir, &chroot_dir) || stat(p, &chroot_cwd))
		die("stat");
	if (chdir(p) || chroot(dir))
		die("chroot");
	dir[0] = '\0'; /* path_of() now gives /counter, /ready, ... inside the new root */
}

static void verify_chroot(void)
{
	struct stat root, cwd;

	check(!stat("/", &root) && root.st_ino == chroot_dir.st_ino &&
		      root.st_dev == chroot_dir.st_dev,
	      "/ is not the directory it was chroot()ed into");
	check(!stat(".", &cwd) && cwd.st_ino == chroot_cwd.st_ino, "cwd is not DIR/sub");
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	const char *topo;
	unsigned long expect;
	char p[300];
	int cfd;

	if (argc < 3) {
		dprintf(2, "usage: rsttgt TOPOLOGY DIR [ARG]\n");
		return 64;
	}
	topo = argv[1];
	if (!realpath(argv[2], dir))
		die("realpath");
	close_range(3, ~0U, 0); /* hold nothing of whoever started us beyond stdio */
	if (!strcmp(topo, "logd-server"))
		run_logd_server();
	if (!strcmp(topo, "stream-server"))
		run_stream_server();
	sigaction(SIGUSR1, &sa, NULL);
	path_of(p, sizeof(p), "counter");
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	if (!strcmp(topo, "basic"))
		setup_basic();
	else if (!strcmp(topo, "sockets"))
		setup_sockets();
	else if (!strcmp(topo, "tree"))
		setup_tree();
	else if (!strcmp(topo, "chroot"))
		setup_chroot();
	else if (!strcmp(topo, "logd-client") && argc > 3) {
		logd_fd = connected(SOCK_DGRAM, argv[3]);
		put(logd_fd, "hello");
	} else if (!strcmp(topo, "stream-client") && argc > 3) {
		logd_fd = connected(SOCK_STREAM, argv[3]);
		put(logd_fd, "hello");
	} else {
		dprintf(2, "rsttgt: unknown topology %s\n", topo);
		return 64;
	}
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	while (!verify_now) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++counter);

		if (pwrite(cfd, buf, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
	expect = read_expect();
	check(expect > 0 && counter >= expect, "counter %lu, at dump it was %lu", counter, expect);
	if (!strcmp(topo, "basic"))
		verify_basic();
	else if (!strcmp(topo, "sockets"))
		verify_sockets();
	else if (!strcmp(topo, "tree"))
		verify_tree();
	else if (!strcmp(topo, "chroot"))
		verify_chroot();
	else
		verify_logd();
	if (failures)
		dprintf(2, "rsttgt: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
