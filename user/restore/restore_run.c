// SPDX-License-Identifier: GPL-2.0-only
/*
 * The restore once everything is validated: create all objects, fork the tree with its
 * pids, rebuild each task by injected syscalls, and let them go. All or nothing: any
 * failure after creation began kills and reaps every task crux created and undoes what the
 * fd kinds did outside them (socket names bound); if crux is killed, the restore guard
 * (restore_guard.h) does it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "mm.pb-c.h"

/* Every VMA of every task: the trampoline hole must miss them all. */
static int pick_hole(struct rst_set *set)
{
	_cleanup_free_ struct inj_range *busy = NULL;
	size_t i, j, n = 0, total = 0;

	for (i = 0; i < set->n_tasks; i++)
		total += set->tasks[i].zombie ? 0 : set->tasks[i].mm->n_vmas;
	busy = calloc(total + 1, sizeof(*busy));
	if (!busy)
		return -ENOMEM;
	for (i = 0; i < set->n_tasks; i++)
		for (j = 0; !set->tasks[i].zombie && j < set->tasks[i].mm->n_vmas; j++) {
			busy[n].start = set->tasks[i].mm->vmas[j]->start;
			busy[n++].end = set->tasks[i].mm->vmas[j]->end;
		}
	return inj_pick_hole(busy, n, &set->tramp);
}

/* The objects need fd numbers above every dumped one: raise the soft limit to the hard. */
static void raise_nofile(struct rst_set *set)
{
	struct rlimit r;

	getrlimit(RLIMIT_NOFILE, &set->nofile);
	r = set->nofile;
	r.rlim_cur = r.rlim_max;
	setrlimit(RLIMIT_NOFILE, &r);
}

/*
 * Tests only: CRUX_TEST_RESTORE_FAIL=PID makes the rebuild of that task fail after its
 * memory and state are back (its threads made), to show that a late failure still kills
 * everything (not a user option).
 */
static int test_fault(const struct rst_task *t)
{
	const char *v = getenv("CRUX_TEST_RESTORE_FAIL");
	pid_t pid;

	if (!v || parse_pid(v, &pid) || pid != t->pid)
		return 0;
	pr_err("pid %d: failing on purpose (CRUX_TEST_RESTORE_FAIL)", t->pid);
	return -ECANCELED;
}

static int rebuild_tasks(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_tasks; i++) {
		struct rst_task *t = &set->tasks[i];

		if (t->zombie)
			continue; /* it exited as the tree was made */
		err = inj_seize(&t->inj, t->pid, set->tramp);
		if (err) {
			pr_err("cannot seize restored pid %d: %s", t->pid, strerror(-err));
			return err;
		}
		err = rst_task_memory(set, t);
		if (!err)
			err = rst_task_state(set, t);
		if (!err)
			err = test_fault(t);
		if (err)
			return err;
	}
	/* The kinds' last steps in the controller, while every task is still held. */
	err = rst_files_finish(set);
	if (err)
		return err;
	/* Only when every task is rebuilt does any of them run again. */
	for (i = set->n_tasks; i-- > 0;) {
		if (set->tasks[i].zombie)
			continue;
		err = rst_task_finish(set, &set->tasks[i]);
		if (!err)
			err = rst_threads_finish(set, &set->tasks[i]);
		if (err)
			return err;
	}
	return 0;
}

/* A pid the image needs (a task or one of its threads): the guard must not hold it. */
static bool pid_needed(pid_t pid, void *arg)
{
	const struct rst_set *set = arg;
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		if (set->tasks[i].pid == pid)
			return true;
		for (j = 0; j < set->tasks[i].n_threads; j++)
			if (set->tasks[i].threads[j].tid == pid)
				return true;
	}
	return false;
}

/* Every task created so far goes on the guard's list (a pidfd each). */
static int guard_tasks(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_tasks; i++) {
		err = rst_guard_task(&set->guard, set->tasks[i].pid);
		if (err)
			return pr_err_ret(err, "pid %d: cannot hand it to the restore guard: %s",
					  set->tasks[i].pid, strerror(-err));
	}
	return 0;
}

int rst_run(struct rst_set *set)
{
	int err;

	raise_nofile(set);
	set->sync_fd = -1;
	err = pick_hole(set);
	if (err) {
		pr_err("no free address range for the restore trampoline");
		return err;
	}
	err = rst_guard_start(&set->guard, pid_needed, set);
	if (err) {
		pr_err("cannot start the restore guard: %s", strerror(-err));
		return err;
	}
	err = inj_tramp_map(set->tramp);
	if (err) {
		pr_err("cannot map the restore trampoline: %s", strerror(-err));
		rst_guard_abort(&set->guard);
		return err;
	}
	err = rst_files_create(set);
	if (!err)
		err = rst_tree_create(set);
	if (!err)
		err = guard_tasks(set);
	rst_files_close(set); /* the tasks hold their own copies now */
	inj_tramp_unmap(set->tramp);
	set->t_tree = now_ns();
	if (!err)
		err = rebuild_tasks(set);
	set->t_done = now_ns();
	if (err) {
		/* the guard first: rst_tree_kill() reaps every child, the guard too */
		rst_guard_abort(&set->guard);
		rst_tree_kill(set);
		rst_files_abort(set);
		return err;
	}
	rst_guard_commit(&set->guard);
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	setrlimit(RLIMIT_NOFILE, &set->nofile);
	return 0;
}
