// SPDX-License-Identifier: GPL-2.0-only
/*
 * Per-task state of `crux dump`: registers, rseq, signals, credentials, values only the
 * task can tell (read by syscalls run inside it at its vDSO), and its memory.
 * Writes core-<pid>, ids-<pid>, fs-<pid>, mm-<pid>, pagemap-<pid>, pages-<id> and
 * crux-task-<pid>.
 */
#include <asm/ldt.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "compat.h"
#include "dump.h"
#include "img.h"
#include "log.h"
#include "mem.h"
#include "proc.h"
#include "ptrace.h"
#include "sigframe.h"
#include "trackmem.h"
#include "util.h"
#include "core.pb-c.h"
#include "crux_task.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "mm.pb-c.h"

#define NSIG_MAX 64
/* task_core_entry.task_state, CRIU's values */
#define TASK_STATE_ALIVE 1
#define TASK_STATE_DEAD 2
#define TASK_STATE_STOPPED 3
#define SCRATCH_SIZE 4096
#define SIGINFO_MAX 64
#define TLS_FIRST 12 /* GDT_ENTRY_TLS_MIN on x86-64 */
#define TLS_COUNT 3

/* CRIU's vma_entry.status bits */
#define VMA_AREA_REGULAR (1 << 0)
#define VMA_AREA_VSYSCALL (1 << 2)
#define VMA_AREA_VDSO (1 << 3)
#define VMA_AREA_HEAP (1 << 5)
#define VMA_FILE_PRIVATE (1 << 6)
#define VMA_FILE_SHARED (1 << 7)
#define VMA_ANON_PRIVATE (1 << 9)
#define VMA_AREA_VVAR (1 << 12)

/* The kernel's struct sigaction as rt_sigaction() fills it on x86-64. */
struct ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/*
 * What only the task can tell, gathered by syscalls injected into it. tid_address, sas and
 * pdeath_sig are per thread (asked in every thread); the rest is per process (leader only).
 */
struct task_inner {
	uint64_t brk;
	uint64_t tid_address;
	struct ksigaction sa[NSIG_MAX + 1];
	stack_t sas;
	int pdeath_sig;
	long secbits, dumpable, subreaper, thp_disabled;
	long nnp, timerslack, mce_kill, mdwe; /* -1: not asked */
	int mcl_future; /* mlockall() flags new mappings get: MCL_FUTURE [| MCL_ONFAULT] */
	struct itimerval itimer[3];
};

/* Layout of the scratch page shared by the queries. */
struct scratch {
	struct ksigaction sa;
	uint64_t tid_address;
	stack_t sas;
	int pdeath_sig;
	int subreaper;
	struct itimerval it;
};

struct task_state {
	pid_t pid;
	bool stopped; /* job-control stop at freeze: restored stopped */
	ptrace_regs_t regs;
	struct ptrace_xstate xs;
	struct ptrace_rseq rseq;
	uint64_t sigmask;
	struct task_inner in;
	struct proc_stat st;
	struct proc_status ps;
	struct user_desc tls[TLS_COUNT];
	siginfo_t sig_shared[SIGINFO_MAX], sig_private[SIGINFO_MAX];
	int n_shared, n_private;
	uint64_t robust_head;
	size_t robust_len;
};

static int inj(struct ptrace_inj *j, long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
	       long *ret)
{
	uint64_t args[6] = { a0, a1, a2, a3, 0, 0 };
	int err = ptrace_inj_syscall(j, nr, args, ret);

	if (err)
		return err;
	return 0;
}

_Static_assert(sizeof(struct scratch) <= SIGFRAME_SCRATCH, "the scratch fits below the frame");

static int read_scratch(const struct ptrace_inj *j, uint64_t addr, struct scratch *s)
{
	char path[64];
	_cleanup_close_ int fd = -1;

	if (j->mem_fd >= 0) /* frame mode keeps the task's memory open */
		return pread(j->mem_fd, s, sizeof(*s), (off_t)addr) == (ssize_t)sizeof(*s) ? 0 :
											     -EIO;
	snprintf(path, sizeof(path), "/proc/%d/mem", j->tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, s, sizeof(*s), (off_t)addr) != (ssize_t)sizeof(*s))
		return -EIO;
	return 0;
}

