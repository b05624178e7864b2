// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live map against sock_diag, one topology at a time, in one process: sockets that
 * existed before the tracker (seed), socketpairs of each type, unnamed sockets, stream and
 * seqpacket listeners with accepted and pending clients, a logd-style datagram server,
 * abstract and relative-path names, one end closed. All of these are visible to events
 * (or the seed), so each must agree exactly before any reconcile.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tap.h"
#include "topo.h"
#include "tracker.h"

static struct tracker trk;
static struct topo_set all; /* every socket of the test, closed ones included */

static int must(int fd, const char *what)
{
	if (fd < 0)
		tap_bail("%s: %s", what, strerror(fd < -1 ? -fd : errno));
	return fd;
}

/* Add fds to `all` and to the scenario set s. */
static void track_fds(struct topo_set *s, const int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		__u64 ino = topo_set_add_fd(&all, fds[i]);

		topo_set_add(s, ino);
	}
}

static void expect(const struct topo_set *s, const char *label)
{
	tracker_expect(&trk, -1, s->inos, s->n, label, true);
}

static int accept_one(int lfd)
{
	return must(accept4(lfd, NULL, NULL, SOCK_CLOEXEC), "accept4");
}

static void scenario_pairs(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	struct topo_set s = { 0 };
	int sv[2], i;

	for (i = 0; i < 3; i++) {
		if (socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv))
			tap_bail("socketpair: %s", strerror(errno));
		track_fds(&s, sv, 2);
	}
	expect(&s, "socketpairs of each type");
	topo_set_free(&s);
}

static void scenario_unnamed(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	struct topo_set s = { 0 };
	int i, fd;

	for (i = 0; i < 3; i++) {
		fd = must(socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0), "socket");
		track_fds(&s, &fd, 1);
	}
	expect(&s, "unnamed unconnected sockets");
	topo_set_free(&s);
}

static void scenario_listener(int type, const char *tag)
{
	char path[256], label[96];
	struct topo_set s = { 0 };
	int fds[6];

	topo_path(path, sizeof(path), tag);
	fds[0] = must(topo_bound(type, path, strlen(path), 8), "listen");
	fds[1] = must(topo_connected(type, path, strlen(path)), "connect");
	fds[2] = accept_one(fds[0]);
	fds[3] = must(topo_connected(type, path, strlen(path)), "connect");
	fds[4] = must(accept4(fds[0], NULL, NULL, 0), "accept");
	fds[5] = must(topo_connected(type, path, strlen(path)), "connect (left pending)");
	track_fds(&s, fds, 6);
	snprintf(label, sizeof(label), "%s listener: 2 accepted clients, 1 pending",
		 type == SOCK_STREAM ? "stream" : "seqpacket");
	expect(&s, label);
	topo_set_free(&s);
}

static void scenario_logd(void)
{
	char path[256];
	struct sockaddr_un sa;
	socklen_t alen;
	struct topo_set s = { 0 };
	int fds[5], i;

	topo_path(path, sizeof(path), "log");
	fds[0] = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind log");
	for (i = 1; i <= 3; i++)
		fds[i] = must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect log");
	fds[4] = must(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), "socket");
	alen = topo_addr(&sa, path, strlen(path));
	if (sendto(fds[4], "<13>hi", 6, 0, (struct sockaddr *)&sa, alen) != 6)
		tap_bail("sendto: %s", strerror(errno));
	for (i = 1; i <= 3; i++)
		if (send(fds[i], "<13>x", 5, 0) != 5)
			tap_bail("send: %s", strerror(errno));
	track_fds(&s, fds, 5);
	expect(&s, "logd-style dgram server: 3 connected clients, 1 sendto client");
	/* a client reconnects to a second server: both servers' states follow */
	topo_path(path, sizeof(path), "log2");
	fds[0] = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind log2");
	track_fds(&s, fds, 1);
	alen = topo_addr(&sa, path, strlen(path));
	if (connect(fds[3], (struct sockaddr *)&sa, alen))
		tap_bail("reconnect: %s", strerror(errno));
	expect(&s, "logd-style: a client reconnected to a second server");
	topo_set_free(&s);
}

