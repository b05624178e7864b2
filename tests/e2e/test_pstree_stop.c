// SPDX-License-Identifier: GPL-2.0-only
/*
 * pstree_freeze() on tasks in job-control stop (SIGSTOP, and SIGTSTP in a process group
 * of its own): marked stopped, a syscall can be injected (the freeze's pending interrupt
 * trap was taken), pstree_resume() leaves them stopped, SIGCONT lets them run, and
 * pstree_kill() kills one; a running task is not marked and runs on after the resume.
 * Each child counts in a shared page, so the parent sees whether it runs.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "pstree.h"
#include "ptrace.h"
#include "tap.h"

#define NR_KIDS 3

static volatile unsigned long *counters;

static pid_t spawn(int idx, bool own_group)
{
	pid_t pid = fork();

	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* SIGTSTP is dropped in an orphaned group: our own has us, its parent, outside */
		if (own_group)
			setpgid(0, 0);
		for (;;) {
			counters[idx]++;
			usleep(1000);
		}
	}
	return pid;
}

static char task_state(pid_t pid)
{
	struct proc_stat st;

	return proc_parse_stat(pid, &st) ? 0 : st.state;
}

/* A detached task settles a moment later: poll for the state (5 s at most). */
static bool wait_state(pid_t pid, char want)
{
	int i;

	for (i = 0; i < 500; i++) {
		if (task_state(pid) == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* Its counter changes within 5 s. */
static bool moves(int idx)
{
	unsigned long c = counters[idx];
	int i;

	for (i = 0; i < 500; i++) {
		usleep(10000);
		if (counters[idx] != c)
			return true;
	}
	return false;
}

/* Stopped (T) and its counter stays put over 100 ms. */
static bool stays(pid_t pid, int idx)
{
	unsigned long c;

	if (!wait_state(pid, 'T'))
		return false;
	c = counters[idx];
	usleep(100000);
	return task_state(pid) == 'T' && counters[idx] == c;
}

/* getpid() run inside the frozen task: fails with EPROTO if a trap were still pending. */
static bool inject_getpid(pid_t pid)
{
	uint64_t args[6] = { 0 }, insn;
	struct ptrace_inj inj;
	long rax = 0;
	int err;

	if (ptrace_find_vdso_syscall(pid, &insn) ||
	    ptrace_inj_init(&inj, pid, insn, PTRACE_INJ_STEP))
		return false;
	err = ptrace_inj_syscall(&inj, SYS_getpid, args, &rax);
	if (ptrace_inj_finish(&inj) || err)
		return false;
	return rax == pid;
}

static void check_one(pid_t pid, int idx, int sig, const char *what)
{
	struct pstree t = { 0 };
	const char *why = NULL;

	if (sig) {
		kill(pid, sig);
		ok(wait_state(pid, 'T'), "%s: the child is in job-control stop (T)", what);
	}
	if (!is_int(pstree_freeze(pid, &t, &why, NULL), 0, "%s: frozen (%s)", what,
		    why ? why : "-"))
		return;
	ok(t.n == 1 && t.tasks[0].stopped == (sig != 0), "%s: marked %s", what,
	   sig ? "stopped" : "not stopped");
	ok(task_state(pid) == 't', "%s: in tracing stop while frozen", what);
	ok(inject_getpid(pid), "%s: a syscall injected into it returns its pid", what);
	is_int(pstree_resume(&t), 0, "%s: resumed", what);
	if (sig) {
		ok(stays(pid, idx), "%s: still stopped after the resume, its counter still", what);
		kill(pid, SIGCONT);
	}
	ok(moves(idx) && task_state(pid) != 'T', "%s: %scounting", what,
	   sig ? "SIGCONT: " : "running on, ");
	pstree_free(&t);
}

int main(void)
{
	struct pstree t = { 0 };
	pid_t kids[NR_KIDS];
	int i, status;

	counters = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counters == MAP_FAILED)
		tap_bail("mmap: %s", strerror(errno));
	for (i = 0; i < NR_KIDS; i++)
		kids[i] = spawn(i, i == 2);
	for (i = 0; i < NR_KIDS; i++)
		if (!moves(i))
			tap_bail("child %d does not count", kids[i]);

	check_one(kids[0], 0, 0, "running");
	check_one(kids[1], 1, SIGSTOP, "SIGSTOP");
	check_one(kids[2], 2, SIGTSTP, "SIGTSTP");

	kill(kids[1], SIGSTOP);
	ok(wait_state(kids[1], 'T'), "stopped again");
	ok(pstree_freeze(kids[1], &t, NULL, NULL) == 0 && t.tasks[0].stopped, "frozen, stopped");
	is_int(pstree_kill(&t), 0, "pstree_kill on the stopped task");
	status = 0;
	if (waitpid(kids[1], &status, 0) != kids[1])
		status = -1;
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "it died of SIGKILL (status %#x)",
	   status);
	pstree_free(&t);

	for (i = 0; i < NR_KIDS; i++)
		kill(kids[i], SIGKILL);
	while (waitpid(-1, NULL, 0) > 0)
		;
	return done_testing();
}