/* The queries that write into memory, run against a scratch page of the task. */
static int inner_scratch_queries(struct ptrace_inj *j, uint64_t scr, struct task_inner *in,
				 bool leader)
{
	struct scratch s;
	long r;
	int sig, err, i;

	for (sig = 1; leader && sig <= NSIG_MAX; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		err = inj(j, SYS_rt_sigaction, sig, 0, scr, 8, &r);
		if (err || r)
			return err ? err : (int)r;
		err = read_scratch(j, scr, &s);
		if (err)
			return err;
		in->sa[sig] = s.sa;
	}
	err = inj(j, SYS_prctl, PR_GET_TID_ADDRESS, scr + offsetof(struct scratch, tid_address), 0,
		  0, &r);
	if (!err)
		err = inj(j, SYS_sigaltstack, 0, scr + offsetof(struct scratch, sas), 0, 0, &r);
	if (!err)
		err = inj(j, SYS_prctl, PR_GET_PDEATHSIG,
			  scr + offsetof(struct scratch, pdeath_sig), 0, 0, &r);
	if (!err && leader)
		err = inj(j, SYS_prctl, PR_GET_CHILD_SUBREAPER,
			  scr + offsetof(struct scratch, subreaper), 0, 0, &r);
	if (err)
		return err;
	if (!leader) {
		err = read_scratch(j, scr, &s);
		if (err)
			return err;
	}
	for (i = 0; leader && i < 3; i++) {
		err = inj(j, SYS_getitimer, i, scr + offsetof(struct scratch, it), 0, 0, &r);
		if (err)
			return err;
		err = read_scratch(j, scr, &s);
		if (err)
			return err;
		in->itimer[i] = s.it;
	}
	in->tid_address = s.tid_address;
	in->sas = s.sas;
	in->pdeath_sig = s.pdeath_sig;
	in->subreaper = s.subreaper;
	return 0;
}

static int task_read_inner(pid_t pid, struct task_inner *in, bool leader)
{
	struct ptrace_inj j;
	uint64_t insn;
	long r, scr;
	int err, err2;

	err = ptrace_find_vdso_syscall(pid, &insn);
	if (err)
		return pr_err_ret(err, "pid %d: no syscall instruction in its [vdso] (%s)", pid,
				  strerror(-err));
	err = ptrace_inj_init(&j, pid, insn, PTRACE_INJ_STEP);
	if (err)
		return pr_err_ret(err, "pid %d: cannot prepare syscall injection: %s", pid,
				  strerror(-err));
	if (j.mode != PTRACE_INJ_FRAME)
		pr_warn("pid %d: no self-restoring syscall injection (%s): if crux is killed while "
			"it injects, this task may crash",
			pid, strerror(-j.frame_err));
	err = leader ? inj(&j, SYS_brk, 0, 0, 0, 0, &r) : 0;
	if (err)
		goto out;
	in->brk = leader ? (uint64_t)r : 0;
	inj(&j, SYS_prctl, PR_GET_SECUREBITS, 0, 0, 0, &in->secbits);
	inj(&j, SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, &in->nnp);
	inj(&j, SYS_prctl, PR_GET_TIMERSLACK, 0, 0, 0, &in->timerslack);
	inj(&j, SYS_prctl, PR_MCE_KILL_GET, 0, 0, 0, &in->mce_kill);
	in->mdwe = in->dumpable = -1;
	if (leader) {
		inj(&j, SYS_prctl, PR_GET_DUMPABLE, 0, 0, 0, &in->dumpable);
		inj(&j, SYS_prctl, PR_GET_THP_DISABLE, 0, 0, 0, &in->thp_disabled);
		inj(&j, SYS_prctl, PR_GET_MDWE, 0, 0, 0, &in->mdwe);
	}
	if (j.mode == PTRACE_INJ_FRAME) {
		/* scratch bytes below the frame: nothing to map, nothing left if crux dies */
		err = inner_scratch_queries(&j, j.scratch, in, leader);
		goto out;
	}
	/* A shared anonymous page never merges with a neighbour: unmapping it restores the
	 * task's layout exactly. */
	err = inj(&j, SYS_mmap, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		  &scr);
	if (!err && (unsigned long)scr > -4096UL)
		err = (int)scr;
	if (err)
		goto out;
	err = inner_scratch_queries(&j, (uint64_t)scr, in, leader);
	if (!err && leader) {
		char fl[128];

		/* a new mapping is locked only under mlockall(MCL_FUTURE): smaps shows it */
		err = dump_addr_vmflags(pid, (uint64_t)scr, fl, sizeof(fl));
		in->mcl_future = proc_vmflag(fl, "lo") ? MCL_FUTURE : 0;
		in->mcl_future |= proc_vmflag(fl, "lf") ? MCL_ONFAULT : 0;
	}
	err2 = inj(&j, SYS_munmap, (uint64_t)scr, SCRATCH_SIZE, 0, 0, &r);
	if (!err)
		err = err2 ? err2 : (int)r;
out:
	err2 = ptrace_inj_finish(&j);
	if (err)
		return pr_err_ret(err, "pid %d: a syscall run inside the task failed: %s", pid,
				  strerror(-err));
	if (err2)
		return pr_err_ret(err2, "pid %d: cannot put its registers back: %s", pid,
				  strerror(-err2));
	pr_debug("pid %d: %lu syscalls injected, brk %#llx", pid, j.nr_calls,
		 (unsigned long long)in->brk);
	return 0;
}

