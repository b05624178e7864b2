/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dump context, below both the dump driver (user/dump/) and the fd kinds (user/fd/):
 * the frozen tree, its fd table, file ids, files.img, and the small services the kinds
 * use (ids, path entries, messages naming an fd, outside holders, the tree iterator).
 * Command code: each failure is logged once where it is detected.
 */
#ifndef CRUX_DUMPCTX_H
#define CRUX_DUMPCTX_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kstate.h"
#include "proc.h"
#include "pstree.h"

struct img;
struct imgdir;
struct treeiter;
struct fd_kind;
struct dump_seccomp;
struct dump_shmem;
struct trackmem;
struct mem_run;

struct dump_opts {
	pid_t pid;
	const char *dir;
	bool ext_unix_sk;
	uint64_t *ext_inos; /* --ext-unix-sk=INO,... */
	size_t n_ext_inos;
	bool tcp_established; /* accept TCP connections to outside the tree */
	bool leave_running;
	bool track_mem; /* --track-mem: arm dirty tracking, keep it for the next dump */
	const char *prev_dir; /* --prev-images-dir, relative to dir */
	bool pre_dump; /* `crux pre-dump`: pages copied after the tree is resumed */
	bool no_map; /* do not use the live map even when a tracker runs */
	const char *pin_dir; /* the tracker's pin dir (NULL: CRUX_PIN_ROOT) */
	bool inotify_strict; /* refuse inotify/fanotify groups with unread events */
	int verbose;
};

/* One fd of one frozen task. */
struct dump_fd {
	pid_t pid;
	int fd;
	uint32_t fd_flags; /* FD_CLOEXEC or 0 */
	uint32_t file_id; /* files.img id; fds sharing an open file description share it */
	bool primary; /* first fd seen of its file description */
	const struct fd_kind *kind;
	struct stat st; /* of the open file (stat of /proc/PID/fd/N) */
	struct proc_fdinfo fi;
	char *link; /* readlink of /proc/PID/fd/N */
	int stolen; /* pidfd_getfd copy (primary fds of kinds that steal, sockets), or -1 */
	/*
	 * A file found in flight (an SCM_RIGHTS message not received yet), not in a task's fd
	 * table: pid is crux's own and fd its copy (stolen), so kcmp() still finds the same
	 * file held by a task. Never written to an fdinfo image.
	 */
	bool inflight;
};

struct dump_ctx {
	const struct dump_opts *opts;
	bool killed; /* the dump succeeded and the tree was killed (kinds' cleanup) */
	struct pstree tree;
	struct imgdir *dir;
	int dirfd;
	uint32_t next_id; /* file ids, from 1 */

	struct dump_fd *fds;
	size_t n_fds, cap_fds;

	struct img *files_img; /* files.img, open while fds and mm write entries */

	/* REG file entries written for paths (cwd, root, exe, VMAs) */
	struct dump_path_id {
		char *path;
		uint32_t flags;
		uint32_t id;
	} * paths;
	size_t n_paths, cap_paths;

	struct kstate kstate[KSTATE_MAX]; /* each kind's private state */
	struct dump_seccomp *seccomp_state; /* filters seen so far (dump/dump_seccomp.c) */
	struct dump_shmem *shmem_state; /* shmem objects dumped so far (dump/dump_shmem.c) */

	struct treeiter *treeiter; /* loaded on first use: dump_treeiter() */
	int treeiter_err;

	struct trackmem *track; /* memory tracking (user/dump/trackmem.h) */
	/* pre-dump: each task's runs, copied once the tree runs again */
	struct dump_deferred {
		pid_t pid;
		struct mem_run *runs;
		size_t n;
	} * deferred;
	size_t n_deferred;

	/* summary */
	uint64_t t_freeze, t_frozen; /* now_ns() at the freeze; how long the tree was frozen */
	uint64_t nr_pages;

	/*
	 * The driver's: a file a kind found outside every fd table (an fd in flight, given
	 * to crux by a peek); fd is taken over (kept or closed). *ret_id is its file id, shared
	 * with the task fd or earlier fileless file on the same open file description.
	 */
	int (*add_fileless)(struct dump_ctx *ctx, int fd, uint32_t *ret_id);
};

/* The slot of a kind's private state by its key (kstate.h); NULL if all are taken. */
void **dump_kstate(struct dump_ctx *ctx, const void *key);
uint32_t dump_new_id(struct dump_ctx *ctx);
/* REG file_entry for a path (cwd, root, exe, file VMAs), one per (path, flags). */
int dump_path_id(struct dump_ctx *ctx, const char *path, uint32_t flags, uint32_t *ret_id);
/* Append a file_entry (a FileEntry *) to files.img. */
int dump_write_file_entry(struct dump_ctx *ctx, const void *file_entry);
/* "pid 1234 (comm) fd 5" for messages. */
const char *dump_fd_desc(struct dump_ctx *ctx, const struct dump_fd *f, char *buf, size_t sz);
/* The comm of a tree task, or "?" */
const char *dump_comm(struct dump_ctx *ctx, pid_t pid);
/* true for a pid outside the tree (and not crux): arg is the dump_ctx. */
bool dump_outside_tree(pid_t pid, void *arg);
/* Who outside the tree holds an inode (socket:[N] / pipe:[N]) by a /proc scan: pid or 0. */
pid_t dump_find_outside_holder(struct dump_ctx *ctx, const char *link, char comm[16]);
/*
 * The pid-filtered tree iterators (treeiter.h), loaded once per dump; NULL when they
 * cannot be loaded (the failure is warned about once).
 */
struct treeiter *dump_treeiter(struct dump_ctx *ctx);

#endif /* CRUX_DUMPCTX_H */