static void scenario_abstract(void)
{
	char name[64];
	struct topo_set s = { 0 };
	int fds[5], n;

	/* a binary abstract name with an embedded NUL */
	n = snprintf(name, sizeof(name), "%ccrux-abs-%d%cend", 0, getpid(), 0);
	fds[0] = must(topo_bound(SOCK_STREAM, name, n, 4), "abstract listen");
	fds[1] = must(topo_connected(SOCK_STREAM, name, n), "abstract connect");
	fds[2] = accept_one(fds[0]);
	n = snprintf(name, sizeof(name), "%ccrux-absd-%d", 0, getpid());
	fds[3] = must(topo_bound(SOCK_DGRAM, name, n, 0), "abstract dgram bind");
	fds[4] = must(topo_connected(SOCK_DGRAM, name, n), "abstract dgram connect");
	track_fds(&s, fds, 5);
	expect(&s, "abstract names");
	topo_set_free(&s);
}

static void scenario_relative(void)
{
	char path[256], cwd[PATH_MAX];
	struct topo_set s = { 0 };
	int fds[4];

	topo_path(path, sizeof(path), "");
	if (!getcwd(cwd, sizeof(cwd)) || chdir(path))
		tap_bail("chdir %s: %s", path, strerror(errno));
	fds[0] = must(topo_bound(SOCK_STREAM, "rel.sock", 8, 4), "relative bind");
	fds[1] = must(topo_connected(SOCK_STREAM, "rel.sock", 8), "relative connect");
	fds[2] = accept_one(fds[0]);
	fds[3] = must(topo_connected(SOCK_STREAM, "./rel.sock", 10), "relative connect ./");
	if (chdir(cwd))
		tap_bail("chdir back: %s", strerror(errno));
	track_fds(&s, fds, 4);
	expect(&s, "relative-path bind and connect");
	topo_set_free(&s);
}

static void scenario_one_end_closed(void)
{
	char path[256];
	struct topo_set s = { 0 };
	int sv[2], fds[4];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	track_fds(&s, sv, 2);
	close(sv[1]);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	track_fds(&s, sv, 2);
	close(sv[0]);
	/* a dgram client whose server went away */
	topo_path(path, sizeof(path), "gone");
	fds[0] = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind");
	fds[1] = must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	/* an accepted connection whose client hung up */
	topo_path(path, sizeof(path), "hangup");
	fds[2] = must(topo_bound(SOCK_STREAM, path, strlen(path), 4), "listen");
	fds[3] = must(topo_connected(SOCK_STREAM, path, strlen(path)), "connect");
	track_fds(&s, fds, 4);
	{
		int a = accept_one(fds[2]);

		track_fds(&s, &a, 1);
	}
	close(fds[0]);
	close(fds[3]);
	expect(&s, "one end closed (stream, seqpacket, dgram server, accepted client)");
}

/*
 * A dgram client whose server died is disconnected by the kernel at its next send()
 * (ECONNREFUSED: peer cleared, state CLOSE) or connect(AF_UNSPEC): the map must follow.
 */
static void scenario_dgram_send_to_dead(void)
{
	char path[256];
	struct topo_set s = { 0 };
	int srv, c1, c2;
	struct sockaddr sa = { .sa_family = AF_UNSPEC };

	topo_path(path, sizeof(path), "deadlog");
	srv = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind");
	c1 = must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	c2 = must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	track_fds(&s, &srv, 1);
	track_fds(&s, &c1, 1);
	track_fds(&s, &c2, 1);
	close(srv);
	expect(&s, "dgram clients of a closed server");
	ok(send(c1, "x", 1, MSG_NOSIGNAL) < 0 && errno == ECONNREFUSED,
	   "send() to the dead server: ECONNREFUSED (the kernel disconnects the client)");
	if (connect(c2, &sa, sizeof(sa)))
		tap_bail("connect(AF_UNSPEC): %s", strerror(errno));
	expect(&s, "dgram clients disconnected by send() and by connect(AF_UNSPEC)");
	topo_set_free(&s);
}

