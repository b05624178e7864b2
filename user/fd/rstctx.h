/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The restore set, below both the restore driver (user/restore/) and the fd kinds
 * (user/fd/): the image loaded into memory, the open file descriptions of files.img with
 * the controller's fd for each, and the services the kinds use (reading an image, parking
 * an fd above every dumped one, reporting a validation problem).
 *
 * Model: the controller (crux) creates every open file description of the image first, at
 * fd numbers above every dumped one. Then it forks the tree with the dumped pids; each task
 * inherits those objects, builds its own fd table from them (dup2 to the dumped numbers,
 * close-on-exec as dumped, everything else closed) and waits. The controller then rebuilds
 * each task's memory and registers by injected syscalls.
 */
#ifndef CRUX_RSTCTX_H
#define CRUX_RSTCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "img.h"
#include "kstate.h"
#include "log.h"
#include "restore_guard.h"

struct FileEntry;
struct SeccompEntry;
struct fd_kind;
struct rst_task; /* restore.h: the driver's */

struct rst_opts {
	const char *dir;
	bool ext_unix_sk;
	bool tcp_established;
	bool detach;
};

/* One open file description of files.img and the controller's fd for it. */
struct rst_file {
	struct FileEntry *fe;
	int ctl_fd; /* -1 until created */
	void *priv; /* the kind's, per file (e.g. a unix socket's external record) */
	pid_t pid; /* the first task holding it in its fd table, 0 if none */
	bool inflight; /* sent in a queued message (SCM_RIGHTS): created even if no task holds it */
	uint32_t fd; /* at this fd number */
};

struct rst_fd {
	uint32_t fd;
	bool cloexec;
	struct rst_file *file;
};

/* A raw payload that follows its message in an image (sk-queues.img, pipes-data.img). */
struct rst_blob {
	uint32_t id;
	uint32_t extra; /* pipes: pipe size (0: unknown) */
	size_t len;
	void *data;
	uint32_t *rights; /* sk-queues: file ids of the fds in flight it carries, malloc'ed */
	uint32_t n_rights;
};

struct rst_set {
	const struct rst_opts *opts;
	struct imgdir *dir;
	struct rst_task *tasks; /* parents before children, [0] is the root */
	size_t n_tasks;
	struct rst_file *files; /* sorted by id */
	size_t n_files;
	struct kstate kstate[KSTATE_MAX]; /* each kind's private state */
	struct SeccompEntry *seccomp; /* seccomp.img, NULL without one (restore_seccomp.c) */
	uint32_t max_fd; /* highest dumped fd number of any task */
	uint64_t tramp;
	int sync_fd; /* the tasks' copy of the sync pipe, closed by injection */
	struct rlimit nofile; /* the controller's own, before it raised it for the objects */
	struct rst_guard guard; /* cleans up if crux is killed (restore_guard.h) */
	int problems; /* validation: problems reported so far */
	uint64_t t_tree, t_done; /* now_ns() when the tree was ready, when all were rebuilt */
	struct imgdir **chain; /* parent images, nearest first (restore_chain.c) */
	size_t n_chain;
	int *chain_fds; /* every pages image the runs read from */
	size_t n_chain_fds;
};

/* Validation: report one problem (one line) and count it; the restore is then refused. */
#define rst_problem(set, ...)        \
	do {                         \
		pr_err(__VA_ARGS__); \
		(set)->problems++;   \
	} while (0)

/* The slot of a kind's private state by its key (kstate.h); NULL if all are taken. */
void **rst_kstate(struct rst_set *set, const void *key);
/* A kind's state by its key, or NULL. */
void *rst_kstate_get(const struct rst_set *set, const void *key);
struct rst_file *rst_file_by_id(const struct rst_set *set, uint32_t id);
/* Park fd at or above the object base (above every dumped fd); 0 or -errno, fd replaced. */
int rst_park_fd(struct rst_set *set, int *fd);
/* "pid P fd F" (its first holder) or "no task", for messages. */
void rst_file_holder(const struct rst_file *f, char *buf, size_t size);

/* Make room for one more element in a doubling array; 0 or -ENOMEM. */
int rst_grow(void **arr, size_t n, size_t *cap, size_t elem);
/* Print the image layer's refusal (it names the file and the offset) once; err. */
int rst_img_fail(const struct rst_set *set, int err, const char *what);
/*
 * Every message of one image as desc into a growing array of pointers. missing_ok: a
 * file that does not exist reads as empty.
 */
int rst_read_all(struct rst_set *set, enum img_type t, unsigned long key,
		 const ProtobufCMessageDescriptor *desc, bool missing_ok, void ***ret,
		 size_t *ret_n);
/*
 * Messages each followed by a raw payload; a missing file reads as empty. take() fills b
 * from one message, or returns why it is refused ("a queued message carries ...").
 */
int rst_read_blobs(struct rst_set *set, enum img_type t,
		   const char *(*take)(const void *msg, struct rst_blob *b), struct rst_blob **ret,
		   size_t *ret_n);
void rst_blobs_free(struct rst_blob *b, size_t n);

#endif /* CRUX_RSTCTX_H */
