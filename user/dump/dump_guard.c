// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guard against silent loss: state a process can observe that crux does not restore,
 * detected cheaply at dump and refused by name before anything is killed. Each check names
 * the task, the state and what to do. Kinds of state crux restores are not here; the list
 * of what is refused is the README's refusal table.
 */
#include <errno.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <string.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "compat.h"
#include "dump.h"
#include "log.h"
#include "util.h"

/* Device numbers of terminals (Documentation/admin-guide/devices.txt). */
#define TTYAUX_MAJOR 5 /* 5:0 /dev/tty, 5:2 /dev/ptmx */
#define UNIX98_PTY_SLAVE_MAJOR 136 /* 136-143: /dev/pts/N */
#define PR_MCE_KILL_DEFAULT_POLICY 2
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_WHO_PROCESS 1

static bool is_pty(dev_t rdev)
{
	unsigned int maj = major(rdev), min = minor(rdev);

	return (maj == TTYAUX_MAJOR && min == 2) ||
	       (maj >= UNIX98_PTY_SLAVE_MAJOR && maj < UNIX98_PTY_SLAVE_MAJOR + 8);
}

/* /proc/PID/timers lists the task's POSIX timers: any line means at least one. */
static bool has_posix_timers(pid_t pid)
{
	char path[64];
	FILE *f;
	bool any;

	snprintf(path, sizeof(path), "/proc/%d/timers", pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	any = fgetc(f) != EOF;
	fclose(f);
	return any;
}

int dump_guard_early(pid_t tid, const char *comm, uint32_t seccomp)
{
	if (seccomp > SECCOMP_MODE_FILTER)
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) runs under an unknown seccomp mode %u: not supported", tid,
			comm, seccomp);
	if (has_posix_timers(tid))
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) has POSIX timers (/proc/%d/timers): not supported yet", tid,
			comm, tid);
	/* the suspension of its filters ends with crux: see ptrace.c, self-restoring injection */
	if (seccomp)
		pr_warn("pid %d (%s) runs under seccomp: if crux is killed while it runs a syscall "
			"inside it, its filters see that syscall (strict mode kills it)",
			tid, comm);
	return 0;
}

int dump_guard_fd(struct dump_ctx *ctx, const struct dump_fd *f)
{
	char d[96];

	if (!S_ISCHR(f->st.st_mode) || !is_pty(f->st.st_rdev))
		return 0;
	return pr_err_ret(-EOPNOTSUPP,
			  "terminal: %s holds %s, a pseudo-terminal %s: ptys are not restored "
			  "yet (a restore would reopen the path, without its pair, settings or "
			  "queued bytes). Start the service with its stdio on files or /dev/null",
			  dump_fd_desc(ctx, f, d, sizeof(d)), f->link,
			  major(f->st.st_rdev) == TTYAUX_MAJOR ? "master" : "slave");
}

/*
 * A controlling terminal: a restored session leader gets a new session with none, so it
 * is refused; a task whose session leader is outside the tree joins the session of
 * `crux restore`, with that session's terminal (the same one when restored from there).
 */
static int guard_ctty(struct dump_ctx *ctx, const struct pstree_task *t, uint32_t tty_nr)
{
	if (!tty_nr)
		return 0;
	if (pstree_find(&ctx->tree, t->sid))
		return pr_err_ret(
			-EOPNOTSUPP,
			"terminal: pid %d (%s) has a controlling terminal (device %u:%u) "
			"in session %d, whose leader is in the tree: controlling terminals "
			"are not restored yet (the restored session would have none). "
			"Start the service without a terminal (setsid, </dev/null)",
			t->pid, t->comm, major(tty_nr), minor(tty_nr), t->sid);
	pr_warn("terminal: pid %d (%s) has a controlling terminal (device %u:%u) of session %d, "
		"whose leader is outside the tree: a restore puts it in the session of `crux "
		"restore`, with that session's terminal",
		t->pid, t->comm, major(tty_nr), minor(tty_nr), t->sid);
	return 0;
}

/* "yes" on the ksm_merge_any line: prctl(PR_SET_MEMORY_MERGE), which needs CAP_SYS_RESOURCE. */
static bool ksm_merge_any(pid_t pid)
{
	char path[64], line[128];
	bool any = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "ksm_merge_any:", 14) && strstr(line, "yes"))
			any = true;
	if (f)
		fclose(f);
	return any;
}

