// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sock_diag module against what the kernel shows otherwise: inodes from fstat(),
 * peers known by construction (socketpair ends), names from bind(), the VFS inode from
 * stat() of the socket file, queue lengths from what was sent, and in a private network
 * namespace the complete /proc/PID/net/unix listing (type, inode, name of every socket).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/unix_diag.h>

#include "sockdiag.h"
#include "tap.h"
#include "topo.h"
#include "util.h"

#define SHOW_ALL \
	(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN)
#define ST_ESTABLISHED 1
#define ST_CLOSE 7
#define ST_LISTEN 10

static void test_socketpairs(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	struct sockdiag_table *t = NULL;
	int sv[3][2], i, err;

	for (i = 0; i < 3; i++)
		if (socketpair(AF_UNIX, types[i] | SOCK_CLOEXEC, 0, sv[i]))
			tap_bail("socketpair: %s", strerror(errno));
	err = sockdiag_dump_unix(-1, SHOW_ALL, &t);
	if (!is_int(err, 0, "dump of this namespace"))
		return;
	ok(t->netns_cookie != 0, "dump knows its netns cookie (%llu)",
	   (unsigned long long)t->netns_cookie);
	for (i = 0; i < 3; i++) {
		__u64 a = topo_ino(sv[i][0]), b = topo_ino(sv[i][1]);
		const struct sockdiag_unix *sa = sockdiag_table_find(t, a);
		const struct sockdiag_unix *sb = sockdiag_table_find(t, b);

		if (!ok(sa && sb, "type %d pair %llu/%llu found", types[i], (unsigned long long)a,
			(unsigned long long)b))
			continue;
		ok(sa->type == types[i] && sb->type == types[i], "type %d reported", types[i]);
		ok(sa->state == ST_ESTABLISHED && sb->state == ST_ESTABLISHED,
		   "type %d pair is ESTABLISHED (%u/%u)", types[i], sa->state, sb->state);
		ok(sa->has_peer && sa->peer_ino == b && sb->has_peer && sb->peer_ino == a,
		   "type %d pair: each end's peer is the other (%u->%u, %u->%u)", types[i], sa->ino,
		   sa->peer_ino, sb->ino, sb->peer_ino);
		ok(sa->name_len == 0 && sb->name_len == 0, "type %d pair is unnamed", types[i]);
	}
	sockdiag_table__free(t);

	/* queue lengths: a stream receiver counts bytes */
	if (write(sv[0][0], "hello", 5) != 5)
		tap_bail("write: %s", strerror(errno));
	{
		struct sockdiag_unix s;

		err = sockdiag_query_unix(topo_ino(sv[0][1]), SHOW_ALL, &s);
		ok(err == 0 && s.has_rqlen && s.rqlen == 5, "exact query: 5 bytes queued (%u)",
		   err ? 0 : s.rqlen);
		sockdiag_unix_clear(&s);
	}
	/* shutdown bits */
	shutdown(sv[2][0], SHUT_WR);
	{
		struct sockdiag_unix s;

		err = sockdiag_query_unix(topo_ino(sv[2][0]), UDIAG_SHOW_PEER, &s);
		ok(err == 0 && (s.shutdown & 2), "shutdown(SHUT_WR) shows SEND_SHUTDOWN (%u)",
		   err ? 0 : s.shutdown);
	}
	/* one end closed: the survivor still has a peer pointer, to a released sock */
	{
		__u64 gone = topo_ino(sv[0][1]);
		struct sockdiag_unix s;

		close(sv[0][1]);
		err = sockdiag_query_unix(topo_ino(sv[0][0]), UDIAG_SHOW_PEER, &s);
		ok(err == 0 && s.has_peer && s.peer_ino == 0,
		   "closed peer: peer attribute present with inode 0 (has=%u ino=%u)",
		   err ? 0 : s.has_peer, err ? 0 : s.peer_ino);
		is_int(sockdiag_query_unix(gone, UDIAG_SHOW_PEER, &s), -ENOENT,
		       "exact query of a released socket: -ENOENT");
	}
	for (i = 0; i < 3; i++) {
		close(sv[i][0]);
		if (i)
			close(sv[i][1]);
	}
}

