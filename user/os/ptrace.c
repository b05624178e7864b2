// SPDX-License-Identifier: GPL-2.0-only
/* ptrace primitives: see include/ptrace.h. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "ptrace: "
#include "log.h"
#include "fault.h"
#include "ptrace.h"
#include "sigframe.h"
#include "util.h"

/* Kernel-internal restart codes (include/linux/errno.h): never seen by user space. */
#define ERESTARTSYS 512
#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* Bounds how many racing signal stops ptrace_freeze() passes on before giving up. */
#define FREEZE_MAX_SIGNALS 64
/* [vdso] is 2 pages here; room for larger ones */
#define VDSO_MAX (16 * 4096)

int ptrace_seize(pid_t tid, unsigned long options)
{
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options))
		return -errno;
	return 0;
}

int ptrace_interrupt(pid_t tid)
{
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL))
		return -errno;
	return 0;
}

int ptrace_wait_stop(pid_t tid, int *ret_status)
{
	int status = 0;
	pid_t r;

	do {
		r = waitpid(tid, &status, __WALL);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (ret_status)
		*ret_status = status;
	if (WIFEXITED(status) || WIFSIGNALED(status))
		return -ESRCH;
	return 0;
}

int ptrace_freeze(pid_t tid)
{
	int status, err, i;

	/*
	 * The syscalls a dump runs inside a task must not meet its seccomp filters (strict
	 * mode would kill it at the first one). The option ends with the tracer, so a task
	 * let go, or left by a killed crux, is filtered again. It needs CAP_SYS_ADMIN.
	 */
	err = ptrace_seize(tid, PTRACE_O_SUSPEND_SECCOMP);
	if (err == -EPERM)
		err = ptrace_seize(tid, 0);
	if (err)
		return err;
	err = ptrace_interrupt(tid);
	if (err)
		goto out_detach;
	for (i = 0; i < FREEZE_MAX_SIGNALS; i++) {
		err = ptrace_wait_stop(tid, &status);
		if (err)
			return err; /* exited: nothing left to detach */
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		/* A signal-delivery stop raced our interrupt: deliver it, the trap follows. */
		pr_debug("task %d: signal %d while freezing, passed on", tid, WSTOPSIG(status));
		err = ptrace_cont(tid, WSTOPSIG(status));
		if (err)
			goto out_detach;
	}
	err = -EAGAIN;
out_detach:
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
	return err;
}

int ptrace_detach(pid_t tid, int sig)
{
	if (ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)sig))
		return -errno;
	return 0;
}

int ptrace_cont(pid_t tid, int sig)
{
	if (ptrace(PTRACE_CONT, tid, NULL, (void *)(long)sig))
		return -errno;
	return 0;
}

int ptrace_getregs(pid_t tid, ptrace_regs_t *ret)
{
	struct iovec iov = { .iov_base = ret, .iov_len = sizeof(*ret) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_PRSTATUS, &iov))
		return -errno;
	if (iov.iov_len != sizeof(*ret))
		return -EIO; /* a 32-bit task: not supported */
	return 0;
}

int ptrace_setregs(pid_t tid, const ptrace_regs_t *regs)
{
	struct iovec iov = { .iov_base = (void *)regs, .iov_len = sizeof(*regs) };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_PRSTATUS, &iov))
		return -errno;
	return 0;
}

int ptrace_get_xstate(pid_t tid, struct ptrace_xstate *ret)
{
	struct iovec iov = { .iov_base = ret->buf, .iov_len = sizeof(ret->buf) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_X86_XSTATE, &iov))
		return -errno;
	ret->len = iov.iov_len;
	return 0;
}

int ptrace_set_xstate(pid_t tid, const struct ptrace_xstate *xs)
{
	struct iovec iov = { .iov_base = (void *)xs->buf, .iov_len = xs->len };

	if (ptrace(PTRACE_SETREGSET, tid, (void *)NT_X86_XSTATE, &iov))
		return -errno;
	return 0;
}

int ptrace_get_rseq(pid_t tid, struct ptrace_rseq *ret)
{
	struct __ptrace_rseq_configuration c = { 0 };
	long n;

	n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(c), &c);
	if (n < 0)
		return -errno;
	ret->abi_pointer = c.rseq_abi_pointer;
	ret->abi_size = c.rseq_abi_size;
	ret->flags = c.flags;
	ret->signature = c.signature;
	return 0;
}

int ptrace_get_sigmask(pid_t tid, uint64_t *ret)
{
	uint64_t m;

	if (ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(m), &m))
		return -errno;
	*ret = m;
	return 0;
}

int ptrace_set_sigmask(pid_t tid, uint64_t mask)
{
	if (ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask))
		return -errno;
	return 0;
}