/* One thread's state (ts->pid is its tid); the leader also reads the process-wide parts. */
static int task_collect(struct task_state *ts, bool leader)
{
	long robust_len = 0;
	int err, i;

	err = proc_parse_stat(ts->pid, &ts->st);
	if (!err)
		err = proc_parse_status(ts->pid, &ts->ps);
	if (err)
		return pr_err_ret(err, "pid %d: cannot read /proc: %s", ts->pid, strerror(-err));
	err = dump_guard_early(ts->pid, ts->st.comm, ts->ps.seccomp);
	if (err)
		return err;
	err = ptrace_getregs(ts->pid, &ts->regs);
	if (!err)
		err = ptrace_get_xstate(ts->pid, &ts->xs);
	if (!err)
		err = ptrace_get_rseq(ts->pid, &ts->rseq);
	if (!err)
		err = ptrace_get_sigmask(ts->pid, &ts->sigmask);
	if (err)
		return pr_err_ret(err, "pid %d: cannot read registers: %s", ts->pid,
				  strerror(-err));
	for (i = 0; i < TLS_COUNT; i++) {
		ts->tls[i].entry_number = TLS_FIRST + i;
		if (ptrace(PTRACE_GET_THREAD_AREA, ts->pid, (void *)(long)(TLS_FIRST + i),
			   &ts->tls[i]))
			return pr_perror_ret("pid %d: cannot read TLS slot %d", ts->pid,
					     TLS_FIRST + i);
	}
	/* the shared queue is the process's: read once, in the leader */
	ts->n_shared = leader ? ptrace_peek_siginfo(ts->pid, true, ts->sig_shared, SIGINFO_MAX) : 0;
	ts->n_private = ptrace_peek_siginfo(ts->pid, false, ts->sig_private, SIGINFO_MAX);
	if (ts->n_shared < 0 || ts->n_private < 0)
		return pr_err_ret(-EIO, "pid %d: cannot read its pending signals", ts->pid);
	if (ts->n_shared == SIGINFO_MAX || ts->n_private == SIGINFO_MAX)
		return pr_err_ret(-EOPNOTSUPP, "pid %d: more than %d pending signals", ts->pid,
				  SIGINFO_MAX - 1);
	if (syscall(SYS_get_robust_list, ts->pid, &ts->robust_head, &robust_len))
		return pr_perror_ret("pid %d: cannot read its robust futex list", ts->pid);
	ts->robust_len = (size_t)robust_len;
	return task_read_inner(ts->pid, &ts->in, leader);
}

/* ---- core-<pid>.img ---- */

static void fill_gpregs(UserX86RegsEntry *g, const ptrace_regs_t *r)
{
	g->r15 = r->r15, g->r14 = r->r14, g->r13 = r->r13, g->r12 = r->r12;
	g->bp = r->rbp, g->bx = r->rbx, g->r11 = r->r11, g->r10 = r->r10;
	g->r9 = r->r9, g->r8 = r->r8, g->ax = r->rax, g->cx = r->rcx;
	g->dx = r->rdx, g->si = r->rsi, g->di = r->rdi, g->orig_ax = r->orig_rax;
	g->ip = r->rip, g->cs = r->cs, g->flags = r->eflags, g->sp = r->rsp;
	g->ss = r->ss, g->fs_base = r->fs_base, g->gs_base = r->gs_base;
	g->ds = r->ds, g->es = r->es, g->fs = r->fs, g->gs = r->gs;
	g->has_mode = true;
	g->mode = USER_X86_REGS_MODE__NATIVE;
}

/* The legacy FXSAVE part of the XSAVE buffer, as CRIU's fpregs message lays it out. */
static void fill_fpregs(UserX86FpregsEntry *fp, UserX86XsaveEntry *x, const uint8_t *b, size_t len)
{
	uint16_t w;

	memcpy(&w, b + 0, 2), fp->cwd = w;
	memcpy(&w, b + 2, 2), fp->swd = w;
	memcpy(&w, b + 4, 2), fp->twd = w;
	memcpy(&w, b + 6, 2), fp->fop = w;
	memcpy(&fp->rip, b + 8, 8);
	memcpy(&fp->rdp, b + 16, 8);
	memcpy(&fp->mxcsr, b + 24, 4);
	memcpy(&fp->mxcsr_mask, b + 28, 4);
	fp->n_st_space = 32;
	fp->st_space = (uint32_t *)(b + 32);
	fp->n_xmm_space = 64;
	fp->xmm_space = (uint32_t *)(b + 160);
	fp->n_padding = 24;
	fp->padding = (uint32_t *)(b + 416);
	if (len >= 576 + 256) {
		memcpy(&x->xstate_bv, b + 512, 8);
		x->n_ymmh_space = 64;
		x->ymmh_space = (uint32_t *)(b + 576);
		fp->xsave = x;
	}
}

static void fill_tls(UserDescT *d, const struct user_desc *u)
{
	d->entry_number = u->entry_number;
	d->base_addr = u->base_addr;
	d->limit = u->limit;
	d->seg_32bit = u->seg_32bit;
	d->contents_h = (u->contents >> 1) & 1;
	d->contents_l = u->contents & 1;
	d->read_exec_only = u->read_exec_only;
	d->limit_in_pages = u->limit_in_pages;
	d->seg_not_present = u->seg_not_present;
	d->useable = u->useable;
}

