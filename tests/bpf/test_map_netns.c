// SPDX-License-Identifier: GPL-2.0-only
/*
 * A second network namespace: a holder unshares its netns and builds pairs, a listener with
 * an accepted and a pending client, a datagram server and client. Events fire whatever the
 * namespace, so the map must agree with that namespace's sock_diag from events alone, for
 * our sockets and for the whole namespace; a reconcile must keep them (it runs the unix
 * iterator once per namespace) and agree; the holder's exit must release them all.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "topo.h"
#include "tracker.h"

#define NSOCKS 8

static struct tracker trk;

static int netns_body(struct topo_child *c, void *arg)
{
	static const char lname[] = "\0crux-netns-listener", dname[] = "\0crux-netns-log";
	int sv[2], l, cl, a, pend, d, dc;
	__u64 inos[NSOCKS];

	if (unshare(CLONE_NEWNET))
		return 2;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 3;
	l = topo_bound(SOCK_STREAM, lname, sizeof(lname) - 1, 4);
	cl = topo_connected(SOCK_STREAM, lname, sizeof(lname) - 1);
	a = accept(l, NULL, NULL);
	pend = topo_connected(SOCK_STREAM, lname, sizeof(lname) - 1);
	d = topo_bound(SOCK_DGRAM, dname, sizeof(dname) - 1, 0);
	dc = topo_connected(SOCK_DGRAM, dname, sizeof(dname) - 1);
	if (l < 0 || cl < 0 || a < 0 || pend < 0 || d < 0 || dc < 0)
		return 4;
	inos[0] = topo_ino(sv[0]);
	inos[1] = topo_ino(sv[1]);
	inos[2] = topo_ino(l);
	inos[3] = topo_ino(cl);
	inos[4] = topo_ino(a);
	inos[5] = topo_ino(pend);
	inos[6] = topo_ino(d);
	inos[7] = topo_ino(dc);
	topo_report(c, inos, NSOCKS);
	if (topo_wait_cmd(c) == 'c') {
		close(sv[1]);
		close(d);
		close(cl);
		topo_report(c, NULL, 0);
	}
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

int main(void)
{
	struct topo_proc p = { 0 };
	__u64 inos[NSOCKS];
	char nspath[64];
	int nsfd;

	tracker_test_init(&trk, "netns");

	if (topo_proc_start(&p, netns_body, NULL, false) || topo_recv(&p, inos, NSOCKS) != NSOCKS)
		tap_bail("netns holder failed: %s", strerror(errno));
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", p.pid);
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	if (nsfd < 0)
		tap_bail("open %s: %s", nspath, strerror(errno));

	tracker_expect(&trk, nsfd, inos, NSOCKS, "second netns: our sockets", true);
	tracker_expect(&trk, nsfd, NULL, 0, "second netns: the whole namespace", true);
	if (topo_cmd(&p, 'c', NULL, 0) < 0)
		tap_bail("netns holder: close command failed");
	tracker_expect(&trk, nsfd, inos, NSOCKS, "second netns: after closing 3 sockets", true);
	tracker_expect_reconciled(&trk, nsfd, NULL, 0, "second netns: the whole namespace");
	/* the reconcile must not have swept the other namespace's sockets either way */
	tracker_expect(&trk, -1, NULL, 0, "our own netns (other processes run there too)", false);
	is_int(topo_proc_finish(&p), 0, "netns holder exits");
	tracker_expect(&trk, nsfd, inos, NSOCKS, "second netns: holder exited", true);
	close(nsfd);
	return done_testing();
}
