// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the "no silent loss" e2e tests (not a test itself: no test_ prefix). Like
 * rsttgt: it builds one topology, touches DIR/ready, counts in DIR/counter until SIGUSR1,
 * then checks from inside that the state it set up came back, and exits 0 (or prints
 * "losstgt: FAIL ..." and exits 1).
 *
 *   losstgt TOPOLOGY DIR
 *
 *   locks     a POSIX write lock on bytes 0-9 and a read lock from 100 to EOF of DIR/posix,
 *             an OFD write lock on bytes 5-14 of DIR/ofd, flock() exclusive on DIR/flock-ex
 *             and shared on DIR/flock-sh; checked by a fresh child that must be refused
 *             the conflicting locks and granted the compatible ones
 *   pipes     status flags of each end (O_NONBLOCK on one end only, and on a second
 *             description of an end only) and pipe sizes (1 MiB empty, 256 KiB with data)
 *   attrs     oom_score_adj 400, child subreaper, THP disabled, timer slack, no_new_privs,
 *             dumpable 0, KEEPCAPS, personality ADDR_NO_RANDOMIZE
 *   sharedfd  a child made with clone(CLONE_FILES): a file it opens after the restore is
 *             usable by the parent at the same fd number
 *   madv      anonymous areas with MADV_DONTFORK, DONTDUMP, HUGEPAGE, NOHUGEPAGE,
 *             WIPEONFORK, SEQUENTIAL, RANDOM, and one mlock()ed, then mlockall(MCL_FUTURE):
 *             smaps VmFlags read back
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[200];
static volatile sig_atomic_t verify_now;
static int failures;

static void die(const char *what)
{
	dprintf(2, "losstgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

#define check(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			dprintf(2, "losstgt[%d]: FAIL %s:%d: ", getpid(), __func__, __LINE__); \
			dprintf(2, __VA_ARGS__);                                               \
			dprintf(2, " (errno %d)\n", errno);                                    \
			failures++;                                                            \
		}                                                                              \
	} while (0)

static int open_in(const char *name, int flags)
{
	char p[300];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		die(name);
	return fd;
}

/* ---- locks ---- */

static int posix_fd, ofd_fd, flex_fd, flsh_fd;

static int set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	return fcntl(fd, cmd, &fl);
}

static void setup_locks(void)
{
	posix_fd = open_in("posix", O_RDWR | O_CREAT);
	ofd_fd = open_in("ofd", O_RDWR | O_CREAT);
	flex_fd = open_in("flock-ex", O_RDWR | O_CREAT);
	flsh_fd = open_in("flock-sh", O_RDONLY | O_CREAT);
	if (set_lock(posix_fd, F_SETLK, F_WRLCK, 0, 10) ||
	    set_lock(posix_fd, F_SETLK, F_RDLCK, 100, 0) ||
	    set_lock(ofd_fd, F_OFD_SETLK, F_WRLCK, 5, 10) || flock(flex_fd, LOCK_EX | LOCK_NB) ||
	    flock(flsh_fd, LOCK_SH | LOCK_NB))
		die("lock");
}

/* In a fresh child: new descriptions, another owner. 0 if every answer was right. */
static int second_locker(pid_t owner)
{
	int p = open_in("posix", O_RDWR), o = open_in("ofd", O_RDWR);
	int fe = open_in("flock-ex", O_RDONLY), fs = open_in("flock-sh", O_RDONLY);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	int bad = 0;

	bad |= !set_lock(p, F_SETLK, F_WRLCK, 3, 1) << 0; /* inside the write lock */
	bad |= set_lock(p, F_SETLK, F_RDLCK, 200, 5) << 1; /* read lock: readers share */
	bad |= !set_lock(p, F_SETLK, F_WRLCK, 150, 1) << 2;
	bad |= set_lock(p, F_SETLK, F_WRLCK, 20, 10) << 3; /* between the two: free */
	bad |= (fcntl(p, F_GETLK, &fl) || fl.l_pid != owner || fl.l_type != F_WRLCK) << 4;
	bad |= !set_lock(o, F_OFD_SETLK, F_RDLCK, 14, 1) << 5;
	bad |= set_lock(o, F_OFD_SETLK, F_WRLCK, 15, 1) << 6; /* just past it */
	bad |= !flock(fe, LOCK_SH | LOCK_NB) << 7;
	bad |= flock(fs, LOCK_SH | LOCK_NB) << 8;
	bad |= !flock(fs, LOCK_EX | LOCK_NB) << 9;
	return bad;
}

static void verify_locks(void)
{
	pid_t owner = getpid(), c = fork();
	int st = 0;

	if (c < 0)
		die("fork");
	if (c == 0)
		_exit(second_locker(owner));
	check(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "a second locker got a wrong answer: bits %#x (see second_locker())",
	      WEXITSTATUS(st));
}

