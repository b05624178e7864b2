// SPDX-License-Identifier: GPL-2.0-only
/*
 * ptrace primitives on a real child: freeze, register sets, rseq, sigmask, syscalls run
 * inside the stopped task by single-step at its vDSO, then a detach that leaves it running.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ptrace.h"
#include "tap.h"

static volatile unsigned long counter;

static pid_t spawn_counter(int *ret_pipe)
{
	int p[2];
	pid_t pid;

	if (pipe(p))
		tap_bail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		tap_bail("fork: %s", strerror(errno));
	if (pid == 0) {
		sigset_t s;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		sigemptyset(&s);
		sigaddset(&s, SIGUSR2);
		sigprocmask(SIG_BLOCK, &s, NULL);
		if (write(p[1], "r", 1) != 1)
			_exit(2);
		for (;;) {
			counter++;
			if (!(counter & 0xfffff))
				usleep(1000);
		}
	}
	close(p[1]);
	*ret_pipe = p[0];
	return pid;
}

static char task_state(pid_t pid)
{
	char path[64], buf[512], *p, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		st = p[2];
	if (f)
		fclose(f);
	return st;
}

static unsigned long child_brk_from_stat(pid_t pid)
{
	/* start_brk is field 47 of /proc/PID/stat; only a sanity anchor for brk(0) */
	char path[64], buf[2048], *p;
	unsigned long v = 0;
	int i;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f)) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	p = strrchr(buf, ')');
	for (i = 2; p && i < 47; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%lu", &v);
	return v;
}

int main(void)
{
	struct ptrace_xstate *xs = calloc(1, sizeof(*xs));
	struct ptrace_rseq rs;
	struct ptrace_inj inj;
	ptrace_regs_t r, r2;
	uint64_t insn, mask;
	uint64_t args[6] = { 0 };
	long rax;
	int rfd, status;
	char c;
	pid_t pid;

	pid = spawn_counter(&rfd);
	if (read(rfd, &c, 1) != 1)
		tap_bail("child did not start");

	is_int(ptrace_freeze(pid), 0, "freeze a running child");
	ok(task_state(pid) == 't', "child is in tracing stop");
	is_int(ptrace_getregs(pid, &r), 0, "NT_PRSTATUS");
	ok(r.rip != 0 && r.rsp != 0 && r.fs_base != 0, "rip, rsp and fs_base are set");
	is_int(ptrace_get_xstate(pid, xs), 0, "NT_X86_XSTATE");
	ok(xs->len >= 576, "xsave area is at least legacy+header size (%zu)", xs->len);
	is_int(ptrace_set_xstate(pid, xs), 0, "xstate written back");
	is_int(ptrace_get_rseq(pid, &rs), 0, "rseq configuration");
	ok(rs.abi_pointer != 0 && rs.signature == 0x53053053, "glibc registered rseq (sig %x)",
	   rs.signature);
	is_int(ptrace_get_sigmask(pid, &mask), 0, "sigmask");
	ok(mask & (1ULL << (SIGUSR2 - 1)), "the child's blocked SIGUSR2 shows in its mask");

	is_int(ptrace_find_vdso_syscall(pid, &insn), 0, "a syscall instruction in [vdso]");
	is_int(ptrace_inj_init(&inj, pid, insn, PTRACE_INJ_STEP), 0, "injection set up");
	ok(ptrace_inj_syscall(&inj, SYS_getpid, args, &rax) == 0 && rax == pid,
	   "getpid() inside the child returns its pid (%ld)", rax);
	ok(ptrace_inj_syscall(&inj, SYS_brk, args, &rax) == 0 &&
		   (unsigned long)rax >= child_brk_from_stat(pid),
	   "brk(0) inside the child is >= its start_brk");
	args[0] = 1234567;
	ok(ptrace_inj_syscall(&inj, SYS_close, args, &rax) == 0 && rax == -EBADF,
	   "a failing syscall returns -errno (%ld)", rax);
	is_int(ptrace_inj_finish(&inj), 0, "registers and mask put back");
	ok(ptrace_getregs(pid, &r2) == 0 && !memcmp(&r, &r2, sizeof(r)),
	   "registers are exactly as before the injections");
	ok(ptrace_get_sigmask(pid, &args[1]) == 0 && args[1] == mask, "mask is as before");

	r2 = r;
	r2.orig_rax = 230;
	r2.rax = (unsigned long long)-514;
	r2.rip = 0x1002;
	ok(ptrace_fix_interrupted_syscall(&r2) && r2.rip == 0x1000 && r2.rax == 230,
	   "ERESTARTNOHAND rewinds to the syscall");
	r2.orig_rax = 230;
	r2.rax = (unsigned long long)-516;
	ok(ptrace_fix_interrupted_syscall(&r2) && (long)r2.rax == -EINTR,
	   "ERESTART_RESTARTBLOCK becomes EINTR");

	is_int(ptrace_detach(pid, 0), 0, "detach");
	ok(task_state(pid) != 't', "child no longer in tracing stop after detach");
	ok(waitpid(pid, &status, WNOHANG) == 0, "child still running");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child ran until we killed it");
	free(xs);
	return done_testing();
}
