// SPDX-License-Identifier: GPL-2.0-only
/*
 * Everything a restore can check before it changes anything: the vDSO layout, free pids,
 * files that must exist, memory crux can rebuild, and what each fd kind checks. Every
 * problem is reported on its own line; the caller refuses if there was any.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "fs.pb-c.h"
#include "mm.pb-c.h"

/* task_core_entry.task_state, CRIU's values */
#define TASK_ALIVE 1
#define TASK_STOPPED 3

#define VMA_VSYSCALL (1u << 2)
#define VMA_VDSO (1u << 3)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_VVAR (1u << 12)
#define VMA_BAD ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 13) | (1u << 31))

/* How long a zombie holding a pid we need may take to be reaped: 2 s. */
#define ZOMBIE_WAIT_TRIES 100
#define ZOMBIE_WAIT_US 20000

/* 'Z' for a zombie, '?' if unreadable, 0 if the pid is free. */
static char pid_state(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return access(path, F_OK) ? 0 : '?';
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' ? p[2] : '?';
}

/*
 * A pid killed just before the restore may still be a zombie until its parent reaps it
 * (engine.md P6): give such pids a moment, then name whoever holds them.
 */
static void check_pid(struct rst_set *set, pid_t pid, const char *what)
{
	char who[96];
	char st = pid_state(pid);
	int tries;

	for (tries = 0; (st == 'Z' || st == 'X') && tries < ZOMBIE_WAIT_TRIES; tries++) {
		usleep(ZOMBIE_WAIT_US);
		st = pid_state(pid);
	}
	if (!st)
		return;
	rst_pid_holder(pid, who, sizeof(who));
	rst_problem(set,
		    "%s %d is taken by %s%s; stop it (and wait until /proc/%d is gone) "
		    "before restoring",
		    what, pid, who,
		    st == 'Z' ? ", which has exited but was not reaped by its parent yet" : "",
		    pid);
}

/* Every pid and thread id of the image must be free (a thread's tid too). */
static void check_pids(struct rst_set *set)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		check_pid(set, set->tasks[i].pid, "pid");
		for (j = 0; j < set->tasks[i].n_threads; j++)
			check_pid(set, set->tasks[i].threads[j].tid, "thread id");
	}
}

static void check_path(struct rst_set *set, const char *path, const char *role, pid_t pid)
{
	struct stat st;

	if (path && stat(path, &st))
		rst_problem(set, "pid %d: %s %s: %s; put it back before restoring", pid, role, path,
			    strerror(errno));
}

static void check_memory(struct rst_set *set, const struct rst_task *t)
{
	uint32_t state = t->core->tc->task_state;
	char why[256];
	size_t i;

	if (state != TASK_ALIVE && state != TASK_STOPPED)
		rst_problem(set, "pid %d has task state %u, which crux does not know", t->pid,
			    state);
	if (rst_vdso_check(set, t, why, sizeof(why)))
		rst_problem(set,
			    "pid %d: the vDSO layout does not match this kernel: %s; restore on "
			    "the kernel it was dumped on",
			    t->pid, why);
	check_path(set, rst_reg_name(set, t->mm->exe_file_id), "executable", t->pid);
	check_path(set, rst_reg_name(set, t->fs->cwd_id), "working directory", t->pid);
	check_path(set, rst_reg_name(set, t->fs->root_id), "root directory", t->pid);
	for (i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (v->status & VMA_BAD)
			rst_problem(set,
				    "pid %d: mapping %#llx-%#llx (status %#x) cannot be restored "
				    "yet",
				    t->pid, (unsigned long long)v->start,
				    (unsigned long long)v->end, v->status);
		else if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED))
			check_path(set, rst_reg_name(set, (uint32_t)v->shmid), "mapped file",
				   t->pid);
	}
}

int rst_validate(struct rst_set *set)
{
	size_t i;

	set->problems = 0;
	check_pids(set);
	for (i = 0; i < set->n_tasks; i++)
		if (!set->tasks[i].zombie) /* a zombie is only its pid, checked above */
			check_memory(set, &set->tasks[i]);
	rst_files_validate(set);
	rst_attrs_check(set);
	return set->problems;
}