static void fill_creds(CredsEntry *c, const struct proc_status *ps, long secbits, uint32_t caps[8])
{
	c->uid = ps->uid[0], c->euid = ps->uid[1], c->suid = ps->uid[2], c->fsuid = ps->uid[3];
	c->gid = ps->gid[0], c->egid = ps->gid[1], c->sgid = ps->gid[2], c->fsgid = ps->gid[3];
	caps[0] = (uint32_t)ps->cap_inh, caps[1] = (uint32_t)(ps->cap_inh >> 32);
	caps[2] = (uint32_t)ps->cap_prm, caps[3] = (uint32_t)(ps->cap_prm >> 32);
	caps[4] = (uint32_t)ps->cap_eff, caps[5] = (uint32_t)(ps->cap_eff >> 32);
	caps[6] = (uint32_t)ps->cap_bnd, caps[7] = (uint32_t)(ps->cap_bnd >> 32);
	c->n_cap_inh = c->n_cap_prm = c->n_cap_eff = c->n_cap_bnd = 2;
	c->cap_inh = &caps[0], c->cap_prm = &caps[2], c->cap_eff = &caps[4];
	c->cap_bnd = &caps[6];
	c->secbits = secbits < 0 ? 0 : (uint32_t)secbits;
	c->n_groups = (size_t)ps->nr_groups;
	c->groups = (uint32_t *)ps->groups;
	c->has_no_new_privs = true;
	c->no_new_privs = ps->no_new_privs;
}

static void fill_sigactions(TaskCoreEntry *tc, const struct task_inner *in, SaEntry *sa,
			    SaEntry **sap)
{
	int sig;
	size_t n = 0;

	for (sig = 1; sig <= NSIG_MAX; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		sa[n] = (SaEntry)SA_ENTRY__INIT;
		sa[n].sigaction = in->sa[sig].handler;
		sa[n].flags = in->sa[sig].flags;
		sa[n].restorer = in->sa[sig].restorer;
		sa[n].mask = in->sa[sig].mask;
		sap[n] = &sa[n];
		n++;
	}
	tc->n_sigactions = n; /* 62, as CRIU's restore expects */
	tc->sigactions = sap;
}

static void fill_siginfos(SignalQueueEntry *q, SiginfoEntry *e, SiginfoEntry **ep, siginfo_t *si,
			  int n)
{
	int i;

	for (i = 0; i < n; i++) {
		e[i] = (SiginfoEntry)SIGINFO_ENTRY__INIT;
		e[i].siginfo.data = (uint8_t *)&si[i];
		e[i].siginfo.len = sizeof(si[i]);
		ep[i] = &e[i];
	}
	q->n_signals = (size_t)n;
	q->signals = ep;
}

static void fill_itimer(ItimerEntry *e, const struct itimerval *v)
{
	e->isec = (uint64_t)v->it_interval.tv_sec;
	e->iusec = (uint64_t)v->it_interval.tv_usec;
	e->vsec = (uint64_t)v->it_value.tv_sec;
	e->vusec = (uint64_t)v->it_value.tv_usec;
}

static int fill_rlimits(pid_t pid, RlimitEntry *e, RlimitEntry **ep, TaskRlimitsEntry *r)
{
	struct rlimit rl[RLIM_NLIMITS];
	int i, err;

	err = proc_read_limits(pid, rl, RLIM_NLIMITS);
	if (err)
		return err;
	for (i = 0; i < RLIM_NLIMITS; i++) {
		e[i] = (RlimitEntry)RLIMIT_ENTRY__INIT;
		e[i].cur = rl[i].rlim_cur;
		e[i].max = rl[i].rlim_max;
		ep[i] = &e[i];
	}
	r->n_rlimits = RLIM_NLIMITS;
	r->rlimits = ep;
	return 0;
}

static int write_one(struct dump_ctx *ctx, enum img_type t, unsigned long key, const void *msg)
{
	struct img *img = NULL;
	int err, err2;

	err = img__open(ctx->dirfd, t, key, IMG_WRITE, &img);
	if (err)
		return pr_err_ret(err, "cannot create an image: %s", img_error());
	err = img_write_one(img, (const ProtobufCMessage *)msg);
	err2 = img__close(img);
	if (err || err2)
		return pr_err_ret(err ? err : err2, "cannot write an image: %s", img_error());
	return 0;
}

/* One core-<tid>.img message and every sub-message it points to, until it is written. */
struct core_msg {
	CoreEntry core;
	ThreadInfoX86 ti;
	UserX86RegsEntry gp;
	UserX86FpregsEntry fp;
	UserX86XsaveEntry xs;
	UserDescT tls[TLS_COUNT], *tlsp[TLS_COUNT];
	TaskCoreEntry tc;
	ThreadCoreEntry th;
	CredsEntry cr;
	RseqEntry rs;
	ThreadSasEntry sas;
	SignalQueueEntry qs, qp;
	SiginfoEntry es[SIGINFO_MAX], ep[SIGINFO_MAX], *esp[SIGINFO_MAX], *epp[SIGINFO_MAX];
	TaskTimersEntry tm;
	ItimerEntry it[3];
	TaskRlimitsEntry rl;
	RlimitEntry rle[RLIM_NLIMITS], *rlp[RLIM_NLIMITS];
	SaEntry sa[NSIG_MAX], *sap[NSIG_MAX];
	uint32_t caps[8];
};

