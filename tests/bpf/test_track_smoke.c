// SPDX-License-Identifier: GPL-2.0-only
/*
 * Smoke tests of the live map as `crux track -d` leaves it: lookups after socketpair,
 * close, listen/connect/accept, a relative connect() address, abstract names, releases
 * through exit, dup2, close_range and exec, the reverse query, a reconcile that sweeps an
 * SCM_RIGHTS fd purged in flight, the tree iterator, the trackerless snapshot, restart
 * after SIGKILL (adopt), a second tracker refused, and --stop.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sockmap.h"
#include "tap.h"
#include "treeiter.h"
#include "util.h"

#define WAIT_MS 3000

static char pin_dir[128];
static char crux[4096];

static void find_crux(const char *argv0)
{
	const char *env = getenv("CRUX");
	char *slash, path[PATH_MAX];

	if (env && *env) {
		snprintf(crux, sizeof(crux), "%s", env);
		return;
	}
	/* .output/tests/bpf/test_x -> .output/crux */
	snprintf(crux, sizeof(crux), "%s", argv0);
	slash = strrchr(crux, '/');
	if (slash)
		snprintf(slash, crux + sizeof(crux) - slash, "/../../crux");
	else
		snprintf(crux, sizeof(crux), ".output/crux");
	/* absolute: the test chdir()s, and a tracker it cannot stop would stay attached */
	if (!realpath(crux, path))
		tap_bail("%s: %s (build it with make, or set CRUX)", crux, strerror(errno));
	snprintf(crux, sizeof(crux), "%s", path);
}