/* Allocate and keep sockets: reuses the memory of recently freed ones. */
static void churn_slab(struct topo_set *s)
{
	int i, sv[2];

	for (i = 0; i < 300; i++) {
		if (socketpair(AF_UNIX, i % 2 ? SOCK_STREAM : SOCK_SEQPACKET, 0, sv))
			tap_bail("socketpair: %s", strerror(errno));
		track_fds(s, sv, 2);
	}
}

/* The two ways an embryo-era peer dies: accepted then closed by the server, or left pending
 * while the listener closes (which purges its queue). The clients' peers are dead. */
static void scenario_server_side_closed(void)
{
	char path[256];
	struct topo_set s = { 0 };
	int l, c1, a, l2, c2;

	topo_path(path, sizeof(path), "srvclose");
	l = must(topo_bound(SOCK_STREAM, path, strlen(path), 4), "listen");
	c1 = must(topo_connected(SOCK_STREAM, path, strlen(path)), "connect");
	a = accept_one(l);
	track_fds(&s, &l, 1);
	track_fds(&s, &c1, 1);
	track_fds(&s, &a, 1);
	close(a);
	expect(&s, "accepted connection closed by the server: client's peer is dead");
	topo_path(path, sizeof(path), "lsnclose");
	l2 = must(topo_bound(SOCK_SEQPACKET, path, strlen(path), 4), "listen");
	c2 = must(topo_connected(SOCK_SEQPACKET, path, strlen(path)), "connect");
	track_fds(&s, &l2, 1);
	track_fds(&s, &c2, 1);
	close(l2);
	expect(&s, "listener closed with a pending client: client's peer is dead");
	/*
	 * The dead embryo keeps its listener pointer, now dangling: once the listener's
	 * memory is reused by new sockets, a refresh (reconcile) must still say dead.
	 */
	churn_slab(&s);
	tracker_expect_reconciled(&trk, -1, s.inos, s.n,
				  "pending client of a closed listener, its memory reused");
	topo_set_free(&s);
}

int main(void)
{
	struct topo_set pre = { 0 };
	char path[256];
	int fds[5];

	atexit(topo_path_cleanup);
	/* sockets that exist before the tracker: only the seed can know them */
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds))
		tap_bail("socketpair: %s", strerror(errno));
	topo_path(path, sizeof(path), "pre");
	fds[2] = must(topo_bound(SOCK_STREAM, path, strlen(path), 4), "listen");
	fds[3] = must(topo_connected(SOCK_STREAM, path, strlen(path)), "connect");
	fds[4] = must(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0), "socket");
	track_fds(&pre, fds, 5);

	tracker_test_init(&trk, "basic");
	expect(&pre, "sockets created before the tracker (seed)");
	topo_set_free(&pre);

	scenario_pairs();
	scenario_unnamed();
	scenario_listener(SOCK_STREAM, "stream.sock");
	scenario_listener(SOCK_SEQPACKET, "seqpacket.sock");
	scenario_logd();
	scenario_abstract();
	scenario_relative();
	scenario_one_end_closed();
	scenario_server_side_closed();
	scenario_dgram_send_to_dead();

	tracker_expect(&trk, -1, all.inos, all.n, "every socket of the test", true);
	tracker_expect_reconciled(&trk, -1, all.inos, all.n, "every socket of the test");
	/* closing everything: each socket must leave the map by its release event */
	tracker_detach_map(&trk);
	close_range(3, ~0U, 0);
	tracker_expect(&trk, -1, all.inos, all.n, "after closing every fd", true);
	topo_set_free(&all);
	return done_testing();
}
