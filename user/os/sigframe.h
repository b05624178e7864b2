/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Self-restoring syscall injection at dump (issue #9): a task stopped at an injected state
 * must go back to its own context by itself if crux dies at any instruction. Two gadgets of
 * the task's own code do it:
 *  - sysret: `syscall; ret` (0f 05 c3), where the injected syscall runs with rsp at a frame;
 *  - restorer: `mov $15,%rax; syscall` (rt_sigreturn, glibc's and musl's __restore_rt).
 * The frame below the task's red zone is an x86-64 `struct rt_sigframe` whose pretcode is
 * the restorer: after the syscall, `ret` pops it and rt_sigreturn reloads every register,
 * the FPU state and the signal mask from the frame. See ptrace.c for the window analysis.
 * Library-style module: 0 / -errno, logs at debug level at most.
 */
#ifndef CRUX_SIGFRAME_H
#define CRUX_SIGFRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "ptrace.h"

/* The red zone of the x86-64 ABI: a leaf function's data below rsp, never touched. */
#define SIGFRAME_REDZONE 128

/*
 * Addresses of both gadgets in pid's executable mappings; each mapped file is scanned once
 * per crux run (a cache keyed by device, inode and offset). -ENOENT if either is missing.
 */
int sigframe_find_gadgets(pid_t pid, uint64_t *ret_sysret, uint64_t *ret_restorer);

/* Scratch bytes below the frame for the injected syscalls' results (no mmap needed). */
#define SIGFRAME_SCRATCH 256

struct sigframe_img {
	uint64_t start; /* the scratch area, then the frame, up to rsp - SIGFRAME_REDZONE */
	uint64_t frame; /* the rsp to inject with: it points at pretcode */
	uint8_t *buf; /* malloc'ed contents of [start, start + len) */
	size_t len;
};

/*
 * Build the frame for a task stopped with regs, blocked mask and xstate, to sit below its
 * red zone, the kernel's get_sigframe() layout, with SIGFRAME_SCRATCH bytes below it.
 * -EINVAL if the xstate area is not one the kernel's sigreturn accepts.
 */
int sigframe_build(const ptrace_regs_t *regs, uint64_t mask, const struct ptrace_xstate *xs,
		   uint64_t restorer, struct sigframe_img *ret);

/* 0 if [start, end) lies in one writable mapping of pid, else -EFAULT (or -errno). */
int sigframe_check_writable(pid_t pid, uint64_t start, uint64_t end);

#endif /* CRUX_SIGFRAME_H */
