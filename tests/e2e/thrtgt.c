// SPDX-License-Identifier: GPL-2.0-only
/*
 * Multi-threaded target of the e2e tests (not a test itself: no test_ prefix).
 *
 *   thrtgt threads DIR
 *   thrtgt pexit DIR      main ends with pthread_exit(); a second thread counts (and is never
 *                         verified: crux refuses to dump such a process)
 *   thrtgt idle DIR N     N threads in all (main included), each asleep in pause(); for
 *                         tools/bench/bench_threads.sh
 *
 * Four threads: main counts (DIR/counter every 2 ms, as rsttgt does); "thr-cond" waits in
 * pthread_cond_wait; "thr-spin" spins on a counter (with its own signal mask, a SIGUSR2
 * pending for it alone, and an alternate signal stack); "thr-read" blocks in read() on a pipe that gets data only at verification.
 * Each thread records at start what the kernel keeps per thread: its tid, its __thread
 * value, signal mask, robust list, clear-tid address, rseq registration, name. When every
 * thread is running it touches DIR/ready and writes the tids to DIR/tids.
 *
 * On SIGUSR1 (which only main leaves unblocked) main checks that the spinner still moves,
 * wakes the waiter, writes to the pipe, and each thread checks its own state is the one it
 * recorded; exit 0 when all passed, else "thrtgt: FAIL ..." lines on stderr and exit 1.
 * DIR/expect holds the counter at dump time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NR_THREADS 3
#define ALTSTACK_SIZE 65536
#define WAIT_MS 5000
#ifndef RSEQ_SIG
#define RSEQ_SIG 0x53053053 /* glibc's x86 signature */
#endif

enum { T_COND, T_SPIN, T_READ };

static const char *const names[NR_THREADS] = { "thr-cond", "thr-spin", "thr-read" };

/* What a thread saw of itself at start; compared again at verification. */
struct self {
	pid_t tid;
	uint64_t mask;
	void *robust_head;
	size_t robust_len;
	unsigned long clear_tid;
};

static char dir[200];
static struct self at_start[NR_THREADS + 1]; /* [NR_THREADS] is main */
static __thread unsigned long tls_value;
static atomic_int failures, started, done;
static atomic_ulong spins;
static atomic_bool verifying;
static volatile sig_atomic_t verify_now;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static bool wake;
static int pipefd[2];
static char altstack[ALTSTACK_SIZE];

#define check(cond, ...)                                                                       \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			dprintf(2, "thrtgt[%ld]: FAIL %s:%d: ", syscall(SYS_gettid), __func__, \
				__LINE__);                                                     \
			dprintf(2, __VA_ARGS__);                                               \
			dprintf(2, " (errno %d)\n", errno);                                    \
			atomic_fetch_add(&failures, 1);                                        \
		}                                                                              \
	} while (0)