/* Run crux with args; returns the exit status; *out gets the first stdout line. */
static int run_crux(char *out, size_t outsz, const char *args)
{
	char cmd[8192], line[256] = "";
	FILE *p;
	int st;

	snprintf(cmd, sizeof(cmd), "%s %s 2>/dev/null", crux, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	st = pclose(p);
	if (out)
		snprintf(out, outsz, "%s", line);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static pid_t start_tracker(void)
{
	char args[512], out[64];
	uint32_t pid;

	snprintf(args, sizeof(args), "track -d --reconcile-ms 0 --pin-dir %s", pin_dir);
	if (run_crux(out, sizeof(out), args) != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return parse_u32(out, 1, INT32_MAX, &pid) ? -1 : (pid_t)pid;
}

static void stop_all(void)
{
	char args[256];

	snprintf(args, sizeof(args), "track --stop --pin-dir %s", pin_dir);
	run_crux(NULL, 0, args);
}

static __u64 ino_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? 0 : st.st_ino;
}

static bool in_map(struct sockmap *m, __u64 ino)
{
	struct crux_sock s;

	return sockmap__lookup(m, ino, &s) == 0;
}

/* Events that land after another process's syscall returns (exit, exec): poll for them. */
static bool wait_gone(struct sockmap *m, __u64 ino)
{
	int ms;

	for (ms = 0; ms < WAIT_MS; ms += 10) {
		if (!in_map(m, ino))
			return true;
		usleep(10000);
	}
	return false;
}

struct seen_events {
	__u64 ino;
	int pair, close;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct seen_events *s = ctx;
	const struct crux_event *e = data;

	if (len < sizeof(*e) || e->ino != s->ino || e->tgid != (__u32)getpid())
		return 0;
	s->pair += e->kind == CRUX_EV_SOCKETPAIR;
	s->close += e->kind == CRUX_EV_CLOSE;
	return 0;
}

static int set_watchers(__u64 n)
{
	char path[256];
	__u32 key = CRUX_ST_WATCHERS;
	int fd, err;

	snprintf(path, sizeof(path), "%s/stats", pin_dir);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -errno;
	err = bpf_map_update_elem(fd, &key, &n, BPF_ANY) ? -errno : 0;
	close(fd);
	return err;
}

/* The events ringbuf carries socketpair/close only while someone watches. */
static void test_events(void)
{
	struct seen_events seen = {};
	struct ring_buffer *rb;
	char path[256];
	int fd, sv[2];

	snprintf(path, sizeof(path), "%s/events", pin_dir);
	fd = bpf_obj_get(path);
	rb = fd >= 0 ? ring_buffer__new(fd, on_event, &seen, NULL) : NULL;
	if (!ok(rb != NULL, "events: the pinned ringbuf opens"))
		return;
	ring_buffer__consume(rb); /* whatever other watchers left */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	seen.ino = ino_of(sv[0]);
	close(sv[0]);
	close(sv[1]);
	ring_buffer__consume(rb);
	ok(seen.pair == 0 && seen.close == 0, "events: nothing published without a watcher");
	ok(set_watchers(1) == 0, "events: register a watcher");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	seen.ino = ino_of(sv[0]);
	close(sv[0]);
	close(sv[1]);
	set_watchers(0);
	ring_buffer__consume(rb);
	ok(seen.pair == 1 && seen.close == 1, "events: socketpair and close published (%d, %d)",
	   seen.pair, seen.close);
	ring_buffer__free(rb);
	close(fd);
}

/* Until pid is gone or a zombie (the daemon's reaper is not us), at most WAIT_MS. */
static bool wait_dead(pid_t pid)
{
	char path[64], stat[512];
	int ms;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	for (ms = 0; ms < WAIT_MS; ms += 10) {
		FILE *f = fopen(path, "re");
		const char *end;
		bool zombie;

		if (!f)
			return true;
		zombie = fgets(stat, sizeof(stat), f) && (end = strrchr(stat, ')')) && end[1] &&
			 end[2] == 'Z';
		fclose(f);
		if (zombie)
			return true;
		usleep(10000);
	}
	return false;
}

static void test_pair(struct sockmap *m)
{
	struct crux_sock a, b;
	int sv[2];
	__u64 ia, ib;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	ia = ino_of(sv[0]);
	ib = ino_of(sv[1]);
	ok(sockmap__lookup(m, ia, &a) == 0 && sockmap__lookup(m, ib, &b) == 0,
	   "socketpair: both ends in the map");
	is_int(a.peer_ino, ib, "socketpair: a's peer is b");
	is_int(b.peer_ino, ia, "socketpair: b's peer is a");
	is_int(a.owner_tgid, getpid(), "socketpair: owner is the creator");
	{
		char comm[CRUX_COMM_LEN], want[CRUX_COMM_LEN] = "";
		__u32 tgid = 0;
		FILE *f = fopen("/proc/self/comm", "re");

		if (f && fgets(want, sizeof(want), f))
			want[strcspn(want, "\n")] = '\0';
		if (f)
			fclose(f);
		ok(sockmap__owner(m, ia, &tgid, comm) == 0 && tgid == (__u32)getpid() &&
			   !strcmp(comm, want),
		   "sockmap__owner: pid and comm '%s'", want);
	}
	is_int(a.type, SOCK_STREAM, "socketpair: type stream");
	is_int(a.state, 1 /* TCP_ESTABLISHED */, "socketpair: established");
	close(sv[0]);
	ok(!in_map(m, ia), "close: the released end is gone");
	ok(sockmap__lookup(m, ib, &b) == 0 && b.peer_ino == 0 && (b.flags & CRUX_SK_DEAD),
	   "close: the survivor's peer is dead");
	close(sv[1]);
	ok(!in_map(m, ib), "close: the survivor is gone after its own close");
}

static int listen_at(const char *name, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(a.sun_path, name, len);
	if (fd < 0 || bind(fd, (void *)&a, offsetof(struct sockaddr_un, sun_path) + len) ||
	    listen(fd, 8))
		tap_bail("listen on %s: %s", name, strerror(errno));
	return fd;
}

static int connect_to(const char *name, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memcpy(a.sun_path, name, len);
	if (fd < 0 || connect(fd, (void *)&a, offsetof(struct sockaddr_un, sun_path) + len))
		tap_bail("connect to %s: %s", name, strerror(errno));
	return fd;
}

static void test_connect(struct sockmap *m, const char *dir)
{
	char want[512], abs_name[] = "\0crux-test-smoke-abstract";
	struct crux_sock l, c, s;
	struct crux_conn conn;
	struct crux_sock *in = NULL;
	size_t n_in = 0;
	int lfd, cfd, sfd, afd;
	__u64 il, ic, is;

	if (chdir(dir))
		tap_bail("chdir %s: %s", dir, strerror(errno));
	lfd = listen_at("srv.sock", strlen("srv.sock"));
	il = ino_of(lfd);
	/* the kernel stores a path name with its NUL (sock_diag reports it so too) */
	ok(sockmap__lookup(m, il, &l) == 0 && l.state == 10 /* TCP_LISTEN */ &&
		   l.name_len == sizeof("srv.sock") && !memcmp(l.name, "srv.sock", l.name_len),
	   "listener: LISTEN with its bound name");
	cfd = connect_to("srv.sock", strlen("srv.sock"));
	ic = ino_of(cfd);
	ok(sockmap__lookup(m, ic, &c) == 0 && (c.flags & CRUX_SK_EMBRYO) && c.listener_ino == il &&
		   c.peer_ino == 0,
	   "connect: the client's peer is an embryo queued on the listener");
	snprintf(want, sizeof(want), "%s/srv.sock", dir);
	ok(sockmap__lookup_conn(m, ic, &conn) == 0 && conn.relative && !conn.truncated &&
		   conn.len == strlen(want) && !memcmp(conn.path, want, conn.len),
	   "connect: relative address recorded as %s", want);
	ok(sockmap__list_inbound(m, &il, 1, &in, &n_in) == 0 && n_in == 1 && in[0].ino == ic,
	   "inbound: the queued client points into the listener");
	free(in);
	sfd = accept(lfd, NULL, NULL);
	is = ino_of(sfd);
	ok(sockmap__lookup(m, ic, &c) == 0 && c.peer_ino == is && !(c.flags & CRUX_SK_EMBRYO),
	   "accept: the client's peer is the accepted socket");
	ok(sockmap__lookup(m, is, &s) == 0 && s.peer_ino == ic && s.owner_tgid == (__u32)getpid(),
	   "accept: the accepted socket's peer is the client");
	afd = listen_at(abs_name, sizeof(abs_name) - 1);
	ok(sockmap__lookup(m, ino_of(afd), &l) == 0 && l.name_len == sizeof(abs_name) - 1 &&
		   l.name[0] == '\0' && !memcmp(l.name, abs_name, l.name_len),
	   "abstract name: kept binary, leading NUL");
	close(afd);
	close(sfd);
	close(cfd);
	close(lfd);
	unlink("srv.sock");
	ok(!in_map(m, il) && !in_map(m, ic) && !in_map(m, is), "close: all three gone");
	ok(sockmap__lookup_conn(m, ic, &conn) == -ENOENT, "close: the connect address is gone");
}

/* A child that holds one end of a pair, then does `what` and exits or execs. */
static void test_releases(struct sockmap *m)
{
	int sv[2], dv[2], rv[2], cv[2], p[2];
	pid_t child;
	char c;

	/* exit: the last holder's exit walk */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || pipe(p))
		tap_bail("socketpair/pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		read(p[0], &c, 1); /* until the parent closed its copies */
		_exit(0);
	}
	close(sv[0]);
	close(p[0]);
	ok(in_map(m, ino_of(sv[1])), "fork: a shared end survives the parent's close");
	{
		__u64 i1 = ino_of(sv[1]);

		close(sv[1]);
		ok(in_map(m, i1), "fork: still held by the child");
		close(p[1]);
		waitpid(child, NULL, 0);
		ok(wait_gone(m, i1), "exit: the child's exit released the pair");
	}

	/* exit with dup'ed fds: no single fd holds the only reference (sightings per walk) */
	if (pipe(p))
		tap_bail("pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		__u64 inos[2];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) || dup(sv[0]) < 0 || dup(sv[0]) < 0 ||
		    dup(sv[1]) < 0)
			_exit(1);
		inos[0] = ino_of(sv[0]);
		inos[1] = ino_of(sv[1]);
		_exit(write(p[1], inos, sizeof(inos)) != sizeof(inos));
	}
	close(p[1]);
	{
		__u64 inos[2] = { 0, 0 };

		ok(read(p[0], inos, sizeof(inos)) == sizeof(inos),
		   "exit with dup'ed fds: child ran");
		waitpid(child, NULL, 0);
		ok(wait_gone(m, inos[0]) && wait_gone(m, inos[1]),
		   "exit with dup'ed fds: the pair is gone");
		close(p[0]);
	}

	/* dup2 onto the only fd of a socket */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, dv))
		tap_bail("socketpair: %s", strerror(errno));
	{
		__u64 i0 = ino_of(dv[0]);
		int nul = open("/dev/null", O_RDONLY);

		dup2(nul, dv[0]);
		ok(!in_map(m, i0), "dup2: the socket replaced at newfd is gone");
		close(nul);
		close(dv[0]);
		close(dv[1]);
	}

	/* close_range over two pairs */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, rv) || socketpair(AF_UNIX, SOCK_SEQPACKET, 0, cv))
		tap_bail("socketpair: %s", strerror(errno));
	{
		__u64 inos[4] = { ino_of(rv[0]), ino_of(rv[1]), ino_of(cv[0]), ino_of(cv[1]) };
		int lo = MIN(MIN(rv[0], rv[1]), MIN(cv[0], cv[1]));
		int hi = MAX(MAX(rv[0], rv[1]), MAX(cv[0], cv[1]));

		ok(in_map(m, inos[0]) && in_map(m, inos[3]),
		   "dgram and seqpacket pairs in the map");
		syscall(436 /* close_range */, lo, hi, 0);
		ok(!in_map(m, inos[0]) && !in_map(m, inos[1]) && !in_map(m, inos[2]) &&
			   !in_map(m, inos[3]),
		   "close_range: all four gone");
	}

	/* exec with close-on-exec sockets */
	if (pipe2(p, O_CLOEXEC))
		tap_bail("pipe: %s", strerror(errno));
	child = fork();
	if (child == 0) {
		int ev[2];
		__u64 inos[2];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ev))
			_exit(1);
		inos[0] = ino_of(ev[0]);
		inos[1] = ino_of(ev[1]);
		if (write(p[1], inos, sizeof(inos)) != sizeof(inos))
			_exit(1);
		execl("/bin/sleep", "sleep", "5", (char *)NULL);
		_exit(1);
	}
	close(p[1]);
	{
		__u64 inos[2] = { 0, 0 };

		ok(read(p[0], inos, sizeof(inos)) == sizeof(inos) && inos[0],
		   "exec: the child reported its close-on-exec pair");
		ok(wait_gone(m, inos[0]) && wait_gone(m, inos[1]),
		   "exec: the close-on-exec pair is gone");
		close(p[0]);
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
}