int ptrace_peek_siginfo(pid_t tid, bool shared, siginfo_t *buf, int max)
{
	struct __ptrace_peeksiginfo_args a = {
		.off = 0,
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = max,
	};
	long n;

	n = ptrace(PTRACE_PEEKSIGINFO, tid, &a, buf);
	if (n < 0)
		return -errno;
	return (int)n;
}

bool ptrace_fix_interrupted_syscall(ptrace_regs_t *regs)
{
	if ((long)regs->orig_rax < 0)
		return false;
	switch (-(long)regs->rax) {
	case ERESTARTSYS:
	case ERESTARTNOINTR:
	case ERESTARTNOHAND:
		/* back onto the 2-byte syscall instruction, with the number restored */
		regs->rax = regs->orig_rax;
		regs->rip -= 2;
		return true;
	case ERESTART_RESTARTBLOCK:
		/* the restart block lives in the kernel and dies with the task */
		regs->rax = (unsigned long long)-EINTR;
		return true;
	}
	return false;
}

static int find_vdso_range(pid_t pid, uint64_t *ret_start, uint64_t *ret_end)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[512];
	unsigned long long s, e;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		static const char tag[] = " [vdso]\n";
		size_t l = strlen(line);

		if (l < sizeof(tag) - 1 || strcmp(line + l - (sizeof(tag) - 1), tag))
			continue;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			return -EIO;
		*ret_start = s;
		*ret_end = e;
		return 0;
	}
	return -ENOENT;
}

int ptrace_find_vdso_syscall(pid_t pid, uint64_t *ret_addr)
{
	uint8_t buf[VDSO_MAX];
	_cleanup_close_ int fd = -1;
	uint64_t start = 0, end = 0;
	char path[64];
	ssize_t n, i;
	int err;

	err = find_vdso_range(pid, &start, &end);
	if (err)
		return err;
	if (end - start > sizeof(buf))
		return -E2BIG;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, end - start, (off_t)start);
	if (n < 0)
		return -errno;
	/* Any 0f 05 pair decodes as `syscall` when rip points at it, whatever surrounds it. */
	for (i = 0; i + 1 < n; i++) {
		if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
			*ret_addr = start + i;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Self-restoring injection (PTRACE_INJ_FRAME, issue #9). The invariant: at every instant
 * the task is either in its own context (base registers, its own mask) or at an injected
 * state from which it gets back to that context by itself: rip at `syscall; ret` (or just
 * past the syscall, at the `ret`), rsp at an rt_sigframe whose pretcode is rt_sigreturn and
 * whose context is the base registers (restart already applied), mask, xstate. If crux dies
 * (exit_ptrace() -> __ptrace_unlink(): SYSCALL_TRACE cleared, the task woken) the injected
 * syscall runs or completes untraced, `ret` pops pretcode, rt_sigreturn reloads everything.
 * Window by window (fault_point() marks each):
 *  - frame_setup writes the frame below the red zone while the task is at base: bytes there
 *    are dead by the ABI (a signal delivery writes the same frame there), so dying before
 *    finish restores them changes nothing the task may read.
 *  - inj_frame_syscall: setregs(injected) first, then SETSIGMASK(~0): a death between them
 *    runs the syscall with the task's own mask, then sigreturns. Stops are syscall stops
 *    (PTRACE_SYSCALL), never single-steps: no TF can be left behind. PTRACE_O_TRACESYSGOOD
 *    makes a stop not yet reaped by waitpid() carry SIGTRAP|0x80 in exit_code, which
 *    ptrace_report_syscall() cannot send back as a signal when the tracer vanishes (plain
 *    SIGTRAP would be queued, then delivered once the frame unblocks it: a core dump).
 *  - finish: from the syscall-exit stop, PTRACE_INTERRUPT + PTRACE_CONT take the task to a
 *    PTRACE_EVENT_STOP in get_signal() before it returns to user mode (a death meanwhile:
 *    `ret`, sigreturn). There, mask then base registers: base may be inside an interrupted
 *    syscall (orig_rax >= 0, rax = -ERESTART*), and only a stop in the signal path has the
 *    kernel's restart logic run after it, as it did before the dump. Then the stack bytes,
 *    only once base is in place (else the frame stays: the task still needs it).
 * Not covered (only if crux dies mid-injection): a task inside an rseq critical section
 * sigreturns into it without the abort the kernel would have done on its way out; and the
 * seccomp suspension ends with the tracer, so a task under seccomp runs the injected syscall
 * through its filters (strict mode kills it): the dump warns about such tasks.
 */
static int frame_write_stack(struct ptrace_inj *inj, const uint8_t *buf)
{
	ssize_t n = pread(inj->mem_fd, inj->saved, inj->frame_len, (off_t)inj->scratch);

	if (n != (ssize_t)inj->frame_len)
		return n < 0 ? -errno : -EIO;
	n = pwrite(inj->mem_fd, buf, inj->frame_len, (off_t)inj->scratch);
	if (n != (ssize_t)inj->frame_len)
		return n < 0 ? -errno : -EIO;
	return 0;
}

/*
 * TRACESYSGOOD, keeping the seccomp suspension ptrace_freeze() asks for (SETOPTIONS sets
 * them all; only CAP_SYS_ADMIN may suspend seccomp: EPERM means the seize could not either).
 */
static int frame_options(pid_t tid)
{
	long o = PTRACE_O_TRACESYSGOOD | PTRACE_O_SUSPEND_SECCOMP;

	if (!ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)o))
		return 0;
	if (errno == EPERM && !ptrace(PTRACE_SETOPTIONS, tid, NULL, (void *)PTRACE_O_TRACESYSGOOD))
		return 0;
	return -errno;
}

