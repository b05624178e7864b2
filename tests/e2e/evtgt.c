// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the event-loop e2e tests (evloop.t; not a test itself). It builds one kind of
 * event-loop fd, touches DIR/ready, then counts (DIR/counter every 2 ms). On SIGUSR1 it
 * checks from inside that the state survived dump and restore, and exits 0 (or prints
 * "evtgt: FAIL ..." and exits 1).
 *
 *   evtgt KIND DIR
 *
 *   eventfd   counters 5 (non-blocking), 3 (EFD_SEMAPHORE), 0 (blocking): read back
 *   signalfd  mask {SIGUSR2, SIGHUP}, non-blocking, SIGHUP pending at dump: both read
 *   timerfd   CLOCK_MONOTONIC 2 s one-shot (fires after restore, not before its time
 *             left), CLOCK_BOOTTIME 100 s / 5 s interval, CLOCK_REALTIME absolute +1 h
 *             (same deadline), 7 unread expirations (TFD_IOC_SET_TICKS), 1 unread
 *             expiration of a fired one-shot
 *   epoll     an interest list with an eventfd (level), a pipe (EPOLLET), a socketpair end
 *             (EPOLLOUT|EPOLLONESHOT), a closed fd whose file lives on in a dup, a nested
 *             epoll, EPOLLEXCLUSIVE, and a fired ONESHOT: same registrations, same ready
 *             events and data words
 *   epoll-tree  an epoll shared with a child, which registered its own eventfd as fd 50,
 *             EPOLLWAKEUP, then moved it to fd 51 (the registration stays keyed by fd 50 of
 *             a file only the child holds): ready again after restore with its data word
 *   epoll-outside  (refused) the process started forks the target and stays outside its
 *             tree holding an eventfd as fd 60; the target registered fd 60 in its epoll and
 *             closed it: no fd of the dumped tree holds the target's file (DIR/child: pid)
 *   inotify   watches on DIR (IN_CREATE) and DIR/sub (IN_DELETE|IN_ONESHOT) with a gap in
 *             the wd numbers: same wds and masks, and a file created after restore is seen
 *   inotify-queued  an inotify group with an unread event at dump (not restored)
 *   fanotify  an inode mark (FAN_OPEN) on DIR/f: an open after restore is seen
 *   ptimer    POSIX timers with a gap in their ids: CLOCK_MONOTONIC 2 s to a signal with
 *             a value (delivered after restore, once), CLOCK_REALTIME SIGEV_NONE with an
 *             interval, CLOCK_BOOTTIME to this thread (SIGEV_THREAD_ID): same ids, clocks,
 *             notify settings and intervals (/proc/self/timers and timer_gettime)
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef TFD_IOC_SET_TICKS
#define TFD_IOC_SET_TICKS _IOW('T', 0, uint64_t)
#endif

static char dir[PATH_MAX - 64];
static volatile sig_atomic_t verify_now;
static int failures;

#define check(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			dprintf(2, "evtgt: FAIL %s:%d: ", __func__, __LINE__); \
			dprintf(2, __VA_ARGS__);                               \
			dprintf(2, " (errno %d)\n", errno);                    \
			failures++;                                            \
		}                                                              \
	} while (0)