static void die(const char *what)
{
	dprintf(2, "thrtgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

static void record(struct self *s)
{
	sigset_t m;

	s->tid = (pid_t)syscall(SYS_gettid);
	pthread_sigmask(SIG_BLOCK, NULL, &m);
	memcpy(&s->mask, &m, sizeof(s->mask));
	syscall(SYS_get_robust_list, 0, &s->robust_head, &s->robust_len);
	prctl(PR_GET_TID_ADDRESS, &s->clear_tid);
}

/* The rseq area glibc registered at thread start must still be this thread's: registering it
 * again is refused with EBUSY when (and only when) the kernel already has it. */
static bool rseq_registered(void)
{
	void *area = (char *)__builtin_thread_pointer() + __rseq_offset;

	if (!__rseq_size)
		return true; /* glibc did not register rseq (GLIBC_TUNABLES): nothing to check */
	return syscall(SYS_rseq, area, 32, 0, RSEQ_SIG) < 0 && errno == EBUSY;
}

/* Every per-thread fact recorded at start, checked in the thread itself. */
static void verify_self(int idx, unsigned long want_tls)
{
	struct self now;
	char path[64], comm[32] = { 0 };
	int fd;

	record(&now);
	check(now.tid == at_start[idx].tid, "tid %d, was %d", now.tid, at_start[idx].tid);
	check(tls_value == want_tls, "__thread value %lu, want %lu", tls_value, want_tls);
	check(now.mask == at_start[idx].mask, "signal mask %#llx, was %#llx",
	      (unsigned long long)now.mask, (unsigned long long)at_start[idx].mask);
	check(now.robust_head == at_start[idx].robust_head &&
		      now.robust_len == at_start[idx].robust_len,
	      "robust list %p/%zu, was %p/%zu", now.robust_head, now.robust_len,
	      at_start[idx].robust_head, at_start[idx].robust_len);
	check(now.clear_tid == at_start[idx].clear_tid, "clear-tid address %#lx, was %#lx",
	      now.clear_tid, at_start[idx].clear_tid);
	check(rseq_registered(), "its rseq area is not registered");
	if (idx < NR_THREADS) {
		snprintf(path, sizeof(path), "/proc/self/task/%d/comm", now.tid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && read(fd, comm, sizeof(comm) - 1) < 0)
			comm[0] = '\0';
		if (fd >= 0)
			close(fd);
		comm[strcspn(comm, "\n")] = '\0';
		check(!strcmp(comm, names[idx]), "thread name '%s', want '%s'", comm, names[idx]);
	}
}

static void thread_start(int idx)
{
	sigset_t m;

	sigemptyset(&m);
	sigaddset(&m, SIGUSR1); /* SIGUSR1 is main's */
	if (idx == T_SPIN)
		sigaddset(&m, SIGUSR2); /* a mask of its own */
	pthread_sigmask(SIG_BLOCK, &m, NULL);
	pthread_setname_np(pthread_self(), names[idx]);
	tls_value = 1000 + (unsigned long)idx;
	record(&at_start[idx]);
	atomic_fetch_add(&started, 1);
}

static void *cond_main(void *arg)
{
	thread_start(T_COND);
	pthread_mutex_lock(&lock);
	while (!wake)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	verify_self(T_COND, 1000 + T_COND);
	atomic_fetch_add(&done, 1);
	return arg;
}

static void *spin_main(void *arg)
{
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) }, now;
	sigset_t pend;

	if (sigaltstack(&ss, NULL))
		die("sigaltstack");
	thread_start(T_SPIN);
	while (!atomic_load(&verifying))
		atomic_fetch_add(&spins, 1);
	verify_self(T_SPIN, 1000 + T_SPIN);
	/* main queued it to this thread alone: in the shared queue main would take it and die */
	check(!sigpending(&pend) && sigismember(&pend, SIGUSR2),
	      "the SIGUSR2 queued to this thread is no longer pending");
	check(!sigaltstack(NULL, &now) && now.ss_sp == altstack && now.ss_size == sizeof(altstack),
	      "alternate signal stack %p/%zu, was %p/%zu", now.ss_sp, now.ss_size, (void *)altstack,
	      sizeof(altstack));
	atomic_fetch_add(&done, 1);
	return arg;
}

static void *read_main(void *arg)
{
	char buf[32] = { 0 };
	ssize_t n;

	thread_start(T_READ);
	do {
		n = read(pipefd[0], buf, sizeof(buf) - 1);
	} while (n < 0 && errno == EINTR);
	check(n == 5 && !memcmp(buf, "after", 5), "read %zd bytes '%s' from the pipe, want 'after'",
	      n, buf);
	verify_self(T_READ, 1000 + T_READ);
	atomic_fetch_add(&done, 1);
	return arg;
}

static void on_usr1(int sig)
{
	(void)sig;
	verify_now = 1;
}

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* DIR/expect: the counter at dump time (0 if missing) */
static unsigned long read_expect(void)
{
	unsigned long v = 0;
	char p[300];
	FILE *f;

	path_of(p, sizeof(p), "expect");
	f = fopen(p, "re");
	if (f && fscanf(f, "%lu", &v) != 1)
		v = 0;
	if (f)
		fclose(f);
	return v;
}

