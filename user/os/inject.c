// SPDX-License-Identifier: GPL-2.0-only
/*
 * Syscall injection through a 3-byte trampoline (engine.md §4): set the registers so the
 * task executes `syscall; int3` at the trampoline, let it run into the int3, read rax.
 * orig_rax = -1 keeps the kernel's syscall-restart logic out of the way (pitfall P4).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/elf.h>
#include <linux/sched.h>

#define LOG_PREFIX "inject: "
#include "fault.h"
#include "inject.h"
#include "log.h"
#include "ptrace.h"
#include "util.h"

/* Lowest address tried for the hole: above the usual non-PIE and brk area. */
#define HOLE_FIRST 0x100000000ULL
#define HOLE_LAST 0x7f0000000000ULL
/* Scratch page layout of inj_clone_thread(): above what the restore steps use. */
#define SCR_CLONE_ARGS 3072
#define SCR_CLONE_TID 3584

static int read_own_maps(struct inj_range **ret, size_t *ret_n)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	_cleanup_free_ struct inj_range *r = NULL;
	size_t n = 0, cap = 0;
	char line[512];

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (sscanf(line, "%llx-%llx", &s, &e) != 2)
			continue;
		if (n == cap) {
			struct inj_range *nr;

			cap = cap ? 2 * cap : 64;
			nr = realloc(r, cap * sizeof(*r));
			if (!nr)
				return -ENOMEM;
			r = nr;
		}
		r[n].start = s;
		r[n].end = e;
		n++;
	}
	*ret = TAKE_PTR(r);
	*ret_n = n;
	return 0;
}

static bool overlaps(const struct inj_range *r, size_t n, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (r[i].start < e && s < r[i].end)
			return true;
	return false;
}

int inj_pick_hole(const struct inj_range *busy, size_t n, uint64_t *ret_addr)
{
	_cleanup_free_ struct inj_range *own = NULL;
	size_t n_own = 0;
	uint64_t a;
	int err;

	err = read_own_maps(&own, &n_own);
	if (err)
		return err;
	for (a = HOLE_FIRST; a + INJ_HOLE_SIZE <= HOLE_LAST; a += INJ_HOLE_SIZE) {
		if (overlaps(busy, n, a, a + INJ_HOLE_SIZE) ||
		    overlaps(own, n_own, a, a + INJ_HOLE_SIZE))
			continue;
		*ret_addr = a;
		return 0;
	}
	return -ENOSPC;
}

