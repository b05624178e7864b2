// SPDX-License-Identifier: GPL-2.0-only
/*
 * A task's memory, rebuilt by the controller through injected syscalls (engine.md §4.4):
 * rseq unregistered first (P2), everything but the trampoline hole and the vDSO trio
 * unmapped (P1), the trio moved to its dumped place in two steps (P10), every VMA mapped,
 * the dumped pages written through /proc/PID/mem, then PR_SET_MM_MAP with the dumped exe
 * once the old executable is gone (P3).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/prctl.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "crux_task.pb-c.h"
#include "mm.pb-c.h"

/* vma_entry.status bits (criu-images.md §8). */
#define VMA_VSYSCALL (1u << 2)
#define VMA_VDSO (1u << 3)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_FILE_SHARED (1u << 7)
#define VMA_ANON_SHARED (1u << 8)
#define VMA_SYSVIPC (1u << 10)
#define VMA_SOCKET (1u << 11)
#define VMA_VVAR (1u << 12)
#define VMA_AIORING (1u << 13)
#define VMA_UNSUPP (1u << 31)
#define VMA_NOT_RESTORABLE                                                                       \
	(VMA_ANON_SHARED | VMA_SYSVIPC | VMA_SOCKET | VMA_AIORING | VMA_UNSUPP)

#define TASK_TOP 0x7ffffffff000ULL
#define RSEQ_FLAG_UNREGISTER 1
#define TRIO_MAX 4
/* Where the vDSO trio waits between its two moves: inside the trampoline hole. */
#define PARK_OFFSET (2UL << 20)
/* Scratch page layout for PR_SET_MM_MAP. */
#define SCR_PATH 0
#define SCR_MAP 1024
#define SCR_AUXV 2048
/* File VMAs opened once per path. */
#define FILE_CACHE 32
#define FILL_CHUNK (4UL << 20)

struct trio {
	uint64_t start[TRIO_MAX], end[TRIO_MAX];
	int n;
};

static int own_trio(struct trio *tr)
{
	_cleanup_fclose_ FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	tr->n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;

		if (!strstr(line, "[vvar") && !strstr(line, "[vdso]"))
			continue;
		if (sscanf(line, "%llx-%llx", &s, &e) != 2 || tr->n == TRIO_MAX)
			return -EINVAL;
		tr->start[tr->n] = s;
		tr->end[tr->n++] = e;
	}
	return 0;
}

static void image_trio(const MmEntry *mm, struct trio *tr)
{
	size_t i;

	tr->n = 0;
	for (i = 0; i < mm->n_vmas && tr->n < TRIO_MAX; i++) {
		const VmaEntry *v = mm->vmas[i];

		if (v->status & (VMA_VDSO | VMA_VVAR)) {
			tr->start[tr->n] = v->start;
			tr->end[tr->n++] = v->end;
		}
	}
}

int rst_vdso_check(const struct rst_set *set, const struct rst_task *t, char *why, size_t size)
{
	struct trio own, img;
	int i, err;

	err = own_trio(&own);
	if (err)
		return err;
	image_trio(t->mm, &img);
	if (own.n == img.n) {
		for (i = 0; i < own.n; i++)
			if (own.end[i] - own.start[i] != img.end[i] - img.start[i])
				break;
		if (i == own.n)
			return 0;
	}
	snprintf(why, size, "the image has %d vDSO/vvar mappings", img.n);
	for (i = 0; i < img.n; i++)
		snprintf(why + strlen(why), size - strlen(why), "%s%llu", i ? "+" : " of ",
			 (unsigned long long)(img.end[i] - img.start[i]) / 4096);
	snprintf(why + strlen(why), size - strlen(why), " pages, this kernel has %d", own.n);
	for (i = 0; i < own.n; i++)
		snprintf(why + strlen(why), size - strlen(why), "%s%llu", i ? "+" : " of ",
			 (unsigned long long)(own.end[i] - own.start[i]) / 4096);
	return -EXDEV;
}

