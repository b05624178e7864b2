// SPDX-License-Identifier: GPL-2.0-only
/* Page selection via /proc/PID/pagemap and reads of /proc/PID/mem: see include/mem.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "util.h"

#define PAGE_SIZE 4096ULL
#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61) /* file page or shared anonymous */
#define PM_UFFD_WP (1ULL << 57)
#define PM_SWP_TYPE 0x1fULL /* bits 0-4 of a swap entry */

/* pagemap entries read per pread, and bytes copied per /proc/PID/mem read */
#define PM_BATCH 4096
#define COPY_CHUNK (1 << 20)

enum mem_vma_kind mem_vma_kind(const struct proc_vma *v)
{
	if (v->path && v->path[0] == '[') {
		if (!strcmp(v->path, "[vdso]") || !strcmp(v->path, "[vvar]") ||
		    !strcmp(v->path, "[vvar_vclock]"))
			return MEM_VMA_VDSO;
		if (!strcmp(v->path, "[vsyscall]"))
			return MEM_VMA_VSYSCALL;
		if (!strcmp(v->path, "[heap]") || !strcmp(v->path, "[stack]") ||
		    !strncmp(v->path, "[anon:", 6))
			return v->shared ? MEM_VMA_UNSUPPORTED : MEM_VMA_ANON;
		return MEM_VMA_UNSUPPORTED; /* [uprobes], [anon:...] with shared, ... */
	}
	if (!v->path || !v->ino) {
		return v->shared ? MEM_VMA_UNSUPPORTED : MEM_VMA_ANON;
	}
	if (v->deleted)
		return MEM_VMA_UNSUPPORTED;
	if (v->path[0] != '/')
		return MEM_VMA_UNSUPPORTED; /* memfd:, /SYSV..., anon_inode:... */
	return v->shared ? MEM_VMA_FILE_SHARED : MEM_VMA_FILE_PRIV;
}

struct runs {
	struct mem_run *v;
	size_t n, cap;
	uint64_t pages;
};

static int runs_add_page(struct runs *r, uint64_t addr)
{
	if (r->n && r->v[r->n - 1].vaddr + r->v[r->n - 1].nr_pages * PAGE_SIZE == addr) {
		r->v[r->n - 1].nr_pages++;
	} else {
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 64;
			struct mem_run *nv = realloc(r->v, cap * sizeof(*nv));

			if (!nv)
				return -ENOMEM;
			r->v = nv;
			r->cap = cap;
		}
		r->v[r->n].vaddr = addr;
		r->v[r->n].nr_pages = 1;
		r->v[r->n].in_parent = false;
		r->n++;
	}
	r->pages++;
	return 0;
}

/*
 * A uffd-wp PTE marker (memory tracking armed on a page never populated) reads as a swap
 * entry of the special type 31, offset 1, with the uffd-wp bit: it holds no page.
 */
static bool is_marker(uint64_t pme)
{
	return (pme & (PM_SWAPPED | PM_UFFD_WP)) == (PM_SWAPPED | PM_UFFD_WP) &&
	       (pme & PM_SWP_TYPE) == PM_SWP_TYPE;
}

static bool page_wanted(enum mem_vma_kind k, uint64_t pme)
{
	if (is_marker(pme))
		return false;
	if (k == MEM_VMA_ANON)
		return pme & (PM_PRESENT | PM_SWAPPED);
	/* private file: only pages that became anonymous (written, copy-on-write) */
	return (pme & (PM_PRESENT | PM_SWAPPED)) && !(pme & PM_FILE);
}

static int select_vma(int pm_fd, const struct proc_vma *v, enum mem_vma_kind k, struct runs *r)
{
	uint64_t buf[PM_BATCH];
	uint64_t addr = v->start;
	int err;

	while (addr < v->end) {
		size_t want = MIN((size_t)((v->end - addr) / PAGE_SIZE), (size_t)PM_BATCH), i;
		ssize_t got = pread(pm_fd, buf, want * sizeof(uint64_t),
				    (off_t)(addr / PAGE_SIZE * sizeof(uint64_t)));

		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO;
		for (i = 0; i < (size_t)got / sizeof(uint64_t); i++) {
			if (page_wanted(k, buf[i])) {
				err = runs_add_page(r, addr + i * PAGE_SIZE);
				if (err)
					return err;
			}
		}
		addr += (uint64_t)got / sizeof(uint64_t) * PAGE_SIZE;
	}
	return 0;
}

int mem_select(pid_t pid, const struct proc_vma *vmas, size_t n, struct mem_run **ret,
	       size_t *ret_n, uint64_t *ret_pages)
{
	struct runs r = { 0 };
	_cleanup_close_ int fd = -1;
	char path[64];
	size_t i;
	int err;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		enum mem_vma_kind k = mem_vma_kind(&vmas[i]);

		if (k != MEM_VMA_ANON && k != MEM_VMA_FILE_PRIV)
			continue;
		err = select_vma(fd, &vmas[i], k, &r);
		if (err) {
			free(r.v);
			return err;
		}
	}
	*ret = r.v;
	*ret_n = r.n;
	*ret_pages = r.pages;
	return 0;
}

/* A chunk that cannot be read whole is read page by page; unreadable pages become zeros. */
static ssize_t read_live(int fd, uint64_t addr, char *buf, size_t len)
{
	size_t off;

	if (pread(fd, buf, len, (off_t)addr) == (ssize_t)len)
		return (ssize_t)len;
	for (off = 0; off < len; off += PAGE_SIZE)
		if (pread(fd, buf + off, PAGE_SIZE, (off_t)(addr + off)) != (ssize_t)PAGE_SIZE)
			memset(buf + off, 0, PAGE_SIZE);
	return (ssize_t)len;
}

static int copy_run(int fd, const struct mem_run *run, char *buf, mem_sink_fn sink, void *arg,
		    bool live)
{
	uint64_t addr = run->vaddr, left = run->nr_pages * PAGE_SIZE;
	int err;

	while (left) {
		size_t len = MIN(left, (uint64_t)COPY_CHUNK);
		ssize_t got = live ? read_live(fd, addr, buf, len) :
				     pread(fd, buf, len, (off_t)addr);

		if (got < 0)
			return -errno;
		if ((size_t)got != len)
			return -EIO;
		err = sink(arg, buf, len);
		if (err)
			return err;
		addr += len;
		left -= len;
	}
	return 0;
}

static int copy_all(pid_t pid, const struct mem_run *runs, size_t n, mem_sink_fn sink, void *arg,
		    bool live)
{
	char path[64], *buf;
	size_t i;
	int fd, err = 0;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = malloc(COPY_CHUNK);
	if (!buf)
		err = -ENOMEM;
	for (i = 0; !err && i < n; i++)
		if (!runs[i].in_parent)
			err = copy_run(fd, &runs[i], buf, sink, arg, live);
	free(buf);
	close(fd);
	return err;
}

int mem_copy_runs_live(pid_t pid, const struct mem_run *runs, size_t n, mem_sink_fn sink, void *arg)
{
	return copy_all(pid, runs, n, sink, arg, true);
}

int mem_copy_runs(pid_t pid, const struct mem_run *runs, size_t n, mem_sink_fn sink, void *arg)
{
	return copy_all(pid, runs, n, sink, arg, false);
}
