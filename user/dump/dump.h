/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals of `crux dump` shared by user/dump/: the fd table driver and the per-task
 * images. The context and the services the fd kinds use are in user/fd/dumpctx.h.
 * Command code: each failure is logged once where it is detected.
 */
#ifndef CRUX_DUMP_H
#define CRUX_DUMP_H

#include <stddef.h>

#include "dumpctx.h"

/* dump_images.c: every image of the frozen tree (ctx->dir created); the context freed. */
int dump_images(struct dump_ctx *ctx);
void dump_ctx_free(struct dump_ctx *ctx);

/* Refuse pipe ends and sockets the tree holds that are also held outside it. */
int dump_check_shared(struct dump_ctx *ctx);

/* fd table: collect every fd of every task, dedup file descriptions, dispatch kinds */
int dump_fds_collect(struct dump_ctx *ctx);
int dump_fds_check(struct dump_ctx *ctx);
int dump_fds_write(struct dump_ctx *ctx);
/* The kinds' parts of the summary line: ", N unix sockets ..." */
void dump_fds_summary(struct dump_ctx *ctx, char *buf, size_t size);
void dump_fds_cleanup(struct dump_ctx *ctx);

/*
 * dump_seccomp.c: the filters of a thread in seccomp filter mode, kept once for the whole
 * tree; *ret_filter is the index of its newest in seccomp.img. Nothing for other modes.
 */
int dump_seccomp_thread(struct dump_ctx *ctx, pid_t tid, uint32_t mode, uint32_t *ret_filter);
int dump_seccomp_write(struct dump_ctx *ctx);
void dump_seccomp_free(struct dump_ctx *ctx);

/* per task: core, ids, fs, mm, pagemap, pages, crux-task */
int dump_task(struct dump_ctx *ctx, struct pstree_task *t);

#endif /* CRUX_DUMP_H */
