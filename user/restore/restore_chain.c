// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory of an image chain (incremental dumps): an image's `parent` link names the image
 * its in-parent pages come from (CRIU's layout, any depth). Every image of the chain is
 * opened and every page resolved to the newest image that holds it at load time, before
 * anything is created: a missing or corrupt parent refuses the restore.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "img.h"
#include "log.h"
#include "pb.h"
#include "restore.h"
#include "util.h"
#include "pagemap.pb-c.h"

#define PE_PARENT 1
#define PE_LAZY 2
#define PE_PRESENT 4
#define PAGE_SZ 4096ULL
#define CHAIN_MAX 64

/* Open the parents of set->dir, nearest first (set->chain[0] is the parent). */
int rst_chain_open(struct rst_set *set)
{
	char path[PATH_MAX], link[PATH_MAX];
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%s", imgdir_path(set->dir));
	for (;;) {
		int dfd = set->n_chain ? imgdir_fd(set->chain[set->n_chain - 1]) :
					 imgdir_fd(set->dir);
		ssize_t l;

		if (fstatat(dfd, "parent", &st, AT_SYMLINK_NOFOLLOW))
			return 0; /* the oldest image: a full dump */
		l = readlinkat(dfd, "parent", link, sizeof(link) - 1);
		link[l < 0 ? 0 : l] = 0;
		if (set->n_chain == CHAIN_MAX)
			return pr_err_ret(-ELOOP,
					  "image %s: its chain of parent images is longer than %d "
					  "(a loop of parent links?)",
					  imgdir_path(set->dir), CHAIN_MAX);
		if (strlen(path) + 8 >= sizeof(path))
			return -ENAMETOOLONG;
		strcat(path, "/parent");
		set->chain = realloc(set->chain, (set->n_chain + 1) * sizeof(*set->chain));
		if (!set->chain)
			return -ENOMEM;
		err = imgdir__open(path, &set->chain[set->n_chain]);
		if (err)
			return pr_err_ret(
				err,
				"image %s: its parent image %s (link `parent` -> %s) is "
				"missing or incomplete (%s): restore needs every image of "
				"the chain",
				imgdir_path(set->dir), path, link, strerror(-err));
		set->n_chain++;
	}
}

static struct imgdir *level_dir(const struct rst_set *set, size_t level)
{
	return level ? set->chain[level - 1] : set->dir;
}

static int push(struct rst_pagerun **v, size_t *n, size_t *cap, struct rst_pagerun r)
{
	if (*n && (*v)[*n - 1].fd == r.fd &&
	    (*v)[*n - 1].vaddr + (*v)[*n - 1].nr_pages * PAGE_SZ == r.vaddr &&
	    (*v)[*n - 1].off + (*v)[*n - 1].nr_pages * PAGE_SZ == r.off) {
		(*v)[*n - 1].nr_pages += r.nr_pages;
		return 0;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct rst_pagerun *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = r;
	return 0;
}

struct level {
	struct rst_set *set;
	size_t depth;
	pid_t pid;
	int fd; /* pages-<id>.img of this level */
	uint64_t off; /* bytes of pages this level's pagemap accounts for */
	struct rst_pagerun *par; /* the parent level, resolved on first use */
	size_t n_par, j;
	bool par_loaded;
	struct rst_pagerun *out;
	size_t n_out, cap_out;
};

static int level_resolve(struct rst_set *set, size_t depth, pid_t pid, struct rst_pagerun **ret,
			 size_t *ret_n);

/* [vaddr, vaddr + nr pages) from the parent level, which must hold every page of it. */
static int take_parent(struct level *L, uint64_t vaddr, uint64_t nr)
{
	uint64_t a = vaddr, e = vaddr + nr * PAGE_SZ;
	int err;

	if (!L->par_loaded) {
		if (L->depth >= L->set->n_chain)
			return pr_err_ret(-EBADMSG,
					  "image %s: pagemap-%d.img has pages in the parent image, "
					  "but there is no `parent` link",
					  imgdir_path(level_dir(L->set, L->depth)), L->pid);
		err = level_resolve(L->set, L->depth + 1, L->pid, &L->par, &L->n_par);
		if (err)
			return err;
		L->par_loaded = true;
	}
	for (; L->j < L->n_par && L->par[L->j].vaddr + L->par[L->j].nr_pages * PAGE_SZ <= a; L->j++)
		;
	while (a < e) {
		const struct rst_pagerun *p = L->j < L->n_par ? &L->par[L->j] : NULL;
		uint64_t pe = p ? p->vaddr + p->nr_pages * PAGE_SZ : 0, b;

		if (!p || p->vaddr > a)
			return pr_err_ret(-EBADMSG,
					  "image %s: pid %d's page %#llx is in the parent image, "
					  "which does not hold it (corrupt chain)",
					  imgdir_path(level_dir(L->set, L->depth)), L->pid,
					  (unsigned long long)a);
		b = MIN(e, pe);
		err = push(&L->out, &L->n_out, &L->cap_out,
			   (struct rst_pagerun){ a, (b - a) / PAGE_SZ, p->off + (a - p->vaddr),
						 p->fd });
		if (err)
			return err;
		a = b;
		if (b == pe)
			L->j++;
	}
	return 0;
}

static int level_entry(struct level *L, const PagemapEntry *e, uint64_t *last_end)
{
	uint64_t nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
	uint32_t fl = e->has_flags ? e->flags : (e->in_parent ? PE_PARENT : PE_PRESENT);
	struct rst_pagerun r = { e->vaddr, nr, L->off, L->fd };

	if (e->vaddr < *last_end || (e->vaddr & (PAGE_SZ - 1)) || nr > (1ULL << 40))
		return pr_err_ret(-EBADMSG, "image %s: pagemap-%d.img: run at %#llx out of order",
				  imgdir_path(level_dir(L->set, L->depth)), L->pid,
				  (unsigned long long)e->vaddr);
	*last_end = e->vaddr + nr * PAGE_SZ;
	if (fl & PE_PRESENT) {
		L->off += nr * PAGE_SZ;
		return push(&L->out, &L->n_out, &L->cap_out, r);
	}
	if (fl & PE_PARENT)
		return take_parent(L, e->vaddr, nr);
	return pr_err_ret(-EOPNOTSUPP,
			  "image %s: pagemap-%d.img: pages at %#llx are not in this image (flags "
			  "%#x: lazy images are not supported)",
			  imgdir_path(level_dir(L->set, L->depth)), L->pid,
			  (unsigned long long)e->vaddr, fl);
}

static int level_open_pages(struct level *L, uint32_t id)
{
	struct imgdir *d = level_dir(L->set, L->depth);
	char name[64];
	int *fds;

	img_name(IMG_PAGES, id, name, sizeof(name));
	L->fd = openat(imgdir_fd(d), name, O_RDONLY | O_CLOEXEC);
	if (L->fd < 0)
		return pr_perror_ret("image %s: cannot open %s", imgdir_path(d), name);
	fds = realloc(L->set->chain_fds, (L->set->n_chain_fds + 1) * sizeof(*fds));
	if (!fds) {
		close(L->fd);
		return -ENOMEM;
	}
	L->set->chain_fds = fds;
	fds[L->set->n_chain_fds++] = L->fd;
	return 0;
}

static int level_read(struct level *L)
{
	struct imgdir *d = level_dir(L->set, L->depth);
	struct img *img = NULL;
	PagemapHead *head = NULL;
	PagemapEntry *e;
	uint64_t last = 0;
	char name[64];
	int err;

	img_name(IMG_PAGEMAP, (unsigned long)L->pid, name, sizeof(name));
	err = img__open(imgdir_fd(d), IMG_PAGEMAP, (unsigned long)L->pid, IMG_READ, &img);
	if (!err)
		err = img_read_one(img, &pagemap_head__descriptor, (void **)&head);
	if (err <= 0) {
		img__close(img);
		return pr_err_ret(err ?: -EBADMSG, "image %s: cannot read %s: %s", imgdir_path(d),
				  name,
				  *img_error() ? img_error() : strerror(err ? -err : EBADMSG));
	}
	err = level_open_pages(L, head->pages_id);
	pb_free(head);
	while (!err && (err = img_read_one(img, &pagemap_entry__descriptor, (void **)&e)) == 1) {
		err = level_entry(L, e, &last);
		pb_free(e);
	}
	if (err < 0 && err != -ENOMEM && *img_error())
		pr_err("image %s: %s", imgdir_path(d), img_error());
	img__close(img);
	return err;
}

static int level_resolve(struct rst_set *set, size_t depth, pid_t pid, struct rst_pagerun **ret,
			 size_t *ret_n)
{
	struct level L = { .set = set, .depth = depth, .pid = pid, .fd = -1 };
	struct stat st;
	int err;

	err = level_read(&L);
	if (!err && fstat(L.fd, &st) == 0 && (uint64_t)st.st_size < L.off)
		err = pr_err_ret(-EBADMSG,
				 "image %s: the pages of pid %d hold %lld bytes, its pagemap needs "
				 "%llu (truncated image)",
				 imgdir_path(level_dir(set, depth)), pid, (long long)st.st_size,
				 (unsigned long long)L.off);
	free(L.par);
	if (err) {
		free(L.out);
		return err;
	}
	*ret = L.out;
	*ret_n = L.n_out;
	return 0;
}

int rst_chain_pages(struct rst_set *set, struct rst_task *t)
{
	return level_resolve(set, 0, t->pid, &t->runs, &t->n_runs);
}

void rst_chain_close(struct rst_set *set)
{
	size_t i;

	for (i = 0; i < set->n_chain_fds; i++)
		close(set->chain_fds[i]);
	free(set->chain_fds);
	for (i = 0; i < set->n_chain; i++)
		imgdir__close(set->chain[i]);
	free(set->chain);
	set->chain_fds = NULL;
	set->chain = NULL;
	set->n_chain_fds = set->n_chain = 0;
}