static void die(const char *what)
{
	dprintf(2, "evtgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void on_usr1(int sig)
{
	verify_now = 1;
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static uint64_t rd64(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return UINT64_MAX;
	return v;
}

/* eventfd */
enum { EFD_A = 10, EFD_SEM = 11, EFD_BLK = 12 };

static void setup_eventfd(void)
{
	uint64_t five = 5;

	if (dup2(eventfd(0, EFD_NONBLOCK), EFD_A) < 0 || write(EFD_A, &five, 8) != 8)
		die("eventfd");
	if (dup2(eventfd(3, EFD_NONBLOCK | EFD_SEMAPHORE), EFD_SEM) < 0)
		die("eventfd sem");
	if (dup2(eventfd(0, 0), EFD_BLK) < 0)
		die("eventfd blocking");
}

static void verify_eventfd(void)
{
	struct pollfd p = { .fd = EFD_BLK, .events = POLLIN };
	int i;

	check(rd64(EFD_A) == 5, "eventfd counter is not 5");
	check(rd64(EFD_A) == UINT64_MAX && errno == EAGAIN, "eventfd not empty after a read");
	for (i = 0; i < 3; i++)
		check(rd64(EFD_SEM) == 1, "semaphore read %d is not 1", i);
	check(rd64(EFD_SEM) == UINT64_MAX && errno == EAGAIN, "semaphore not at 0 after 3");
	check(!(fcntl(EFD_BLK, F_GETFL) & O_NONBLOCK), "blocking eventfd became non-blocking");
	check(poll(&p, 1, 0) == 0, "empty eventfd is readable");
}

/* signalfd */
enum { SFD = 13 };

static void setup_signalfd(void)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR2);
	sigaddset(&m, SIGHUP);
	sigprocmask(SIG_BLOCK, &m, NULL);
	if (dup2(signalfd(-1, &m, SFD_NONBLOCK), SFD) < 0)
		die("signalfd");
	kill(getpid(), SIGHUP); /* pending at dump */
}

static int sfd_read(void)
{
	struct signalfd_siginfo si;

	if (read(SFD, &si, sizeof(si)) != sizeof(si))
		return -1;
	return (int)si.ssi_signo;
}

static void verify_signalfd(void)
{
	check(fcntl(SFD, F_GETFL) & O_NONBLOCK, "signalfd lost O_NONBLOCK");
	check(sfd_read() == SIGHUP, "the SIGHUP pending at dump is not read");
	check(sfd_read() == -1 && errno == EAGAIN, "signalfd not empty");
	kill(getpid(), SIGUSR2);
	check(sfd_read() == SIGUSR2, "SIGUSR2 sent after restore is not read");
}

/* timerfd */
enum { TFD_MONO = 14, TFD_BOOT = 15, TFD_REAL = 16, TFD_TICKS = 17, TFD_FIRED = 18 };
static struct timespec real_deadline;

static int tfd_make(int num, int clock, int flags, time_t v, long vns, time_t i)
{
	struct itimerspec its = { .it_value = { v, vns }, .it_interval = { i, 0 } };
	int fd = timerfd_create(clock, TFD_NONBLOCK);

	if (fd < 0 || dup2(fd, num) < 0)
		die("timerfd_create");
	close(fd);
	if ((v || vns) && timerfd_settime(num, flags, &its, NULL))
		die("timerfd_settime");
	return num;
}

static void setup_timerfd(void)
{
	uint64_t seven = 7;

	tfd_make(TFD_MONO, CLOCK_MONOTONIC, 0, 2, 0, 0);
	tfd_make(TFD_BOOT, CLOCK_BOOTTIME, 0, 100, 0, 5);
	clock_gettime(CLOCK_REALTIME, &real_deadline);
	real_deadline.tv_sec += 3600;
	tfd_make(TFD_REAL, CLOCK_REALTIME, TFD_TIMER_ABSTIME, real_deadline.tv_sec,
		 real_deadline.tv_nsec, 0);
	tfd_make(TFD_TICKS, CLOCK_MONOTONIC, 0, 0, 0, 0);
	if (ioctl(TFD_TICKS, TFD_IOC_SET_TICKS, &seven))
		die("TFD_IOC_SET_TICKS");
	tfd_make(TFD_FIRED, CLOCK_MONOTONIC, 0, 0, 1000, 0);
	usleep(10000); /* it has fired: 1 unread expiration */
}

static void verify_timerfd(void)
{
	struct itimerspec its;
	struct timespec now;
	struct pollfd p = { .fd = TFD_MONO, .events = POLLIN };
	long long left_ms, diff_ns;

	check(!timerfd_gettime(TFD_MONO, &its), "gettime mono");
	left_ms = its.it_value.tv_sec * 1000LL + its.it_value.tv_nsec / 1000000;
	/* the deadline shifted by the time spent checkpointed: it has not fired yet */
	check(left_ms > 0 && left_ms <= 2000, "monotonic timer has %lld ms left", left_ms);
	check(rd64(TFD_MONO) == UINT64_MAX && errno == EAGAIN, "monotonic timer fired early");
	check(poll(&p, 1, (int)left_ms + 2000) == 1 && rd64(TFD_MONO) == 1,
	      "monotonic timer did not fire once after its time left");
	check(!timerfd_gettime(TFD_BOOT, &its), "gettime boot");
	check(its.it_interval.tv_sec == 5 && its.it_value.tv_sec < 100 &&
		      (its.it_value.tv_sec || its.it_value.tv_nsec),
	      "boottime timer: %ld s left, interval %ld s", (long)its.it_value.tv_sec,
	      (long)its.it_interval.tv_sec);
	check(!timerfd_gettime(TFD_REAL, &its), "gettime real");
	clock_gettime(CLOCK_REALTIME, &now);
	diff_ns = (now.tv_sec + its.it_value.tv_sec - real_deadline.tv_sec) * 1000000000LL +
		  now.tv_nsec + its.it_value.tv_nsec - real_deadline.tv_nsec;
	check(diff_ns > -50000000LL && diff_ns < 50000000LL,
	      "absolute realtime deadline moved by %lld ns", diff_ns);
	check(rd64(TFD_TICKS) == 7, "7 unread expirations did not read back");
	check(rd64(TFD_FIRED) == 1, "the fired one-shot's expiration did not read back");
	check(fcntl(TFD_FIRED, F_GETFL) & O_NONBLOCK, "timerfd lost O_NONBLOCK");
}

/* epoll */
enum {
	EP = 20,
	EP_IN = 21,
	EP_ONE = 22,
	E_LVL = 23,
	P_RD = 24,
	P_WR = 25,
	S_A = 26,
	S_B = 27,
	E_DUP = 28,
	E_X = 29,
	E_NEST = 30,
	E_ONE = 31,
	E_CLOSED = 40
};

static void ep_add(int ep, int fd, uint32_t ev, uint64_t data)
{
	struct epoll_event e = { .events = ev, .data.u64 = data };

	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e))
		die("epoll_ctl");
}

