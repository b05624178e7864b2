// SPDX-License-Identifier: GPL-2.0-only
/*
 * The rest of a task's state once its memory is back (engine.md §4.4 steps 6-8): comm,
 * cwd, root, umask, signal dispositions, alternate stack, clear-tid address, pending signals,
 * rlimits, rseq re-registered in the restored TLS; then its registers, mask, and detach.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "lock.h"
#include "log.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_task.pb-c.h"
#include "fs.pb-c.h"

#define SCR_ARG 0
/* task_core_entry.task_state for a task in job-control stop at dump (CRIU's TASK_STOPPED) */
#define TASK_STATE_STOPPED 3
#define SIGINFO_SIZE 128
#ifndef SA_RESTORER
#define SA_RESTORER 0x04000000 /* x86 uapi; glibc hides it */
#endif

/* The kernel's struct sigaction on x86-64 (what rt_sigaction takes). */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* inj->pid is the task or thread the syscall ran in. */
static int check(const struct inj *inj, long r, const char *what)
{
	if (r >= 0)
		return 0;
	return pr_err_ret((int)r, "pid %d: %s failed: %s", inj->pid, what, strerror((int)-r));
}

/* Put arg in the scratch page and run nr(scratch, a2, a3, a4) in the task. */
static long call_with(struct inj *inj, long nr, const void *arg, size_t len, uint64_t a2,
		      uint64_t a3, uint64_t a4)
{
	uint64_t p = inj_scratch_put(inj, SCR_ARG, arg, len);

	if (!p)
		return -EFAULT;
	return inj_sys4(inj, nr, p, a2, a3, a4);
}

/* The task is a fork of crux: its dispositions are crux's own. */
static bool inherited_default(int sig)
{
	struct sigaction cur;
	uint64_t mask;

	if (sigaction(sig, NULL, &cur))
		return false;
	/* Only the kernel's 64 bits of glibc's 1024-bit mask mean anything. */
	memcpy(&mask, &cur.sa_mask, sizeof(mask));
	return cur.sa_handler == SIG_DFL && !(cur.sa_flags & ~SA_RESTORER) && !mask;
}

/* CRIU's 62 entries: signals 1..64 without SIGKILL and SIGSTOP. */
static int set_sigactions(struct rst_task *t, const TaskCoreEntry *tc)
{
	size_t i = 0;
	int sig, err;

	if (!tc->n_sigactions)
		return 0;
	if (tc->n_sigactions != 62)
		return pr_err_ret(-EBADMSG, "pid %d: core image holds %zu signal actions, not 62",
				  t->pid, tc->n_sigactions);
	for (sig = 1; sig <= 64; sig++) {
		const SaEntry *sa;
		struct ksigaction k;

		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa = tc->sigactions[i++];
		if (inherited_default(sig) && !sa->sigaction && !sa->flags && !sa->mask)
			continue; /* default here and in the image: nothing to inject */
		k = (struct ksigaction){ sa->sigaction, sa->flags, sa->restorer, sa->mask };
		if (!inj_scratch_put(&t->inj, SCR_ARG, &k, sizeof(k)))
			return -EFAULT;
		err = check(&t->inj,
			    inj_sys4(&t->inj, SYS_rt_sigaction, sig, t->inj.scratch + SCR_ARG, 0,
				     8),
			    "rt_sigaction");
		if (err)
			return err;
	}
	return 0;
}

/* Pending signals of the process (shared) or of the thread inj runs in; tgid: its process. */
static int queue_signals(struct inj *inj, pid_t tgid, const SignalQueueEntry *q, bool shared)
{
	size_t i;
	int err;

	for (i = 0; q && i < q->n_signals; i++) {
		const ProtobufCBinaryData *si = &q->signals[i]->siginfo;
		siginfo_t info;
		uint64_t p;

		if (si->len != SIGINFO_SIZE)
			return pr_err_ret(-EBADMSG, "pid %d: a pending signal of %zu bytes",
					  inj->pid, si->len);
		memcpy(&info, si->data, sizeof(info));
		p = inj_scratch_put(inj, SCR_ARG, &info, sizeof(info));
		if (!p)
			return -EFAULT;
		if (shared)
			err = check(inj, inj_sys3(inj, SYS_rt_sigqueueinfo, tgid, info.si_signo, p),
				    "rt_sigqueueinfo");
		else
			err = check(inj,
				    inj_sys4(inj, SYS_rt_tgsigqueueinfo, tgid, inj->pid,
					     info.si_signo, p),
				    "rt_tgsigqueueinfo");
		if (err)
			return err;
	}
	return 0;
}