/* ---- pipes ---- */

static int pa[2], pb[2], pc[2], pd;

static void setup_pipes(void)
{
	char p[64];

	if (pipe2(pa, O_CLOEXEC) || pipe2(pb, O_CLOEXEC) || pipe2(pc, 0))
		die("pipe");
	if (fcntl(pa[0], F_SETFL, O_NONBLOCK) || fcntl(pb[1], F_SETFL, O_NONBLOCK))
		die("F_SETFL");
	if (fcntl(pb[0], F_SETPIPE_SZ, 1 << 20) < 0 || fcntl(pc[1], F_SETPIPE_SZ, 256 << 10) < 0)
		die("F_SETPIPE_SZ");
	if (write(pc[1], "queued", 6) != 6)
		die("write");
	/* a second description of pipe a's write end, non-blocking where the first is not */
	snprintf(p, sizeof(p), "/proc/self/fd/%d", pa[1]);
	pd = open(p, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (pd < 0)
		die("reopen");
}

static void expect_nonblock(int fd, bool want, const char *what)
{
	int fl = fcntl(fd, F_GETFL);

	check(fl >= 0 && !!(fl & O_NONBLOCK) == want, "%s: O_NONBLOCK is %s", what,
	      fl & O_NONBLOCK ? "set" : "clear");
}

static void verify_pipes(void)
{
	char buf[16] = { 0 };

	expect_nonblock(pa[0], true, "pipe a read end");
	expect_nonblock(pa[1], false, "pipe a write end");
	expect_nonblock(pb[0], false, "pipe b read end");
	expect_nonblock(pb[1], true, "pipe b write end");
	expect_nonblock(pc[0], false, "pipe c read end");
	expect_nonblock(pd, true, "pipe a write end, reopened");
	check(fcntl(pa[0], F_GETPIPE_SZ) == 65536, "pipe a: size %d", fcntl(pa[0], F_GETPIPE_SZ));
	check(fcntl(pb[1], F_GETPIPE_SZ) == 1 << 20, "pipe b: size %d, want 1 MiB",
	      fcntl(pb[1], F_GETPIPE_SZ));
	check(fcntl(pc[0], F_GETPIPE_SZ) == 256 << 10, "pipe c: size %d, want 256 KiB",
	      fcntl(pc[0], F_GETPIPE_SZ));
	check(read(pc[0], buf, sizeof(buf)) == 6 && !strcmp(buf, "queued"), "pipe c data '%s'",
	      buf);
}

/* ---- attrs ---- */

#define SLACK_NS 123456

static long read_long(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -99999;
}

static void setup_attrs(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, "400", 3) != 3)
		die("oom_score_adj");
	close(fd);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) ||
	    prctl(PR_SET_TIMERSLACK, SLACK_NS) || prctl(PR_SET_KEEPCAPS, 1) ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_DUMPABLE, 0))
		die("prctl");
	if (personality(PER_LINUX | ADDR_NO_RANDOMIZE) < 0)
		die("personality");
}