static int sys_ok(struct rst_task *t, long r, const char *what, uint64_t addr)
{
	if (r >= 0 || r < -4095)
		return 0;
	return pr_err_ret((int)r, "pid %d: %s at %#llx failed: %s", t->pid, what,
			  (unsigned long long)addr, strerror((int)-r));
}

/* Steps 1-3: rseq off, old layout gone, vDSO trio in its dumped place. */
static int clear_layout(struct rst_set *set, struct rst_task *t)
{
	struct inj *inj = &t->inj;
	struct ptrace_rseq rs;
	struct trio own, img;
	uint64_t keep_lo, keep_hi, park = set->tramp + PARK_OFFSET;
	int i, err;
	long r;

	err = ptrace_get_rseq(t->pid, &rs);
	if (!err && rs.abi_pointer) {
		r = inj_sys4(inj, SYS_rseq, rs.abi_pointer, rs.abi_size, RSEQ_FLAG_UNREGISTER,
			     rs.signature);
		err = sys_ok(t, r, "rseq unregister", rs.abi_pointer);
	}
	if (!err)
		err = own_trio(&own);
	if (err)
		return err;
	image_trio(t->mm, &img);
	keep_lo = own.n ? own.start[0] : TASK_TOP;
	keep_hi = own.n ? own.end[own.n - 1] : TASK_TOP;
	/* Unmap the gaps around the two ranges that stay: the hole and the trio. */
	{
		struct inj_range keep[2] = { { set->tramp, set->tramp + INJ_HOLE_SIZE },
					     { keep_lo, keep_hi } };
		uint64_t from = 0;

		if (keep[1].start < keep[0].start)
			keep[0] = keep[1], keep[1] = (struct inj_range){ set->tramp,
									  set->tramp + INJ_HOLE_SIZE };
		for (i = 0; i < 3; i++) {
			uint64_t to = i < 2 ? keep[i].start : TASK_TOP;

			if (to > from) {
				r = inj_sys2(inj, SYS_munmap, from, to - from);
				err = sys_ok(t, r, "munmap", from);
				if (err)
					return err;
			}
			if (i < 2)
				from = MAX(from, keep[i].end);
		}
	}
	for (i = 0; i < own.n; i++) {
		uint64_t len = own.end[i] - own.start[i], at = park + (own.start[i] - own.start[0]);

		if (own.start[i] == img.start[i])
			continue;
		r = inj_syscall(inj, SYS_mremap, own.start[i], len, len,
				MREMAP_MAYMOVE | MREMAP_FIXED, at, 0);
		err = sys_ok(t, r, "vDSO mremap to the parking spot", at);
		if (!err) {
			r = inj_syscall(inj, SYS_mremap, at, len, len,
					MREMAP_MAYMOVE | MREMAP_FIXED, img.start[i], 0);
			err = sys_ok(t, r, "vDSO mremap to its dumped address", img.start[i]);
		}
		if (err)
			return err;
	}
	return 0;
}

struct file_cache {
	uint32_t id[FILE_CACHE];
	long fd[FILE_CACHE];
	int n;
};

