// SPDX-License-Identifier: GPL-2.0-only
/*
 * scmtgt TOPOLOGY DIR: a restore target for the unix socket cases of restore_unix.t. It
 * sets TOPOLOGY up, touches DIR/ready, then counts (DIR/counter every 2 ms) until SIGUSR1;
 * then it checks from inside that its state survived and exits 0, or 1 naming each failure.
 *
 *   scm    fds in flight (SCM_RIGHTS), in order with the data around them: a regular file
 *          and a pipe's read end the sender closed, both ends of a socketpair, a socket
 *          sent over itself; a stream message partly read before them.
 *   relname  a datagram socket and a listener bound to relative names in DIR/sub, then
 *          chdir(DIR): the names stay relative, the files stay in DIR/sub.
 *   edge     stream and seqpacket pairs shut down for writing with data queued,
 *          SO_PASSCRED/SO_PASSSEC, an abstract name with NULs in it, a listener with a
 *          full backlog, 4 MiB queued on a stream, 500 datagrams queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static char dir[200];
static volatile sig_atomic_t verify_now;
static int failures;

static void die(const char *what)
{
	dprintf(2, "scmtgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

#define check(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			dprintf(2, "scmtgt[%d]: FAIL %s:%d: ", getpid(), __func__, __LINE__); \
			dprintf(2, __VA_ARGS__);                                              \
			dprintf(2, " (errno %d)\n", errno);                                   \
			failures++;                                                           \
		}                                                                             \
	} while (0)

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* One message, with n fds (SCM_RIGHTS) when n > 0. */
static void send_fds(int sk, const char *data, const int *fds, int n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} cbuf;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = strlen(data) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (n) {
		mh.msg_control = cbuf.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	if (sendmsg(sk, &mh, MSG_DONTWAIT) != (ssize_t)strlen(data))
		die("sendmsg");
}

/* Receive exactly want (strlen bytes) and the fds it carries; returns their count. */
static int recv_fds(int sk, const char *want, int *fds, int max, const char *what)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 8)];
		struct cmsghdr align;
	} cbuf;
	char buf[256] = { 0 };
	struct iovec iov = { .iov_base = buf, .iov_len = strlen(want) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf.b,
			     .msg_controllen = sizeof(cbuf.b) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(sk, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int nf = 0;

	check(n == (ssize_t)strlen(want) && !memcmp(buf, want, strlen(want)),
	      "%s: read %zd bytes '%.*s', want '%s'", what, n, (int)(n > 0 ? n : 0), buf, want);
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		int k, cnt = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		for (k = 0; k < cnt; k++) {
			int fd = ((int *)CMSG_DATA(c))[k];

			if (nf < max)
				fds[nf++] = fd;
			else
				close(fd);
		}
	}
	return nf;
}

static void roundtrip(int a, int b, const char *what)
{
	char buf[8] = { 0 };

	check(write(a, "rt", 2) == 2, "%s: write", what);
	check(read(b, buf, sizeof(buf)) == 2 && !memcmp(buf, "rt", 2), "%s: roundtrip", what);
}

/* ---- scm: fds in flight ---- */
static struct {
	int st[2], dg[2], sq[2];
	int pipe_wr;
	ino_t file_ino;
} scm;

static void setup_scm(void)
{
	int p[2], x[2], fd[2];
	char path[300];
	struct stat st;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, scm.st) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, scm.dg) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, scm.sq) || pipe(p) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, x))
		die("socketpair");
	/* a regular file at offset 3 and a pipe's read end; the sender closes both */
	path_of(path, sizeof(path), "file");
	fd[0] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd[0] < 0 || write(fd[0], "0123456789", 10) != 10 || lseek(fd[0], 3, SEEK_SET) != 3 ||
	    fstat(fd[0], &st))
		die("file");
	scm.file_ino = st.st_ino;
	if (write(p[1], "pipedata", 8) != 8)
		die("pipe");
	fd[1] = p[0];
	/* a partly read message first: the reader took "xx" of it */
	send_fds(scm.st[0], "xxbefore", NULL, 0);
	if (read(scm.st[1], path, 2) != 2)
		die("read");
	send_fds(scm.st[0], "with-file", fd, 2);
	send_fds(scm.st[0], "after", NULL, 0);
	close(fd[0]);
	close(p[0]);
	scm.pipe_wr = p[1];
	/* both ends of a socketpair, closed by the sender, between two other messages */
	send_fds(scm.dg[0], "m1", NULL, 0);
	send_fds(scm.dg[0], "m2", x, 2);
	send_fds(scm.dg[0], "m3", NULL, 0);
	close(x[0]);
	close(x[1]);
	/* a socket sent over itself: sq[1] waits in its own receive queue */
	send_fds(scm.sq[0], "self", &scm.sq[1], 1);
}

