// SPDX-License-Identifier: GPL-2.0-only
/* Collect and freeze a process tree: see include/pstree.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "pstree: "
#include "log.h"
#include "pstree.h"
#include "ptrace.h"
#include "util.h"

/* A tree still growing after this many passes is forking faster than we can freeze it. */
#define PSTREE_MAX_PASSES 16
/*
 * A task caught in the middle of its exit cannot be frozen (ptrace refuses an exiting
 * task; once it is a zombie it is kept as one). In a tree that forks short-lived children
 * this is a matter of timing, so the whole freeze is undone and tried again, with a growing
 * pause: 1 + 2 + ... + 128 ms at most.
 */
#define PSTREE_MAX_ATTEMPTS 8
/* A task still starting threads after this many scans of /proc/PID/task is refused. */
#define PSTREE_MAX_THREAD_PASSES 16
/* PF_EXITING in the flags field of /proc/PID/stat (include/linux/sched.h). */
#define PF_EXITING 0x00000004

struct pstree_task *pstree_find(struct pstree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (t->tasks[i].pid == pid)
			return &t->tasks[i];
	return NULL;
}

static int pstree_add(struct pstree *t, pid_t pid, pid_t ppid)
{
	struct pstree_task *nt;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		nt = realloc(t->tasks, cap * sizeof(*nt));
		if (!nt)
			return -ENOMEM;
		t->tasks = nt;
		t->cap = cap;
	}
	nt = &t->tasks[t->n++];
	memset(nt, 0, sizeof(*nt));
	nt->pid = pid;
	nt->ppid = ppid;
	nt->pidfd = -1;
	return 0;
}

static void pstree_drop(struct pstree *t, size_t i)
{
	if (t->tasks[i].pidfd >= 0)
		close(t->tasks[i].pidfd);
	free(t->tasks[i].threads);
	memmove(&t->tasks[i], &t->tasks[i + 1], (t->n - i - 1) * sizeof(t->tasks[0]));
	t->n--;
}

/* Checks that must hold before and after the task is stopped. */
static int check_task(pid_t pid, struct proc_stat *st, const char **why)
{
	struct proc_status ps;
	int err;

	err = proc_parse_stat(pid, st);
	if (err)
		return -ESRCH;
	if (st->state == 'Z' && st->num_threads > 1) {
		*why = "has ended its main thread while other threads run (pthread_exit in main); "
		       "not supported yet";
		return -EOPNOTSUPP;
	}
	if (st->state == 'Z')
		return -ECHILD; /* the caller decides: a zombie is dumped as one */
	if (st->state == 'X') {
		*why = "was being reaped while the tree was being frozen";
		return -EAGAIN;
	}
	err = proc_parse_status(pid, &ps);
	if (err)
		return -ESRCH;
	if (ps.tracer && ps.tracer != getpid()) {
		*why = "is already traced by another process (a debugger?)";
		return -EBUSY;
	}
	return 0;
}

int pstree_check_task(pid_t pid, const char **why)
{
	struct proc_stat st;

	*why = NULL;
	return check_task(pid, &st, why);
}

/*
 * A task in job-control stop (kill -STOP, state T) reports the seize itself as a group-stop:
 * PTRACE_EVENT_STOP with its stop signal where a running task reports SIGTRAP
 * (kernel/signal.c do_jobctl_trap()). Asking the stopped tracee is race-free, unlike the
 * /proc state read before the seize. ptrace_freeze()'s PTRACE_INTERRUPT then stays pending
 * and would trap the first syscall injected into the task: take that trap now. A second
 * interrupt is a no-op while one is pending, so exactly one trap follows the PTRACE_CONT
 * and no code of the task runs. Detaching later puts the task back into its stop
 * (__ptrace_unlink() re-arms it while SIGNAL_STOP_STOPPED is set), with or without a dump.
 * Every thread of a stopped process is in the group stop: each one is settled.
 */
static int settle_group_stop(pid_t tid, bool *ret_stopped)
{
	siginfo_t si;
	int status, err;

	if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si))
		return -errno;
	if (si.si_code >> 8 != PTRACE_EVENT_STOP || si.si_signo == SIGTRAP)
		return 0;
	*ret_stopped = true;
	err = ptrace_interrupt(tid);
	if (!err)
		err = ptrace_cont(tid, 0);
	if (!err)
		err = ptrace_wait_stop(tid, &status);
	if (!err && status >> 16 != PTRACE_EVENT_STOP)
		err = -EPROTO;
	pr_debug("task %d is in job-control stop (signal %d)%s", tid, si.si_signo,
		 err ? ", and its pending trap could not be taken" : "");
	return err;
}

