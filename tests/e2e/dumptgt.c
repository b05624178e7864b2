// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the dump e2e tests (not a test itself: no test_ prefix). It builds one topology,
 * touches READY, then counts forever, writing its counter into COUNTER every few ms.
 *
 *   dumptgt TOPOLOGY DIR [ARG]      files in DIR: ready, counter (and sockets it binds)
 *
 * Topologies:
 *   simple        /dev/null, a regular file at an offset, a directory fd
 *   kinds         socketpairs (stream with queued bytes both ways, dgram and seqpacket with
 *                 messages), a half-closed pair, a pipe with data, abstract and path-bound
 *                 unconnected sockets, a socket bound to a deleted path
 *   listener      a listener with one accepted connection (queued data) and one pending
 *   tree          two children; all three share a socketpair and a pipe
 *   dgram-client  a dgram socket connected to the outside server at ARG (sends "hello")
 *   stream-client a stream socket connected to the outside listener at ARG
 *   dgram-server  a dgram server bound at DIR/srv (outside clients connect to it)
 *   forker        forks a short-lived child every millisecond
 *   zombie        a child that has exited and is never reaped
 *   shut          socketpairs half and fully shut down: stream (fds 4, 5) SHUT_RDWR on 4,
 *                 seqpacket (6, 7) SHUT_WR on 6, dgram (8, 9) SHUT_RD on 8
 *   shared        ARG = pipe | socket | reopen | inflight: a parent forks the target (the
 *                 tree to dump, its pid in DIR/child) holding both ends of a pipe and of a
 *                 socketpair, and stays outside it holding one of them too: the pipe's write
 *                 end, one socket, the write end reopened through /proc, or the write end
 *                 in flight in a socket queue of its own. SIGUSR1 makes it let go.
 *   scm           a socketpair with an fd in flight (SCM_RIGHTS) in its queue
 *   pidfd         a pidfd of itself (a kind crux does not dump yet)
 *   threads       a second thread
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];
static int counter_fd = -1;

static void die(const char *what)
{
	dprintf(2, "dumptgt: %s: %s\n", what, strerror(errno));
	exit(2);
}

static socklen_t addr_of(struct sockaddr_un *sa, const char *name, size_t len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, len);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int try_bound(int type, const char *name, size_t len)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, type, 0);

	if (s < 0)
		die("socket");
	if (bind(s, (struct sockaddr *)&sa, addr_of(&sa, name, len))) {
		close(s);
		return -1;
	}
	return s;
}

static int bound(int type, const char *name, size_t len)
{
	int s = try_bound(type, name, len);

	if (s < 0)
		die("bind");
	return s;
}

static int connected(int type, const char *path)
{
	struct sockaddr_un sa;
	int s = socket(AF_UNIX, type, 0);

	if (s < 0 || connect(s, (struct sockaddr *)&sa, addr_of(&sa, path, strlen(path))))
		die("connect");
	return s;
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		die("write");
}

static void topo_simple(void)
{
	char p[300];
	int f;

	if (open("/dev/null", O_RDWR) < 0)
		die("/dev/null");
	snprintf(p, sizeof(p), "%s/data", dir);
	f = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (f < 0)
		die("data");
	put(f, "0123456789");
	lseek(f, 4, SEEK_SET);
	if (open(dir, O_RDONLY | O_DIRECTORY) < 0)
		die("dir");
}

static void topo_kinds(void)
{
	int sp[2], dg[2], sq[2], hc[2], pp[2];
	char p[300], abs_name[64];
	int abs_len;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		die("socketpair");
	put(sp[0], "to-one");
	put(sp[1], "to-zero");
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		die("socketpair dgram");
	put(dg[0], "d1");
	put(dg[0], "d22");
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq))
		die("socketpair seqpacket");
	put(sq[1], "s1");
	put(sq[1], "s22");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, hc))
		die("socketpair half");
	put(hc[0], "last");
	shutdown(hc[0], SHUT_WR);
	if (pipe(pp))
		die("pipe");
	put(pp[1], "piped");
	/* the well-known name (tests look for it), or a per-target one while it is taken */
	abs_len = snprintf(abs_name, sizeof(abs_name), "@crux-dumptgt-abstract");
	abs_name[0] = 0;
	if (try_bound(SOCK_DGRAM, abs_name, (size_t)abs_len) < 0) {
		abs_len =
			snprintf(abs_name, sizeof(abs_name), "@crux-dumptgt-abstract-%d", getpid());
		abs_name[0] = 0;
		bound(SOCK_DGRAM, abs_name, (size_t)abs_len);
	}
	snprintf(p, sizeof(p), "%s/bound", dir);
	bound(SOCK_DGRAM, p, strlen(p));
	snprintf(p, sizeof(p), "%s/gone", dir);
	bound(SOCK_STREAM, p, strlen(p));
	unlink(p);
}

static void topo_listener(void)
{
	char p[300];
	int l, c1, c2, a;

	snprintf(p, sizeof(p), "%s/lsn", dir);
	l = bound(SOCK_STREAM, p, strlen(p));
	if (listen(l, 7))
		die("listen");
	c1 = connected(SOCK_STREAM, p);
	a = accept(l, NULL, NULL);
	if (a < 0)
		die("accept");
	put(c1, "queued-for-server");
	put(a, "queued-for-client");
	c2 = connected(SOCK_STREAM, p); /* left pending */
	(void)c2;
}

static void topo_tree(void)
{
	int sp[2], pp[2], i;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) || pipe(pp))
		die("socketpair/pipe");
	put(pp[1], "tree-pipe");
	for (i = 0; i < 2; i++) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
}