/* An fd in flight in a socket that dies: no hook sees that release; the recheck or reconcile does. */
static void test_reconcile(struct sockmap *m)
{
	char byte = 'x', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	int carrier[2], x[2];
	__u64 ix, swept = 0, st[CRUX_ST__MAX];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, carrier) || socketpair(AF_UNIX, SOCK_STREAM, 0, x))
		tap_bail("socketpair: %s", strerror(errno));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &x[0], sizeof(int));
	ix = ino_of(x[0]);
	if (sendmsg(carrier[0], &mh, 0) != 1)
		tap_bail("sendmsg: %s", strerror(errno));
	close(x[0]); /* in flight: another reference */
	close(carrier[1]); /* purges the queue: the last reference goes, unseen */
	close(carrier[0]);
	close(x[1]);
	ok(sockmap__reconcile(m, true, &swept) == 0, "reconcile: a strict pass runs");
	ok(!in_map(m, ix), "reconcile: the socket released in flight is swept");
	/* x[0] was closed while in flight: the tracker's recheck may find it first (10 ms) */
	if (sockmap__stats(m, st))
		memset(st, 0, sizeof(st));
	ok(swept >= 1 || st[CRUX_ST_RECHECKED] >= 1,
	   "the unseen release is found: %llu swept by reconcile, %llu by the recheck",
	   (unsigned long long)swept, (unsigned long long)st[CRUX_ST_RECHECKED]);
}