static void verify_scm(void)
{
	int fds[4], n;
	char buf[16] = { 0 };
	struct stat st, sq1;

	n = recv_fds(scm.st[1], "before", fds, 4, "stream: data before the fds");
	check(n == 0, "stream: 'before' carries %d fds, want none", n);
	n = recv_fds(scm.st[1], "with-file", fds, 4, "stream: the message with fds");
	check(n == 2, "stream: %d fds with 'with-file', want 2", n);
	if (n == 2) {
		check(!fstat(fds[0], &st) && st.st_ino == scm.file_ino, "the file in flight");
		check(lseek(fds[0], 0, SEEK_CUR) == 3, "the file's offset is 3");
		check(read(fds[0], buf, 3) == 3 && !memcmp(buf, "345", 3), "the file reads 345");
		check(read(fds[1], buf, 8) == 8 && !memcmp(buf, "pipedata", 8),
		      "the pipe in flight holds its data");
		check(write(scm.pipe_wr, "x", 1) == 1 && read(fds[1], buf, 1) == 1 && buf[0] == 'x',
		      "the pipe in flight is the writer's pipe");
	}
	n = recv_fds(scm.st[1], "after", fds, 4, "stream: data after the fds");
	check(n == 0, "stream: 'after' carries %d fds", n);

	n = recv_fds(scm.dg[1], "m1", fds, 4, "dgram: m1");
	check(n == 0, "dgram: m1 carries %d fds", n);
	n = recv_fds(scm.dg[1], "m2", fds, 4, "dgram: m2");
	check(n == 2, "dgram: %d fds with m2, want 2", n);
	if (n == 2) {
		roundtrip(fds[0], fds[1], "the socketpair in flight, one way");
		roundtrip(fds[1], fds[0], "the socketpair in flight, the other way");
	}
	n = recv_fds(scm.dg[1], "m3", fds, 4, "dgram: m3");
	check(n == 0, "dgram: m3 carries %d fds", n);

	n = recv_fds(scm.sq[1], "self", fds, 4, "seqpacket: the socket sent over itself");
	check(n == 1, "seqpacket: %d fds, want 1", n);
	if (n == 1) {
		check(!fstat(fds[0], &st) && !fstat(scm.sq[1], &sq1) && st.st_ino == sq1.st_ino,
		      "it is the socket itself");
		roundtrip(scm.sq[0], fds[0], "through the received copy");
	}
}

/* ---- relname: names bound relative to the cwd of the time ---- */
static struct {
	int dg, lis, cl;
} rel;

static int bind_rel(int type, const char *name)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, type, 0);

	strcpy(sun.sun_path, name);
	if (s < 0 || bind(s, (struct sockaddr *)&sun, sizeof(sun)))
		die("bind");
	return s;
}

static void setup_relname(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char p[300];

	path_of(p, sizeof(p), "sub");
	if (mkdir(p, 0700) || chdir(p))
		die("sub");
	rel.dg = bind_rel(SOCK_DGRAM, "rel.sock");
	rel.lis = bind_rel(SOCK_STREAM, "lis.sock");
	if (listen(rel.lis, 4))
		die("listen");
	/* a client queued on the listener, through the relative name */
	rel.cl = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sun.sun_path, "lis.sock");
	if (rel.cl < 0 || connect(rel.cl, (struct sockaddr *)&sun, sizeof(sun)))
		die("connect");
	if (chdir(dir))
		die("chdir");
}

static void expect_sockname(int fd, const char *want, const char *what)
{
	struct sockaddr_un sun;
	socklen_t l = sizeof(sun);

	check(!getsockname(fd, (struct sockaddr *)&sun, &l) &&
		      l == offsetof(struct sockaddr_un, sun_path) + strlen(want) + 1 &&
		      !strcmp(sun.sun_path, want),
	      "%s: getsockname gives '%s', want '%s'", what, sun.sun_path, want);
}