int dump_guard_task(struct dump_ctx *ctx, const struct pstree_task *t,
		    const struct dump_guard_vals *v)
{
	const char *c = t->comm;
	long prio;
	int err;

	err = guard_ctty(ctx, t, v->tty_nr);
	if (err)
		return err;
	if (v->cap_amb)
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) has ambient capabilities (CapAmb %llx): not restored "
			"yet",
			v->tid, c, (unsigned long long)v->cap_amb);
	if (v->mce_kill >= 0 && v->mce_kill != PR_MCE_KILL_DEFAULT_POLICY)
		return pr_err_ret(-EOPNOTSUPP,
				  "pid %d (%s) set a machine-check kill policy "
				  "(prctl(PR_MCE_KILL) = %ld): not restored yet",
				  v->tid, c, v->mce_kill);
	if (v->mdwe > 0)
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) has memory-deny-write-execute on (prctl(PR_SET_MDWE) "
			"= %ld): not restored yet",
			t->pid, c, v->mdwe);
	if (v->dumpable > 1)
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) is dumpable %ld (suid_dumpable after a set-id exec): "
			"prctl(PR_SET_DUMPABLE) can only set 0 or 1",
			t->pid, c, v->dumpable);
	prio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, v->tid);
	if (prio > 0 && (prio >> IOPRIO_CLASS_SHIFT) != 0)
		return pr_err_ret(-EOPNOTSUPP,
				  "pid %d (%s) has an I/O priority (ionice class %ld, level %ld): "
				  "not restored yet",
				  v->tid, c, prio >> IOPRIO_CLASS_SHIFT, prio & 0xff);
	if (v->leader && ksm_merge_any(t->pid))
		return pr_err_ret(
			-EOPNOTSUPP,
			"pid %d (%s) merges all its memory with KSM "
			"(prctl(PR_SET_MEMORY_MERGE)): restoring it needs CAP_SYS_RESOURCE",
			t->pid, c);
	return 0;
}

/* smaps VmFlags recorded in vma_entry.madv (as 1 << advice, CRIU's encoding) */
static const struct {
	const char *flag;
	int advice;
} vmflag_madv[] = {
	{ "dc", MADV_DONTFORK },   { "dd", MADV_DONTDUMP },   { "hg", MADV_HUGEPAGE },
	{ "nh", MADV_NOHUGEPAGE }, { "wf", MADV_WIPEONFORK }, { "mg", MADV_MERGEABLE },
	{ "sr", MADV_SEQUENTIAL }, { "rr", MADV_RANDOM },
};

/* smaps VmFlags a restore does not set back, refused by name */
static const struct {
	const char *flag, *what;
} vmflag_refused[] = {
	{ "lf", "locked on fault (mlock2 MLOCK_ONFAULT)" },
	{ "ss", "a shadow stack" },
	{ "sl", "sealed (mseal)" },
	{ "um", "registered with userfaultfd (missing)" },
	{ "uw", "registered with userfaultfd (write-protect)" },
	{ "ui", "registered with userfaultfd (minor)" },
};

int dump_vma_flags(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v, uint64_t *ret_madv,
		   bool *ret_locked)
{
	size_t i;

	*ret_madv = 0;
	*ret_locked = proc_vmflag(v->vmflags, "lo");
	for (i = 0; i < ARRAY_SIZE(vmflag_refused); i++)
		if (proc_vmflag(v->vmflags, vmflag_refused[i].flag))
			return pr_err_ret(
				-EOPNOTSUPP,
				"pid %d (%s): mapping %llx-%llx %s is %s (VmFlags '%s' in "
				"smaps): not restored yet",
				pid, dump_comm(ctx, pid), (unsigned long long)v->start,
				(unsigned long long)v->end, v->path ? v->path : "anonymous",
				vmflag_refused[i].what, vmflag_refused[i].flag);
	for (i = 0; i < ARRAY_SIZE(vmflag_madv); i++)
		if (proc_vmflag(v->vmflags, vmflag_madv[i].flag))
			*ret_madv |= 1ULL << vmflag_madv[i].advice;
	return 0;
}

int dump_addr_vmflags(pid_t pid, uint64_t addr, char *buf, size_t size)
{
	struct proc_vma v = { .start = addr };
	int err = proc_parse_vmflags(pid, &v, 1);

	snprintf(buf, size, "%s", v.vmflags);
	return err;
}

/*
 * Tasks of the tree that share one fd table (clone(CLONE_FILES) without CLONE_THREAD):
 * a restore would give each its own table, so an fd one opens afterwards would be EBADF
 * in the other. Refused until the restore makes them one table again.
 */
int dump_guard_tree(struct dump_ctx *ctx)
{
	size_t i, j;
	int failed = 0;

	for (i = 1; i < ctx->tree.n; i++) {
		const struct pstree_task *a = &ctx->tree.tasks[i];

		for (j = 0; j < i; j++) {
			const struct pstree_task *b = &ctx->tree.tasks[j];

			if (syscall(SYS_kcmp, a->pid, b->pid, KCMP_FILES, 0, 0))
				continue;
			pr_err("shared fd table: pid %d (%s) shares its fd table with pid %d (%s) "
			       "(clone(CLONE_FILES)): a restore would give each its own, and an fd "
			       "one opens would be EBADF in the other; not supported yet",
			       a->pid, a->comm, b->pid, b->comm);
			failed = -EOPNOTSUPP;
			break;
		}
	}
	return failed;
}