int inj_tramp_map(uint64_t addr)
{
	static const unsigned char code[] = { 0x0f, 0x05, 0xcc }; /* syscall; int3 */
	void *p;

	p = mmap((void *)addr, 2 * INJ_PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (p != (void *)addr) { /* kernels before 4.17 ignore MAP_FIXED_NOREPLACE */
		munmap(p, 2 * INJ_PAGE);
		return -EEXIST;
	}
	memcpy(p, code, sizeof(code));
	if (mprotect(p, INJ_PAGE, PROT_READ | PROT_EXEC)) {
		int err = -errno;

		munmap(p, 2 * INJ_PAGE);
		return err;
	}
	return 0;
}

void inj_tramp_unmap(uint64_t addr)
{
	munmap((void *)addr, 2 * INJ_PAGE);
}

/* Take over a task that is traced by us and stopped: registers, mask, memory fd. */
static int inj_adopt(struct inj *inj, pid_t pid, uint64_t tramp)
{
	struct inj n = { .pid = pid, .tramp = tramp, .scratch = tramp + INJ_PAGE, .mem_fd = -1 };
	char path[64];
	int err;

	/* Blocks every signal while we work: no stray signal stop between two syscalls. */
	err = ptrace_inj_init(&n.pi, pid, tramp, PTRACE_INJ_INT3);
	if (err)
		return err;
	n.sigmask = n.pi.sigmask;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	n.mem_fd = open(path, O_RDWR | O_CLOEXEC);
	if (n.mem_fd < 0)
		return -errno;
	*inj = n;
	return 0;
}

int inj_seize(struct inj *inj, pid_t pid, uint64_t tramp)
{
	int err;

	err = ptrace_seize(pid, PTRACE_O_EXITKILL);
	if (err)
		return err;
	err = ptrace_interrupt(pid);
	if (!err)
		err = ptrace_wait_stop(pid, NULL);
	if (err == -ESRCH)
		return err; /* gone: nothing to detach */
	if (!err)
		err = inj_adopt(inj, pid, tramp);
	if (err)
		ptrace_detach(pid, 0);
	return err;
}

/* Run the leader into its int3 and wait for that stop; 0 or -errno (-EPROTO: other stop). */
static int run_to_int3(struct inj *inj, int *ret_status)
{
	int err;

	if (ptrace(PTRACE_CONT, inj->pid, NULL, NULL))
		return -errno;
	err = ptrace_wait_stop(inj->pid, ret_status);
	if (err)
		return err;
	return WIFSTOPPED(*ret_status) && WSTOPSIG(*ret_status) == SIGTRAP ? 0 : -EPROTO;
}

/* The new thread's first stop: PTRACE_EVENT_STOP, as it was attached by PTRACE_O_TRACECLONE. */
static int wait_new_thread(pid_t tid)
{
	int status, err;

	err = ptrace_wait_stop(tid, &status);
	if (err)
		return err;
	if (status >> 16 != PTRACE_EVENT_STOP && WSTOPSIG(status) != SIGSTOP) {
		pr_debug("thread %d: first stop 0x%x, not PTRACE_EVENT_STOP", tid, status);
		return -EPROTO;
	}
	return 0;
}

int inj_clone_thread(struct inj *inj, pid_t tid, uint64_t flags, struct inj *ret)
{
	struct clone_args ca = { .flags = flags, .set_tid_size = 1 };
	struct user_regs_struct r = inj->pi.base;
	unsigned long msg = 0;
	int status, err;
	uint64_t a;

	if (inj->err)
		return inj->err;
	ca.set_tid = inj->scratch + SCR_CLONE_TID;
	a = inj_scratch_put(inj, SCR_CLONE_ARGS, &ca, sizeof(ca));
	if (!a || !inj_scratch_put(inj, SCR_CLONE_TID, &tid, sizeof(tid)))
		return -EFAULT;
	if (ptrace(PTRACE_SETOPTIONS, inj->pid, NULL,
		   (void *)(long)(PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE)))
		return -errno;
	r.rip = inj->tramp;
	r.orig_rax = (uint64_t)-1;
	r.rax = SYS_clone3;
	r.rdi = a;
	r.rsi = sizeof(ca);
	err = ptrace_setregs(inj->pid, &r);
	if (!err)
		err = run_to_int3(inj, &status);
	if (err)
		goto out_lost;
	inj->pi.nr_calls++;
	if (status >> 16 != PTRACE_EVENT_CLONE) {
		/* no event: clone3 failed and the leader went on to the int3 */
		err = ptrace_getregs(inj->pid, &r);
		if (err)
			goto out_lost;
		return (long)r.rax < 0 ? (int)(long)r.rax : -EPROTO;
	}
	if (ptrace(PTRACE_GETEVENTMSG, inj->pid, NULL, &msg)) {
		err = -errno;
		goto out_lost;
	}
	err = run_to_int3(inj, &status); /* the leader leaves clone3 and stops at the int3 */
	if (err)
		goto out_lost;
	err = wait_new_thread((pid_t)msg);
	if (!err && (pid_t)msg != tid)
		err = -EEXIST; /* cannot happen with set_tid: the kernel gives that tid or fails */
	if (!err)
		err = inj_adopt(ret, (pid_t)msg, inj->tramp);
	return err;

out_lost:
	inj->err = err;
	return err;
}

long inj_syscall(struct inj *inj, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		 uint64_t a5, uint64_t a6)
{
	const uint64_t args[6] = { a1, a2, a3, a4, a5, a6 };
	long rax;
	int err;

	if (inj->err)
		return inj->err;
	fault_point();
	err = ptrace_inj_syscall(&inj->pi, nr, args, &rax);
	if (err) {
		inj->err = err;
		pr_debug("pid %d: injecting syscall %ld failed: %s", inj->pid, nr, strerror(-err));
		return err;
	}
	return rax;
}

/* pread/pwrite on /proc/PID/mem until len bytes are done. */
static int mem_io(struct inj *inj, bool wr, uint64_t addr, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? pwrite(inj->mem_fd, p, len, (off_t)addr)
			       : pread(inj->mem_fd, p, len, (off_t)addr);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int inj_write(struct inj *inj, uint64_t addr, const void *buf, size_t len)
{
	return mem_io(inj, true, addr, (void *)buf, len);
}

int inj_read(struct inj *inj, uint64_t addr, void *buf, size_t len)
{
	return mem_io(inj, false, addr, buf, len);
}

uint64_t inj_scratch_put(struct inj *inj, size_t off, const void *buf, size_t len)
{
	if (off > INJ_SCRATCH_SIZE || len > INJ_SCRATCH_SIZE - off)
		return 0;
	if (inj_write(inj, inj->scratch + off, buf, len))
		return 0;
	return inj->scratch + off;
}

/* Install xstate, regs and the mask in the stopped task and detach it (signal 0). */
static int install_and_detach(struct inj *inj, const struct user_regs_struct *regs,
			      const void *xstate, size_t xlen)
{
	struct user_regs_struct final = *regs;
	int err = 0;

	if (xlen) {
		struct iovec iov = { .iov_base = (void *)xstate, .iov_len = xlen };

		if (ptrace(PTRACE_SETREGSET, inj->pid, (void *)NT_X86_XSTATE, &iov))
			err = -errno;
	}
	/*
	 * The dump already turned an interrupted syscall into "run it again" or -EINTR
	 * (engine.md §3 step 3); make sure, then hide the syscall number so that leaving
	 * this stop does not restart anything a second time.
	 */
	ptrace_fix_interrupted_syscall(&final);
	final.orig_rax = (uint64_t)-1;
	if (!err)
		err = ptrace_setregs(inj->pid, &final);
	if (!err)
		err = ptrace_set_sigmask(inj->pid, inj->sigmask);
	if (err) {
		inj->err = err;
		return err;
	}
	/* the SIGSEGV or SIGTRAP is dropped, or replaced: SIGSTOP stops it before it runs anything */
	err = ptrace_detach(inj->pid, inj->detach_sig);
	if (err)
		return err;
	close(inj->mem_fd);
	inj->mem_fd = -1;
	inj->pid = 0;
	return 0;
}

int inj_finish(struct inj *inj, const struct user_regs_struct *regs, const void *xstate,
	       size_t xlen)
{
	struct user_regs_struct r = inj->pi.base;
	int status, err;

	if (inj->err)
		return inj->err;
	r.rip = inj->tramp;
	r.orig_rax = (uint64_t)-1;
	r.rax = SYS_munmap;
	r.rdi = inj->tramp;
	r.rsi = INJ_HOLE_SIZE;
	err = ptrace_setregs(inj->pid, &r);
	if (!err && ptrace(PTRACE_CONT, inj->pid, NULL, NULL))
		err = -errno;
	if (!err)
		err = ptrace_wait_stop(inj->pid, &status);
	/* The syscall returned onto the page it just unmapped. */
	if (!err && (!WIFSTOPPED(status) || WSTOPSIG(status) != SIGSEGV))
		err = -EPROTO;
	if (err) {
		inj->err = err;
		return err;
	}
	inj->pi.nr_calls++;
	return install_and_detach(inj, regs, xstate, xlen);
}

int inj_finish_thread(struct inj *inj, const struct user_regs_struct *regs, const void *xstate,
		      size_t xlen)
{
	if (inj->err)
		return inj->err;
	return install_and_detach(inj, regs, xstate, xlen);
}

void inj_release(struct inj *inj)
{
	if (inj->pid > 0)
		ptrace_detach(inj->pid, 0);
	if (inj->mem_fd > 0)
		close(inj->mem_fd);
	inj->mem_fd = -1;
	inj->pid = 0;
}