static void setup_epoll(void)
{
	int p[2], s[2];
	uint64_t one = 1;
	struct epoll_event e;

	if (dup2(epoll_create1(0), EP) < 0 || dup2(epoll_create1(0), EP_IN) < 0 ||
	    dup2(epoll_create1(0), EP_ONE) < 0)
		die("epoll_create1");
	if (dup2(eventfd(1, EFD_NONBLOCK), E_LVL) < 0 || pipe(p) || dup2(p[0], P_RD) < 0 ||
	    dup2(p[1], P_WR) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) || dup2(s[0], S_A) < 0 ||
	    dup2(s[1], S_B) < 0)
		die("targets");
	if (write(P_WR, "x", 1) != 1)
		die("pipe write");
	ep_add(EP, E_LVL, EPOLLIN, 0x1111);
	ep_add(EP, P_RD, EPOLLIN | EPOLLET, 0x2222);
	ep_add(EP, S_A, EPOLLOUT | EPOLLONESHOT, 0x3333);
	/* registered as fd 40, then fd 40 closed: the file lives on as E_DUP */
	if (dup2(eventfd(2, EFD_NONBLOCK), E_CLOSED) < 0 || dup2(E_CLOSED, E_DUP) < 0)
		die("dup");
	ep_add(EP, E_CLOSED, EPOLLIN, 0x4444);
	close(E_CLOSED);
	if (dup2(eventfd(1, EFD_NONBLOCK), E_NEST) < 0)
		die("nested target");
	ep_add(EP_IN, E_NEST, EPOLLIN, 0x7777);
	ep_add(EP, EP_IN, EPOLLIN, 0x5555);
	if (dup2(eventfd(0, EFD_NONBLOCK), E_X) < 0)
		die("exclusive target");
	ep_add(EP, E_X, EPOLLIN | EPOLLEXCLUSIVE, 0x6666);
	if (dup2(eventfd(0, EFD_NONBLOCK), E_ONE) < 0 || write(E_ONE, &one, 8) != 8)
		die("oneshot target");
	ep_add(EP_ONE, E_ONE, EPOLLIN | EPOLLONESHOT, 0x8888);
	if (epoll_wait(EP_ONE, &e, 1, 0) != 1)
		die("oneshot did not fire");
}