static void write_tids(void)
{
	char p[300];
	FILE *f;
	int i;

	path_of(p, sizeof(p), "tids");
	f = fopen(p, "we");
	if (!f)
		die("tids");
	fprintf(f, "%d", at_start[NR_THREADS].tid);
	for (i = 0; i < NR_THREADS; i++)
		fprintf(f, " %d", at_start[i].tid);
	fprintf(f, "\n");
	fclose(f);
}

/* Main's part of the verification: every other thread must move and finish its checks. */
static void verify_all(unsigned long counter)
{
	unsigned long expect = read_expect(), s0;
	int i;

	check(expect > 0 && counter >= expect, "counter %lu, at dump it was %lu", counter, expect);
	verify_self(NR_THREADS, 999);
	s0 = atomic_load(&spins);
	msleep(20);
	check(atomic_load(&spins) > s0, "the spinning thread does not move (%lu)", s0);
	atomic_store(&verifying, true);
	pthread_mutex_lock(&lock);
	wake = true;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	if (write(pipefd[1], "after", 5) != 5)
		check(0, "write to the pipe");
	for (i = 0; i < WAIT_MS && atomic_load(&done) < NR_THREADS; i++)
		msleep(1);
	check(atomic_load(&done) == NR_THREADS, "only %d of %d threads finished their checks",
	      atomic_load(&done), NR_THREADS);
}

/* pexit: the counter of a process whose main thread has ended. */
static void *count_main(void *arg)
{
	unsigned long n = 0;
	char p[300], buf[32];
	int cfd;

	path_of(p, sizeof(p), "counter");
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0)
		die("counter");
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	for (;;) {
		int len = snprintf(buf, sizeof(buf), "%lu\n", ++n);

		if (pwrite(cfd, buf, (size_t)len, 0) != len)
			die("counter");
		usleep(2000);
	}
	return arg;
}

static void run_pexit(void)
{
	pthread_t t;

	if (pthread_create(&t, NULL, count_main, NULL))
		die("pthread_create");
	pthread_exit(NULL);
}

static void *idle_main(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static void run_idle(int n)
{
	char p[300];
	pthread_t t;
	int i;

	for (i = 1; i < n; i++)
		if (pthread_create(&t, NULL, idle_main, NULL))
			die("pthread_create");
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	idle_main(NULL);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	void *(*const fn[NR_THREADS])(void *) = { cond_main, spin_main, read_main };
	pthread_t th[NR_THREADS];
	unsigned long counter = 0;
	char p[300];
	int cfd, i;

	if (argc < 3 || (strcmp(argv[1], "threads") && strcmp(argv[1], "pexit") &&
			 (strcmp(argv[1], "idle") || argc < 4))) {
		dprintf(2, "usage: thrtgt threads|pexit DIR, thrtgt idle DIR N\n");
		return 64;
	}
	if (!realpath(argv[2], dir))
		die("realpath");
	close_range(3, ~0U, 0);
	if (!strcmp(argv[1], "pexit"))
		run_pexit();
	if (!strcmp(argv[1], "idle"))
		run_idle(atoi(argv[3]));
	sigaction(SIGUSR1, &sa, NULL);
	path_of(p, sizeof(p), "counter");
	cfd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (cfd < 0 || pipe2(pipefd, O_CLOEXEC))
		die("counter/pipe");
	tls_value = 999;
	record(&at_start[NR_THREADS]);
	for (i = 0; i < NR_THREADS; i++)
		if (pthread_create(&th[i], NULL, fn[i], NULL))
			die("pthread_create");
	while (atomic_load(&started) < NR_THREADS)
		msleep(1);
	pthread_kill(th[T_SPIN], SIGUSR2); /* blocked there: pending in its private queue */
	write_tids();
	path_of(p, sizeof(p), "ready");
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	while (!verify_now) {
		char buf[32];
		int n = snprintf(buf, sizeof(buf), "%lu\n", ++counter);

		if (pwrite(cfd, buf, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
	verify_all(counter);
	for (i = 0; i < NR_THREADS && atomic_load(&done) == NR_THREADS; i++)
		pthread_join(th[i], NULL);
	if (failures)
		dprintf(2, "thrtgt: %d check(s) failed\n", atomic_load(&failures));
	return failures ? 1 : 0;
}