static int frame_setup(struct ptrace_inj *inj)
{
	_cleanup_free_ struct ptrace_xstate *xs = malloc(sizeof(*xs));
	struct sigframe_img fi = { 0 };
	_cleanup_free_ uint8_t *buf = NULL;
	uint64_t sysret, restorer;
	char path[64];
	int err;

	if (!xs)
		return -ENOMEM;
	err = sigframe_find_gadgets(inj->tid, &sysret, &restorer);
	if (!err)
		err = ptrace_get_xstate(inj->tid, xs);
	if (!err)
		err = sigframe_build(&inj->base, inj->sigmask, xs, restorer, &fi);
	buf = fi.buf;
	inj->scratch = fi.start;
	inj->frame = fi.frame;
	inj->frame_len = fi.len;
	if (!err)
		err = sigframe_check_writable(inj->tid, fi.start, inj->base.rsp);
	if (!err)
		err = frame_options(inj->tid);
	if (err)
		return err;
	snprintf(path, sizeof(path), "/proc/%d/mem", inj->tid);
	inj->mem_fd = open(path, O_RDWR | O_CLOEXEC);
	inj->saved = malloc(inj->frame_len);
	if (inj->mem_fd < 0 || !inj->saved)
		return inj->mem_fd < 0 ? -errno : -ENOMEM;
	err = frame_write_stack(inj, buf);
	if (err) /* nothing or part written, below the red zone: dead bytes, see above */
		return err;
	fault_point();
	inj->insn = sysret;
	inj->mode = PTRACE_INJ_FRAME;
	return 0;
}

int ptrace_inj_init(struct ptrace_inj *inj, pid_t tid, uint64_t insn, enum ptrace_inj_mode mode)
{
	int err;

	memset(inj, 0, sizeof(*inj));
	inj->tid = tid;
	inj->insn = insn;
	inj->mode = mode;
	inj->mem_fd = -1;
	err = ptrace_getregs(tid, &inj->base);
	if (err)
		return err;
	err = ptrace_get_sigmask(tid, &inj->sigmask);
	if (err)
		return err;
	if (mode == PTRACE_INJ_STEP) {
		inj->frame_err = frame_setup(inj);
		if (!inj->frame_err)
			return 0; /* the mask is blocked with the first injected state */
		pr_debug("task %d: no self-restoring injection: %s", tid,
			 strerror(-inj->frame_err));
		free(TAKE_PTR(inj->saved));
	}
	/* SIGKILL and SIGSTOP stay deliverable whatever the mask says. */
	return ptrace_set_sigmask(tid, ~0ULL);
}

/*
 * Run the task to the stop after the injected syscall. Every blockable signal is blocked
 * (ptrace_inj_init), but a SIGSTOP sent just before the freeze (kill -STOP racing with the
 * dump: the group stop had not reached this thread yet) is dequeued now and shows as a
 * signal-delivery-stop. Hold it back, run on, and queue it again at finish, so the task
 * still stops when it is let go, as whoever sent it meant.
 */
static int inj_run(struct ptrace_inj *inj)
{
	int status, err, tries;
	long req = inj->mode == PTRACE_INJ_STEP ? PTRACE_SINGLESTEP : PTRACE_CONT;

	for (tries = 0; tries < 4; tries++) {
		if (ptrace(req, inj->tid, NULL, NULL))
			return -errno;
		err = ptrace_wait_stop(inj->tid, &status);
		if (err)
			return err;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP || status >> 16)
			break;
		pr_debug("task %d: SIGSTOP held back while injecting", inj->tid);
		inj->held_stop = SIGSTOP;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGTRAP) {
		pr_debug("task %d: unexpected stop 0x%x after an injected syscall", inj->tid,
			 status);
		return -EPROTO;
	}
	return 0;
}