/* The task's fd for file id (opened once, in the task, by injected open()). */
static long task_open(struct rst_set *set, struct rst_task *t, struct file_cache *c,
		      uint32_t id, uint32_t flags)
{
	const char *path = rst_reg_name(set, id);
	int i;
	long fd;

	for (i = 0; i < c->n; i++)
		if (c->id[i] == id)
			return c->fd[i];
	if (!path)
		return pr_err_ret(-ENOENT, "pid %d: file id %u of a mapping is not in files.img",
				  t->pid, id);
	if (!inj_scratch_put(&t->inj, SCR_PATH, path, strlen(path) + 1))
		return pr_err_ret(-ENAMETOOLONG, "pid %d: path too long: %s", t->pid, path);
	fd = inj_sys3(&t->inj, SYS_open, t->inj.scratch + SCR_PATH, flags | O_CLOEXEC, 0);
	if (fd < 0)
		return pr_err_ret((int)fd, "pid %d: cannot open %s for its mapping: %s", t->pid, path,
				  strerror((int)-fd));
	if (c->n == FILE_CACHE) { /* full: recycle the oldest slot */
		inj_sys1(&t->inj, SYS_close, c->fd[0]);
		memmove(c->id, c->id + 1, (FILE_CACHE - 1) * sizeof(c->id[0]));
		memmove(c->fd, c->fd + 1, (FILE_CACHE - 1) * sizeof(c->fd[0]));
		c->n--;
	}
	c->id[c->n] = id;
	c->fd[c->n++] = fd;
	return fd;
}

static int map_one(struct rst_set *set, struct rst_task *t, const VmaEntry *v,
		   struct file_cache *c)
{
	uint64_t len = v->end - v->start;
	uint32_t flags = MAP_FIXED | (v->flags & (MAP_SHARED | MAP_PRIVATE | MAP_GROWSDOWN |
						  MAP_NORESERVE));
	long fd = -1, r;

	if (v->status & (VMA_FILE_PRIVATE | VMA_FILE_SHARED)) {
		uint32_t of = v->has_fdflags ? v->fdflags : ((v->status & VMA_FILE_SHARED) &&
							     (v->prot & PROT_WRITE) ? O_RDWR : O_RDONLY);

		fd = task_open(set, t, c, (uint32_t)v->shmid, of);
		if (fd < 0)
			return (int)fd;
	} else {
		flags |= MAP_ANONYMOUS;
	}
	r = inj_syscall(&t->inj, SYS_mmap, v->start, len, v->prot, flags, (uint64_t)fd,
			fd >= 0 ? v->pgoff : 0);
	if (r != (long)v->start)
		return pr_err_ret(r < 0 ? (int)r : -EFAULT, "pid %d: mmap of %#llx-%#llx failed: %s",
				  t->pid, (unsigned long long)v->start, (unsigned long long)v->end,
				  r < 0 ? strerror((int)-r) : "wrong address");
	return 0;
}

static int map_all(struct rst_set *set, struct rst_task *t)
{
	struct file_cache c = { .n = 0 };
	size_t i;
	int err = 0;

	for (i = 0; i < t->mm->n_vmas && !err; i++) {
		const VmaEntry *v = t->mm->vmas[i];

		if (v->status & (VMA_VSYSCALL | VMA_VDSO | VMA_VVAR))
			continue;
		err = map_one(set, t, v, &c);
	}
	for (i = 0; i < (size_t)c.n; i++)
		inj_sys1(&t->inj, SYS_close, c.fd[i]);
	return err;
}

static int fill_pages(struct rst_task *t)
{
	_cleanup_free_ char *buf = malloc(FILL_CHUNK);
	size_t i;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < t->n_runs; i++) {
		const struct rst_pagerun *run = &t->runs[i];
		uint64_t done = 0, len = run->nr_pages * 4096;

		while (done < len) {
			size_t n = MIN(FILL_CHUNK, len - done);
			ssize_t got = pread(run->fd, buf, n, (off_t)(run->off + done));
			int err;

			if (got != (ssize_t)n)
				return pr_err_ret(-EIO, "pid %d: pages image ends early at offset %llu",
						  t->pid, (unsigned long long)(run->off + done));
			err = inj_write(&t->inj, run->vaddr + done, buf, n);
			if (err) {
				pr_err("pid %d: cannot write %zu bytes at %#llx: %s", t->pid, n,
				       (unsigned long long)(run->vaddr + done), strerror(-err));
				return err;
			}
			done += n;
		}
	}
	return 0;
}