/* Registers, FPU/xsave state and TLS: thread_info. */
static void core_thread_info(struct core_msg *m, struct task_state *ts)
{
	ptrace_regs_t regs = ts->regs;
	int i;

	m->ti = (ThreadInfoX86)THREAD_INFO_X86__INIT;
	m->gp = (UserX86RegsEntry)USER_X86_REGS_ENTRY__INIT;
	m->fp = (UserX86FpregsEntry)USER_X86_FPREGS_ENTRY__INIT;
	m->xs = (UserX86XsaveEntry)USER_X86_XSAVE_ENTRY__INIT;
	/* The image resumes a syscall the task was stopped in; the live task is untouched. */
	if (ptrace_fix_interrupted_syscall(&regs))
		pr_debug("pid %d was stopped in syscall %llu: restore re-runs it", ts->pid,
			 regs.orig_rax);
	fill_gpregs(&m->gp, &regs);
	fill_fpregs(&m->fp, &m->xs, ts->xs.buf, ts->xs.len);
	for (i = 0; i < TLS_COUNT; i++) {
		m->tls[i] = (UserDescT)USER_DESC_T__INIT;
		fill_tls(&m->tls[i], &ts->tls[i]);
		m->tlsp[i] = &m->tls[i];
	}
	m->ti.clear_tid_addr = ts->in.tid_address;
	m->ti.gpregs = &m->gp;
	m->ti.fpregs = &m->fp;
	m->ti.n_tls = TLS_COUNT;
	m->ti.tls = m->tlsp;
}

/* The per-process part, written in the leader's core only: task_core. */
static int core_task(struct core_msg *m, struct task_state *ts, bool leader)
{
	long long pers = 0, oom = 0;
	int err, i;

	m->tc = (TaskCoreEntry)TASK_CORE_ENTRY__INIT;
	m->qs = (SignalQueueEntry)SIGNAL_QUEUE_ENTRY__INIT;
	m->tm = (TaskTimersEntry)TASK_TIMERS_ENTRY__INIT;
	m->rl = (TaskRlimitsEntry)TASK_RLIMITS_ENTRY__INIT;
	proc_read_int(ts->pid, "personality", 16, &pers);
	proc_read_int(ts->pid, "oom_score_adj", 10, &oom);
	m->tc.task_state = ts->stopped ? TASK_STATE_STOPPED : TASK_STATE_ALIVE;
	m->tc.exit_code = 0;
	m->tc.personality = (uint32_t)pers;
	m->tc.flags = ts->st.flags;
	m->tc.blk_sigset = ts->sigmask;
	m->tc.comm = ts->st.comm;
	m->tc.has_oom_score_adj = true;
	m->tc.oom_score_adj = (int32_t)oom;
	m->tc.has_child_subreaper = true;
	m->tc.child_subreaper = ts->in.subreaper != 0;
	fill_sigactions(&m->tc, &ts->in, m->sa, m->sap);
	fill_siginfos(&m->qs, m->es, m->esp, ts->sig_shared, ts->n_shared);
	m->tc.signals_s = &m->qs;
	for (i = 0; i < 3; i++) {
		m->it[i] = (ItimerEntry)ITIMER_ENTRY__INIT;
		fill_itimer(&m->it[i], &ts->in.itimer[i]);
	}
	m->tm.real = &m->it[0], m->tm.virt = &m->it[1], m->tm.prof = &m->it[2];
	m->tc.timers = &m->tm;
	err = leader ? fill_rlimits(ts->pid, m->rle, m->rlp, &m->rl) : 0;
	if (err)
		return pr_err_ret(err, "pid %d: cannot read its rlimits", ts->pid);
	m->tc.rlimits = &m->rl;
	return 0;
}

/* Scheduling: nice, policy and priority, each only when the kernel answered. */
static void core_sched(ThreadCoreEntry *th, pid_t pid)
{
	struct sched_param sp;
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)pid);
	if (!errno) {
		th->has_sched_nice = true;
		th->sched_nice = prio;
	}
	th->has_sched_policy = true;
	th->sched_policy = (uint32_t)sched_getscheduler(pid);
	if (!sched_getparam(pid, &sp)) {
		th->has_sched_prio = true;
		th->sched_prio = (uint32_t)sp.sched_priority;
	}
}

