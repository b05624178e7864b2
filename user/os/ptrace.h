/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ptrace primitives shared by dump and restore: seize/interrupt/wait, register sets, rseq,
 * signal mask and pending signals, and running one syscall inside a stopped task.
 * A library-style module: 0 / -errno, logs at debug level at most.
 *
 * Syscall injection has two flavours, chosen by the caller:
 *  - PTRACE_INJ_STEP: rip at an existing `syscall` instruction (e.g. in the task's [vdso],
 *    ptrace_find_vdso_syscall()); the task single-steps over it. Nothing is written to its
 *    memory (dump side).
 *  - PTRACE_INJ_INT3: rip at a `syscall; int3` trampoline (restore side); the task runs
 *    until the int3 SIGTRAP.
 * Either way orig_rax = -1 keeps the kernel's syscall-restart logic out of the way, and the
 * caller's base registers are put back afterwards unless it asks otherwise.
 */
#ifndef CRUX_PTRACE_H
#define CRUX_PTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>
#include <signal.h>

typedef struct user_regs_struct ptrace_regs_t;

/* The XSAVE area: 2432 bytes on this machine; sized for AVX-512 CPUs too. */
#define PTRACE_XSTATE_MAX 4096

struct ptrace_xstate {
	size_t len;
	uint8_t buf[PTRACE_XSTATE_MAX];
};

struct ptrace_rseq {
	uint64_t abi_pointer; /* 0: the thread has no registered rseq area */
	uint32_t abi_size;
	uint32_t flags;
	uint32_t signature;
};

/* Attach without stopping. options: PTRACE_O_* (0 is fine; restore wants EXITKILL). */
int ptrace_seize(pid_t tid, unsigned long options);
/* Ask a seized task to stop (PTRACE_EVENT_STOP follows; wait with ptrace_wait_stop()). */
int ptrace_interrupt(pid_t tid);
/*
 * Wait for the next stop of a traced task (__WALL). *ret_status gets the raw wait status.
 * -ESRCH if the task exited instead (*ret_status then holds its exit status).
 */
int ptrace_wait_stop(pid_t tid, int *ret_status);
/*
 * Seize + interrupt + wait until the task sits in PTRACE_EVENT_STOP. A signal-delivery stop
 * that races in is passed on to the task (it is delivered as if we were not there), then
 * the interrupt stop follows. -ESRCH: the task exited meanwhile.
 */
int ptrace_freeze(pid_t tid);
/* Let it go; sig is delivered on the way out (0: none). */
int ptrace_detach(pid_t tid, int sig);
int ptrace_cont(pid_t tid, int sig);

int ptrace_getregs(pid_t tid, ptrace_regs_t *ret);
int ptrace_setregs(pid_t tid, const ptrace_regs_t *regs);
int ptrace_get_xstate(pid_t tid, struct ptrace_xstate *ret);
int ptrace_set_xstate(pid_t tid, const struct ptrace_xstate *xs);
int ptrace_get_rseq(pid_t tid, struct ptrace_rseq *ret);
int ptrace_get_sigmask(pid_t tid, uint64_t *ret);
int ptrace_set_sigmask(pid_t tid, uint64_t mask);
/*
 * Pending signals without dequeuing them: shared (process-wide) or private queue.
 * Returns the count (at most max) or -errno.
 */
int ptrace_peek_siginfo(pid_t tid, bool shared, siginfo_t *buf, int max);

/*
 * A task stopped inside a syscall has orig_rax >= 0 and a restart code in rax: rewrite the
 * saved registers so the restored task re-executes the syscall (or sees EINTR where the
 * kernel's restart block cannot be replayed). Returns true if regs were changed.
 */
bool ptrace_fix_interrupted_syscall(ptrace_regs_t *regs);

/* Address of a `syscall` (0f 05) instruction in the task's [vdso]; -ENOENT if none. */
int ptrace_find_vdso_syscall(pid_t pid, uint64_t *ret_addr);

enum ptrace_inj_mode {
	PTRACE_INJ_STEP, /* single-step over an existing syscall instruction */
	PTRACE_INJ_INT3, /* run a `syscall; int3` trampoline to its int3 */
	PTRACE_INJ_FRAME, /* self-restoring: `syscall; ret` over an rt_sigframe (sigframe.h) */
};

struct ptrace_inj {
	pid_t tid;
	uint64_t insn; /* address of the syscall instruction */
	enum ptrace_inj_mode mode;
	ptrace_regs_t base; /* registers to start from and to put back */
	uint64_t sigmask; /* the task's own mask, put back by ptrace_inj_finish() */
	unsigned long nr_calls; /* syscalls injected so far */
	int held_stop; /* a SIGSTOP taken from the task while injecting: queued again at finish */
	/* PTRACE_INJ_FRAME only */
	int frame_err; /* why PTRACE_INJ_STEP could not become PTRACE_INJ_FRAME (-errno) */
	int mem_fd; /* /proc/TID/mem, read-write */
	bool injected; /* the task sits at an injected state: rip in the gadget, rsp at frame */
	uint64_t frame; /* the rt_sigframe below the red zone: rsp while injecting */
	uint64_t scratch; /* SIGFRAME_SCRATCH (256) bytes below it, for syscall results */
	uint8_t *saved; /* the stack bytes they cover, put back by ptrace_inj_finish() */
	size_t frame_len;
};

/*
 * Fill inj->base from the stopped task and block every signal in it (PTRACE_SETSIGMASK) so
 * that nothing is delivered between injected syscalls; pending signals stay queued.
 * PTRACE_INJ_STEP (dump time) becomes PTRACE_INJ_FRAME whenever the task has both gadgets
 * and room on its stack (insn is then ignored); inj->frame_err says why not otherwise. In
 * that mode the options become PTRACE_O_TRACESYSGOOD (a dumped task is seized with none),
 * and the mask is blocked only while the task sits at an injected state. The syscalls
 * injected that way must be harmless if they run with no tracer: crux can die at any time.
 * Call ptrace_inj_finish() whatever happened.
 */
int ptrace_inj_init(struct ptrace_inj *inj, pid_t tid, uint64_t insn, enum ptrace_inj_mode mode);
/*
 * Run syscall nr(args...) in the task; *ret_rax gets the raw result (-errno on failure in
 * the task). The function's own return is 0 or -errno for a ptrace failure.
 */
int ptrace_inj_syscall(struct ptrace_inj *inj, long nr, const uint64_t args[6], long *ret_rax);
/* Put inj->base and the task's signal mask back. */
int ptrace_inj_finish(struct ptrace_inj *inj);

#endif /* CRUX_PTRACE_H */
