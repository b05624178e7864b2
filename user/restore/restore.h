/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `crux restore` internals shared by user/restore*.c: the image set loaded into memory,
 * the objects the controller creates for it, and the steps of the restore.
 *
 * Model: the controller (crux) creates every open file description of the image first
 * (files, pipes with their data, unix sockets connected to the right peer with their
 * queues), at fd numbers above every dumped one. Then it forks the tree with the dumped
 * pids; each task inherits those objects, builds its own fd table from them (dup2 to the
 * dumped numbers, close-on-exec as dumped, everything else closed) and waits. The
 * controller then rebuilds each task's memory and registers by injected syscalls.
 */
#ifndef CRUX_RESTORE_H
#define CRUX_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "inject.h"

struct imgdir;
struct FileEntry;
struct MmEntry;
struct CoreEntry;
struct PagemapEntry;
struct FsEntry;
struct CruxTaskEntry;
struct CruxExtEntry;
struct SeccompEntry;

struct rst_opts {
	const char *dir;
	bool ext_unix_sk;
	bool detach;
};

/* One open file description of files.img and the controller's fd for it. */
struct rst_file {
	struct FileEntry *fe;
	int ctl_fd; /* -1 until created */
	const struct CruxExtEntry *ext; /* external unix socket record, if any */
};

struct rst_fd {
	uint32_t fd;
	bool cloexec;
	struct rst_file *file;
};

struct rst_pagerun {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint64_t off; /* byte offset in pages-<id>.img */
};

/* A thread other than the leader: core-<tid>.img, made by clone3 injected in the leader. */
struct rst_thread {
	pid_t tid;
	struct CoreEntry *core;
	struct inj inj; /* inj.pid != 0 while the controller holds it */
};

struct rst_task {
	pid_t pid, ppid, pgid, sid;
	int parent; /* index in set->tasks, -1 for the root */
	struct CoreEntry *core;
	struct MmEntry *mm;
	struct FsEntry *fs;
	struct CruxTaskEntry *crux; /* NULL if the image has none */
	struct rst_fd *fds;
	size_t n_fds;
	struct rst_pagerun *runs;
	size_t n_runs;
	int pages_fd; /* pages-<id>.img, read-only */
	bool created;
	struct inj inj;
	struct rst_thread *threads; /* pstree_entry.threads without the leader */
	size_t n_threads;
};

/* A raw payload of sk-queues.img (id = receiving socket's file id) or pipes-data.img. */
struct rst_blob {
	uint32_t id;
	uint32_t extra; /* pipes: pipe size (0: unknown) */
	size_t len;
	void *data;
};

struct rst_set {
	const struct rst_opts *opts;
	struct imgdir *dir;
	struct rst_task *tasks; /* parents before children, [0] is the root */
	size_t n_tasks;
	struct rst_file *files; /* sorted by id */
	size_t n_files;
	struct rst_blob *packets; /* in queue order */
	size_t n_packets;
	struct rst_blob *pipe_data;
	size_t n_pipe_data;
	struct CruxExtEntry **ext;
	size_t n_ext;
	struct SeccompEntry *seccomp; /* seccomp.img, NULL without one */
	uint32_t max_fd; /* highest dumped fd number of any task */
	uint64_t tramp;
	int sync_fd;	      /* the tasks' copy of the sync pipe, closed by injection */
	struct rlimit nofile; /* the controller's own, before it raised it for the objects */
	/* Names this restore bound: removed again if it fails. */
	char **bound;
	size_t n_bound;
	int problems; /* validation: problems reported so far */
	uint64_t t_tree, t_done; /* now_ns() when the tree was ready, when all were rebuilt */
};

/* restore_img.c: load every image (refusing corrupt ones with file and offset), free it. */
int rst_load(const struct rst_opts *opts, struct rst_set **ret);
void rst_set_free(struct rst_set *set);
struct rst_file *rst_file_by_id(const struct rst_set *set, uint32_t id);
struct rst_file *rst_file_by_ino(const struct rst_set *set, uint32_t ino);
const char *rst_reg_name(const struct rst_set *set, uint32_t id);

/* restore_validate.c: report every problem (one line each); the number found. */
int rst_validate(struct rst_set *set);
/* A pid's current holder as "comm (pid N)", for messages. */
void rst_pid_holder(pid_t pid, char *buf, size_t size);

/* restore_files.c: create every object of files.img in the controller (all or nothing). */
int rst_files_create(struct rst_set *set);
void rst_files_close(struct rst_set *set);
/* Per kind, called by rst_files_create(). */
int rst_reg_open(struct rst_set *set, struct rst_file *f);
int rst_pipes_create(struct rst_set *set);
int rst_unix_create(struct rst_set *set);
/* Whether some task has f in its fd table. */
bool rst_file_in_use(const struct rst_set *set, const struct rst_file *f);
/* A socket name for messages: like unix_name_format(), without the NUL the kernel keeps
 * after a path name. */
void rst_name_text(const void *name, size_t len, char *out, size_t size);
/* Validation: names to bind that a live socket or another file holds (counted). */
void rst_unix_check_names(struct rst_set *set);
/* Remove the names this restore bound (failure path). */
void rst_unix_unlink_bound(struct rst_set *set);
/* Park fd at or above the object base (above every dumped fd); 0 or -errno, fd replaced. */
int rst_park_fd(struct rst_set *set, int *fd);

/* restore_tree.c: fork the tree with its pids; every task stops ready for injection. */
int rst_tree_create(struct rst_set *set);
/* Kill and reap every task created so far. */
void rst_tree_kill(struct rst_set *set);

/* restore_mem.c: the kernel's vDSO layout vs the image's; memory and mm of one task. */
int rst_vdso_check(const struct rst_set *set, const struct rst_task *t, char *why, size_t size);
int rst_task_memory(struct rst_set *set, struct rst_task *t);

/*
 * restore_task.c, threads: rst_task_state() creates the other threads of a task, each with
 * its own state; after rst_task_finish() they get their registers and are detached.
 */
int rst_threads_finish(struct rst_set *set, struct rst_task *t);
/* The raw xsave buffer of thread tid (crux-task-<pid>.img); NULL if the image has none. */
const void *rst_thread_xsave(const struct rst_task *t, pid_t tid, size_t *ret_len);

/*
 * restore_seccomp.c: a thread's seccomp chain checked at load. How many filters every
 * thread of t shares (0 for a single thread); the leader installs those for every thread at
 * once (TSYNC) after they exist and before each installs the rest of its own chain
 * (skip: the shared ones), or strict mode.
 */
int rst_seccomp_validate(const struct rst_set *set, const struct CoreEntry *core, pid_t tid);
size_t rst_seccomp_common(const struct rst_set *set, const struct rst_task *t);
int rst_seccomp_install_common(const struct rst_set *set, struct rst_task *t, size_t common);
int rst_seccomp_install(const struct rst_set *set, struct inj *inj, const struct CoreEntry *core,
			size_t skip);

/* restore_task.c: the rest of a task's state, then its registers and detach. */
int rst_task_state(struct rst_set *set, struct rst_task *t);
int rst_task_finish(struct rst_set *set, struct rst_task *t);
/* It was in job-control stop at dump: rst_task_finish() stops it again (SIGSTOP). */
bool rst_task_stopped(const struct rst_task *t);

#endif /* CRUX_RESTORE_H */