/* The ready (data, events) pairs, as a bit set of data>>12 (0x1111 -> 1, ...). */
static unsigned int ready(int ep, uint32_t *ev_of)
{
	struct epoll_event e[16];
	unsigned int set = 0;
	int i, n = epoll_wait(ep, e, 16, 0);

	for (i = 0; i < n; i++) {
		unsigned int k = (unsigned int)(e[i].data.u64 >> 12);

		if (k < 16) {
			set |= 1u << k;
			ev_of[k] = e[i].events;
		}
	}
	return set;
}

static void verify_epoll(void)
{
	uint32_t ev[16] = { 0 };
	unsigned int set;
	struct epoll_event e;

	set = ready(EP, ev);
	/* 0x1111 level eventfd, 0x2222 pipe, 0x3333 socket out, 0x4444 closed fd, 0x5555 nested */
	check(set == 0x3e, "ready set %#x, expected %#x", set, 0x3e);
	check(ev[1] == EPOLLIN && ev[2] == EPOLLIN && ev[3] == EPOLLOUT && ev[4] == EPOLLIN &&
		      ev[5] == EPOLLIN,
	      "events %#x %#x %#x %#x %#x", ev[1], ev[2], ev[3], ev[4], ev[5]);
	set = ready(EP, ev);
	/* level-triggered ones again; not the EPOLLET pipe nor the fired ONESHOT */
	check(set == 0x32, "second wait: ready set %#x, expected 0x32", set);
	check(epoll_wait(EP_IN, &e, 1, 0) == 1 && e.data.u64 == 0x7777, "nested epoll lost");
	check(epoll_wait(EP_ONE, &e, 1, 0) == 0, "a fired ONESHOT came back armed");
	/* the closed fd's registration follows its file: E_DUP drained -> not ready */
	check(rd64(E_DUP) == 2, "closed-fd target counter");
	set = ready(EP, ev);
	check(set == 0x22, "after draining the dup: ready set %#x, expected 0x22", set);
	if (write(E_X, &(uint64_t){ 1 }, 8) != 8)
		check(0, "write exclusive target");
	set = ready(EP, ev);
	check(set & 0x40, "the EPOLLEXCLUSIVE target is not reported");
}

static pid_t ep_child;

static void setup_epoll_tree(void)
{
	int sync[2];
	char c;

	if (dup2(epoll_create1(0), EP) < 0 || pipe(sync))
		die("epoll_create1");
	ep_child = fork();
	if (ep_child < 0)
		die("fork");
	if (ep_child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(eventfd(1, EFD_NONBLOCK), 50) < 0)
			die("child eventfd");
		ep_add(EP, 50, EPOLLIN | EPOLLWAKEUP, 0x9999);
		if (dup2(50, 51) < 0 || close(50) || write(sync[1], "r", 1) != 1)
			die("child dup");
		for (;;)
			pause();
	}
	if (read(sync[0], &c, 1) != 1)
		die("child did not get ready");
	close(sync[0]);
	close(sync[1]);
	if (dup2(eventfd(0, EFD_NONBLOCK), 52) < 0)
		die("eventfd");
	ep_add(EP, 52, EPOLLIN, 0xa000);
}

static void verify_epoll_tree(void)
{
	uint32_t ev[16] = { 0 };
	unsigned int set = ready(EP, ev);

	check(set == 0x200 && ev[9] == EPOLLIN, "ready set %#x (events %#x), expected 0x200", set,
	      ev[9]);
	check(fcntl(50, F_GETFD) < 0 && fcntl(51, F_GETFD) < 0, "the child's fds leaked to us");
	check(kill(ep_child, 0) == 0, "the child is gone");
	kill(ep_child, SIGKILL);
	waitpid(ep_child, NULL, 0);
}