/* Resume to the next syscall stop (entry or exit): SIGTRAP|0x80 with TRACESYSGOOD. */
static int frame_syscall_stop(struct ptrace_inj *inj)
{
	int status, err, tries;

	/* a SIGSTOP racing with the freeze is held back as in inj_run() */
	for (tries = 0; tries < 4; tries++) {
		if (ptrace(PTRACE_SYSCALL, inj->tid, NULL, NULL))
			return -errno;
		err = ptrace_wait_stop(inj->tid, &status);
		fault_point();
		if (err)
			return err;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSTOP || status >> 16)
			break;
		inj->held_stop = SIGSTOP;
	}
	if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80)) {
		pr_debug("task %d: stop 0x%x, not a syscall stop", inj->tid, status);
		return -EPROTO;
	}
	return 0;
}

static int frame_syscall(struct ptrace_inj *inj, ptrace_regs_t *r)
{
	int err;

	r->rsp = inj->frame;
	err = ptrace_setregs(inj->tid, r);
	if (err)
		return err;
	fault_point();
	if (!inj->injected) {
		inj->injected = true;
		err = ptrace_set_sigmask(inj->tid, ~0ULL);
		if (err)
			return err;
		fault_point();
	}
	err = frame_syscall_stop(inj); /* entry */
	if (!err)
		err = frame_syscall_stop(inj); /* exit: the result is in rax */
	return err;
}

int ptrace_inj_syscall(struct ptrace_inj *inj, long nr, const uint64_t args[6], long *ret_rax)
{
	ptrace_regs_t r = inj->base;
	uint64_t want_rip;
	int err;

	r.rip = inj->insn;
	r.rax = nr;
	r.orig_rax = (unsigned long long)-1;
	r.rdi = args[0];
	r.rsi = args[1];
	r.rdx = args[2];
	r.r10 = args[3];
	r.r8 = args[4];
	r.r9 = args[5];
	if (inj->mode == PTRACE_INJ_FRAME) {
		err = frame_syscall(inj, &r);
	} else {
		err = ptrace_setregs(inj->tid, &r);
		if (!err)
			err = inj_run(inj);
	}
	if (err)
		return err;
	err = ptrace_getregs(inj->tid, &r);
	if (err)
		return err;
	want_rip = inj->insn + (inj->mode == PTRACE_INJ_INT3 ? 3 : 2);
	if (r.rip != want_rip) {
		pr_debug("task %d: syscall %ld ended at rip %llx, not %llx", inj->tid, nr, r.rip,
			 (unsigned long long)want_rip);
		return -EPROTO;
	}
	inj->nr_calls++;
	*ret_rax = (long)r.rax;
	return 0;
}

/* From wherever the task stopped, to a PTRACE_EVENT_STOP in the signal path (see above). */
static int frame_to_event_stop(struct ptrace_inj *inj)
{
	int status, err, i;

	err = ptrace_interrupt(inj->tid);
	fault_point();
	for (i = 0; !err && i < 4; i++) {
		err = ptrace_cont(inj->tid, 0);
		if (!err)
			err = ptrace_wait_stop(inj->tid, &status);
		fault_point();
		if (!err && status >> 16 == PTRACE_EVENT_STOP)
			return 0;
		if (!err && WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP)
			inj->held_stop = SIGSTOP; /* queued again by ptrace_inj_finish() */
	}
	return err ? err : -EPROTO;
}

static int frame_finish(struct ptrace_inj *inj)
{
	int err = 0;

	if (inj->injected) {
		err = frame_to_event_stop(inj);
		if (!err)
			err = ptrace_set_sigmask(inj->tid, inj->sigmask);
		fault_point();
		if (!err)
			err = ptrace_setregs(inj->tid, &inj->base);
		fault_point();
		if (!err)
			inj->injected = false;
	}
	/* the frame stays as long as the task may still need it */
	if (!inj->injected && pwrite(inj->mem_fd, inj->saved, inj->frame_len,
				     (off_t)inj->scratch) != (ssize_t)inj->frame_len)
		err = err ?: -EIO;
	fault_point();
	return err;
}

int ptrace_inj_finish(struct ptrace_inj *inj)
{
	int err, err2;

	if (inj->mode == PTRACE_INJ_FRAME) {
		err = frame_finish(inj);
		err2 = 0;
	} else {
		err = ptrace_setregs(inj->tid, &inj->base);
		err2 = ptrace_set_sigmask(inj->tid, inj->sigmask);
	}
	if (inj->mem_fd >= 0)
		close(inj->mem_fd);
	inj->mem_fd = -1;
	free(TAKE_PTR(inj->saved));
	/* pending again: delivered (a group stop) once the task is let go */
	if (inj->held_stop && syscall(SYS_tkill, inj->tid, inj->held_stop))
		err2 = err2 ? err2 : -errno;
	inj->held_stop = 0;
	return err ? err : err2;
}
