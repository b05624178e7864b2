// SPDX-License-Identifier: GPL-2.0-only
/* UFFD WP-async dirty tracking and PAGEMAP_SCAN: see uffd.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compat.h"
#include "ptrace.h"
#include "uffd.h"
#include "util.h"

#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

#define SCAN_VEC 256

int uffd_ranges_add(struct uffd_ranges *r, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	if (r->n && r->v[r->n - 1].end == start) {
		r->v[r->n - 1].end = end;
		return 0;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct uffd_range *nv = realloc(r->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = (struct uffd_range){ start, end };
	return 0;
}

void uffd_ranges_free(struct uffd_ranges *r)
{
	free(r->v);
	*r = (struct uffd_ranges){ 0 };
}

static int inj_one(struct ptrace_inj *j, long nr, uint64_t a0, long *ret)
{
	uint64_t args[6] = { a0, 0, 0, 0, 0, 0 };

	return ptrace_inj_syscall(j, nr, args, ret);
}

/* userfaultfd() in the task; root's tasks may track kernel-mode writes too. */
static int create_remote(pid_t pid, int *ret_tfd)
{
	struct ptrace_inj j;
	uint64_t insn;
	long r = -EPERM;
	int err, err2;

	err = ptrace_find_vdso_syscall(pid, &insn);
	if (!err)
		err = ptrace_inj_init(&j, pid, insn, PTRACE_INJ_STEP);
	if (err)
		return err;
	err = inj_one(&j, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK, &r);
	/* a task without CAP_SYS_PTRACE: async WP faults never reach the handler anyway */
	if (!err && r == -EPERM)
		err = inj_one(&j, SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY,
			      &r);
	err2 = ptrace_inj_finish(&j);
	if (err)
		return err;
	if (r < 0)
		return (int)r;
	*ret_tfd = (int)r;
	return err2;
}

static int close_remote(pid_t pid, int tfd)
{
	struct ptrace_inj j;
	uint64_t insn;
	long r = 0;
	int err, err2;

	err = ptrace_find_vdso_syscall(pid, &insn);
	if (!err)
		err = ptrace_inj_init(&j, pid, insn, PTRACE_INJ_STEP);
	if (err)
		return err;
	err = inj_one(&j, SYS_close, (uint64_t)tfd, &r);
	err2 = ptrace_inj_finish(&j);
	return err ?: (int)r ?: err2;
}

int uffd_create_in_task(pid_t pid, int pidfd, int *ret_fd)
{
	struct uffdio_api api = { .api = UFFD_API,
				  .features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED };
	int tfd = -1, fd, err;

	err = create_remote(pid, &tfd);
	if (err)
		return err;
	fd = (int)syscall(SYS_pidfd_getfd, pidfd, tfd, 0);
	err = fd < 0 ? -errno : 0;
	/* the task's copy goes whatever happened: its fd table must end as it was */
	if (close_remote(pid, tfd) && !err)
		err = -EIO;
	if (!err && ioctl(fd, UFFDIO_API, &api))
		err = -errno;
	if (err) {
		if (fd >= 0)
			close(fd);
		return err;
	}
	*ret_fd = fd;
	return 0;
}

int uffd_register_wp(int uffd, uint64_t start, uint64_t end)
{
	struct uffdio_register reg = { .range = { start, end - start },
				       .mode = UFFDIO_REGISTER_MODE_WP };

	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return 0;
}

int uffd_scan_written(int pm_fd, uint64_t start, uint64_t end, struct uffd_ranges *written)
{
	struct page_region vec[SCAN_VEC];
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.vec = (uintptr_t)vec,
		.vec_len = SCAN_VEC,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	uint64_t at = start;
	long n, i;
	int err;

	while (at < end) {
		a.start = at;
		a.end = end;
		a.walk_end = 0;
		n = ioctl(pm_fd, PAGEMAP_SCAN, &a);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			err = uffd_ranges_add(written, vec[i].start, vec[i].end);
			if (err)
				return err;
		}
		if (a.walk_end <= at)
			return -EIO; /* no progress: never loop forever on a kernel surprise */
		at = a.walk_end;
	}
	return 0;
}
