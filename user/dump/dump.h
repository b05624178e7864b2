/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internals of `crux dump`, shared by user/dump*.c: the dump context, the fd table of the
 * frozen tree, and the per-kind fd ops (files, pipes, unix sockets), each kind in its own
 * dump_<kind>.c. Command code: each failure is logged once where it is detected.
 */
#ifndef CRUX_DUMP_H
#define CRUX_DUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "kind.h"
#include "proc.h"
#include "pstree.h"

struct img;
struct imgdir;
struct dump_unix;
struct dump_pipes;
struct dump_seccomp;

struct dump_opts {
	pid_t pid;
	const char *dir;
	bool ext_unix_sk;
	uint64_t *ext_inos; /* --ext-unix-sk=INO,... */
	size_t n_ext_inos;
	bool leave_running;
	bool no_map; /* do not use the live map even when a tracker runs */
	const char *pin_dir; /* the tracker's pin dir (NULL: CRUX_PIN_ROOT) */
	int verbose;
};

/* The kinds fd_kind_of() (kind.h) tells apart, the verdict crux-map shares. */
enum dump_fd_kind {
	DUMP_FD_REG = FD_KIND_REG, /* regular files, directories, character devices by path */
	DUMP_FD_PIPE = FD_KIND_PIPE,
	DUMP_FD_UNIX = FD_KIND_UNIX,
	DUMP_FD__MAX = FD_KIND__MAX,
};

/* One fd of one frozen task. */
struct dump_fd {
	pid_t pid;
	int fd;
	uint32_t fd_flags; /* FD_CLOEXEC or 0 */
	uint32_t file_id; /* files.img id; fds sharing an open file description share it */
	bool primary; /* first fd seen of its file description */
	enum dump_fd_kind kind;
	struct stat st; /* of the open file (stat of /proc/PID/fd/N) */
	struct proc_fdinfo fi;
	char *link; /* readlink of /proc/PID/fd/N */
	int stolen; /* pidfd_getfd copy (primary fds of sockets and pipes), or -1 */
};

struct treeiter;

struct dump_ctx {
	const struct dump_opts *opts;
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

	struct dump_unix *unix_state;
	struct dump_pipes *pipes_state;
	struct dump_seccomp *seccomp_state; /* filters seen so far (dump_seccomp.c) */
	struct treeiter *treeiter; /* loaded on first use: dump_treeiter() */
	int treeiter_err;

	/* summary */
	uint64_t nr_pages;
	size_t nr_unix_internal, nr_unix_external, nr_unix_inbound, nr_unix_other;
	bool map_live; /* the live map answered owner/inbound queries */
};

/*
 * The per-kind half of the fd dump. collect() sees each file description once (its
 * primary fd) after every task's fd table is known; check() applies the self-containment
 * rule over everything collected (it reports every offender, then fails); write() emits
 * the file_entry records and the kind's own images.
 */
struct dump_fd_ops {
	const char *name;
	int (*collect)(struct dump_ctx *ctx, struct dump_fd *f);
	int (*check)(struct dump_ctx *ctx);
	int (*write)(struct dump_ctx *ctx);
	void (*cleanup)(struct dump_ctx *ctx);
};

extern const struct dump_fd_ops dump_files_ops;
extern const struct dump_fd_ops dump_pipes_ops;
extern const struct dump_fd_ops dump_unix_ops;

/*
 * Log a failed libc call with its cause and evaluate to -errno (captured before logging,
 * which may clobber errno): return dump_errno_ret("cannot open %s", path);
 */
#define dump_errno_ret(fmt, ...)                                 \
	({                                                       \
		int _e = errno;                                  \
		pr_err(fmt ": %s", ##__VA_ARGS__, strerror(_e)); \
		-_e;                                             \
	})

uint32_t dump_new_id(struct dump_ctx *ctx);
/* REG file_entry for a path (cwd, root, exe, file VMAs), one per (path, flags). */
int dump_path_id(struct dump_ctx *ctx, const char *path, uint32_t flags, uint32_t *ret_id);
/* Append a file_entry (a FileEntry *) to files.img. */
int dump_write_file_entry(struct dump_ctx *ctx, const void *file_entry);
/* "pid 1234 (comm) fd 5" for messages. */
const char *dump_fd_desc(struct dump_ctx *ctx, const struct dump_fd *f, char *buf, size_t sz);
/* The comm of a tree task, or "?" */
const char *dump_comm(struct dump_ctx *ctx, pid_t pid);
/* Who outside the tree holds an inode (socket:[N] / pipe:[N]) by a /proc scan: pid or 0. */
pid_t dump_find_outside_holder(struct dump_ctx *ctx, const char *link, char comm[16]);

/*
 * The pid-filtered tree iterators (include/treeiter.h), loaded once per dump; NULL when
 * they cannot be loaded (the failure is warned about once).
 */
struct treeiter *dump_treeiter(struct dump_ctx *ctx);
/* Refuse pipe ends and sockets the tree holds that are also held outside it. */
int dump_check_shared(struct dump_ctx *ctx);

/* fd table: collect every fd of every task, dedup file descriptions, dispatch kinds */
int dump_fds_collect(struct dump_ctx *ctx);
int dump_fds_check(struct dump_ctx *ctx);
int dump_fds_write(struct dump_ctx *ctx);
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