static void setup_epoll_outside(void)
{
	char p[PATH_MAX];
	int e = eventfd(1, EFD_NONBLOCK);
	pid_t child;
	FILE *f;

	/* fd 60 is its only fd: the child must keep no other copy of it */
	if (e < 0 || dup2(e, 60) < 0 || close(e))
		die("eventfd");
	child = fork();
	if (child < 0)
		die("fork");
	if (child > 0) {
		/* outside the dumped tree: keep fd 60's file alive, nothing else */
		path_of(p, sizeof(p), "child");
		f = fopen(p, "we");
		if (!f || fprintf(f, "%d\n", child) < 0 || fclose(f))
			die("child file");
		for (;;)
			pause();
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (dup2(epoll_create1(0), EP) < 0)
		die("epoll_create1");
	ep_add(EP, 60, EPOLLIN, 0x6060);
	close(60);
}

static void verify_epoll_outside(void)
{
	check(0, "a tree whose epoll target lives outside it must not be dumped");
}

/* fdinfo "tfd: events: data:" lines (file-independent part), for the before/after check. */
static void ep_lines(int ep, char *out, size_t size)
{
	char p[64], line[256];
	FILE *f;
	size_t len = 0;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", ep);
	f = fopen(p, "re");
	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char *pos = strstr(line, " pos:");

		if (strncmp(line, "tfd:", 4) || !pos)
			continue;
		*pos = '\0';
		len += (size_t)snprintf(out + len, size - len, "%s;", line);
	}
	if (f)
		fclose(f);
}

static char ep_before[2048];

/* a and b hold the same ';'-terminated items, in any order */
static int same_set(const char *a, const char *b)
{
	const char *p, *e;
	size_t na = 0, nb = 0;

	for (p = a; (e = strchr(p, ';')); p = e + 1, na++) {
		char item[256];

		snprintf(item, sizeof(item), "%.*s;", (int)(e - p), p);
		if (!strstr(b, item))
			return 0;
	}
	for (p = b; (p = strchr(p, ';')); p++)
		nb++;
	return na == nb;
}

/* inotify */
enum { INO = 32, INO_Q = 33, FAN = 34 };
static char ino_before[1024];

static void ino_lines(int fd, char *out, size_t size)
{
	char p[64], line[512];
	FILE *f;
	size_t len = 0;

	snprintf(p, sizeof(p), "/proc/self/fdinfo/%d", fd);
	f = fopen(p, "re");
	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		char *ino = strstr(line, " ino:"), *mask = strstr(line, " mask:");
		char *end = mask ? strstr(mask, " fhandle") : NULL;

		if (strncmp(line, "inotify wd:", 11) || !ino || !mask || !end)
			continue;
		*ino = *end = '\0';
		len += (size_t)snprintf(out + len, size - len, "%s%s;", line, mask);
	}
	if (f)
		fclose(f);
}

static void setup_inotify(void)
{
	char p[PATH_MAX], buf[4096];
	int gap;

	path_of(p, sizeof(p), "sub");
	mkdir(p, 0700);
	if (dup2(inotify_init1(IN_NONBLOCK), INO) < 0)
		die("inotify_init1");
	if (inotify_add_watch(INO, dir, IN_CREATE) != 1)
		die("watch 1");
	path_of(p, sizeof(p), "counter"); /* wd 2, removed: restore must skip it */
	gap = inotify_add_watch(INO, p, IN_MODIFY);
	inotify_rm_watch(INO, gap);
	while (read(INO, buf, sizeof(buf)) > 0)
		; /* its IN_IGNORED */
	path_of(p, sizeof(p), "sub");
	if (inotify_add_watch(INO, p, IN_DELETE | IN_ONESHOT) != 3)
		die("watch 3");
	ino_lines(INO, ino_before, sizeof(ino_before));
}