/* What every thread has of its own: thread_core. */
static int core_thread(struct dump_ctx *ctx, struct core_msg *m, struct task_state *ts)
{
	ThreadCoreEntry *th = &m->th;
	int err;

	*th = (ThreadCoreEntry)THREAD_CORE_ENTRY__INIT;
	m->cr = (CredsEntry)CREDS_ENTRY__INIT;
	m->rs = (RseqEntry)RSEQ_ENTRY__INIT;
	m->sas = (ThreadSasEntry)THREAD_SAS_ENTRY__INIT;
	m->qp = (SignalQueueEntry)SIGNAL_QUEUE_ENTRY__INIT;
	th->futex_rla = ts->robust_head;
	th->futex_rla_len = (uint32_t)ts->robust_len;
	core_sched(th, ts->pid);
	th->has_blk_sigset = true;
	th->blk_sigset = ts->sigmask;
	m->sas.ss_sp = (uint64_t)(uintptr_t)ts->in.sas.ss_sp;
	m->sas.ss_size = ts->in.sas.ss_size;
	m->sas.ss_flags = (uint32_t)ts->in.sas.ss_flags;
	th->sas = &m->sas;
	th->has_pdeath_sig = true;
	th->pdeath_sig = (uint32_t)ts->in.pdeath_sig;
	fill_siginfos(&m->qp, m->ep, m->epp, ts->sig_private, ts->n_private);
	th->signals_p = &m->qp;
	fill_creds(&m->cr, &ts->ps, ts->in.secbits, m->caps);
	th->creds = &m->cr;
	th->has_seccomp_mode = true;
	th->seccomp_mode = (SeccompMode)ts->ps.seccomp;
	err = dump_seccomp_thread(ctx, ts->pid, ts->ps.seccomp, &th->seccomp_filter);
	if (err)
		return err;
	th->has_seccomp_filter = ts->ps.seccomp == SECCOMP_MODE_FILTER;
	th->comm = ts->st.comm;
	if (ts->rseq.abi_pointer) {
		m->rs.rseq_abi_pointer = ts->rseq.abi_pointer;
		m->rs.rseq_abi_size = ts->rseq.abi_size;
		m->rs.signature = ts->rseq.signature;
		th->rseq_entry = &m->rs;
	}
	return 0;
}

/*
 * core-<tid>.img of one thread. Only the leader's holds the per-process parts (tc, ids), as
 * CRIU writes them; every thread has its registers and thread_core.
 */
static int write_core(struct dump_ctx *ctx, struct task_state *ts, TaskKobjIdsEntry *ids,
		      bool leader)
{
	_cleanup_free_ struct core_msg *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	core_thread_info(m, ts);
	err = core_task(m, ts, leader);
	if (!err)
		err = core_thread(ctx, m, ts);
	if (err)
		return err;
	m->core = (CoreEntry)CORE_ENTRY__INIT;
	m->core.mtype = CORE_ENTRY__MARCH__X86_64;
	m->core.thread_info = &m->ti;
	m->core.tc = leader ? &m->tc : NULL;
	m->core.ids = leader ? ids : NULL;
	m->core.thread_core = &m->th;
	return write_one(ctx, IMG_CORE, (unsigned long)ts->pid, &m->core);
}

/* The raw xsave buffer of every thread: the leader's first, then the others (ths). */
static int write_crux_task(struct dump_ctx *ctx, struct task_state *ts, struct task_state *ths,
			   size_t n_ths)
{
	CruxTaskEntry e = CRUX_TASK_ENTRY__INIT;
	_cleanup_free_ CruxThreadEntry *th = calloc(n_ths + 1, sizeof(*th));
	_cleanup_free_ CruxThreadEntry **thp = calloc(n_ths + 1, sizeof(*thp));
	size_t i;

	if (!th || !thp)
		return -ENOMEM;
	for (i = 0; i <= n_ths; i++) {
		const struct task_state *x = i ? &ths[i - 1] : ts;

		th[i] = (CruxThreadEntry)CRUX_THREAD_ENTRY__INIT;
		th[i].has_tid = true;
		th[i].tid = (uint32_t)x->pid;
		th[i].has_xsave = true;
		th[i].xsave.data = (uint8_t *)x->xs.buf;
		th[i].xsave.len = x->xs.len;
		th[i].has_timerslack_ns = x->in.timerslack > 0;
		th[i].timerslack_ns = (uint64_t)x->in.timerslack;
		th[i].has_no_new_privs = true;
		th[i].no_new_privs = x->in.nnp == 1;
		thp[i] = &th[i];
	}
	_cleanup_free_ uint64_t *track = NULL;

	e.has_pid = true;
	e.pid = (uint32_t)ts->pid;
	e.has_mlockall = ts->in.mcl_future != 0;
	e.mlockall = (uint32_t)ts->in.mcl_future;
	e.n_threads = n_ths + 1;
	e.threads = thp;
	if (ctx->track)
		tm_fill_task_entry(ctx->track, ts->pid, &e, &track);
	return write_one(ctx, IMG_CRUX_TASK, (unsigned long)ts->pid, &e);
}

/* ---- fs-<pid>.img ---- */

static int dir_id(struct dump_ctx *ctx, pid_t pid, const char *what, uint32_t *ret)
{
	_cleanup_free_ char *path = NULL;
	int err = proc_readlink(pid, what, &path);
	size_t l;

	if (err)
		return pr_err_ret(err, "pid %d: cannot read its %s: %s", pid, what, strerror(-err));
	l = strlen(path);
	if (l > 10 && !strcmp(path + l - 10, " (deleted)"))
		return pr_err_ret(-EOPNOTSUPP,
				  "pid %d (%s): its %s %s was deleted: deleted directories are "
				  "not supported",
				  pid, dump_comm(ctx, pid), what, path);
	return dump_path_id(ctx, path, O_RDONLY | O_DIRECTORY, ret);
}