/* Step 6: the mm fields, auxv and exe; possible only now that crux's exe is unmapped. */
static int set_mm(struct rst_set *set, struct rst_task *t)
{
	const MmEntry *mm = t->mm;
	struct prctl_mm_map m = {
		.start_code = mm->mm_start_code, .end_code = mm->mm_end_code,
		.start_data = mm->mm_start_data, .end_data = mm->mm_end_data,
		.start_brk = mm->mm_start_brk,	 .brk = mm->mm_brk,
		.start_stack = mm->mm_start_stack, .arg_start = mm->mm_arg_start,
		.arg_end = mm->mm_arg_end,	 .env_start = mm->mm_env_start,
		.env_end = mm->mm_env_end,
	};
	struct file_cache c = { .n = 0 };
	size_t auxv_len = mm->n_mm_saved_auxv * sizeof(uint64_t);
	long exe, r;
	int err;

	if (auxv_len > INJ_SCRATCH_SIZE - SCR_AUXV)
		return pr_err_ret(-E2BIG, "pid %d: auxv of %zu bytes is too large", t->pid, auxv_len);
	exe = task_open(set, t, &c, mm->exe_file_id, O_RDONLY);
	if (exe < 0)
		return (int)exe;
	m.exe_fd = (uint32_t)exe;
	m.auxv = (__u64 *)(uintptr_t)(t->inj.scratch + SCR_AUXV);
	m.auxv_size = (uint32_t)auxv_len;
	err = inj_scratch_put(&t->inj, SCR_AUXV, mm->mm_saved_auxv, auxv_len) ? 0 : -EFAULT;
	if (!err && !inj_scratch_put(&t->inj, SCR_MAP, &m, sizeof(m)))
		err = -EFAULT;
	if (!err) {
		r = inj_syscall(&t->inj, SYS_prctl, PR_SET_MM, PR_SET_MM_MAP,
				t->inj.scratch + SCR_MAP, sizeof(m), 0, 0);
		err = sys_ok(t, r, "prctl(PR_SET_MM_MAP)", mm->mm_start_code);
	}
	inj_sys1(&t->inj, SYS_close, exe);
	return err;
}

/*
 * The madvise() flags and mlock() of each VMA (smaps VmFlags at dump), once its pages are
 * in: a lock then holds the restored contents, and the advice splits merged VMAs back.
 * Then mlockall()'s hold on future mappings.
 */
static int advise_all(struct rst_task *t)
{
	size_t i;
	int adv, err = 0;

	for (i = 0; i < t->mm->n_vmas && !err; i++) {
		const VmaEntry *v = t->mm->vmas[i];
		uint64_t len = v->end - v->start;

		if (v->status & (VMA_VSYSCALL | VMA_VDSO | VMA_VVAR))
			continue;
		for (adv = 0; adv < 64 && !err && v->has_madv; adv++)
			if (v->madv & (1ULL << adv))
				err = sys_ok(t, inj_sys3(&t->inj, SYS_madvise, v->start, len, adv),
					     "madvise", v->start);
		if (!err && (v->flags & MAP_LOCKED))
			err = sys_ok(t, inj_sys2(&t->inj, SYS_mlock, v->start, len), "mlock",
				     v->start);
	}
	if (!err && t->crux && t->crux->has_mlockall && t->crux->mlockall)
		err = sys_ok(t, inj_sys1(&t->inj, SYS_mlockall, t->crux->mlockall), "mlockall", 0);
	return err;
}

int rst_task_memory(struct rst_set *set, struct rst_task *t)
{
	int err;

	err = clear_layout(set, t);
	if (!err)
		err = map_all(set, t);
	if (!err)
		err = fill_pages(t);
	if (!err)
		err = advise_all(t);
	if (!err)
		err = set_mm(set, t);
	if (t->inj.err && !err)
		err = pr_err_ret(t->inj.err, "pid %d: lost control of the task: %s", t->pid,
				 strerror(-t->inj.err));
	return err;
}
