// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared anonymous memory at restore: each shmem object of the image (a shmid of VMAs with
 * VMA_ANON_SHARED) is made once in the controller as a shared anonymous mapping, so that
 * it is again a "/dev/zero" shmem inode, kept open through /proc/self/map_files and
 * filled from pagemap-shmem-<shmid>.img by the kernel (sendfile from the pages file into
 * the object). Every task that maps it opens the controller's fd by
 * /proc/<crux>/fd/N and maps it MAP_SHARED|MAP_FIXED at its dumped address: one object,
 * shared again by every task that shared it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "img.h"
#include "log.h"
#include "pb.h"
#include "restore.h"
#include "util.h"

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"

#define VMA_ANON_SHARED (1u << 8)
#define PE_PRESENT 4
#define SHM_PAGE 4096ULL

struct shm_obj {
	uint64_t shmid;
	uint64_t size;
	int fd; /* the controller's, -1 until made */
};

struct rst_shmem {
	struct shm_obj *v;
	size_t n, cap;
};

static char shmem_key;

static struct shm_obj *obj_find(struct rst_shmem *s, uint64_t shmid)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (s->v[i].shmid == shmid)
			return &s->v[i];
	return NULL;
}

/* Every shmid of the tree with the size its mappings need (the largest pgoff + length). */
static int collect(struct rst_set *set, struct rst_shmem *s)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		for (j = 0; t->mm && j < t->mm->n_vmas; j++) {
			const VmaEntry *v = t->mm->vmas[j];
			uint64_t need = v->pgoff + v->end - v->start;
			struct shm_obj *o;

			if (!(v->status & VMA_ANON_SHARED))
				continue;
			o = obj_find(s, v->shmid);
			if (!o) {
				if (rst_grow((void **)&s->v, s->n, &s->cap, sizeof(*s->v)))
					return -ENOMEM;
				o = &s->v[s->n++];
				*o = (struct shm_obj){ .shmid = v->shmid, .fd = -1 };
			}
			o->size = MAX(o->size, need);
		}
	}
	return 0;
}

/*
 * Copy one pagemap entry's pages from pages_fd (at *off) into the object shm_fd, in the
 * kernel (sendfile to the object's offset): no page passes through crux.
 */
static int fill_run(struct rst_set *set, const char *name, int shm_fd, uint64_t size,
		    const PagemapEntry *e, int pages_fd, uint64_t *off)
{
	uint64_t nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages, len = nr * SHM_PAGE;
	off_t in = (off_t)*off;

	if (e->has_flags && !(e->flags & PE_PRESENT))
		return pr_err_ret(-EOPNOTSUPP,
				  "image %s: %s: pages at offset %#llx are not in this "
				  "image (flags %#x)",
				  imgdir_path(set->dir), name, (unsigned long long)e->vaddr,
				  e->flags);
	if (e->vaddr > size || len > size - e->vaddr)
		return pr_err_ret(-EBADMSG,
				  "image %s: %s: pages at offset %#llx+%llu lie beyond the "
				  "object's %llu bytes",
				  imgdir_path(set->dir), name, (unsigned long long)e->vaddr,
				  (unsigned long long)len, (unsigned long long)size);
	if (lseek(shm_fd, (off_t)e->vaddr, SEEK_SET) < 0)
		return -errno;
	while ((uint64_t)(in - (off_t)*off) < len) {
		ssize_t n = sendfile(shm_fd, pages_fd, &in, len - (uint64_t)(in - (off_t)*off));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return pr_err_ret(n < 0 ? -errno : -EBADMSG,
					  "image %s: the pages of %s end early at offset %llu",
					  imgdir_path(set->dir), name, (unsigned long long)in);
	}
	*off += len;
	return 0;
}