static bool has_thread(const struct pstree_task *tk, pid_t tid)
{
	size_t i;

	for (i = 0; i < tk->n_threads; i++)
		if (tk->threads[i] == tid)
			return true;
	return tid == tk->pid;
}

/* Freeze the threads of tids not frozen yet; returns how many were added. */
static int freeze_new_threads(struct pstree_task *tk, const pid_t *tids, size_t n, const char **why)
{
	bool stopped = false;
	pid_t *nt;
	size_t i;
	int err, added = 0;

	nt = realloc(tk->threads, (tk->n_threads + n) * sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	tk->threads = nt;
	for (i = 0; i < n; i++) {
		if (has_thread(tk, tids[i]))
			continue;
		err = ptrace_freeze(tids[i]);
		if (err == -ESRCH)
			continue; /* exited meanwhile: nothing to dump */
		if (err == -EPERM) {
			*why = "has a thread that was exiting while the tree was being frozen";
			return -EAGAIN;
		}
		if (err)
			return err;
		tk->threads[tk->n_threads++] = tids[i];
		added++;
		err = settle_group_stop(tids[i], &stopped);
		if (err == -EPROTO)
			*why = "has a thread that was stopped in job control and did not settle "
			       "under ptrace";
		if (err)
			return err;
	}
	return added;
}

/*
 * Every thread of a frozen task: a thread still running may start others, so scan
 * /proc/PID/task again until a pass finds nothing new (CRIU's collect_threads does the same).
 */
static int freeze_threads(struct pstree_task *tk, const char **why)
{
	int pass, added;

	for (pass = 0; pass < PSTREE_MAX_THREAD_PASSES; pass++) {
		_cleanup_free_ pid_t *tids = NULL;
		size_t n;
		int err;

		err = proc_list_threads(tk->pid, &tids, &n);
		if (err)
			return -ESRCH;
		added = freeze_new_threads(tk, tids, n, why);
		if (added <= 0)
			return added;
	}
	*why = "keeps starting threads faster than they can be frozen";
	return -EBUSY;
}

/*
 * A child that exited and that its parent has not reaped: the parent is frozen, so it
 * stays a zombie while the dump runs. It is kept, not frozen (ptrace refuses it), with its
 * wait status; its pidfd keeps the pid from being reused under the dump.
 */
static int keep_zombie(struct pstree_task *tk, const struct proc_stat *st, const char **why)
{
	/* the core-dumped bit cannot be given to a restored zombie */
	if (WIFSIGNALED(st->exit_code) && WCOREDUMP(st->exit_code)) {
		*why = "is a zombie that dumped core: its wait status (with the core-dumped flag) "
		       "cannot be restored; let its parent reap it first";
		return -EOPNOTSUPP;
	}
	tk->pidfd = pidfd_open(tk->pid, 0);
	if (tk->pidfd < 0)
		return -ESRCH; /* reaped meanwhile */
	tk->zombie = true;
	tk->exit_code = st->exit_code;
	tk->pgid = st->pgid;
	tk->sid = st->sid;
	memcpy(tk->comm, st->comm, sizeof(tk->comm));
	pr_debug("task %d is a zombie (wait status %#x), kept as one", tk->pid, st->exit_code);
	return 0;
}

static int freeze_one(struct pstree_task *tk, const char **why)
{
	struct proc_stat st;
	int err;

	err = check_task(tk->pid, &st, why);
	if (err == -ECHILD && tk->ppid)
		return keep_zombie(tk, &st, why);
	if (err == -ECHILD) {
		*why = "has exited (it is a zombie): there is nothing left to dump";
		return -ESRCH;
	}
	if (err)
		return err;
	tk->pidfd = pidfd_open(tk->pid, 0);
	if (tk->pidfd < 0)
		return -errno;
	err = ptrace_freeze(tk->pid);
	if (err == -EPERM) {
		/* ptrace refuses a task that has begun to exit: tell that from a real EPERM */
		if (proc_parse_stat(tk->pid, &st))
			return -ESRCH;
		if (st.state == 'Z' || st.state == 'X' || (st.flags & PF_EXITING)) {
			*why = "was exiting while the tree was being frozen";
			return -EAGAIN;
		}
		*why = "cannot be traced (EPERM)";
		return err;
	}
	if (err)
		return err;
	tk->frozen = true;
	err = settle_group_stop(tk->pid, &tk->stopped);
	if (err == -EPROTO)
		*why = "was stopped in job control and did not settle under ptrace";
	if (!err)
		err = freeze_threads(tk, why);
	if (err)
		return err;
	/* re-check now that it cannot change */
	err = check_task(tk->pid, &st, why);
	if (err)
		return err;
	tk->pgid = st.pgid;
	tk->sid = st.sid;
	memcpy(tk->comm, st.comm, sizeof(tk->comm));
	return 0;
}

/* Add the children of every frozen task that are not in the tree yet; returns how many. */
static int scan_children(struct pstree *t)
{
	size_t i, j, n, nr_tasks = t->n;
	int added = 0, err;

	for (i = 0; i < nr_tasks; i++) {
		_cleanup_free_ pid_t *kids = NULL;

		if (!t->tasks[i].frozen)
			continue;
		err = proc_list_children(t->tasks[i].pid, &kids, &n);
		if (err)
			return err;
		for (j = 0; j < n; j++) {
			if (pstree_find(t, kids[j]))
				continue;
			if (kids[j] == getpid())
				return -ELOOP;
			err = pstree_add(t, kids[j], t->tasks[i].pid);
			if (err)
				return err;
			added++;
		}
	}
	return added;
}

/* Freeze every not-yet-frozen task; children that vanished are dropped. */
static int freeze_pending(struct pstree *t, const char **why, pid_t *bad)
{
	size_t i = 0;
	int err;

	while (i < t->n) {
		struct pstree_task *tk = &t->tasks[i];

		if (tk->frozen || tk->zombie) {
			i++;
			continue;
		}
		err = freeze_one(tk, why);
		if (err == -ESRCH && i > 0) {
			pr_debug("task %d exited while freezing, dropped", tk->pid);
			pstree_drop(t, i);
			continue;
		}
		if (err) {
			*bad = tk->pid;
			return err;
		}
		i++;
	}
	return 0;
}

/* One attempt: freeze pass after pass until no task has a child outside the tree. */
static int freeze_tree(pid_t root, struct pstree *t, const char **why, pid_t *bad)
{
	int err, added, pass;

	*bad = root;
	err = pstree_add(t, root, 0);
	if (err)
		return err;
	for (pass = 1; pass <= PSTREE_MAX_PASSES; pass++) {
		err = freeze_pending(t, why, bad);
		if (err)
			return err;
		added = scan_children(t);
		if (added == -ELOOP)
			*why = "is an ancestor of crux itself: crux cannot dump a tree it runs in";
		if (added < 0)
			return added;
		if (!added) {
			t->passes = pass;
			t->tasks[0].ppid = 0;
			return 0;
		}
	}
	*why = "keeps creating children faster than they can be frozen";
	return -EBUSY;
}

int pstree_freeze(pid_t root, struct pstree *ret, const char **ret_why, pid_t *ret_pid)
{
	struct pstree t = { 0 };
	const char *why = NULL;
	pid_t bad = root;
	int err, attempt;

	for (attempt = 1; attempt <= PSTREE_MAX_ATTEMPTS; attempt++) {
		why = NULL;
		err = freeze_tree(root, &t, &why, &bad);
		if (!err) {
			t.attempts = attempt;
			*ret = t;
			return 0;
		}
		pstree_resume(&t);
		pstree_free(&t);
		if (err != -EAGAIN)
			break;
		pr_debug("attempt %d: task %d %s; trying again", attempt, bad, why);
		usleep(1000U << (attempt - 1));
	}
	if (ret_why)
		*ret_why = why;
	if (ret_pid)
		*ret_pid = bad;
	return err;
}

int pstree_resume(struct pstree *t)
{
	int err = 0, e;
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		if (!t->tasks[i].frozen)
			continue;
		for (j = 0; j < t->tasks[i].n_threads; j++) {
			e = ptrace_detach(t->tasks[i].threads[j], 0);
			if (e && !err)
				err = e;
		}
		t->tasks[i].n_threads = 0;
		e = ptrace_detach(t->tasks[i].pid, 0);
		if (e && !err)
			err = e;
		t->tasks[i].frozen = false;
	}
	return err;
}

int pstree_kill(struct pstree *t)
{
	int err = 0;
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		if (t->tasks[i].pidfd >= 0 &&
		    pidfd_send_signal(t->tasks[i].pidfd, SIGKILL, NULL, 0) && !err)
			err = -errno;
	}
	/* A killed tracee still needs its tracer gone before the parent can reap it. */
	for (i = 0; i < t->n; i++) {
		for (j = 0; j < t->tasks[i].n_threads; j++)
			ptrace_detach(t->tasks[i].threads[j], 0);
		t->tasks[i].n_threads = 0;
		if (t->tasks[i].frozen)
			ptrace_detach(t->tasks[i].pid, 0);
		t->tasks[i].frozen = false;
	}
	return err;
}

void pstree_free(struct pstree *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		if (t->tasks[i].pidfd >= 0)
			close(t->tasks[i].pidfd);
		free(t->tasks[i].threads);
	}
	free(t->tasks);
	memset(t, 0, sizeof(*t));
}
