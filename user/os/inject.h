/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Syscall injection for restore: the controller drives a stopped task through a two-page
 * trampoline (page 0: `syscall; int3`, r-x; page 1: scratch, rw) mapped in a hole that is
 * free both in the image's layout and in crux's own. The restored task runs no other
 * foreign code. See shared/notes/engine.md §4.
 */
#ifndef CRUX_INJECT_H
#define CRUX_INJECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "ptrace.h"

#define INJ_PAGE 4096UL
/* The whole hole is unmapped at the end, from inside, so it must hold nothing else. */
#define INJ_HOLE_SIZE (4UL << 20)
#define INJ_SCRATCH_SIZE INJ_PAGE

struct inj_range {
	uint64_t start, end;
};

struct inj {
	pid_t pid;
	uint64_t tramp;   /* code page: 0f 05 cc */
	uint64_t scratch; /* rw page right after it */
	struct ptrace_inj pi; /* pi.base: the registers at seize; pi.nr_calls */
	uint64_t sigmask; /* installed by inj_finish() (default: the mask at seize) */
	int detach_sig; /* delivered as inj_finish() detaches (SIGSTOP: stays stopped); 0: none */
	int mem_fd; /* /proc/PID/mem, read-write */
	int err; /* first ptrace-level failure; every later call fails with it */
};

/*
 * Pick a hole of INJ_HOLE_SIZE that overlaps neither the given ranges (the image's VMAs)
 * nor any mapping of this process. 0 or -ENOSPC.
 */
int inj_pick_hole(const struct inj_range *busy, size_t n, uint64_t *ret_addr);

/* Map the trampoline at addr in this process; forked tasks inherit it. */
int inj_tramp_map(uint64_t addr);
/* Undo inj_tramp_map() in this process. */
void inj_tramp_unmap(uint64_t addr);

/*
 * Seize pid (PTRACE_O_EXITKILL: a crashed controller takes the task with it), stop it with
 * PTRACE_INTERRUPT and open its memory. inj is written only on success.
 */
int inj_seize(struct inj *inj, pid_t pid, uint64_t tramp);

/*
 * Run one syscall in the task. Returns the kernel's result (-errno on failure, an address
 * for mmap); a ptrace-level failure returns -errno too and is remembered in inj->err.
 */
long inj_syscall(struct inj *inj, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		 uint64_t a5, uint64_t a6);
#define inj_sys0(i, nr) inj_syscall(i, nr, 0, 0, 0, 0, 0, 0)
#define inj_sys1(i, nr, a) inj_syscall(i, nr, (uint64_t)(a), 0, 0, 0, 0, 0)
#define inj_sys2(i, nr, a, b) inj_syscall(i, nr, (uint64_t)(a), (uint64_t)(b), 0, 0, 0, 0)
#define inj_sys3(i, nr, a, b, c)                                                                   \
	inj_syscall(i, nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), 0, 0, 0)
#define inj_sys4(i, nr, a, b, c, d)                                                                \
	inj_syscall(i, nr, (uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), 0, 0)

/*
 * Create a thread of the task with the given tid: clone3(flags, set_tid) injected in it
 * with PTRACE_O_TRACECLONE, so the new thread is traced from birth and stops before it runs
 * a single instruction. *ret is then ready for injection into the new thread (which shares
 * the trampoline). 0 or -errno (the kernel's: -EEXIST when the tid is taken).
 */
int inj_clone_thread(struct inj *inj, pid_t tid, uint64_t flags, struct inj *ret);

/* Write into the task's memory through /proc/PID/mem (also read-only and r-x pages). */
int inj_write(struct inj *inj, uint64_t addr, const void *buf, size_t len);
int inj_read(struct inj *inj, uint64_t addr, void *buf, size_t len);

/* Copy buf to the scratch page at off; returns the remote address or 0 if it does not fit. */
uint64_t inj_scratch_put(struct inj *inj, size_t off, const void *buf, size_t len);

/*
 * Last step: unmap the trampoline hole from inside (the task stops with SIGSEGV on the
 * return address), install xstate (if xlen), regs and inj->sigmask, detach with the SIGSEGV
 * discarded.
 */
int inj_finish(struct inj *inj, const struct user_regs_struct *regs, const void *xstate,
	       size_t xlen);

/*
 * For a thread made by inj_clone_thread(), once its task went through inj_finish(): install
 * xstate, regs and inj->sigmask, detach.
 */
int inj_finish_thread(struct inj *inj, const struct user_regs_struct *regs, const void *xstate,
		      size_t xlen);

/* Detach (the task stays where it is) and close; for failure paths. Accepts a zeroed inj. */
void inj_release(struct inj *inj);

#endif /* CRUX_INJECT_H */