static void test_listener(void)
{
	static const char name[] = "\0crux-sockdiag-test\0x"; /* embedded NUL: binary name */
	char path[256];
	struct sockdiag_table *t = NULL;
	const struct sockdiag_unix *l, *c, *p;
	int lfd, cfd, pfd, pcfd, err;
	struct stat st;

	lfd = topo_bound(SOCK_STREAM, name, sizeof(name) - 1, 4);
	cfd = topo_connected(SOCK_STREAM, name, sizeof(name) - 1);
	if (!topo_path(path, sizeof(path), "srv.sock"))
		tap_bail("mkdtemp: %s", strerror(errno));
	pfd = topo_bound(SOCK_DGRAM, path, strlen(path), 0);
	pcfd = topo_connected(SOCK_DGRAM, path, strlen(path));
	if (lfd < 0 || cfd < 0 || pfd < 0 || pcfd < 0)
		tap_bail("listener setup: %d %d %d %d", lfd, cfd, pfd, pcfd);
	err = sockdiag_dump_unix(-1, SHOW_ALL, &t);
	if (!is_int(err, 0, "dump with a listener"))
		return;
	l = sockdiag_table_find(t, topo_ino(lfd));
	c = sockdiag_table_find(t, topo_ino(cfd));
	if (ok(l && c, "listener and client found")) {
		ok(l->state == ST_LISTEN, "listener state LISTEN (%u)", l->state);
		ok(l->name_len == sizeof(name) - 1 && !memcmp(l->name, name, l->name_len),
		   "abstract binary name round-trips (%u bytes)", l->name_len);
		ok(l->n_icons == 1 && l->icons[0] == c->ino, "icons list the pending client (%u)",
		   l->n_icons ? l->icons[0] : 0);
		ok(l->has_rqlen && l->rqlen == 1 && l->wqlen == 4,
		   "listener rqlen 1 pending, wqlen backlog 4 (%u/%u)", l->rqlen, l->wqlen);
		ok(c->has_peer && c->peer_ino == 0, "pending client: peer is the embryo (inode 0)");
		is_int(sockdiag_table_embryo_listener(t, c->ino), l->ino,
		       "embryo lookup finds the listener");
		is_int(sockdiag_table_embryo_listener(t, l->ino), 0,
		       "a listener is nobody's embryo");
	}
	p = sockdiag_table_find(t, topo_ino(pfd));
	c = sockdiag_table_find(t, topo_ino(pcfd));
	if (ok(p && c, "path dgram server and client found") && !stat(path, &st)) {
		/* the kernel keeps the terminating NUL of a path bind in the address */
		ok(p->name_len == strlen(path) + 1 && !memcmp(p->name, path, p->name_len),
		   "path name reported, with its NUL (%u bytes)", p->name_len);
		ok(p->has_vfs && p->vfs_ino == st.st_ino,
		   "VFS inode is the socket file's (%u/%llu)", p->vfs_ino,
		   (unsigned long long)st.st_ino);
		ok(!p->has_peer, "unconnected dgram server has no peer attribute");
		ok(c->has_peer && c->peer_ino == p->ino, "dgram client's peer is the server");
		ok(!c->has_vfs && c->name_len == 0, "autobind-free client is unnamed");
	}
	sockdiag_table__free(t);
	close(lfd);
	close(cfd);
	close(pfd);
	close(pcfd);
}

