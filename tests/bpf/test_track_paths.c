// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tracker's short paths, each against sock_diag: the close() filter (a socket file is
 * recognised by its f_op, learnt at run time; an O_PATH fd of a socket file is not a
 * socket), socketpair() read from the exit's saved registers (no entry hook), and the
 * disconnect of a dgram sender refused by a dead peer through each send call (sendto,
 * sendmsg, sendmmsg; write() is left to reconcile, a documented gap).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "tap.h"
#include "topo.h"
#include "tracker.h"

static struct tracker trk;

static int must(int fd, const char *what)
{
	if (fd < 0)
		tap_bail("%s: %s", what, strerror(errno));
	return fd;
}

static void expect(const struct topo_set *s, const char *label)
{
	tracker_expect(&trk, -1, s->inos, s->n, label, true);
}

/* Files of every kind closed next to sockets: only the sockets' last closes count. */
static void scenario_close_filter(void)
{
	struct topo_set s = { 0 };
	char proc[64];
	int sv[2], p, n, d, i;

	for (i = 0; i < 3; i++) { /* the first socket files also teach the filter */
		must(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
		topo_set_add_fd(&s, sv[0]);
		topo_set_add_fd(&s, sv[1]);
		close(sv[1]);
	}
	expect(&s, "socketpairs, one end closed");

	/* an O_PATH fd of a socket file: sockfs inode, not a struct socket behind it */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", sv[0]);
	p = must(open(proc, O_PATH | O_CLOEXEC), "open O_PATH");
	close(p);
	expect(&s, "close() of an O_PATH fd of a socket file: the socket stays");

	n = must(open("/dev/null", O_RDONLY | O_CLOEXEC), "open /dev/null");
	d = must(fcntl(sv[0], F_DUPFD_CLOEXEC, 0), "dup");
	close(n);
	close(sv[0]);
	expect(&s, "close() of a file and of one of two fds of a socket: the socket stays");
	close(d);
	expect(&s, "close() of the last fd: the socket is gone");
	topo_set_free(&s);
}

static void scenario_socketpair(void)
{
	struct topo_set s = { 0 };
	int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET }, sv[2], i;
	int *volatile bad = (int *)8; /* unmapped: the kernel's copy-out fails */

	for (i = 0; i < 3; i++) {
		must(socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv), "socketpair");
		topo_set_add_fd(&s, sv[0]);
		topo_set_add_fd(&s, sv[1]);
	}
	expect(&s, "socketpair() of each type, from the exit hook alone");
	ok(socketpair(AF_UNIX, SOCK_STREAM, 0, bad) < 0 && errno == EFAULT,
	   "socketpair() with a bad sv: EFAULT");
	expect(&s, "a failed socketpair() changes nothing");
	topo_set_free(&s);
}

/* A dgram client connected to a server that is then closed: returns the client fd. */
static int orphan_client(struct topo_set *s, const char *tag)
{
	char path[256];
	int srv, c;

	topo_path(path, sizeof(path), tag);
	srv = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind");
	c = must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	topo_set_add_fd(s, srv);
	topo_set_add_fd(s, c);
	close(srv);
	return c;
}

static void scenario_send_refused(void)
{
	struct topo_set s = { 0 };
	char buf[1] = "x";
	struct iovec iov = { .iov_base = buf, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct mmsghdr mm[2] = { { .msg_hdr = mh }, { .msg_hdr = mh } };
	int c1, c2, c3, c4;

	c1 = orphan_client(&s, "refto");
	c2 = orphan_client(&s, "refmsg");
	c3 = orphan_client(&s, "refmmsg");
	c4 = orphan_client(&s, "refwrite");
	expect(&s, "dgram clients of closed servers");
	ok(sendto(c1, buf, 1, MSG_NOSIGNAL, NULL, 0) < 0 && errno == ECONNREFUSED,
	   "sendto() to a dead peer: ECONNREFUSED");
	ok(sendmsg(c2, &mh, MSG_NOSIGNAL) < 0 && errno == ECONNREFUSED,
	   "sendmsg() to a dead peer: ECONNREFUSED");
	ok(sendmmsg(c3, mm, 2, MSG_NOSIGNAL) < 0 && errno == ECONNREFUSED,
	   "sendmmsg() to a dead peer: ECONNREFUSED");
	ok(write(c4, buf, 1) < 0 && errno == ECONNREFUSED, "write() to a dead peer: ECONNREFUSED");
	/* c4's disconnect by write() is not hooked: only the three send calls are exact */
	tracker_expect(&trk, -1, s.inos, s.n - 1, "each send call's refusal disconnects", true);
	tracker_expect(&trk, -1, &s.inos[s.n - 1], 1, "write()'s refusal before reconcile",
		       false);
	tracker_expect_reconciled(&trk, -1, s.inos, s.n, "every refused sender, reconciled");
	close(c1);
	close(c2);
	close(c3);
	close(c4);
	expect(&s, "refused senders closed");
	topo_set_free(&s);
}

int main(void)
{
	atexit(topo_path_cleanup);
	tracker_test_init(&trk, "paths");
	scenario_close_filter();
	scenario_socketpair();
	scenario_send_refused();
	tracker_stop(&trk);
	return done_testing();
}
