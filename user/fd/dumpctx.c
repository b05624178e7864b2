// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services of the dump context for the driver and the fd kinds: file ids, REG entries for
 * paths, files.img, messages naming an fd, outside holders, the tree iterator.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "img.h"
#include "log.h"
#include "treeiter.h"
#include "fdinfo.pb-c.h"
#include "regfile.pb-c.h"

void **dump_kstate(struct dump_ctx *ctx, const void *key)
{
	return kstate_slot(ctx->kstate, key);
}

uint32_t dump_new_id(struct dump_ctx *ctx)
{
	return ctx->next_id++;
}

const char *dump_comm(struct dump_ctx *ctx, pid_t pid)
{
	struct pstree_task *t = pstree_find(&ctx->tree, pid);

	return t ? t->comm : "?";
}

const char *dump_fd_desc(struct dump_ctx *ctx, const struct dump_fd *f, char *buf, size_t sz)
{
	if (f->inflight)
		snprintf(buf, sz, "a file in flight (%s)", f->link ? f->link : "?");
	else
		snprintf(buf, sz, "pid %d (%s) fd %d", f->pid, dump_comm(ctx, f->pid), f->fd);
	return buf;
}

int dump_write_file_entry(struct dump_ctx *ctx, const void *file_entry)
{
	int err = img_write_one(ctx->files_img, (const ProtobufCMessage *)file_entry);

	if (err)
		return pr_err_ret(err, "cannot write files.img: %s", img_error());
	return 0;
}

int dump_path_id(struct dump_ctx *ctx, const char *path, uint32_t flags, uint32_t *ret_id)
{
	FileEntry fe = FILE_ENTRY__INIT;
	RegFileEntry reg = REG_FILE_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	struct dump_path_id *p;
	struct stat st;
	size_t i;
	int err;

	for (i = 0; i < ctx->n_paths; i++) {
		if (ctx->paths[i].flags == flags && !strcmp(ctx->paths[i].path, path)) {
			*ret_id = ctx->paths[i].id;
			return 0;
		}
	}
	if (ctx->n_paths == ctx->cap_paths) {
		size_t cap = ctx->cap_paths ? ctx->cap_paths * 2 : 32;

		p = realloc(ctx->paths, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ctx->paths = p;
		ctx->cap_paths = cap;
	}
	p = &ctx->paths[ctx->n_paths];
	p->path = strdup(path);
	if (!p->path)
		return -ENOMEM;
	p->flags = flags;
	p->id = dump_new_id(ctx);
	ctx->n_paths++;

	reg.id = p->id;
	reg.flags = flags;
	reg.pos = 0;
	reg.fown = &fown;
	reg.name = p->path;
	if (!stat(path, &st)) {
		reg.has_size = true;
		reg.size = (uint64_t)st.st_size;
		reg.has_mode = true;
		reg.mode = st.st_mode;
	}
	fe.type = FD_TYPES__REG;
	fe.id = p->id;
	fe.reg = &reg;
	err = dump_write_file_entry(ctx, &fe);
	if (err)
		return err;
	*ret_id = p->id;
	return 0;
}

bool dump_outside_tree(pid_t pid, void *arg)
{
	struct dump_ctx *ctx = arg;

	return !pstree_find(&ctx->tree, pid) && pid != getpid();
}

pid_t dump_find_outside_holder(struct dump_ctx *ctx, const char *link, char comm[16])
{
	return proc_find_fd_holder(link, dump_outside_tree, ctx, comm);
}

struct treeiter *dump_treeiter(struct dump_ctx *ctx)
{
	if (ctx->treeiter || ctx->treeiter_err)
		return ctx->treeiter;
	/* --no-map: nothing of a tracker's pinned state is used */
	if (ctx->opts->no_map)
		ctx->treeiter_err = treeiter__new(&ctx->treeiter);
	else
		ctx->treeiter_err = treeiter__open(ctx->opts->pin_dir, &ctx->treeiter);
	if (ctx->treeiter_err)
		pr_warn("tree iterator unavailable (%s): sock_diag's view of the tree is used, "
			"and pipes and sockets also held outside the tree are not detected",
			strerror(-ctx->treeiter_err));
	return ctx->treeiter;
}