/* Private netns: builds a known set, then waits. */
static int netns_body(struct topo_child *ch, void *arg)
{
	static const char abs_name[] = "\0crux-sockdiag-netns";
	__u64 inos[8];
	int sv[2], lfd, cfd;

	if (unshare(CLONE_NEWNET))
		return 2;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 3;
	lfd = topo_bound(SOCK_STREAM, abs_name, sizeof(abs_name) - 1, 8);
	cfd = topo_connected(SOCK_STREAM, abs_name, sizeof(abs_name) - 1);
	if (lfd < 0 || cfd < 0)
		return 4;
	inos[0] = topo_ino(sv[0]);
	inos[1] = topo_ino(sv[1]);
	inos[2] = topo_ino(lfd);
	inos[3] = topo_ino(cfd);
	topo_report(ch, inos, 4);
	while (topo_wait_cmd(ch) >= 0)
		;
	return 0;
}

/* /proc/PID/net/unix: count lines, check each of ours is in the table with the same type. */
static void check_proc_net_unix(pid_t pid, const struct sockdiag_table *t)
{
	char path[64], line[512];
	size_t lines = 0, agree = 0, embryos = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/net/unix", pid);
	f = fopen(path, "re");
	if (!ok(f != NULL, "open %s", path))
		return;
	if (!fgets(line, sizeof(line), f)) /* header */
		line[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned type, st;
		unsigned long ino;
		const struct sockdiag_unix *s;

		/* Num RefCount Protocol Flags Type St Inode [Path] */
		if (sscanf(line, "%*s %*x %*x %*x %x %x %lu", &type, &st, &ino) != 3)
			continue;
		if (ino == 0) { /* an embryo: /proc lists it, sock_diag does not */
			embryos++;
			continue;
		}
		lines++;
		s = sockdiag_table_find(t, ino);
		if (s && s->type == type)
			agree++;
		else
			diag("/proc line not matched by sock_diag: %s", line);
	}
	fclose(f);
	is_int(lines, t->n, "private netns: /proc/%d/net/unix and sock_diag count the same", pid);
	is_int(agree, lines, "every /proc/net/unix socket is in sock_diag with its type");
	is_int(embryos, 1, "/proc/net/unix shows the one embryo (inode 0) sock_diag leaves out");
}

static void test_netns(void)
{
	struct topo_proc p = { 0 };
	struct sockdiag_table *t = NULL, *own = NULL;
	__u64 inos[8];
	char nspath[64];
	int n, nsfd, i, found = 0;

	if (topo_proc_start(&p, netns_body, NULL, false))
		tap_bail("fork: %s", strerror(errno));
	n = topo_recv(&p, inos, 8);
	if (!is_int(n, 4, "holder in a private netns reports 4 sockets")) {
		topo_proc_kill(&p);
		return;
	}
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", p.pid);
	nsfd = open(nspath, O_RDONLY | O_CLOEXEC);
	ok(nsfd >= 0, "open %s", nspath);
	if (is_int(sockdiag_dump_unix(nsfd, SHOW_ALL, &t), 0, "dump of the other netns")) {
		for (i = 0; i < 4; i++)
			found += sockdiag_table_find(t, inos[i]) != NULL;
		is_int(found, 4, "its 4 sockets are in the other netns's dump");
		is_int(t->n, 4, "and nothing else (embryos carry no inode)");
		is_int(sockdiag_table_embryo_listener(t, inos[3]), inos[2],
		       "the pending client is queued on its listener");
		check_proc_net_unix(p.pid, t);
	}
	if (is_int(sockdiag_dump_unix(-1, SHOW_ALL, &own), 0, "dump of our own netns")) {
		found = 0;
		for (i = 0; i < 4; i++)
			found += sockdiag_table_find(own, inos[i]) != NULL;
		is_int(found, 0, "none of them in our own netns");
		ok(t && own->netns_cookie != t->netns_cookie, "the two netns cookies differ");
	}
	sockdiag_table__free(t);
	sockdiag_table__free(own);
	if (nsfd >= 0)
		close(nsfd);
	is_int(topo_proc_finish(&p), 0, "holder exits cleanly");
}

int main(void)
{
	if (geteuid() != 0)
		tap_plan_skip_all("root unavailable (netns and setns need CAP_SYS_ADMIN)");
	test_socketpairs();
	test_listener();
	test_netns();
	topo_path_cleanup();
	return done_testing();
}
