// SPDX-License-Identifier: GPL-2.0-only
/*
 * The restore engine on a forked child, without any image: seize it, run syscalls in it
 * through the trampoline, map and fill memory, make it write through an fd, then install
 * new registers and detach; the child proves by its exit status that it ran from them.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ptrace.h>

#include "inject.h"
#include "tap.h"

#define MAGIC 0x2a

/* Runs in the child after inj_finish(): on a fresh stack, with our registers only. */
static __attribute__((noreturn, used)) void child_resume(const int *value)
{
	syscall(SYS_exit_group, *value);
	__builtin_unreachable();
}

static pid_t spawn_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

int main(void)
{
	struct user_regs_struct regs;
	struct ptrace_rseq_configuration rc;
	struct inj inj;
	uint64_t hole, area, addr;
	char buf[16] = { 0 };
	int pfd[2], st, value = MAGIC;
	pid_t pid;
	long r;

	tap_plan(13);
	if (getuid() != 0)
		tap_plan_skip_all("ptrace of a child needs root here");
	if (pipe(pfd))
		tap_bail("pipe failed");
	ok(inj_pick_hole(NULL, 0, &hole) == 0, "a hole for the trampoline exists");
	if (inj_tramp_map(hole))
		tap_bail("cannot map the trampoline at %#llx", (unsigned long long)hole);
	pid = spawn_child();
	if (pid < 0)
		tap_bail("fork failed");
	inj_tramp_unmap(hole); /* the child has its own copy */

	is_int(inj_seize(&inj, pid, hole), 0, "child seized and stopped");
	is_int(inj_sys0(&inj, SYS_getpid), pid, "injected getpid returns the child's pid");
	is_int(inj_sys1(&inj, SYS_close, 9999), -EBADF, "a failing syscall returns -errno");

	/* P2: the child inherited our rseq registration; unregister it first. */
	if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, pid, sizeof(rc), &rc) == sizeof(rc) &&
	    rc.rseq_abi_pointer)
		r = inj_sys4(&inj, SYS_rseq, rc.rseq_abi_pointer, rc.rseq_abi_size, 1, rc.signature);
	else
		r = 0;
	is_int(r, 0, "rseq unregistered in the child");

	area = hole + INJ_HOLE_SIZE; /* free in ours, so free in the forked child too */
	r = inj_syscall(&inj, SYS_mmap, area, 2 * INJ_PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	ok((uint64_t)r == area, "anonymous mmap at a fixed address in the child (%lx)", r);
	ok(inj_write(&inj, area, "restored", 8) == 0, "page filled through /proc/PID/mem");
	r = inj_sys3(&inj, SYS_write, pfd[1], area, 8);
	is_int(r, 8, "the child wrote its new page into the pipe");
	ok(read(pfd[0], buf, sizeof(buf)) == 8 && !memcmp(buf, "restored", 8),
	   "the bytes the child wrote are the ones we put there");

	addr = inj_scratch_put(&inj, 0, &value, sizeof(value));
	ok(addr == inj.scratch, "scratch page takes an argument");
	ok(inj_scratch_put(&inj, INJ_SCRATCH_SIZE - 2, &value, sizeof(value)) == 0,
	   "scratch page refuses what does not fit");

	/* New registers: child_resume(area) on a stack at the top of the second page. */
	ok(inj_write(&inj, area + INJ_PAGE, &value, sizeof(value)) == 0, "argument written");
	regs = inj.pi.base;
	regs.rip = (uint64_t)child_resume;
	regs.rsp = area + 2 * INJ_PAGE - 8; /* as after a call: rsp + 8 is 16-aligned */
	regs.rdi = area + INJ_PAGE;
	regs.orig_rax = (uint64_t)-1;
	if (inj_finish(&inj, &regs, NULL, 0)) {
		inj_release(&inj);
		kill(pid, SIGKILL);
	}
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == MAGIC,
	   "after trampoline unmap and detach, the child ran our registers (status %#x)", st);
	return done_testing();
}
