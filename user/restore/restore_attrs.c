// SPDX-License-Identifier: GPL-2.0-only
/*
 * Process and thread attributes a restored task would otherwise inherit from crux:
 * oom_score_adj, the child-subreaper flag, personality, THP disable and dumpable (per
 * process); timer slack and no_new_privs (per thread). Dumpable comes last: a change of
 * credentials resets it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_task.pb-c.h"
#include "mm.pb-c.h"

#define CAP_SYS_RESOURCE_BIT 24

static int prctl_in(struct inj *inj, int op, uint64_t arg, const char *what)
{
	long r = inj_sys2(inj, SYS_prctl, op, arg);

	if (r < 0)
		return pr_err_ret((int)r, "pid %d: prctl(%s, %llu) failed: %s", inj->pid, what,
				  (unsigned long long)arg, strerror((int)-r));
	return 0;
}

static long own_oom_score_adj(void)
{
	char buf[32] = "";
	long v = 0;
	FILE *f = fopen("/proc/self/oom_score_adj", "re");

	if (f && fgets(buf, sizeof(buf), f))
		sscanf(buf, "%ld", &v);
	if (f)
		fclose(f);
	return v;
}

static bool has_cap_sys_resource(void)
{
	char line[128];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	if (f)
		fclose(f);
	return eff & (1ULL << CAP_SYS_RESOURCE_BIT);
}

/* Validation: a score below crux's own needs CAP_SYS_RESOURCE, which root may lack here. */
void rst_attrs_check(struct rst_set *set)
{
	long own = own_oom_score_adj();
	size_t i;

	if (has_cap_sys_resource())
		return;
	for (i = 0; i < set->n_tasks; i++) {
		const TaskCoreEntry *tc = set->tasks[i].core->tc;

		if (!tc->has_oom_score_adj || tc->oom_score_adj >= own)
			continue;
		pr_err("pid %d: oom_score_adj %d is below crux's own (%ld): setting it needs "
		       "CAP_SYS_RESOURCE; run crux restore with oom_score_adj %d or lower",
		       set->tasks[i].pid, tc->oom_score_adj, own, tc->oom_score_adj);
		set->problems++;
	}
}

static int set_oom_score_adj(const struct rst_task *t, int32_t v)
{
	char path[64], buf[16];
	_cleanup_close_ int fd = -1;
	int len = snprintf(buf, sizeof(buf), "%d", v);

	snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", t->pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, buf, (size_t)len) != len)
		return pr_perror_ret("pid %d: cannot set oom_score_adj %d%s", t->pid, v,
				     errno == EACCES ? " (lowering it needs CAP_SYS_RESOURCE)" :
						       "");
	return 0;
}

int rst_task_attrs(struct rst_set *set, struct rst_task *t)
{
	const TaskCoreEntry *tc = t->core->tc;
	int err = 0;

	if (tc->has_oom_score_adj)
		err = set_oom_score_adj(t, tc->oom_score_adj);
	if (!err && tc->has_child_subreaper && tc->child_subreaper)
		err = prctl_in(&t->inj, PR_SET_CHILD_SUBREAPER, 1, "PR_SET_CHILD_SUBREAPER");
	if (!err && tc->personality != (uint32_t)personality(0xffffffff)) {
		long r = inj_sys1(&t->inj, SYS_personality, tc->personality);

		if (r < 0)
			err = pr_err_ret((int)r, "pid %d: personality(%#x) failed: %s", t->pid,
					 tc->personality, strerror((int)-r));
	}
	if (!err && t->mm->has_thp_disabled)
		err = prctl_in(&t->inj, PR_SET_THP_DISABLE, t->mm->thp_disabled,
			       "PR_SET_THP_DISABLE");
	return err;
}

int rst_task_attrs_late(struct rst_set *set, struct rst_task *t)
{
	if (!t->mm->has_dumpable || t->mm->dumpable == 1)
		return 0; /* what a task forked by root has, and keeps with the same uids */
	return prctl_in(&t->inj, PR_SET_DUMPABLE, (uint64_t)t->mm->dumpable, "PR_SET_DUMPABLE");
}

static const CruxThreadEntry *thread_entry(const struct rst_task *t, pid_t tid)
{
	size_t i;

	for (i = 0; t->crux && i < t->crux->n_threads; i++) {
		const CruxThreadEntry *x = t->crux->threads[i];

		if ((x->has_tid ? (pid_t)x->tid : t->pid) == tid)
			return x;
	}
	return NULL;
}

int rst_thread_attrs(const struct rst_task *t, struct inj *inj)
{
	const CruxThreadEntry *x = thread_entry(t, inj->pid);
	int err = 0;

	if (x && x->has_timerslack_ns)
		err = prctl_in(inj, PR_SET_TIMERSLACK, x->timerslack_ns, "PR_SET_TIMERSLACK");
	if (!err && x && x->has_no_new_privs && x->no_new_privs)
		err = prctl_in(inj, PR_SET_NO_NEW_PRIVS, 1, "PR_SET_NO_NEW_PRIVS");
	return err;
}
