/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fd kinds: one file per kind in user/fd/ (its dump half and its restore half), one
 * table (fd_kinds.c) that the dump driver (dump_fds.c), the restore driver (restore_*.c)
 * and `crux show` walk without naming any kind. Adding a kind is one new file plus one
 * line in fd_kinds[]. Every op is optional: a NULL op is "nothing to do for this kind".
 */
#ifndef CRUX_FD_H
#define CRUX_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

struct dump_ctx;
struct dump_fd;
struct rst_set;
struct rst_fd;
struct fd_show;
struct FileEntry;

/* The steps of `crux show` in which a kind's show hook runs (see fd_kind.show). */
enum fd_show_step {
	FD_SHOW_LOAD, /* read the kind's own images, before anything is printed */
	FD_SHOW_FILE, /* print one file's details, after its type and id */
	FD_SHOW_RECORDS, /* after the tasks: the kind's own records (external sockets) */
	FD_SHOW_TOTALS, /* its part of the "total:" line */
	FD_SHOW_FREE, /* free what LOAD kept (also after a failed LOAD) */
};

/* What the dump driver knows of an fd before any kind claims it. */
struct fd_probe {
	const struct stat *st; /* stat of /proc/PID/fd/N: the open file itself */
	const char *link; /* readlink of /proc/PID/fd/N: "pipe:[7]", "anon_inode:[eventfd]" */
	int family; /* SO_DOMAIN of a socket (read on a stolen copy), else -1 */
};

struct fd_kind {
	const char *name;
	/* CRIU's FdTypes value: fdinfo_entry.type and file_entry.type of this kind's files */
	uint32_t fd_type;
	/* collect() needs f->stolen, a pidfd_getfd() copy of the file description */
	bool steal;

	/* ---- dump (the tree is frozen; nothing may change it) ---- */
	/* Is this fd ours? Asked in table order; an fd no kind claims is refused by name. */
	bool (*match)(const struct fd_probe *p);
	/*
	 * Once per open file description (its first fd), after the kind matched: record what
	 * check() and write() need; refuse (logged, -errno) what this kind can't dump.
	 */
	int (*collect)(struct dump_ctx *ctx, struct dump_fd *f);
	/*
	 * After every task's fds: files reachable only through this kind's files (fds in
	 * flight in a socket's queue), handed to ctx->add_fileless(), which collects them
	 * like any fd. Called again while any kind found a new file: it must look only at
	 * files it has not looked at yet.
	 */
	int (*harvest)(struct dump_ctx *ctx);
	/* Self-containment over everything collected: report every offender, then fail. */
	int (*check)(struct dump_ctx *ctx);
	/* file_entry records (dump_write_file_entry()) and the kind's own images. */
	int (*write)(struct dump_ctx *ctx);
	/* Appends to the one-line summary of `crux dump` (", N things"). */
	void (*summary)(struct dump_ctx *ctx, char *buf, size_t size);
	/* Free what collect() kept (dump_kstate()); runs on success and failure. */
	void (*cleanup)(struct dump_ctx *ctx);

	/* ---- restore: load and validate change nothing; create and later may ---- */
	/* Read the kind's own images (files.img is already loaded); corrupt ones refused. */
	int (*load)(struct rst_set *set);
	/* Everything checkable before anything is created, each problem via rst_problem(). */
	void (*validate)(struct rst_set *set);
	/* Create every file of this kind in the controller, parked (rst_park_fd()). */
	int (*create)(struct rst_set *set);
	/* After every kind's create(): for files that refer to other files (epoll targets). */
	int (*post_create)(struct rst_set *set);
	/*
	 * Inside each forked task, once its fd table is built and before it stops: what only
	 * the owner can do (POSIX locks, fcntl owners). Runs in the child: report, don't log.
	 */
	int (*in_task)(const struct rst_set *set, pid_t pid, const struct rst_fd *fds, size_t n);
	/* The controller, every task rebuilt, before any task runs again or is detached. */
	int (*finish)(struct rst_set *set);
	/* A failed restore: undo what create() did outside the tasks (bound names). */
	void (*abort)(struct rst_set *set);
	/* Free what load() and create() kept (rst_kstate()). */
	void (*release)(struct rst_set *set);

	/*
	 * ---- `crux show`: reads the image, changes nothing ----
	 * One hook, called for each step (enum fd_show_step); f is the file for FD_SHOW_FILE,
	 * NULL otherwise. Text and JSON through s->o; dangling references via show_problem().
	 */
	int (*show)(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f);
};

extern const struct fd_kind *const fd_kinds[];
extern const size_t fd_nr_kinds;

/* The kind that writes file_entry.type t, or NULL. */
const struct fd_kind *fd_kind_by_type(uint32_t t);

#define fd_for_each_kind(i, k) for ((i) = 0; (i) < fd_nr_kinds && ((k) = fd_kinds[i]); (i)++)

/*
 * The one verdict `crux dump` (dump_fds.c) and `crux-map external` (user/dump/verdict.c)
 * both reach: the first kind of fd_kinds[] whose match claims fd `fd` of the process
 * behind pidfd, whose /proc link is link and stat st.
 * desc names it in messages ("pid 12 (comm) fd 3"). A socket is copied with pidfd_getfd to
 * read its family: the copy is returned in *stolen (or closed if stolen is NULL).
 * Returns 0 with the kind in *ret; -EOPNOTSUPP with the refusal in why (no kind claims
 * it); another -errno with why saying what could not be read.
 */
int fd_kind_of(const char *desc, const char *link, const struct stat *st, int pidfd, int fd,
	       int *stolen, const struct fd_kind **ret, char *why, size_t size);

/*
 * An external pipe: desc holds one end of pipe ino (the read end if rd) and pid holder
 * (comm) outside the tree holds the other end.
 */
void fd_external_pipe_msg(const char *desc, uint64_t ino, bool rd, pid_t holder, const char *comm,
			  char *buf, size_t size);

#endif /* CRUX_FD_H */
