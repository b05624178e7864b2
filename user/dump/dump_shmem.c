// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared anonymous memory (mmap MAP_SHARED|MAP_ANONYMOUS, "/dev/zero (deleted)" in maps):
 * one shmem object per inode, however many tasks map it. Its contents are dumped once,
 * the first time a VMA of it is seen, as CRIU writes them: pagemap-shmem-<ino>.img (a
 * pagemap_head, then entries whose vaddr is the offset in the object) and its
 * pages-<id>.img. They are read from the object itself (/proc/PID/map_files), so a page
 * is dumped once, holes (never touched pages) stay holes (SEEK_DATA/SEEK_HOLE), and the
 * copy stays in the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "util.h"
#include "pagemap.pb-c.h"

#define PE_PRESENT 4
#define SHM_PAGE 4096ULL
/* pages-<id>.img of shmem objects: above every pid (pid_max is at most 2^22). */
#define SHMEM_PAGES_BASE 0x40000000u

struct dump_shmem {
	uint64_t *inos;
	size_t n, cap;
};

static bool shmem_seen(struct dump_shmem *s, uint64_t ino)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->inos[i] == ino)
			return true;
	return false;
}

/*
 * Copy [off, off + len) of the object to the end of the pages file, in the kernel
 * (copy_file_range, else sendfile): no page of it passes through crux.
 */
static int copy_range(int fd, int pages_fd, uint64_t off, uint64_t len)
{
	while (len) {
		loff_t in = (loff_t)off;
		ssize_t n = copy_file_range(fd, &in, pages_fd, NULL, len, 0);

		if (n < 0 && (errno == EXDEV || errno == EINVAL || errno == EOPNOTSUPP))
			n = sendfile(pages_fd, fd, (off_t *)&in, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The data runs of the object (page-aligned), each one pagemap entry and its pages. */
static int write_runs(int fd, uint64_t size, struct img *pm, int pages_fd)
{
	off_t data = 0, hole;
	int err;

	while ((uint64_t)data < size) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;

		data = lseek(fd, data, SEEK_DATA);
		if (data < 0)
			return errno == ENXIO ? 0 : -errno;
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0)
			return -errno;
		data = (off_t)((uint64_t)data & ~(SHM_PAGE - 1));
		hole = (off_t)MIN((((uint64_t)hole + SHM_PAGE - 1) & ~(SHM_PAGE - 1)), size);
		e.vaddr = (uint64_t)data;
		e.nr_pages = (uint64_t)(hole - data) / SHM_PAGE;
		e.compat_nr_pages = (uint32_t)e.nr_pages;
		e.has_nr_pages = true;
		e.has_flags = true;
		e.flags = PE_PRESENT;
		err = img_write_one(pm, &e.base);
		if (!err)
			err = copy_range(fd, pages_fd, (uint64_t)data, (uint64_t)(hole - data));
		if (err)
			return err;
		data = hole;
	}
	return 0;
}

static int write_object(struct dump_ctx *ctx, int fd, uint64_t ino, uint32_t pages_id,
			uint64_t size)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	struct img *pm = NULL;
	_cleanup_close_ int pages_fd = -1;
	char name[64];
	int err, err2;

	head.pages_id = pages_id;
	err = img__open(ctx->dirfd, IMG_SHMEM_PAGEMAP, (unsigned long)ino, IMG_WRITE, &pm);
	if (!err)
		err = img_write_one(pm, &head.base);
	if (!err) {
		/* pages images are raw (no magic): written here by the kernel's own copy */
		img_name(IMG_PAGES, pages_id, name, sizeof(name));
		pages_fd = openat(ctx->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (pages_fd < 0)
			err = -errno;
	}
	if (!err)
		err = write_runs(fd, size, pm, pages_fd);
	err2 = pm ? img__close(pm) : 0;
	return err ?: err2;
}

int dump_shmem_vma(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v)
{
	struct dump_shmem *s = ctx->shmem_state;
	_cleanup_close_ int fd = -1;
	char path[96];
	struct stat st;
	int err;

	if (!s) {
		s = ctx->shmem_state = calloc(1, sizeof(*s));
		if (!s)
			return -ENOMEM;
	}
	if (shmem_seen(s, v->ino))
		return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		uint64_t *ni = realloc(s->inos, cap * sizeof(*ni));

		if (!ni)
			return -ENOMEM;
		s->inos = ni;
		s->cap = cap;
	}
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
		 (unsigned long long)v->start, (unsigned long long)v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		return pr_err_ret(err, "pid %d (%s): cannot open its shared memory %s: %s", pid,
				  dump_comm(ctx, pid), path, strerror(-err));
	}
	err = write_object(ctx, fd, v->ino, SHMEM_PAGES_BASE + (uint32_t)s->n,
			   (uint64_t)st.st_size);
	if (err)
		return pr_err_ret(err,
				  "pid %d (%s): cannot dump its shared memory (inode %llu): %s",
				  pid, dump_comm(ctx, pid), (unsigned long long)v->ino,
				  strerror(-err));
	s->inos[s->n++] = v->ino;
	pr_debug("pid %d: shared memory inode %llu, %llu bytes", pid, (unsigned long long)v->ino,
		 (unsigned long long)st.st_size);
	return 0;
}

void dump_shmem_free(struct dump_ctx *ctx)
{
	struct dump_shmem *s = ctx->shmem_state;

	if (s)
		free(s->inos);
	free(s);
	ctx->shmem_state = NULL;
}