static int write_fs(struct dump_ctx *ctx, struct task_state *ts)
{
	FsEntry fs = FS_ENTRY__INIT;
	int err;

	err = dir_id(ctx, ts->pid, "cwd", &fs.cwd_id);
	if (!err)
		err = dir_id(ctx, ts->pid, "root", &fs.root_id);
	if (err)
		return err;
	fs.has_umask = true;
	fs.umask = ts->ps.umask;
	return write_one(ctx, IMG_FS, (unsigned long)ts->pid, &fs);
}

/* ---- mm-<pid>.img, pagemap-<pid>.img, pages-<id>.img ---- */

static int vma_refuse(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v)
{
	return pr_err_ret(-EOPNOTSUPP,
			  "pid %d (%s): mapping %llx-%llx %s%s%s cannot be dumped yet (shared "
			  "anonymous, SysV, memfd or deleted-file mappings are not supported)",
			  pid, dump_comm(ctx, pid), (unsigned long long)v->start,
			  (unsigned long long)v->end, v->shared ? "shared " : "",
			  v->path ? v->path : "anonymous", v->deleted ? " (deleted)" : "");
}

static int fill_vma(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v, VmaEntry *e)
{
	enum mem_vma_kind k = mem_vma_kind(v);
	int err;

	*e = (VmaEntry)VMA_ENTRY__INIT;
	if (k != MEM_VMA_VDSO && k != MEM_VMA_VSYSCALL) {
		uint64_t madv;
		bool locked;

		err = dump_vma_flags(ctx, pid, v, &madv, &locked);
		if (err)
			return err;
		e->has_madv = madv != 0;
		e->madv = madv;
		e->flags = locked ? MAP_LOCKED : 0;
	}
	e->start = v->start;
	e->end = v->end;
	e->pgoff = v->pgoff;
	e->prot = v->prot;
	e->fd = -1;
	e->flags |= v->shared ? MAP_SHARED : MAP_PRIVATE;
	switch (k) {
	case MEM_VMA_ANON:
		e->flags |= MAP_ANONYMOUS;
		e->status = VMA_AREA_REGULAR | VMA_ANON_PRIVATE;
		if (v->path && !strcmp(v->path, "[heap]"))
			e->status |= VMA_AREA_HEAP;
		if (v->path && !strcmp(v->path, "[stack]"))
			e->flags |= MAP_GROWSDOWN;
		return 0;
	case MEM_VMA_VDSO:
		e->flags |= MAP_ANONYMOUS;
		e->status = VMA_AREA_REGULAR | VMA_ANON_PRIVATE |
			    (strcmp(v->path, "[vdso]") ? VMA_AREA_VVAR : VMA_AREA_VDSO);
		return 0;
	case MEM_VMA_VSYSCALL:
		e->flags |= MAP_ANONYMOUS;
		e->status = VMA_AREA_VSYSCALL | VMA_ANON_PRIVATE;
		return 0;
	case MEM_VMA_FILE_PRIV:
	case MEM_VMA_FILE_SHARED: {
		uint32_t id, fl = (k == MEM_VMA_FILE_SHARED && (v->prot & PROT_WRITE)) ? O_RDWR :
											 O_RDONLY;

		err = dump_path_id(ctx, v->path, fl, &id);
		if (err)
			return err;
		e->shmid = id;
		e->status = VMA_AREA_REGULAR |
			    (k == MEM_VMA_FILE_SHARED ? VMA_FILE_SHARED : VMA_FILE_PRIVATE);
		e->has_fdflags = true;
		e->fdflags = fl;
		return 0;
	}
	default:
		return vma_refuse(ctx, pid, v);
	}
}

