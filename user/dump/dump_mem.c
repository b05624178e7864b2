// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory of a dumped task: pagemap-<pid>.img and pages-<pid>.img, the pages the parent
 * image holds unchanged marked in_parent (trackmem.h), and pre-dump's two halves (the page
 * list while frozen, the copy once the tree runs again).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "mem.h"
#include "proc.h"
#include "trackmem.h"
#include "util.h"
#include "crux_task.pb-c.h"
#include "pagemap.pb-c.h"

/* pagemap_entry.flags, CRIU's values */
#define PE_PARENT 1
#define PE_PRESENT 4

struct pages_sink {
	struct img *img;
};

static int pages_sink(void *arg, const void *buf, size_t len)
{
	return img_write_payload(((struct pages_sink *)arg)->img, buf, len);
}

static int write_pagemap_entries(struct dump_ctx *ctx, pid_t pid, const struct mem_run *runs,
				 size_t n)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	struct img *pm = NULL;
	size_t i;
	int err;

	head.pages_id = (uint32_t)pid; /* unique per dump: one pages file per task */
	err = img__open(ctx->dirfd, IMG_PAGEMAP, (unsigned long)pid, IMG_WRITE, &pm);
	if (!err)
		err = img_write_one(pm, &head.base);
	for (i = 0; !err && i < n; i++) {
		PagemapEntry e = PAGEMAP_ENTRY__INIT;

		e.vaddr = runs[i].vaddr;
		e.compat_nr_pages = (uint32_t)runs[i].nr_pages;
		e.has_nr_pages = true;
		e.nr_pages = runs[i].nr_pages;
		e.has_flags = true;
		e.flags = runs[i].in_parent ? PE_PARENT : PE_PRESENT;
		e.has_in_parent = runs[i].in_parent; /* the legacy form, for old readers */
		e.in_parent = runs[i].in_parent;
		err = img_write_one(pm, &e.base);
		if (!runs[i].in_parent)
			ctx->nr_pages += runs[i].nr_pages;
	}
	if (!err)
		err = img__close(TAKE_PTR(pm));
	img__close(pm);
	if (err)
		return pr_err_ret(err, "pid %d: cannot write its pagemap: %s", pid, img_error());
	return 0;
}

/*
 * pages-<pid>.img: the runs not in the parent. A pre-dump reads a running task: a page
 * unmapped meanwhile reads as zeros (its mapping is then no longer tracked, so no later
 * dump takes it from this image).
 */
static int write_pages(struct dump_ctx *ctx, pid_t pid, const struct mem_run *runs, size_t n,
		       bool running)
{
	struct pages_sink sink = { 0 };
	int err;

	err = img__open(ctx->dirfd, IMG_PAGES, (unsigned long)pid, IMG_WRITE, &sink.img);
	if (err)
		return pr_err_ret(err, "pid %d: cannot create its pages image: %s", pid,
				  img_error());
	err = running ? mem_copy_runs_live(pid, runs, n, pages_sink, &sink) :
			mem_copy_runs(pid, runs, n, pages_sink, &sink);
	if (err) {
		img__close(sink.img);
		return pr_err_ret(err, "pid %d: cannot copy its memory: %s", pid, strerror(-err));
	}
	err = img__close(sink.img);
	if (err)
		return pr_err_ret(err, "pid %d: cannot write its pages: %s", pid, img_error());
	return 0;
}

/* The page runs of pid to save: all selected pages, those unchanged marked in_parent. */
static int select_runs(struct dump_ctx *ctx, pid_t pid, int pidfd, const struct proc_vma *v,
		       size_t nv, struct mem_run **runs, size_t *nr)
{
	uint64_t pages = 0;
	int err;

	err = mem_select(pid, v, nv, runs, nr, &pages);
	if (err)
		return pr_err_ret(err, "pid %d: cannot read its pagemap: %s", pid, strerror(-err));
	if (ctx->track)
		err = tm_task_runs(ctx, ctx->track, pid, pidfd, v, nv, runs, nr);
	pr_debug("pid %d: %zu vmas, %llu pages in %zu runs", pid, nv, (unsigned long long)pages,
		 *nr);
	return err;
}

int dump_task_pages(struct dump_ctx *ctx, pid_t pid, int pidfd, const struct proc_vma *v, size_t nv)
{
	_cleanup_free_ struct mem_run *runs = NULL;
	size_t nr = 0;
	int err;

	err = select_runs(ctx, pid, pidfd, v, nv, &runs, &nr);
	if (!err)
		err = write_pagemap_entries(ctx, pid, runs, nr);
	if (!err)
		err = write_pages(ctx, pid, runs, nr, false);
	return err;
}

/* crux-task-<pid>.img of a pre-dump: the pid and what the tracking armed, nothing else. */
static int write_pre_task(struct dump_ctx *ctx, pid_t pid)
{
	CruxTaskEntry e = CRUX_TASK_ENTRY__INIT;
	_cleanup_free_ uint64_t *track = NULL;
	struct img *img = NULL;
	int err, err2;

	e.has_pid = true;
	e.pid = (uint32_t)pid;
	tm_fill_task_entry(ctx->track, pid, &e, &track);
	err = img__open(ctx->dirfd, IMG_CRUX_TASK, (unsigned long)pid, IMG_WRITE, &img);
	if (err)
		return pr_err_ret(err, "cannot create an image: %s", img_error());
	err = img_write_one(img, &e.base);
	err2 = img__close(img);
	if (err || err2)
		return pr_err_ret(err ? err : err2, "cannot write an image: %s", img_error());
	return 0;
}

int dump_task_pages_only(struct dump_ctx *ctx, struct pstree_task *t)
{
	struct dump_deferred *d;
	struct proc_vma *v = NULL;
	struct mem_run *runs = NULL;
	size_t nv = 0, nr = 0;
	int err;

	if (t->zombie) /* no memory left: the final dump records it */
		return 0;
	d = realloc(ctx->deferred, (ctx->n_deferred + 1) * sizeof(*d));
	if (!d)
		return -ENOMEM;
	ctx->deferred = d;
	err = proc_parse_maps(t->pid, &v, &nv);
	if (err)
		return pr_err_ret(err, "pid %d: cannot read its maps: %s", t->pid, strerror(-err));
	err = select_runs(ctx, t->pid, t->pidfd, v, nv, &runs, &nr);
	proc_vmas_free(v, nv);
	if (!err)
		err = write_pagemap_entries(ctx, t->pid, runs, nr);
	if (err) {
		free(runs);
		return err;
	}
	ctx->deferred[ctx->n_deferred++] = (struct dump_deferred){ t->pid, runs, nr };
	return write_pre_task(ctx, t->pid);
}

int dump_copy_deferred(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_deferred; i++) {
		err = write_pages(ctx, ctx->deferred[i].pid, ctx->deferred[i].runs,
				  ctx->deferred[i].n, true);
		if (err)
			return err;
	}
	return 0;
}