static void topo_dgram_server(void)
{
	char p[300];

	snprintf(p, sizeof(p), "%s/srv", dir);
	bound(SOCK_DGRAM, p, strlen(p));
}

static void topo_scm(void)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} c;
	struct iovec iov = { .iov_base = "f", .iov_len = 1 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.b, .msg_controllen = sizeof(c.b)
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int sp[2], nul = open("/dev/null", O_RDONLY);

	if (nul < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		die("socketpair");
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &nul, sizeof(int));
	if (sendmsg(sp[0], &mh, 0) != 1)
		die("sendmsg");
	close(nul);
}

static void *idle_thread(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static void topo_forker(void)
{
	pid_t c = fork();

	if (c < 0)
		die("fork");
	if (c)
		return;
	/* a child that keeps forking short-lived grandchildren, and reaps them */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		pid_t g = fork();

		if (g == 0)
			_exit(0);
		if (g > 0)
			waitpid(g, NULL, 0);
		usleep(1000);
	}
}

static void topo_shut(void)
{
	int st[2], sq[2], dg[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, st) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sq) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, dg))
		die("socketpair");
	if (st[0] != 4 || dg[1] != 9)
		die("unexpected fd numbers");
	if (shutdown(st[0], SHUT_RDWR) || shutdown(sq[0], SHUT_WR) || shutdown(dg[0], SHUT_RD))
		die("shutdown");
}

static void let_go(int sig)
{
	(void)sig;
	close_range(3, ~0U, 0);
}

/* The parent half of `shared`: returns in the child, which goes on as the target. */
static void topo_shared(const char *what)
{
	int sp[2], p[2], q[2], fd;
	char path[300];
	pid_t c;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sp) || pipe(p) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, q))
		die("shared");
	c = fork();
	if (c < 0)
		die("fork");
	if (c == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(q[0]);
		close(q[1]);
		return;
	}
	signal(SIGUSR1, let_go);
	if (!strcmp(what, "pipe")) {
		close(p[0]);
		close(sp[0]);
		close(sp[1]);
	} else if (!strcmp(what, "socket")) {
		close(p[0]);
		close(p[1]);
		close(sp[1]);
	} else if (!strcmp(what, "reopen")) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", c, p[1]);
		fd = open(path, O_WRONLY);
		if (fd < 0)
			die("reopen");
		close(p[0]);
		close(p[1]);
		close(sp[0]);
		close(sp[1]);
	} else if (!strcmp(what, "inflight")) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { .iov_base = "x", .iov_len = 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &p[1], sizeof(int));
		if (sendmsg(q[0], &mh, 0) != 1)
			die("sendmsg");
		close(p[0]);
		close(p[1]);
		close(sp[0]);
		close(sp[1]);
	} else {
		dprintf(2, "dumptgt: shared: unknown kind %s\n", what);
		exit(64);
	}
	snprintf(path, sizeof(path), "%s/child", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%d\n", c) < 0)
		die("child");
	close(fd);
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	unsigned long counter = 0;
	char p[300], b0[300];
	int fd;

	if (argc < 3) {
		dprintf(2, "usage: dumptgt TOPOLOGY DIR [ARG]\n");
		return 64;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* hold nothing of whoever started us beyond stdio */
	close_range(3, ~0U, 0);
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	snprintf(p, sizeof(p), "%s/counter", dir);
	counter_fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (counter_fd < 0)
		die("counter");
	if (!strcmp(argv[1], "simple"))
		topo_simple();
	else if (!strcmp(argv[1], "kinds"))
		topo_kinds();
	else if (!strcmp(argv[1], "listener"))
		topo_listener();
	else if (!strcmp(argv[1], "tree"))
		topo_tree();
	else if (!strcmp(argv[1], "dgram-client") && argc > 3)
		put(connected(SOCK_DGRAM, argv[3]), "hello");
	else if (!strcmp(argv[1], "stream-client") && argc > 3)
		connected(SOCK_STREAM, argv[3]);
	else if (!strcmp(argv[1], "dgram-server"))
		topo_dgram_server();
	else if (!strcmp(argv[1], "forker"))
		topo_forker();
	else if (!strcmp(argv[1], "shut"))
		topo_shut();
	else if (!strcmp(argv[1], "shared") && argc > 3)
		topo_shared(argv[3]);
	else if (!strcmp(argv[1], "zombie")) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c == 0)
			_exit(0);
		/* never waited for: with SIGCHLD at its default, the child stays a zombie */
	} else if (!strcmp(argv[1], "threads")) {
		pthread_t th;

		if (pthread_create(&th, NULL, idle_thread, NULL))
			die("pthread_create");
	} else if (!strcmp(argv[1], "scm"))
		topo_scm();
	else if (!strcmp(argv[1], "pidfd")) {
		if (syscall(SYS_pidfd_open, getpid(), 0) < 0)
			die("pidfd_open");
	} else {
		dprintf(2, "dumptgt: unknown topology %s\n", argv[1]);
		return 64;
	}
	/* made under another name, then renamed: "ready" never shows while its fd is open (a
	 * test that dumps at once would see one fd more than the target keeps) */
	snprintf(p, sizeof(p), "%s/ready.tmp", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		die("ready");
	close(fd);
	snprintf(b0, sizeof(b0), "%s/ready", dir);
	if (rename(p, b0))
		die("ready");
	for (;;) {
		char b[32];
		int n = snprintf(b, sizeof(b), "%lu\n", ++counter);

		if (pwrite(counter_fd, b, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
}