static int write_mm(struct dump_ctx *ctx, struct task_state *ts, int pidfd)
{
	MmEntry mm = MM_ENTRY__INIT;
	struct proc_vma *v = NULL;
	_cleanup_free_ VmaEntry *ve = NULL;
	_cleanup_free_ VmaEntry **vep = NULL;
	_cleanup_free_ uint64_t *auxv = NULL;
	_cleanup_free_ char *exe = NULL;
	size_t nv = 0, na = 0, i;
	int err;

	err = proc_parse_maps(ts->pid, &v, &nv);
	if (!err)
		err = proc_parse_vmflags(ts->pid, v, nv);
	if (err) {
		proc_vmas_free(v, nv);
		return pr_err_ret(err, "pid %d: cannot read its maps: %s", ts->pid, strerror(-err));
	}
	ve = calloc(nv + 1, sizeof(*ve));
	vep = calloc(nv + 1, sizeof(*vep));
	if (!ve || !vep) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nv; i++) {
		err = fill_vma(ctx, ts->pid, &v[i], &ve[i]);
		if (err)
			goto out;
		vep[i] = &ve[i];
	}
	err = proc_read_auxv(ts->pid, &auxv, &na);
	if (!err)
		err = proc_readlink(ts->pid, "exe", &exe);
	if (err) {
		pr_err("pid %d: cannot read its auxv/exe: %s", ts->pid, strerror(-err));
		goto out;
	}
	if (strlen(exe) > 10 && !strcmp(exe + strlen(exe) - 10, " (deleted)")) {
		err = pr_err_ret(-EOPNOTSUPP,
				 "pid %d (%s): its executable %s was deleted: not supported",
				 ts->pid, ts->st.comm, exe);
		goto out;
	}
	err = dump_path_id(ctx, exe, O_RDONLY, &mm.exe_file_id);
	if (err)
		goto out;
	mm.mm_start_code = ts->st.start_code, mm.mm_end_code = ts->st.end_code;
	mm.mm_start_data = ts->st.start_data, mm.mm_end_data = ts->st.end_data;
	mm.mm_start_stack = ts->st.start_stack, mm.mm_start_brk = ts->st.start_brk;
	mm.mm_brk = ts->in.brk;
	mm.mm_arg_start = ts->st.arg_start, mm.mm_arg_end = ts->st.arg_end;
	mm.mm_env_start = ts->st.env_start, mm.mm_env_end = ts->st.env_end;
	mm.n_mm_saved_auxv = na;
	mm.mm_saved_auxv = auxv;
	mm.n_vmas = nv;
	mm.vmas = vep;
	mm.has_dumpable = true;
	mm.dumpable = (int32_t)ts->in.dumpable;
	mm.has_thp_disabled = true;
	mm.thp_disabled = ts->in.thp_disabled > 0;
	err = write_one(ctx, IMG_MM, (unsigned long)ts->pid, &mm);
	if (err)
		goto out;
	err = dump_task_pages(ctx, ts->pid, pidfd, v, nv);
out:
	proc_vmas_free(v, nv);
	return err;
}

static int guard(struct dump_ctx *ctx, const struct pstree_task *t, const struct task_state *ts,
		 bool leader)
{
	struct dump_guard_vals v = {
		.tid = ts->pid,
		.leader = leader,
		.tty_nr = ts->st.tty_nr,
		.cap_amb = ts->ps.cap_amb,
		.mce_kill = ts->in.mce_kill,
		.mdwe = ts->in.mdwe,
		.dumpable = ts->in.dumpable,
	};

	return dump_guard_task(ctx, t, &v);
}

/* core-<tid>.img of every thread but the leader, all frozen with it (pstree.c). */
static int dump_threads(struct dump_ctx *ctx, struct pstree_task *t, struct task_state *ths)
{
	size_t i;
	int err;

	for (i = 0; i < t->n_threads; i++) {
		ths[i].pid = t->threads[i];
		err = task_collect(&ths[i], false);
		if (!err)
			err = guard(ctx, t, &ths[i], false);
		if (!err)
			err = write_core(ctx, &ths[i], NULL, false);
		if (err)
			return pr_err_ret(err, "pid %d: cannot dump its thread %d", t->pid,
					  t->threads[i]);
	}
	return 0;
}

/*
 * A zombie is its wait status: core-<pid>.img with task_state TASK_DEAD and the status in
 * exit_code, as CRIU writes it; nothing else of it is left to dump.
 */
static int dump_zombie(struct dump_ctx *ctx, struct pstree_task *t)
{
	CoreEntry core = CORE_ENTRY__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;

	tc.task_state = TASK_STATE_DEAD;
	tc.exit_code = (uint32_t)t->exit_code;
	tc.comm = t->comm;
	core.mtype = CORE_ENTRY__MARCH__X86_64;
	core.tc = &tc;
	return write_one(ctx, IMG_CORE, (unsigned long)t->pid, &core);
}

static int dump_live_task(struct dump_ctx *ctx, struct pstree_task *t)
{
	/* the leader, then its other threads */
	_cleanup_free_ struct task_state *ts = calloc(t->n_threads + 1, sizeof(*ts));
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	int err;

	if (!ts)
		return -ENOMEM;
	ts->pid = t->pid;
	ts->stopped = t->stopped;
	err = task_collect(ts, true);
	if (!err)
		err = guard(ctx, t, ts, true);
	if (err)
		return err;
	ids.vm_id = ids.files_id = ids.fs_id = ids.sighand_id = (uint32_t)t->pid;
	err = write_one(ctx, IMG_IDS, (unsigned long)t->pid, &ids);
	if (!err)
		err = write_core(ctx, ts, &ids, true);
	if (!err)
		err = dump_threads(ctx, t, &ts[1]);
	if (!err)
		err = write_fs(ctx, ts);
	/* after the memory: it carries what the memory tracking armed */
	if (!err)
		err = write_mm(ctx, ts, t->pidfd);
	if (!err)
		err = write_crux_task(ctx, ts, &ts[1], t->n_threads);
	return err;
}

int dump_task(struct dump_ctx *ctx, struct pstree_task *t)
{
	return t->zombie ? dump_zombie(ctx, t) : dump_live_task(ctx, t);
}