static void test_treeiter(void)
{
	struct crux_fd_rec *r = NULL;
	size_t n = 0, i, hits = 0;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	ok(treeiter_unix_fds(getpid(), &r, &n) == 0, "treeiter: our unix fds");
	for (i = 0; i < n; i++) {
		if (r[i].fd == sv[0] && r[i].ino == ino_of(sv[0]) && r[i].peer_ino == ino_of(sv[1]))
			hits++;
		if (r[i].fd == sv[1] && r[i].ino == ino_of(sv[1]) && r[i].peer_ino == ino_of(sv[0]))
			hits++;
	}
	is_int(hits, 2, "treeiter: both ends with their exact peers");
	free(r);
	r = NULL;
	is_int(treeiter_unix_fds(INT32_MAX - 1, &r, &n), -ESRCH, "treeiter: missing pid");
	close(sv[0]);
	close(sv[1]);
}

static void test_snapshot(void)
{
	struct sockmap *s = NULL;
	struct crux_sock a;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	ok(sockmap__snapshot(&s) == 0 && !sockmap__is_live(s), "snapshot: loads without pins");
	ok(s && sockmap__lookup(s, ino_of(sv[0]), &a) == 0 && a.peer_ino == ino_of(sv[1]) &&
		   a.owner_tgid == (__u32)getpid(),
	   "snapshot: our pair with its peer and owner");
	sockmap__close(s);
	close(sv[0]);
	close(sv[1]);
}