static void verify_inotify(void)
{
	char after[1024], p[PATH_MAX];
	char buf[4096] __attribute__((aligned(8)));
	struct inotify_event *ev = (void *)buf;
	ssize_t n;

	ino_lines(INO, after, sizeof(after));
	check(ino_before[0] && !strcmp(ino_before, after), "watches were \"%s\", now \"%s\"",
	      ino_before, after);
	check(read(INO, buf, sizeof(buf)) < 0 && errno == EAGAIN, "inotify queue not empty");
	path_of(p, sizeof(p), "new-after-restore");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	n = read(INO, buf, sizeof(buf));
	check(n > 0 && ev->wd == 1 && (ev->mask & IN_CREATE) && ev->len &&
		      !strcmp(ev->name, "new-after-restore"),
	      "no IN_CREATE event for a file created after restore (n %zd)", n);
}

static void setup_inotify_queued(void)
{
	char p[PATH_MAX];

	if (dup2(inotify_init1(IN_NONBLOCK), INO_Q) < 0 ||
	    inotify_add_watch(INO_Q, dir, IN_CREATE) != 1)
		die("inotify");
	path_of(p, sizeof(p), "queued");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)); /* one event, never read */
}

static void verify_inotify_queued(void)
{
	char buf[4096];

	/* documented: the unread event is not restored (the dump said so) */
	check(read(INO_Q, buf, sizeof(buf)) < 0 && errno == EAGAIN,
	      "an event was recreated in the queue");
}

/* fanotify */
static void setup_fanotify(void)
{
	char p[PATH_MAX];

	path_of(p, sizeof(p), "f");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	if (dup2(fanotify_init(FAN_CLASS_NOTIF | FAN_NONBLOCK, O_RDONLY), FAN) < 0)
		die("fanotify_init");
	if (fanotify_mark(FAN, FAN_MARK_ADD, FAN_OPEN, AT_FDCWD, p))
		die("fanotify_mark");
}

static void verify_fanotify(void)
{
	char buf[4096] __attribute__((aligned(8)));
	struct fanotify_event_metadata *m = (void *)buf;
	char p[PATH_MAX];
	ssize_t n;

	check(read(FAN, buf, sizeof(buf)) < 0 && errno == EAGAIN, "fanotify queue not empty");
	path_of(p, sizeof(p), "f");
	close(open(p, O_RDONLY | O_CLOEXEC));
	n = read(FAN, buf, sizeof(buf));
	check(n >= (ssize_t)sizeof(*m) && (m->mask & FAN_OPEN) && m->pid == getpid(),
	      "no FAN_OPEN event for an open after restore (n %zd)", n);
	if (n >= (ssize_t)sizeof(*m) && m->fd >= 0)
		close(m->fd);
}

/* POSIX timers, by raw syscalls: the kernel's ids, not glibc's timer_t */
static int ptimer_ids[3];
static char timers_before[1024];

static int ptimer_make(int clock, int notify, int sig, uint64_t val, time_t v, time_t i)
{
	struct sigevent sev;
	struct itimerspec its = { .it_value = { v, 0 }, .it_interval = { i, 0 } };
	int id = -1;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = notify;
	sev.sigev_signo = sig;
	sev.sigev_value.sival_ptr = (void *)(uintptr_t)val;
	if (notify == SIGEV_THREAD_ID)
		sev._sigev_un._tid = getpid();
	if (syscall(SYS_timer_create, clock, &sev, &id) ||
	    syscall(SYS_timer_settime, id, 0, &its, NULL))
		die("timer_create");
	return id;
}

static void timers_text(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/timers", "re");
	size_t len = 0;
	char line[128];

	out[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		len += (size_t)snprintf(out + len, size - len, "%s", line);
	if (f)
		fclose(f);
}

static void setup_ptimer(void)
{
	sigset_t m;
	int gap;

	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 1);
	sigaddset(&m, SIGRTMIN + 2);
	sigprocmask(SIG_BLOCK, &m, NULL);
	ptimer_ids[0] = ptimer_make(CLOCK_MONOTONIC, SIGEV_SIGNAL, SIGRTMIN + 1, 0xabc, 2, 0);
	gap = ptimer_make(CLOCK_MONOTONIC, SIGEV_NONE, 0, 0, 0, 0);
	ptimer_ids[1] = ptimer_make(CLOCK_REALTIME, SIGEV_NONE, 0, 0, 100, 10);
	ptimer_ids[2] = ptimer_make(CLOCK_BOOTTIME, SIGEV_THREAD_ID, SIGRTMIN + 2, 7, 50, 0);
	syscall(SYS_timer_delete, gap);
	timers_text(timers_before, sizeof(timers_before));
}

