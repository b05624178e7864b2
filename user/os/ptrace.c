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
#include "ptrace.h"
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

int ptrace_inj_init(struct ptrace_inj *inj, pid_t tid, uint64_t insn, enum ptrace_inj_mode mode)
{
	int err;

	memset(inj, 0, sizeof(*inj));
	inj->tid = tid;
	inj->insn = insn;
	inj->mode = mode;
	err = ptrace_getregs(tid, &inj->base);
	if (err)
		return err;
	err = ptrace_get_sigmask(tid, &inj->sigmask);
	if (err)
		return err;
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
	err = ptrace_setregs(inj->tid, &r);
	if (err)
		return err;
	err = inj_run(inj);
	if (err)
		return err;
	err = ptrace_getregs(inj->tid, &r);
	if (err)
		return err;
	want_rip = inj->insn + (inj->mode == PTRACE_INJ_STEP ? 2 : 3);
	if (r.rip != want_rip) {
		pr_debug("task %d: syscall %ld ended at rip %llx, not %llx", inj->tid, nr, r.rip,
			 (unsigned long long)want_rip);
		return -EPROTO;
	}
	inj->nr_calls++;
	*ret_rax = (long)r.rax;
	return 0;
}

int ptrace_inj_finish(struct ptrace_inj *inj)
{
	int err = ptrace_setregs(inj->tid, &inj->base);
	int err2 = ptrace_set_sigmask(inj->tid, inj->sigmask);

	/* pending again: delivered (a group stop) once the task is let go */
	if (inj->held_stop && syscall(SYS_tkill, inj->tid, inj->held_stop))
		err2 = err2 ? err2 : -errno;
	inj->held_stop = 0;
	return err ? err : err2;
}
