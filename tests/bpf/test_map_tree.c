// SPDX-License-Identifier: GPL-2.0-only
/*
 * The dumper's exact source, the pid-filtered tree iterator (treeiter.h), against sock_diag
 * and /proc/self/fd: one record per unix-socket fd of this process, each with the kernel's
 * type, state, effective peer (a peer in another process included) and name, over the
 * topologies the live map is tested with, plus the dead-peer cases. No tracker involved.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mapcheck.h"
#include "tap.h"
#include "topo.h"
#include "treeiter.h"

static struct topo_set all;

static int must(int fd, const char *what)
{
	if (fd < 0)
		tap_bail("%s: %s", what, strerror(fd < -1 ? -fd : errno));
	topo_set_add_fd(&all, fd);
	return fd;
}

static void build(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	char path[256], abs[32];
	int sv[2], i, l, n, sp;

	for (i = 0; i < 3; i++) {
		if (socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv))
			tap_bail("socketpair: %s", strerror(errno));
		must(sv[0], "pair");
		must(dup(must(sv[1], "pair")), "dup");
	}
	/* a listener with an accepted and a pending client */
	n = snprintf(abs, sizeof(abs), "%ccrux-tree-%d%cx", 0, getpid(), 0);
	l = must(topo_bound(SOCK_STREAM, abs, n, 4), "listen");
	must(topo_connected(SOCK_STREAM, abs, n), "connect");
	must(accept(l, NULL, NULL), "accept");
	must(topo_connected(SOCK_STREAM, abs, n), "connect (pending)");
	/* a path dgram server with a connected and an unconnected client */
	topo_path(path, sizeof(path), "tree-log");
	must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind");
	must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	must(socket(AF_UNIX, SOCK_DGRAM, 0), "socket");
	/* dead peers: closed stream end, dead dgram server, accepted-then-closed */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	must(sv[0], "pair");
	topo_set_add_fd(&all, sv[1]);
	close(sv[1]);
	topo_path(path, sizeof(path), "tree-dead");
	sp = must(topo_bound(SOCK_DGRAM, path, strlen(path), 0), "bind");
	must(topo_connected(SOCK_DGRAM, path, strlen(path)), "connect");
	close(sp);
	topo_path(path, sizeof(path), "tree-acc");
	l = must(topo_bound(SOCK_SEQPACKET, path, strlen(path), 4), "listen");
	must(topo_connected(SOCK_SEQPACKET, path, strlen(path)), "connect");
	close(must(accept(l, NULL, NULL), "accept"));
	/* a pending client of a listener that closed, then the listener's memory reused */
	topo_path(path, sizeof(path), "tree-lsn");
	l = must(topo_bound(SOCK_STREAM, path, strlen(path), 4), "listen");
	must(topo_connected(SOCK_STREAM, path, strlen(path)), "connect");
	close(l);
	for (i = 0; i < 200; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			tap_bail("socketpair: %s", strerror(errno));
		must(sv[0], "pair");
		must(sv[1], "pair");
	}
}

/* A holder in another process, connected to our listener: our peer is outside. */
static int outside_body(struct topo_child *ch, void *arg)
{
	const char *path = arg;
	int c = topo_connected(SOCK_SEQPACKET, path, strlen(path));
	__u64 ino = c >= 0 ? topo_ino(c) : 0;

	topo_report(ch, &ino, 1);
	while (topo_wait_cmd(ch) >= 0)
		;
	return 0;
}

static size_t proc_socket_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[300], target[64];
	size_t n = 0;
	ssize_t len;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0 && !strncmp(target, "socket:[", 8))
			n++;
	}
	closedir(d);
	return n;
}

static void to_sock(const struct crux_fd_rec *f, struct crux_sock *s)
{
	memset(s, 0, sizeof(*s));
	s->ino = f->ino;
	s->sk = f->sk;
	s->peer_ino = f->peer_ino;
	s->peer_sk = f->peer_sk;
	s->listener_ino = f->listener_ino;
	s->netns_cookie = f->netns_cookie;
	s->type = f->type;
	s->state = f->state;
	s->flags = f->flags;
	s->name_len = f->name_len;
	memcpy(s->name, f->name, sizeof(s->name));
}

int main(void)
{
	struct topo_proc p = { 0 };
	struct crux_fd_rec *fds = NULL;
	struct crux_sock *recs;
	struct sockdiag_table *t = NULL;
	struct mapcheck_result r;
	char path[256];
	size_t n = 0, i, nsock;
	__u64 outside;
	int l, a, err;

	if (geteuid() != 0)
		tap_plan_skip_all("root unavailable");
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		tap_plan_skip_all("BTF (/sys/kernel/btf/vmlinux) unavailable");
	signal(SIGPIPE, SIG_IGN);
	atexit(topo_path_cleanup);

	topo_path(path, sizeof(path), "tree-out");
	l = must(topo_bound(SOCK_SEQPACKET | SOCK_CLOEXEC, path, strlen(path), 4), "listen");
	if (topo_proc_start(&p, outside_body, path, false) || topo_recv(&p, &outside, 1) != 1)
		tap_bail("outside holder: %s", strerror(errno));
	a = must(accept(l, NULL, NULL), "accept");
	build();
	nsock = proc_socket_fds();

	err = treeiter_unix_fds(getpid(), &fds, &n);
	if (!is_int(err, 0, "tree iterator over this process"))
		tap_bail("no records");
	is_int(n, nsock, "one record per socket fd of /proc/self/fd (%zu)", nsock);
	for (i = 0; i < n && fds[i].ino != topo_ino(a); i++)
		;
	ok(i < n && fds[i].peer_ino == outside, "a peer in another process is named (%llu)",
	   i < n ? (unsigned long long)fds[i].peer_ino : 0ULL);

	recs = calloc(n ? n : 1, sizeof(*recs));
	if (!recs)
		tap_bail("out of memory");
	for (i = 0; i < n; i++)
		to_sock(&fds[i], &recs[i]);
	if (is_int(sockdiag_dump_unix(-1, SOCKDIAG_SHOW_DEFAULT, &t), 0, "sock_diag dump")) {
		/* dup'd fds give several records of one socket: dedupe for the compare */
		mapcheck_sort(recs, n);
		for (i = 1, nsock = n ? 1 : 0; i < n; i++)
			if (recs[i].ino != recs[nsock - 1].ino)
				recs[nsock++] = recs[i];
		mapcheck_set_exact_records(true);
		mapcheck_compare(t, recs, nsock, all.inos, all.n, "tree iterator", 30, &r);
		ok(mapcheck_disagreements(&r) == 0,
		   "tree iterator agrees with sock_diag (kernel %u, iterator %u, missing %u, "
		   "stale %u, wrong %u)",
		   r.kernel, r.map, r.missing, r.stale, r.wrong);
		sockdiag_table__free(t);
	}
	free(recs);
	free(fds);
	topo_proc_kill(&p);
	topo_set_free(&all);
	return done_testing();
}