static void verify_ptimer(void)
{
	struct itimerspec its;
	struct timespec wait = { 4, 0 };
	char after[1024];
	siginfo_t si;
	sigset_t m;
	long left_ms;

	timers_text(after, sizeof(after));
	check(timers_before[0] && !strcmp(timers_before, after), "timers were \"%s\", now \"%s\"",
	      timers_before, after);
	check(!syscall(SYS_timer_gettime, ptimer_ids[1], &its) && its.it_interval.tv_sec == 10 &&
		      its.it_value.tv_sec < 100 && its.it_value.tv_sec > 0,
	      "realtime timer: %ld s left, interval %ld s", (long)its.it_value.tv_sec,
	      (long)its.it_interval.tv_sec);
	check(!syscall(SYS_timer_gettime, ptimer_ids[2], &its) && its.it_value.tv_sec < 50 &&
		      its.it_value.tv_sec > 0,
	      "boottime timer: %ld s left", (long)its.it_value.tv_sec);
	check(!syscall(SYS_timer_gettime, ptimer_ids[0], &its), "timer_gettime");
	left_ms = its.it_value.tv_sec * 1000 + its.it_value.tv_nsec / 1000000;
	check(left_ms > 0 && left_ms <= 2000, "monotonic timer has %ld ms left", left_ms);
	sigemptyset(&m);
	sigaddset(&m, SIGRTMIN + 1);
	check(sigtimedwait(&m, &si, &wait) == SIGRTMIN + 1 && si.si_code == SI_TIMER &&
		      si.si_value.sival_ptr == (void *)0xabc && si.si_timerid == ptimer_ids[0],
	      "the monotonic timer's signal did not come with its value and id");
}

static const struct {
	const char *name;
	void (*setup)(void), (*verify)(void);
} kinds[] = {
	{ "eventfd", setup_eventfd, verify_eventfd },
	{ "signalfd", setup_signalfd, verify_signalfd },
	{ "timerfd", setup_timerfd, verify_timerfd },
	{ "epoll", setup_epoll, verify_epoll },
	{ "epoll-tree", setup_epoll_tree, verify_epoll_tree },
	{ "epoll-outside", setup_epoll_outside, verify_epoll_outside },
	{ "inotify", setup_inotify, verify_inotify },
	{ "inotify-queued", setup_inotify_queued, verify_inotify_queued },
	{ "fanotify", setup_fanotify, verify_fanotify },
	{ "ptimer", setup_ptimer, verify_ptimer },
};

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned long counter = 0;
	char p[PATH_MAX], after[2048];
	size_t k;
	int cfd;

	if (argc < 3 || !realpath(argv[2], dir))
		return 64;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(argv[1], kinds[k].name))
			break;
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return 64;
	close_range(3, ~0U, 0);
	sigaction(SIGUSR1, &sa, NULL);
	path_of(p, sizeof(p), "counter");
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	kinds[k].setup();
	if (!strncmp(kinds[k].name, "epoll", 5))
		ep_lines(EP, ep_before, sizeof(ep_before));
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	while (!verify_now) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++counter);

		if (pwrite(cfd, buf, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
	if (!strncmp(kinds[k].name, "epoll", 5)) {
		ep_lines(EP, after, sizeof(after));
		/* the kernel orders the list by file address: compare it as a set */
		check(ep_before[0] && same_set(ep_before, after),
		      "interest list was \"%s\", now \"%s\"", ep_before, after);
	}
	kinds[k].verify();
	if (failures)
		dprintf(2, "evtgt: %d check(s) failed\n", failures);
	return failures ? 1 : 0;
}