static void verify_relname(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char cwd[300], buf[8] = { 0 };
	int s = socket(AF_UNIX, SOCK_DGRAM, 0), a;

	check(getcwd(cwd, sizeof(cwd)) && !strcmp(cwd, dir), "cwd is %s, want %s", cwd, dir);
	expect_sockname(rel.dg, "rel.sock", "the datagram socket");
	expect_sockname(rel.lis, "lis.sock", "the listener");
	/* the names are files of DIR/sub: reachable by their full path */
	if (strlen(dir) + 14 > sizeof(sun.sun_path))
		die("DIR too long");
	strcpy(sun.sun_path, dir);
	strcat(sun.sun_path, "/sub/rel.sock");
	check(sendto(s, "hi", 2, 0, (struct sockaddr *)&sun, sizeof(sun)) == 2, "send to %s",
	      sun.sun_path);
	check(recv(rel.dg, buf, sizeof(buf), MSG_DONTWAIT) == 2 && !memcmp(buf, "hi", 2),
	      "the datagram socket receives through its file");
	a = accept(rel.lis, NULL, NULL);
	check(a >= 0, "the queued client is accepted");
	if (a >= 0)
		roundtrip(rel.cl, a, "the accepted client");
	close(s);
}

/* ---- edge: the corners CRIU handles too ---- */
#define BIG_STREAM (4u << 20)
#define MANY_DGRAMS 500

static struct {
	int sh[2], sq[2]; /* shut down for writing with data queued: stream, seqpacket */
	int cred, sec;
	int abs;
	int lis, pend[2];
	int big[2], many[2];
} edge;

static const char abs_name[] = "\0crux\0edge\0";

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 12));
}

static void setup_edge(void)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t al = offsetof(struct sockaddr_un, sun_path) + sizeof(abs_name) - 1;
	int one = 1, big = 16 << 20, i;
	unsigned char *buf;
	size_t off = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, edge.sh) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, edge.sq) ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, edge.big) ||
	    socketpair(AF_UNIX, SOCK_DGRAM, 0, edge.many))
		die("socketpair");
	if (write(edge.sh[0], "tail", 4) != 4 || shutdown(edge.sh[0], SHUT_WR) ||
	    write(edge.sq[0], "p1", 2) != 2 || write(edge.sq[0], "p2", 2) != 2 ||
	    shutdown(edge.sq[0], SHUT_WR))
		die("shutdown");
	edge.cred = socket(AF_UNIX, SOCK_DGRAM, 0);
	edge.sec = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (setsockopt(edge.cred, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) ||
	    setsockopt(edge.sec, SOL_SOCKET, SO_PASSSEC, &one, sizeof(one)))
		die("SO_PASSCRED");
	/* an abstract name with NULs inside it */
	memcpy(sun.sun_path, abs_name, sizeof(abs_name) - 1);
	edge.abs = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (edge.abs < 0 || bind(edge.abs, (struct sockaddr *)&sun, al))
		die("bind abstract");
	/* a listener with a full backlog: listen(1) queues two connections */
	memcpy(sun.sun_path, "\0crux-edge-lis", 14);
	edge.lis = socket(AF_UNIX, SOCK_STREAM, 0);
	if (edge.lis < 0 ||
	    bind(edge.lis, (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) + 14) ||
	    listen(edge.lis, 1))
		die("listen");
	for (i = 0; i < 2; i++) {
		edge.pend[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (edge.pend[i] < 0 || connect(edge.pend[i], (struct sockaddr *)&sun,
						offsetof(struct sockaddr_un, sun_path) + 14))
			die("connect");
	}
	/* MiB of stream data, and many datagrams */
	if (setsockopt(edge.big[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) ||
	    setsockopt(edge.many[0], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)))
		die("SO_SNDBUFFORCE");
	buf = malloc(BIG_STREAM);
	if (!buf)
		die("malloc");
	for (off = 0; off < BIG_STREAM; off++)
		buf[off] = pattern(off);
	for (off = 0; off < BIG_STREAM;) {
		ssize_t n = send(edge.big[0], buf + off, BIG_STREAM - off, MSG_DONTWAIT);

		if (n <= 0)
			die("send big");
		off += (size_t)n;
	}
	free(buf);
	for (i = 0; i < MANY_DGRAMS; i++) {
		char m[16];
		int n = snprintf(m, sizeof(m), "d%d", i);

		if (send(edge.many[0], m, (size_t)n, MSG_DONTWAIT) != n)
			die("send dgram");
	}
}

