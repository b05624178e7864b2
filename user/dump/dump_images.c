// SPDX-License-Identifier: GPL-2.0-only
/*
 * The image set of a frozen tree: files.img opened first (fds and mappings add to it), the
 * fd tables collected and checked (every offender reported), each task's images, the fd
 * kinds' images, pstree.img, then inventory.img last: an image without it is incomplete.
 */
#include <errno.h>
#include <stdlib.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "pstree.h"
#include "trackmem.h"
#include "treeiter.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "inventory.pb-c.h"
#include "pstree.pb-c.h"

static int write_pstree(struct dump_ctx *ctx)
{
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(ctx->dirfd, IMG_PSTREE, 0, IMG_WRITE, &img);
	for (i = 0; !err && i < ctx->tree.n; i++) {
		const struct pstree_task *tk = &ctx->tree.tasks[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;
		_cleanup_free_ uint32_t *tids = calloc(tk->n_threads + 1, sizeof(*tids));
		size_t j;

		if (!tids) {
			err = -ENOMEM;
			break;
		}
		tids[0] = (uint32_t)tk->pid; /* the leader first, as CRIU lists them */
		for (j = 0; j < tk->n_threads; j++)
			tids[j + 1] = (uint32_t)tk->threads[j];
		e.pid = (uint32_t)tk->pid;
		e.ppid = (uint32_t)tk->ppid;
		e.pgid = (uint32_t)tk->pgid;
		e.sid = (uint32_t)tk->sid;
		e.n_threads = tk->n_threads + 1;
		e.threads = tids;
		err = img_write_one(img, &e.base);
	}
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err)
		return pr_err_ret(err, "cannot write pstree.img: %s", img_error());
	return 0;
}

static int commit(struct dump_ctx *ctx)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	uint32_t root = (uint32_t)ctx->tree.tasks[0].pid;
	int err;

	ids.vm_id = ids.files_id = ids.fs_id = ids.sighand_id = root;
	inv.img_version = IMG_VERSION;
	inv.has_fdinfo_per_id = true;
	inv.fdinfo_per_id = true;
	inv.root_ids = &ids;
	inv.has_lsmtype = true;
	inv.lsmtype = LSMTYPE__NO_LSM;
	err = imgdir__commit(ctx->dir, &inv);
	if (err)
		return pr_err_ret(err, "cannot complete the image: %s", img_error());
	return 0;
}

int dump_images(struct dump_ctx *ctx)
{
	int err, shared_err;
	size_t i;

	err = img__open(ctx->dirfd, IMG_FILES, 0, IMG_WRITE, &ctx->files_img);
	if (err)
		return pr_err_ret(err, "cannot create files.img: %s", img_error());
	err = dump_guard_tree(ctx);
	if (!err)
		err = dump_fds_collect(ctx);
	if (!err) {
		/* one run lists every offender: the shared ends too, whatever the checks found */
		err = dump_fds_check(ctx);
		shared_err = dump_check_shared(ctx);
		err = err ?: shared_err;
	}
	for (i = 0; !err && i < ctx->tree.n; i++)
		err = dump_task(ctx, &ctx->tree.tasks[i]);
	if (!err)
		err = dump_seccomp_write(ctx);
	if (!err)
		err = dump_fds_write(ctx);
	if (!err)
		err = write_pstree(ctx);
	if (!err) {
		err = img__close(TAKE_PTR(ctx->files_img));
		if (err)
			pr_err("cannot write files.img: %s", img_error());
	}
	if (!err)
		err = tm_link_parent(ctx->track, ctx->dirfd);
	if (!err)
		err = commit(ctx);
	return err;
}

int dump_pre_images(struct dump_ctx *ctx)
{
	size_t i;
	int err = 0;

	for (i = 0; !err && i < ctx->tree.n; i++)
		err = dump_task_pages_only(ctx, &ctx->tree.tasks[i]);
	if (!err)
		err = write_pstree(ctx);
	if (err)
		return err;
	/* the tree runs again from here: the copy happens while it does */
	err = pstree_resume(&ctx->tree);
	ctx->t_frozen = now_ns() - ctx->t_freeze;
	if (err)
		return pr_err_ret(err, "cannot resume every task: %s", strerror(-err));
	err = dump_copy_deferred(ctx);
	if (!err)
		err = tm_link_parent(ctx->track, ctx->dirfd);
	if (!err)
		err = commit(ctx);
	return err;
}

void dump_ctx_free(struct dump_ctx *ctx)
{
	size_t i;

	dump_fds_cleanup(ctx);
	dump_seccomp_free(ctx);
	img__close(ctx->files_img);
	for (i = 0; i < ctx->n_paths; i++)
		free(ctx->paths[i].path);
	free(ctx->paths);
	pstree_free(&ctx->tree);
	treeiter__free(ctx->treeiter);
	for (i = 0; i < ctx->n_deferred; i++)
		free(ctx->deferred[i].runs);
	free(ctx->deferred);
}
