// SPDX-License-Identifier: GPL-2.0-only
/*
 * The process tree: every task forked by its own parent with its dumped pid (clone3 with
 * set_tid; ns_last_pid as the fallback), session and group set up, its fd table built from
 * the objects the controller created, then it reports on a sync pipe and waits to be
 * seized. The tasks run crux's code until then; after a raw clone3 glibc's cached TID is
 * the parent's (engine.md P7), so nothing here uses it (no raise(), no pthread calls).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/sched.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"

/* How long the tree may take to report that every task is ready. */
#define TREE_TIMEOUT_MS 10000

struct rst_msg {
	int32_t pid;
	int32_t err;
	char text[240]; /* the whole record stays below PIPE_BUF: one atomic write */
};

static void report(int fd, pid_t pid, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void report(int fd, pid_t pid, int err, const char *fmt, ...)
{
	struct rst_msg m = { .pid = pid, .err = err };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m.text, sizeof(m.text), fmt, ap);
	va_end(ap);
	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(1);
}

void rst_pid_holder(pid_t pid, char *buf, size_t size)
{
	char path[64], comm[64] = "?";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(buf, size, "%s (pid %d)", comm, pid);
}

/* Fallback for kernels without clone3 set_tid: make the next fork get want. */
static pid_t fork_via_ns_last_pid(pid_t want)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/ns_last_pid", O_RDWR | O_CLOEXEC);
	char buf[32];
	int len;
	pid_t pid;

	if (fd < 0 || flock(fd, LOCK_EX))
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d", want - 1);
	if (write(fd, buf, len) != len)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0 && pid != want) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -EEXIST; /* someone raced us to it */
	}
	return pid;
}

static pid_t fork_with_pid(pid_t want)
{
	pid_t tid = want;
	struct clone_args ca = {
		.exit_signal = SIGCHLD,
		.set_tid = (uintptr_t)&tid,
		.set_tid_size = 1,
	};
	long r = syscall(SYS_clone3, &ca, sizeof(ca));

	if (r >= 0)
		return (pid_t)r;
	if (errno == ENOSYS || errno == E2BIG || errno == EINVAL)
		return fork_via_ns_last_pid(want);
	return -errno;
}

static int install_fds(const struct rst_set *set, const struct rst_task *t, int sync_fd)
{
	unsigned int next = 0;
	size_t i;

	for (i = 0; i < t->n_fds; i++) {
		const struct rst_fd *d = &t->fds[i];

		if (d->file->ctl_fd < 0)
			return -EBADF;
		if (dup2(d->file->ctl_fd, (int)d->fd) < 0)
			return -errno;
		if (d->cloexec && fcntl((int)d->fd, F_SETFD, FD_CLOEXEC))
			return -errno;
	}
	/* Close everything else: the gaps between the dumped fds, then all above but sync_fd. */
	for (i = 0; i < t->n_fds; i++) {
		if (t->fds[i].fd > next)
			close_range(next, t->fds[i].fd - 1, 0);
		next = MAX(next, t->fds[i].fd + 1);
	}
	if ((unsigned int)sync_fd > next)
		close_range(next, sync_fd - 1, 0);
	close_range(sync_fd + 1, ~0U, 0);
	return 0;
}

/* Report a failure from inside a new task, which then dies (its children with it). */
#define fail(fd, pid, err, ...)                                                                   \
	do {                                                                                       \
		report(fd, pid, err, __VA_ARGS__);                                                 \
		_exit(1);                                                                          \
	} while (0)

static void set_session(const struct rst_set *set, const struct rst_task *t, int sync_fd)
{
	size_t i;

	if (t->sid == t->pid) {
		if (setsid() < 0)
			fail(sync_fd, t->pid, -errno, "pid %d: setsid failed: %s", t->pid,
			     strerror(errno));
		return;
	}
	if (getpgid(0) == t->pgid)
		return;
	for (i = 0; i < set->n_tasks; i++)
		if (set->tasks[i].pid == t->pgid)
			break;
	if (i == set->n_tasks)
		return; /* the group's leader was not dumped: stay in the inherited group */
	if (setpgid(0, t->pgid))
		fail(sync_fd, t->pid, -errno, "pid %d: cannot join process group %d: %s", t->pid,
		     t->pgid, strerror(errno));
}

static pid_t spawn(struct rst_set *set, size_t idx, int sync_fd);

/*
 * A task dumped as a zombie ends again the way it ended: exit status, or death by its
 * signal (default action, unblocked, no core file: a core-dumping zombie is refused at
 * dump). Its parent, stopped until the tree is rebuilt, reaps it when it likes. The exit
 * queues no SIGCHLD in the parent: it is not traced yet and its SIGCHLD is still at the
 * default, ignored (restore_zombie.t checks that nothing is pending).
 */
