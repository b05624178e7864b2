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
/*
 * pre-dump: the page lists and pstree.img while frozen, then resume the tree and copy the
 * pages while it runs; inventory.img last.
 */
int dump_pre_images(struct dump_ctx *ctx);
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

/*
 * dump_guard.c: state crux does not restore, refused by name. The values a thread's dump
 * read by injection (-1 where not asked) and from /proc.
 */
struct dump_guard_vals {
	pid_t tid;
	bool leader;
	uint32_t tty_nr;
	uint64_t cap_amb;
	long mce_kill, mdwe, dumpable;
};
/* Before a thread's state is read: an unknown seccomp mode, POSIX timers. */
int dump_guard_early(pid_t tid, const char *comm, uint32_t seccomp);
int dump_guard_fd(struct dump_ctx *ctx, const struct dump_fd *f);
/* Tasks that share an fd table (kcmp KCMP_FILES): refused, each pair named. */
int dump_guard_tree(struct dump_ctx *ctx);
int dump_guard_task(struct dump_ctx *ctx, const struct pstree_task *t,
		    const struct dump_guard_vals *v);
/*
 * A mapping's smaps VmFlags (v->vmflags): the madvise() bits to record (1 << advice) and
 * VM_LOCKED; -EOPNOTSUPP, logged, for a flag a restore does not set back.
 */
int dump_vma_flags(struct dump_ctx *ctx, pid_t pid, const struct proc_vma *v, uint64_t *ret_madv,
		   bool *ret_locked);
/* The VmFlags of the mapping that starts at addr ("" if none). */
int dump_addr_vmflags(pid_t pid, uint64_t addr, char *buf, size_t size);

/* per task: core, ids, fs, mm, pagemap, pages, crux-task */
int dump_task(struct dump_ctx *ctx, struct pstree_task *t);
/* dump_mem.c: pagemap-<pid>.img and pages-<pid>.img of a frozen task with these vmas */
int dump_task_pages(struct dump_ctx *ctx, pid_t pid, int pidfd, const struct proc_vma *v,
		    size_t nv);
/* pre-dump, per frozen task: arm/read tracking, write pagemap and crux-task; runs deferred */
int dump_task_pages_only(struct dump_ctx *ctx, struct pstree_task *t);
/* pre-dump, tree running: copy each deferred task's pages into pages-<pid>.img */
int dump_copy_deferred(struct dump_ctx *ctx);

#endif /* CRUX_DUMP_H */