static int set_fs(struct rst_set *set, struct rst_task *t)
{
	const char *cwd = rst_reg_name(set, t->fs->cwd_id), *root;
	int err;

	if (!cwd)
		return pr_err_ret(-EBADMSG, "pid %d: its cwd (file id %u) is not in files.img", t->pid,
				  t->fs->cwd_id);
	err = check(&t->inj, call_with(&t->inj, SYS_chdir, cwd, strlen(cwd) + 1, 0, 0, 0), "chdir");
	if (err) {
		pr_err("pid %d: cannot return to its cwd %s", t->pid, cwd);
		return err;
	}
	/* after the chdir (its path is the host's) and every open by path: mappings are in */
	root = rst_reg_name(set, t->fs->root_id);
	if (root && strcmp(root, "/")) {
		err = check(&t->inj,
			    call_with(&t->inj, SYS_chroot, root, strlen(root) + 1, 0, 0, 0),
			    "chroot");
		if (err) {
			pr_err("pid %d: cannot return to its root directory %s", t->pid, root);
			return err;
		}
	}
	if (t->fs->has_umask)
		inj_sys1(&t->inj, SYS_umask, t->fs->umask);
	return 0;
}

static void set_rlimits(struct rst_task *t, const TaskRlimitsEntry *rl)
{
	size_t i;

	for (i = 0; rl && i < rl->n_rlimits && i < RLIM_NLIMITS; i++) {
		struct rlimit r = { rl->rlimits[i]->cur, rl->rlimits[i]->max };

		if (prlimit(t->pid, (int)i, &r, NULL))
			pr_pwarn("pid %d: cannot restore rlimit %zu (cur %llu, max %llu); it "
				 "keeps crux's value",
				 t->pid, i, (unsigned long long)r.rlim_cur,
				 (unsigned long long)r.rlim_max);
	}
}

static uint64_t cap_set(const uint32_t *words, size_t n)
{
	return (n > 0 ? words[0] : 0) | (n > 1 ? (uint64_t)words[1] << 32 : 0);
}