static void verify_attrs(void)
{
	int sub = 0;

	check(read_long("/proc/self/oom_score_adj") == 400, "oom_score_adj %ld, want 400",
	      read_long("/proc/self/oom_score_adj"));
	check(!prctl(PR_GET_CHILD_SUBREAPER, &sub) && sub == 1, "child subreaper %d", sub);
	check(prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1, "THP disable %d",
	      prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
	check(prctl(PR_GET_TIMERSLACK) == SLACK_NS, "timer slack %d", prctl(PR_GET_TIMERSLACK));
	check(prctl(PR_GET_KEEPCAPS) == 1, "KEEPCAPS %d", prctl(PR_GET_KEEPCAPS));
	check(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs %d",
	      prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	check(prctl(PR_GET_DUMPABLE) == 0, "dumpable %d", prctl(PR_GET_DUMPABLE));
	check(personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE), "personality %#x",
	      personality(0xffffffff));
}

/* ---- sharedfd ---- */

static int sh_req[2], sh_ans[2];
static pid_t sh_child;
static char sh_stack[64 << 10] __attribute__((aligned(16)));

/* The child: on each request byte, open DIR/probe and answer with the fd number. */
static int shared_child(void *arg)
{
	char c;

	while (read(sh_req[0], &c, 1) == 1) {
		int fd = open_in("probe", O_RDWR | O_CREAT);

		if (write(sh_ans[1], &fd, sizeof(fd)) != sizeof(fd))
			_exit(3);
	}
	_exit(0);
}

static void setup_sharedfd(void)
{
	if (pipe2(sh_req, O_CLOEXEC) || pipe2(sh_ans, O_CLOEXEC))
		die("pipe");
	sh_child = clone(shared_child, sh_stack + sizeof(sh_stack), CLONE_FILES | SIGCHLD, NULL);
	if (sh_child < 0)
		die("clone");
}

static void verify_sharedfd(void)
{
	struct stat a, b;
	int fd = -1, st;
	char p[300];

	check(write(sh_req[1], "x", 1) == 1 && read(sh_ans[0], &fd, sizeof(fd)) == sizeof(fd),
	      "the CLONE_FILES child did not answer");
	snprintf(p, sizeof(p), "%s/probe", dir);
	check(fd >= 0 && !fstat(fd, &a) && !stat(p, &b) && a.st_ino == b.st_ino,
	      "fd %d the child opened after the restore is not DIR/probe here", fd);
	close(sh_req[1]);
	check(waitpid(sh_child, &st, 0) == sh_child && WIFEXITED(st) && !WEXITSTATUS(st),
	      "the child ended badly");
}

/* ---- madv ---- */

struct madv_area {
	int advice; /* -1: mlock */
	const char *flag; /* the VmFlags mnemonic it sets */
	char *addr;
};

static struct madv_area areas[] = {
	{ MADV_DONTFORK, "dc", NULL },	 { MADV_DONTDUMP, "dd", NULL },
	{ MADV_HUGEPAGE, "hg", NULL },	 { MADV_NOHUGEPAGE, "nh", NULL },
	{ MADV_WIPEONFORK, "wf", NULL }, { MADV_SEQUENTIAL, "sr", NULL },
	{ MADV_RANDOM, "rr", NULL },	 { -1, "lo", NULL },
};

#define AREA_SIZE (4 << 20) /* room for a huge page */

static void setup_madv(void)
{
	size_t i;

	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		/* a guard page between areas keeps the kernel from merging them */
		char *p = mmap(NULL, AREA_SIZE + 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED || mprotect(p + AREA_SIZE, 4096, PROT_NONE))
			die("mmap");
		memset(p, (int)i + 1, 4096);
		if (areas[i].advice >= 0 ? madvise(p, AREA_SIZE, areas[i].advice) :
					   mlock(p, 4096 * 4))
			die(areas[i].flag);
		areas[i].addr = p;
	}
	if (mlockall(MCL_FUTURE))
		die("mlockall");
}

/* The VmFlags line of the mapping that starts at addr. */
static bool vmflags_of(char *addr, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[512];
	bool in = false, found = false;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = s == (unsigned long)addr;
		else if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, size, "%s", line + 8);
			found = true;
			break;
		}
	}
	if (f)
		fclose(f);
	return found;
}

static void verify_madv(void)
{
	char flags[512], want[8], *p;
	size_t i;

	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		snprintf(want, sizeof(want), " %s", areas[i].flag);
		check(vmflags_of(areas[i].addr, flags, sizeof(flags)) && strstr(flags, want),
		      "area %p: VmFlags%s lack %s", areas[i].addr, flags, areas[i].flag);
		check(areas[i].addr[0] == (char)(i + 1), "area %p lost its contents",
		      areas[i].addr);
	}
	/* mlockall(MCL_FUTURE): a new mapping is locked */
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(p != MAP_FAILED && vmflags_of(p, flags, sizeof(flags)) && strstr(flags, " lo"),
	      "a new mapping is not locked: mlockall(MCL_FUTURE) was lost (VmFlags%s)", flags);
}

/* ---- main ---- */

static void on_usr1(int sig)
{
	verify_now = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	const char *topo;
	unsigned long counter = 0;
	char p[300];
	int cfd;

	if (argc < 3) {
		dprintf(2, "usage: losstgt TOPOLOGY DIR\n");
		return 64;
	}
	topo = argv[1];
	if (!realpath(argv[2], dir))
		die("realpath");
	close_range(3, ~0U, 0);
	sigaction(SIGUSR1, &sa, NULL);
	snprintf(p, sizeof(p), "%s/counter", dir);
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	if (!strcmp(topo, "locks"))
		setup_locks();
	else if (!strcmp(topo, "pipes"))
		setup_pipes();
	else if (!strcmp(topo, "attrs"))
		setup_attrs();
	else if (!strcmp(topo, "sharedfd"))
		setup_sharedfd();
	else if (!strcmp(topo, "madv"))
		setup_madv();
	else {
		dprintf(2, "losstgt: unknown topology %s\n", topo);
		return 64;
	}
	close(open_in("ready", O_WRONLY | O_CREAT));
	while (!verify_now) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++counter);

		if (pwrite(cfd, buf, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
	if (!strcmp(topo, "locks"))
		verify_locks();
	else if (!strcmp(topo, "pipes"))
		verify_pipes();
	else if (!strcmp(topo, "attrs"))
		verify_attrs();
	else if (!strcmp(topo, "sharedfd"))
		verify_sharedfd();
	else
		verify_madv();
	if (failures)
		dprintf(2, "losstgt: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