/* Fill the object from pagemap-shmem-<shmid>.img and its pages file. */
static int fill(struct rst_set *set, const struct shm_obj *o)
{
	struct img *img = NULL;
	PagemapHead *head = NULL;
	PagemapEntry *e;
	_cleanup_close_ int pages_fd = -1;
	char name[64], pname[64];
	uint64_t off = 0;
	int err;

	img_name(IMG_SHMEM_PAGEMAP, o->shmid, name, sizeof(name));
	err = img__open(imgdir_fd(set->dir), IMG_SHMEM_PAGEMAP, o->shmid, IMG_READ, &img);
	if (err)
		return rst_img_fail(set, err, name);
	err = img_read_one(img, &pagemap_head__descriptor, (void **)&head);
	if (err <= 0) {
		img__close(img);
		return rst_img_fail(set, err ?: -EBADMSG, name);
	}
	img_name(IMG_PAGES, head->pages_id, pname, sizeof(pname));
	pb_free(head);
	pages_fd = openat(imgdir_fd(set->dir), pname, O_RDONLY | O_CLOEXEC);
	if (pages_fd < 0) {
		err = -errno;
		img__close(img);
		return pr_err_ret(err, "image %s: cannot open %s: %s", imgdir_path(set->dir), pname,
				  strerror(-err));
	}
	while ((err = img_read_one(img, &pagemap_entry__descriptor, (void **)&e)) == 1) {
		err = fill_run(set, name, o->fd, o->size, e, pages_fd, &off);
		pb_free(e);
		if (err)
			break;
	}
	if (err < 0 && err != -EOPNOTSUPP && err != -EBADMSG)
		rst_img_fail(set, err, name);
	img__close(img);
	return err < 0 ? err : 0;
}

/*
 * The object: a shared anonymous mapping of the controller, so that it is a "/dev/zero"
 * shmem inode; kept by its fd (map_files), the mapping itself dropped, then filled.
 */
static int make(struct rst_set *set, struct shm_obj *o)
{
	char *base, path[96];
	int err;

	base = mmap(NULL, o->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		err = -errno;
		pr_perror("cannot create shared memory %llu of %llu bytes",
			  (unsigned long long)o->shmid, (unsigned long long)o->size);
		return err;
	}
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)base,
		 (unsigned long)(base + o->size));
	o->fd = open(path, O_RDWR | O_CLOEXEC);
	err = o->fd < 0 ? -errno : 0;
	munmap(base, o->size);
	if (err) {
		errno = -err;
		pr_perror("cannot open %s for shared memory %llu", path,
			  (unsigned long long)o->shmid);
		return err;
	}
	return fill(set, o);
}

int rst_shmem_create(struct rst_set *set)
{
	void **slot = rst_kstate(set, &shmem_key);
	struct rst_shmem *s;
	size_t i;
	int err;

	if (!slot)
		return -ENOSPC;
	s = *slot = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	err = collect(set, s);
	for (i = 0; !err && i < s->n; i++)
		err = make(set, &s->v[i]);
	return err;
}

/* Map VMA v of task t onto its object: open the controller's fd in the task, mmap, close. */
int rst_shmem_map(struct rst_set *set, struct rst_task *t, const VmaEntry *v)
{
	const struct shm_obj *o = obj_find(rst_kstate_get(set, &shmem_key), v->shmid);
	uint32_t flags = MAP_SHARED | MAP_FIXED | (v->flags & MAP_NORESERVE);
	char path[64];
	long fd, r;

	if (!o || o->fd < 0)
		return pr_err_ret(-ENOENT, "pid %d: shared memory %llu was not created", t->pid,
				  (unsigned long long)v->shmid);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", getpid(), o->fd);
	if (!inj_scratch_put(&t->inj, 0, path, strlen(path) + 1))
		return -EFAULT;
	fd = inj_sys3(&t->inj, SYS_open, t->inj.scratch, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0)
		return pr_err_ret((int)fd, "pid %d: cannot open shared memory %llu (%s): %s",
				  t->pid, (unsigned long long)v->shmid, path, strerror((int)-fd));
	r = inj_syscall(&t->inj, SYS_mmap, v->start, v->end - v->start, v->prot, flags,
			(uint64_t)fd, v->pgoff);
	inj_sys1(&t->inj, SYS_close, fd);
	if (r != (long)v->start)
		return pr_err_ret(r < 0 ? (int)r : -EFAULT,
				  "pid %d: mmap of shared memory at %#llx-%#llx failed: %s", t->pid,
				  (unsigned long long)v->start, (unsigned long long)v->end,
				  r < 0 ? strerror((int)-r) : "wrong address");
	return 0;
}

void rst_shmem_release(struct rst_set *set)
{
	void **slot = rst_kstate(set, &shmem_key);
	struct rst_shmem *s = slot ? *slot : NULL;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		if (s->v[i].fd >= 0)
			close(s->v[i].fd);
	free(s->v);
	free(s);
	*slot = NULL;
}