/* capset(v3): header at SCR_ARG, two data words of {effective, permitted, inheritable}. */
static int set_caps(struct inj *inj, const CredsEntry *c)
{
	uint64_t eff = cap_set(c->cap_eff, c->n_cap_eff), prm = cap_set(c->cap_prm, c->n_cap_prm);
	uint64_t inh = cap_set(c->cap_inh, c->n_cap_inh);
	struct {
		uint32_t version;
		int32_t pid;
		uint32_t data[2][3];
	} cs = { 0x20080522,
		 0,
		 { { (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		   { (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) } } };
	uint64_t p = inj_scratch_put(inj, SCR_ARG, &cs, sizeof(cs));

	if (!p)
		return -EFAULT;
	return check(inj, inj_sys2(inj, SYS_capset, p, p + 8), "capset");
}

/*
 * Credentials last: after them the task may no longer be allowed what the steps before
 * needed. Groups and gids first, bounding set and securebits while still privileged,
 * then uids (keeping the permitted set across the switch) and the dumped capability sets.
 */
static int set_creds(struct inj *inj, const CredsEntry *c)
{
	uint64_t bnd = cap_set(c->cap_bnd, c->n_cap_bnd);
	int cap, err;

	if (c->n_groups > INJ_SCRATCH_SIZE / sizeof(uint32_t))
		return pr_err_ret(-E2BIG, "pid %d: %zu supplementary groups", inj->pid,
				  c->n_groups);
	if (!inj_scratch_put(inj, SCR_ARG, c->groups, c->n_groups * sizeof(uint32_t)) &&
	    c->n_groups)
		return -EFAULT;
	err = check(inj, inj_sys2(inj, SYS_setgroups, c->n_groups, inj->scratch + SCR_ARG),
		    "setgroups");
	if (!err)
		err = check(inj, inj_sys3(inj, SYS_setresgid, c->gid, c->egid, c->sgid),
			    "setresgid");
	if (!err)
		inj_sys1(inj, SYS_setfsgid, c->fsgid);
	/*
	 * Until this loop the task's bounding set is crux's own (it was forked, or its thread
	 * cloned, from crux): ask crux which caps are there, not the task (a local prctl instead
	 * of an injected one for each of the 64).
	 */
	for (cap = 0; !err && c->n_cap_bnd && cap < 64; cap++)
		if (!(bnd & (1ULL << cap)) && prctl(PR_CAPBSET_READ, cap) == 1)
			err = check(inj, inj_sys2(inj, SYS_prctl, PR_CAPBSET_DROP, cap),
				    "prctl(PR_CAPBSET_DROP)");
	if (!err && c->secbits)
		err = check(inj, inj_sys2(inj, SYS_prctl, PR_SET_SECUREBITS, c->secbits),
			    "prctl(PR_SET_SECUREBITS)");
	if (!err && (c->uid || c->euid || c->suid || c->fsuid)) {
		inj_sys2(inj, SYS_prctl, PR_SET_KEEPCAPS, 1);
		err = check(inj, inj_sys3(inj, SYS_setresuid, c->uid, c->euid, c->suid),
			    "setresuid");
		if (!err)
			inj_sys1(inj, SYS_setfsuid, c->fsuid);
		/* as dumped: securebits may have had it set (SECBIT_KEEP_CAPS is bit 4) */
		inj_sys2(inj, SYS_prctl, PR_SET_KEEPCAPS, (c->secbits >> 4) & 1);
	}
	if (!err && c->n_cap_eff)
		err = set_caps(inj, c);
	if (!err && c->has_no_new_privs && c->no_new_privs)
		err = check(inj, inj_sys2(inj, SYS_prctl, PR_SET_NO_NEW_PRIVS, 1),
			    "prctl(PR_SET_NO_NEW_PRIVS)");
	return err;
}

/* One itimer, as dumped: ITIMER_REAL counts down again from the restore. */
static int set_itimer(struct rst_task *t, int which, const ItimerEntry *e)
{
	struct itimerval v = {
		.it_interval = { .tv_sec = (time_t)e->isec, .tv_usec = (suseconds_t)e->iusec },
		.it_value = { .tv_sec = (time_t)e->vsec, .tv_usec = (suseconds_t)e->vusec },
	};
	uint64_t p;

	if (!e->vsec && !e->vusec)
		return 0; /* disarmed, as a fresh task's */
	p = inj_scratch_put(&t->inj, SCR_ARG, &v, sizeof(v));
	if (!p)
		return -EFAULT;
	return check(&t->inj, inj_sys3(&t->inj, SYS_setitimer, which, p, 0), "setitimer");
}

static int set_itimers(struct rst_task *t, const TaskCoreEntry *tc)
{
	int err = 0;

	if (tc->timers)
		err = set_itimer(t, ITIMER_REAL, tc->timers->real);
	if (!err && tc->timers)
		err = set_itimer(t, ITIMER_VIRTUAL, tc->timers->virt);
	if (!err && tc->timers)
		err = set_itimer(t, ITIMER_PROF, tc->timers->prof);
	return err;
}

/*
 * What the kernel keeps per thread and a fresh clone does not inherit: the robust futex list
 * (glibc registers it once per thread, and the kernel walks it at exit) and the scheduling
 * settings.
 */
static int set_robust_and_sched(struct inj *inj, const ThreadCoreEntry *th)
{
	int err = 0;

	if (th->futex_rla)
		err = check(inj,
			    inj_sys2(inj, SYS_set_robust_list, th->futex_rla, th->futex_rla_len),
			    "set_robust_list");
	if (err)
		return err;
	if (th->has_sched_policy && th->sched_policy != SCHED_OTHER) {
		struct sched_param sp = { .sched_priority = (int)th->sched_prio };

		if (sched_setscheduler(inj->pid, (int)th->sched_policy, &sp))
			return pr_perror_ret("pid %d: cannot restore its scheduling policy %u",
					     inj->pid, th->sched_policy);
	}
	if (th->has_sched_nice && setpriority(PRIO_PROCESS, (id_t)inj->pid, th->sched_nice))
		return pr_perror_ret("pid %d: cannot restore its nice value %d", inj->pid,
				     th->sched_nice);
	return 0;
}

static int set_name(struct inj *inj, const char *name)
{
	char comm[16] = { 0 };

	strncpy(comm, name, sizeof(comm) - 1);
	if (!inj_scratch_put(inj, SCR_ARG, comm, sizeof(comm)))
		return -EFAULT;
	return check(inj, inj_sys2(inj, SYS_prctl, PR_SET_NAME, inj->scratch + SCR_ARG),
		     "prctl(PR_SET_NAME)");
}

/*
 * The state the kernel keeps per thread, in the thread inj runs in (tgid: its process):
 * clear-tid address, alternate stack, parent-death signal, private pending signals, rseq,
 * robust list, scheduling, credentials last (after them the thread may no longer be allowed
 * the steps before), and the signal mask installed when it is let go.
 */
static int thread_state(const struct rst_set *set, struct inj *inj, pid_t tgid,
			const CoreEntry *core, uint64_t tc_mask, size_t seccomp_shared)
{
	const ThreadCoreEntry *th = core->thread_core;
	int err = 0;

	if (core->thread_info->clear_tid_addr)
		err = check(inj,
			    inj_sys1(inj, SYS_set_tid_address, core->thread_info->clear_tid_addr),
			    "set_tid_address");
	if (!err && th && th->sas && th->sas->ss_size) {
		stack_t ss = { .ss_sp = (void *)(uintptr_t)th->sas->ss_sp,
			       .ss_flags = (int)th->sas->ss_flags,
			       .ss_size = th->sas->ss_size };

		err = check(inj, call_with(inj, SYS_sigaltstack, &ss, sizeof(ss), 0, 0, 0),
			    "sigaltstack");
	}
	if (!err)
		err = check(inj,
			    inj_sys2(inj, SYS_prctl, PR_SET_PDEATHSIG,
				     th && th->has_pdeath_sig ? th->pdeath_sig : 0),
			    "prctl(PR_SET_PDEATHSIG)");
	if (!err && th)
		err = queue_signals(inj, tgid, th->signals_p, false);
	if (!err && th && th->rseq_entry && th->rseq_entry->rseq_abi_pointer)
		err = check(inj,
			    inj_sys4(inj, SYS_rseq, th->rseq_entry->rseq_abi_pointer,
				     th->rseq_entry->rseq_abi_size, 0, th->rseq_entry->signature),
			    "rseq register");
	if (!err && th)
		err = set_robust_and_sched(inj, th);
	if (!err)
		err = rst_seccomp_install(set, inj, core, seccomp_shared);
	if (!err && th && th->creds)
		err = set_creds(inj, th->creds);
	inj->sigmask = th && th->has_blk_sigset ? th->blk_sigset : tc_mask;
	return err;
}

/*
 * The other threads, each made by clone3 in the leader with its dumped tid: the new thread
 * shares everything a pthread shares (its TLS base and clear-tid address come from its own
 * image), is traced from birth, and gets its own state at once. Before the leader's
 * credentials: clone3 with set_tid needs CAP_CHECKPOINT_RESTORE.
 */
static int create_threads(const struct rst_set *set, struct rst_task *t)
{
	const uint64_t flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			       CLONE_SYSVSEM;
	size_t i, common = rst_seccomp_common(set, t);
	int err;

	for (i = 0; i < t->n_threads; i++) {
		struct rst_thread *th = &t->threads[i];
		const char *name = th->core->thread_core ? th->core->thread_core->comm : NULL;

		err = inj_clone_thread(&t->inj, th->tid, flags, &th->inj);
		if (err == -EEXIST)
			return pr_err_ret(err,
					  "pid %d: cannot create its thread %d: the tid is "
					  "taken",
					  t->pid, th->tid);
		if (err)
			return pr_err_ret(err, "pid %d: cannot create its thread %d: %s", t->pid,
					  th->tid, strerror(-err));
		err = name ? set_name(&th->inj, name) : 0;
		if (err)
			return err;
	}
	/* every thread exists and has no filter yet: the shared ones go to all at once */
	err = rst_seccomp_install_common(set, t, common);
	for (i = 0; !err && i < t->n_threads; i++) {
		err = thread_state(set, &t->threads[i].inj, t->pid, t->threads[i].core,
				   t->core->tc->blk_sigset, common);
		if (!err)
			err = rst_thread_attrs(t, &t->threads[i].inj);
	}
	return err;
}

int rst_task_state(struct rst_set *set, struct rst_task *t)
{
	const TaskCoreEntry *tc = t->core->tc;
	int err;

	err = set_name(&t->inj, tc->comm);
	if (!err)
		err = set_fs(set, t);
	if (!err)
		err = rst_locks_posix(set, t->pid, &t->inj);
	if (!err)
		err = set_sigactions(t, tc);
	if (!err && set->sync_fd >= 0)
		inj_sys1(&t->inj, SYS_close, set->sync_fd);
	if (!err)
		err = queue_signals(&t->inj, t->pid, tc->signals_s, true);
	if (!err)
		err = set_itimers(t, tc);
	/* prlimit() on another uid's task needs CAP_SYS_RESOURCE: before the creds. */
	if (!err)
		set_rlimits(t, tc->rlimits);
	if (!err)
		err = rst_task_attrs(set, t);
	if (!err)
		err = create_threads(set, t);
	if (!err)
		err = thread_state(set, &t->inj, t->pid, t->core, tc->blk_sigset,
				   rst_seccomp_common(set, t));
	if (!err)
		err = rst_thread_attrs(t, &t->inj);
	if (!err)
		err = rst_task_attrs_late(set, t);
	return err;
}

static void regs_from_image(const UserX86RegsEntry *g, struct user_regs_struct *r)
{
	*r = (struct user_regs_struct){
		.r15 = g->r15, .r14 = g->r14, .r13 = g->r13, .r12 = g->r12, .rbp = g->bp,
		.rbx = g->bx, .r11 = g->r11, .r10 = g->r10, .r9 = g->r9, .r8 = g->r8,
		.rax = g->ax, .rcx = g->cx, .rdx = g->dx, .rsi = g->si, .rdi = g->di,
		.orig_rax = g->orig_ax, .rip = g->ip, .cs = g->cs, .eflags = g->flags,
		.rsp = g->sp, .ss = g->ss, .fs_base = g->fs_base, .gs_base = g->gs_base,
		.ds = g->ds, .es = g->es, .fs = g->fs, .gs = g->gs,
	};
}

const void *rst_thread_xsave(const struct rst_task *t, pid_t tid, size_t *ret_len)
{
	size_t i;

	for (i = 0; t->crux && i < t->crux->n_threads; i++) {
		const CruxThreadEntry *x = t->crux->threads[i];

		/* images of one thread may leave the tid out: it is the leader's */
		if ((x->has_tid ? (pid_t)x->tid : t->pid) == tid && x->has_xsave) {
			*ret_len = x->xsave.len;
			return x->xsave.data;
		}
	}
	*ret_len = 0;
	return NULL;
}

bool rst_task_stopped(const struct rst_task *t)
{
	return t->core->tc->task_state == TASK_STATE_STOPPED;
}

int rst_task_finish(struct rst_set *set, struct rst_task *t)
{
	struct user_regs_struct regs;
	const void *xs = NULL;
	size_t xlen = 0;
	int err;

	regs_from_image(t->core->thread_info->gpregs, &regs);
	xs = rst_thread_xsave(t, t->pid, &xlen);
	/* stopped when dumped: stopped again as it is let go, before it runs an instruction */
	if (rst_task_stopped(t))
		t->inj.detach_sig = SIGSTOP;
	err = inj_finish(&t->inj, &regs, xs, xlen);
	if (err) {
		pr_err("pid %d: cannot install its registers: %s", t->pid, strerror(-err));
		return err;
	}
	pr_debug("pid %d restored: %lu injected syscalls", t->pid, t->inj.pi.nr_calls);
	return 0;
}

/*
 * After the leader: the trampoline is gone, and each thread, stopped where it was made,
 * only gets its registers, FPU state and mask before it is let go.
 */
int rst_threads_finish(struct rst_set *set, struct rst_task *t)
{
	struct user_regs_struct regs;
	const void *xs;
	size_t i, xlen;
	int err;

	for (i = 0; i < t->n_threads; i++) {
		struct rst_thread *th = &t->threads[i];

		regs_from_image(th->core->thread_info->gpregs, &regs);
		xs = rst_thread_xsave(t, th->tid, &xlen);
		err = inj_finish_thread(&th->inj, &regs, xs, xlen);
		if (err)
			return pr_err_ret(
				err, "pid %d: cannot install the registers of its thread %d: %s",
				t->pid, th->tid, strerror(-err));
	}
	return 0;
}