static void test_restart(struct sockmap **m)
{
	char args[512], out[256];
	pid_t pid, pid2;
	__u64 stats[CRUX_ST__MAX];
	int sv[2], rc;

	ok(sockmap__stats(*m, stats) == 0 && stats[CRUX_ST_TRACKER_PID] > 0,
	   "stats: the tracker registered its pid");
	pid = stats[CRUX_ST_TRACKER_PID];
	is_int(stats[CRUX_ST_UPSERT_FAIL], 0, "stats: no failed map write");

	snprintf(args, sizeof(args), "track -d --pin-dir %s", pin_dir);
	rc = run_crux(out, sizeof(out), args);
	is_int(rc, 1, "a second tracker on the same pin dir is refused");

	kill(pid, SIGKILL);
	wait_dead(pid);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		tap_bail("socketpair: %s", strerror(errno));
	ok(in_map(*m, ino_of(sv[0])), "after SIGKILL: the pinned programs still record");
	pid2 = start_tracker();
	ok(pid2 > 0 && pid2 != pid, "restart: a new tracker adopts the pinned state");
	ok(in_map(*m, ino_of(sv[0])), "restart: earlier entries kept");
	close(sv[0]);
	ok(!in_map(*m, ino_of(sv[0])), "restart: events still flow (once, not twice)");
	close(sv[1]);

	sockmap__close(*m);
	*m = NULL;
	snprintf(args, sizeof(args), "track --stop --pin-dir %s", pin_dir);
	is_int(run_crux(NULL, 0, args), 0, "--stop exits 0");
	ok(access(pin_dir, F_OK) && errno == ENOENT, "--stop removed the pin dir");
	ok(wait_dead(pid2), "--stop ended the tracker");
	is_int(sockmap__open(pin_dir, m, NULL), -ENOENT, "after --stop: no state to open");
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/crux-test-smoke-XXXXXX";
	struct sockmap *m = NULL;
	pid_t pid;
	int err;

	if (geteuid())
		tap_plan_skip_all("needs root");
	find_crux(argv[0]);
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/crux-test-smoke-%d", getpid());
	stop_all(); /* leftovers */
	atexit(stop_all);
	if (!mkdtemp(dir))
		tap_bail("mkdtemp: %s", strerror(errno));

	pid = start_tracker();
	if (!ok(pid > 0, "crux track -d printed its pid (%d) once seeded", pid))
		tap_bail("no tracker: %s", crux);
	err = sockmap__open(pin_dir, &m, NULL);
	if (!ok(err == 0 && sockmap__is_live(m), "sockmap__open on the pinned state"))
		tap_bail("sockmap__open: %d", err);

	test_pair(m);
	test_events();
	test_connect(m, dir);
	test_releases(m);
	test_reconcile(m);
	test_treeiter();
	test_snapshot();
	test_restart(&m);
	sockmap__close(m);
	if (chdir("/") == 0)
		rmdir(dir);
	return done_testing();
}
