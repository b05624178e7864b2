/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dumped process tree: PID and all its descendants, found through
 * /proc/PID/task/TID/children and frozen with PTRACE_SEIZE + PTRACE_INTERRUPT.
 * Children created while freezing are picked up by rescanning until a pass finds
 * nothing new; tasks that exit meanwhile are dropped (the root exiting is an error).
 */
#ifndef CRUX_PSTREE_H
#define CRUX_PSTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "proc.h"

struct pstree_task {
	pid_t pid;
	pid_t ppid; /* 0 for the root of the dump */
	pid_t pgid;
	pid_t sid;
	int pidfd; /* pidfd_open: stable identity, pidfd_getfd source */
	bool frozen;
	bool stopped; /* in job-control stop (kill -STOP) when seized: stays stopped */
	bool zombie; /* exited, not reaped by its (frozen) parent: never frozen, nothing to read */
	int exit_code; /* a zombie's wait status */
	char comm[PROC_COMM_LEN];
	pid_t *threads; /* the other threads (not pid), each frozen with the task */
	size_t n_threads;
};

struct pstree {
	struct pstree_task *tasks; /* parents before children; tasks[0] is the root */
	size_t n;
	size_t cap;
	int passes; /* scan passes it took to become stable */
	int attempts; /* freezes it took: one is undone when a task is caught exiting */
};

/*
 * Freeze root and its descendants, every thread of each (threads born meanwhile are caught
 * by rescanning /proc/PID/task until a pass finds none). A zombie child of a frozen task
 * stays one (its parent cannot reap it now) and is kept with its exit status. A task caught
 * exiting undoes the freeze, which is tried again after a pause. On failure every task
 * frozen so far is resumed and *ret_why (static text, may be NULL) says what went wrong,
 * with *ret_pid the task:
 *   -ESRCH  root does not exist or exited;
 *   -EAGAIN an exiting task, still exiting after every attempt;
 *   -EBUSY  a task is already traced, or the tree keeps growing faster than it is frozen.
 */
/*
 * The checks the freeze makes on each task, on a running one (crux-map's verdict): 0, or
 * -errno with *why set when the dump refuses the task (a zombie, a traced task).
 */
int pstree_check_task(pid_t pid, const char **why);
int pstree_freeze(pid_t root, struct pstree *ret, const char **ret_why, pid_t *ret_pid);
/*
 * Detach every frozen task (it continues where it was: a task that was in job-control stop
 * goes back to it). Returns the first error.
 */
int pstree_resume(struct pstree *t);
/* SIGKILL every task, then detach. */
int pstree_kill(struct pstree *t);
void pstree_free(struct pstree *t);
struct pstree_task *pstree_find(struct pstree *t, pid_t pid);

#endif /* CRUX_PSTREE_H */