static __attribute__((noreturn)) void exit_as(int status)
{
	struct rlimit no_core = { 0, 0 };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t all;

	if (WIFSIGNALED(status)) {
		setrlimit(RLIMIT_CORE, &no_core);
		sigaction(WTERMSIG(status), &dfl, NULL);
		sigfillset(&all);
		sigprocmask(SIG_UNBLOCK, &all, NULL);
		syscall(SYS_kill, syscall(SYS_getpid), WTERMSIG(status));
	}
	syscall(SYS_exit_group, WEXITSTATUS(status));
	for (;;)
		;
}

/* The new task, running crux's code until the controller seizes it. */
static __attribute__((noreturn)) void task_main(struct rst_set *set, size_t idx, int sync_fd)
{
	struct rst_task *t = &set->tasks[idx];
	size_t i;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL); /* until seized; the dumped value is set later */
	set_session(set, t, sync_fd);
	if (t->zombie) {
		report(sync_fd, t->pid, 0, "ready");
		exit_as((int)t->core->tc->exit_code);
	}
	for (i = idx + 1; i < set->n_tasks; i++) {
		pid_t c;

		if (set->tasks[i].parent != (int)idx)
			continue;
		c = spawn(set, i, sync_fd);
		if (c < 0)
			_exit(1); /* spawn() reported it */
	}
	err = install_fds(set, t, sync_fd);
	if (err)
		fail(sync_fd, t->pid, err, "pid %d: cannot build its fd table: %s", t->pid,
		     strerror(-err));
	/* what only the owner of the files can do (fd.h in_task) */
	err = rst_files_in_task(set, t);
	if (err)
		fail(sync_fd, t->pid, err, "pid %d: cannot restore the state of its files: %s",
		     t->pid, strerror(-err));
	setrlimit(RLIMIT_NOFILE, &set->nofile);
	report(sync_fd, t->pid, 0, "ready");
	for (;;)
		syscall(SYS_pause);
}

static pid_t spawn(struct rst_set *set, size_t idx, int sync_fd)
{
	struct rst_task *t = &set->tasks[idx];
	char who[96];
	pid_t pid;

	pid = fork_with_pid(t->pid);
	if (pid == 0)
		task_main(set, idx, sync_fd);
	if (pid == -EEXIST) {
		rst_pid_holder(t->pid, who, sizeof(who));
		report(sync_fd, t->pid, pid, "pid %d is taken by %s; stop it (and wait until "
		       "/proc/%d is gone) before restoring", t->pid, who, t->pid);
	} else if (pid < 0) {
		report(sync_fd, t->pid, pid, "cannot create pid %d: %s", t->pid, strerror(-pid));
	}
	return pid;
}

static int wait_ready(struct rst_set *set, int rfd)
{
	size_t ready = 0, i;
	struct rst_msg m;
	int err = 0;

	while (ready < set->n_tasks) {
		struct pollfd p = { .fd = rfd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, TREE_TIMEOUT_MS) <= 0)
			return pr_err_ret(-ETIMEDOUT, "the restored tree did not get ready in %d ms",
					  TREE_TIMEOUT_MS);
		n = read(rfd, &m, sizeof(m));
		if (n == 0)
			return pr_err_ret(-ECHILD, "the restored tasks exited before they were ready");
		if (n != sizeof(m))
			return -EIO;
		for (i = 0; i < set->n_tasks && !m.err; i++)
			if (set->tasks[i].pid == m.pid)
				set->tasks[i].created = true;
		if (m.err) {
			m.text[sizeof(m.text) - 1] = '\0';
			pr_err("%s", m.text);
			return m.err;
		}
		ready++;
	}
	return err;
}

int rst_tree_create(struct rst_set *set)
{
	int sv[2], err;
	pid_t pid;

	if (pipe2(sv, O_CLOEXEC))
		return -errno;
	err = rst_park_fd(set, &sv[1]);
	if (err)
		goto out;
	set->sync_fd = sv[1];
	/* Orphans of a failed restore come back to us to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	pid = spawn(set, 0, sv[1]);
	close(sv[1]);
	sv[1] = -1;
	if (pid > 0)
		set->tasks[0].created = true;
	err = wait_ready(set, sv[0]);
out:
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	return err;
}

void rst_tree_kill(struct rst_set *set)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		struct rst_task *t = &set->tasks[i];

		if (t->created)
			kill(t->pid, SIGKILL);
		/* killed first: a thread let go at the trampoline would fault, and dump core */
		for (j = 0; j < t->n_threads; j++)
			inj_release(&t->threads[j].inj);
		inj_release(&t->inj);
	}
	/* Reap them all, orphans included (we are their subreaper). */
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	prctl(PR_SET_CHILD_SUBREAPER, 0);
}
