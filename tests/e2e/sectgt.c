// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process under seccomp, for restore_seccomp.t.
 *   sectgt filter DIR   no_new_privs, filter A (uname -> EACCES) inherited by two threads,
 *                       filter B (getpgid -> E2BIG) synced to every thread with TSYNC, and
 *                       filter C (getsid -> EDOM) in thread 2 alone. Counts into DIR/counter;
 *                       on SIGUSR1 every thread checks that each filter still answers as
 *                       before; then (thread 2 gone) main adds a TSYNC filter that must
 *                       reach thread 1 (it could not if their shared chain had been
 *                       restored as two unrelated copies). Exits 0 if all is right.
 *   sectgt strict DIR   strict mode: appends to DIR/counter; on SIGUSR1 it calls getpid(),
 *                       which strict mode answers with SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t check_now, tsync_done, thread1_checked;
static volatile pid_t thread2_tid;
static const char *dir;
static int failures;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

/* nr answers -1 with err; every other syscall is allowed */
static int add_filter(int nr, int err, unsigned int flags)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void expect(const char *who, const char *what, long r, int want_errno)
{
	if (r == -1 && errno == want_errno)
		return;
	fprintf(stderr, "%s: %s returned %ld errno %d, want -1 errno %d\n", who, what, r, errno,
		want_errno);
	failures++;
}

static int status_field(const char *field)
{
	char line[128];
	int v = -1;
	FILE *f = fopen("/proc/thread-self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = atoi(line + strlen(field) + 1);
	if (f)
		fclose(f);
	return v;
}

static void check_common(const char *who, int nr_filters)
{
	struct utsname u;

	expect(who, "uname", uname(&u), EACCES);
	expect(who, "getpgid", getpgid(0), E2BIG);
	if (status_field("Seccomp:") != 2 || status_field("NoNewPrivs:") != 1 ||
	    status_field("Seccomp_filters:") != nr_filters) {
		fprintf(stderr, "%s: Seccomp %d NoNewPrivs %d filters %d, want 2 1 %d\n", who,
			status_field("Seccomp:"), status_field("NoNewPrivs:"),
			status_field("Seccomp_filters:"), nr_filters);
		failures++;
	}
}

static pthread_barrier_t ready, c_added;

static void *thread1(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&ready);
	while (!check_now)
		usleep(1000);
	check_common("thread 1", 2);
	thread1_checked = 1;
	while (!tsync_done)
		usleep(1000);
	expect("thread 1", "getuid after main's TSYNC", (long)syscall(SYS_getuid), EPERM);
	return NULL;
}

static void *thread2(void *arg)
{
	(void)arg;
	thread2_tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&ready); /* B was synced to us */
	if (add_filter(SYS_getsid, EDOM, 0))
		failures++;
	pthread_barrier_wait(&c_added);
	while (!check_now)
		usleep(1000);
	check_common("thread 2", 3);
	expect("thread 2", "getsid", getsid(0), EDOM);
	return NULL;
}

static void count(unsigned long n)
{
	char path[512], buf[32];
	int fd, len;

	snprintf(path, sizeof(path), "%s/counter", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	len = snprintf(buf, sizeof(buf), "%lu\n", n);
	if (fd >= 0 && write(fd, buf, (size_t)len) < 0)
		failures++;
	if (fd >= 0)
		close(fd);
}

static void touch(const char *name)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

static int run_filter(void)
{
	pthread_t t1, t2;
	unsigned long n = 0;
	char task[64];
	long r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || add_filter(SYS_uname, EACCES, 0))
		return 2;
	pthread_barrier_init(&ready, NULL, 3);
	pthread_barrier_init(&c_added, NULL, 2);
	if (pthread_create(&t1, NULL, thread1, NULL) || pthread_create(&t2, NULL, thread2, NULL))
		return 2;
	if (add_filter(SYS_getpgid, E2BIG, SECCOMP_FILTER_FLAG_TSYNC))
		return 2;
	pthread_barrier_wait(&ready);
	pthread_barrier_wait(&c_added);
	touch("ready");
	while (!check_now) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		count(++n);
		nanosleep(&ts, NULL);
	}
	check_common("main", 2);
	pthread_join(t2, NULL);
	/* joined is not yet gone: its own chain would still fail the TSYNC below */
	snprintf(task, sizeof(task), "/proc/self/task/%d", (int)thread2_tid);
	while (!access(task, F_OK))
		usleep(1000);
	/* and thread 1 has counted its two filters: the TSYNC below adds a third */
	while (!thread1_checked)
		usleep(1000);
	/*
	 * Thread 1 shares main's chain, as it did before the dump: a TSYNC filter reaches it.
	 * Restored as an unrelated copy of the chain it would not (ESRCH-like: a tid).
	 */
	r = add_filter(SYS_getuid, EPERM, SECCOMP_FILTER_FLAG_TSYNC);
	if (r != 0) {
		fprintf(stderr, "main: a TSYNC filter failed: %ld (thread %ld)\n", r, r);
		failures++;
	}
	tsync_done = 1;
	pthread_join(t1, NULL);
	return failures ? 1 : 0;
}

static int run_strict(void)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/counter", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return 2;
	touch("ready");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0))
		return 2;
	for (;;) {
		volatile unsigned long spin;

		if (write(fd, ".", 1) != 1)
			syscall(SYS_exit, 3);
		for (spin = 0; spin < 20000000 && !check_now; spin++)
			;
		if (check_now)
			syscall(SYS_getpid); /* strict mode: SIGKILL */
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	if (argc != 3)
		return 2;
	dir = argv[2];
	sigaction(SIGUSR1, &sa, NULL);
	if (!strcmp(argv[1], "filter"))
		return run_filter();
	if (!strcmp(argv[1], "strict"))
		return run_strict();
	return 2;
}