static void verify_edge(void)
{
	struct sockaddr_un sun;
	socklen_t l = sizeof(sun);
	char buf[64];
	unsigned char *big;
	int v = 0, i, c;
	size_t off = 0;
	bool same = true;

	check(read(edge.sh[1], buf, sizeof(buf)) == 4 && !memcmp(buf, "tail", 4),
	      "stream: the data before the shutdown");
	check(read(edge.sh[1], buf, sizeof(buf)) == 0, "stream: then end of stream");
	check(send(edge.sh[0], "x", 1, MSG_NOSIGNAL) < 0 && errno == EPIPE,
	      "stream: the writer stays shut down");
	check(recv(edge.sq[1], buf, sizeof(buf), MSG_DONTWAIT) == 2 && !memcmp(buf, "p1", 2) &&
		      recv(edge.sq[1], buf, sizeof(buf), MSG_DONTWAIT) == 2 &&
		      !memcmp(buf, "p2", 2),
	      "seqpacket: both records before the shutdown");
	check(recv(edge.sq[1], buf, sizeof(buf), MSG_DONTWAIT) == 0, "seqpacket: then the end");
	l = sizeof(v);
	check(!getsockopt(edge.cred, SOL_SOCKET, SO_PASSCRED, &v, &l) && v, "SO_PASSCRED is set");
	l = sizeof(v);
	v = 0;
	check(!getsockopt(edge.sec, SOL_SOCKET, SO_PASSSEC, &v, &l) && v, "SO_PASSSEC is set");
	l = sizeof(sun);
	check(!getsockname(edge.abs, (struct sockaddr *)&sun, &l) &&
		      l == offsetof(struct sockaddr_un, sun_path) + sizeof(abs_name) - 1 &&
		      !memcmp(sun.sun_path, abs_name, sizeof(abs_name) - 1),
	      "the abstract name keeps its NULs (length %u)", l);
	for (i = 0; i < 2; i++) {
		c = accept(edge.lis, NULL, NULL);
		check(c >= 0, "pending connection %d of the full backlog", i);
		if (c >= 0)
			roundtrip(edge.pend[i], c, "an accepted pending connection");
	}
	big = malloc(BIG_STREAM);
	while (big && off < BIG_STREAM) {
		ssize_t n = recv(edge.big[1], big + off, BIG_STREAM - off, MSG_DONTWAIT);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	for (size_t k = 0; big && k < off; k++)
		same = same && big[k] == pattern(k);
	check(off == BIG_STREAM && same, "the stream queue: %zu of %u bytes, same bytes %d", off,
	      BIG_STREAM, same);
	free(big);
	for (i = 0; i < MANY_DGRAMS; i++) {
		char want[16];
		ssize_t n;

		snprintf(want, sizeof(want), "d%d", i);
		n = recv(edge.many[1], buf, sizeof(buf), MSG_DONTWAIT);
		if (n != (ssize_t)strlen(want) || memcmp(buf, want, (size_t)n)) {
			check(0, "datagram %d of %d in order", i, MANY_DGRAMS);
			break;
		}
	}
}

static void on_usr1(int sig)
{
	(void)sig;
	verify_now = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned long counter = 0;
	char p[300];
	int cfd;

	if (argc < 3) {
		dprintf(2, "usage: scmtgt TOPOLOGY DIR\n");
		return 64;
	}
	if (!realpath(argv[2], dir))
		die("realpath");
	close_range(3, ~0U, 0);
	sigaction(SIGUSR1, &sa, NULL);
	path_of(p, sizeof(p), "counter");
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	if (!strcmp(argv[1], "scm")) {
		setup_scm();
	} else if (!strcmp(argv[1], "relname")) {
		setup_relname();
	} else if (!strcmp(argv[1], "edge")) {
		setup_edge();
	} else {
		dprintf(2, "scmtgt: unknown topology %s\n", argv[1]);
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
	if (!strcmp(argv[1], "scm"))
		verify_scm();
	else if (!strcmp(argv[1], "relname"))
		verify_relname();
	else if (!strcmp(argv[1], "edge"))
		verify_edge();
	if (failures)
		dprintf(2, "scmtgt: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
