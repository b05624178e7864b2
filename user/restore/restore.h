/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `crux restore` internals shared by user/restore/: the tasks of the image and the
 * steps of the restore. The restore set, the open file descriptions and the services the
 * fd kinds use are in user/fd/rstctx.h (its header says how a restore goes).
 */
#ifndef CRUX_RESTORE_H
#define CRUX_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "inject.h"
#include "rstctx.h"

struct imgdir;
struct MmEntry;
struct CoreEntry;
struct PagemapEntry;
struct FsEntry;
struct CruxTaskEntry;
struct SeccompEntry;

struct rst_pagerun {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint64_t off; /* byte offset in pages-<id>.img */
	int fd; /* that pages image: of this image or of a parent (restore_chain.c) */
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
	bool created;
	bool zombie; /* dumped as a zombie: only core (tc) is loaded; made to exit at restore */
	struct inj inj;
	struct rst_thread *threads; /* pstree_entry.threads without the leader */
	size_t n_threads;
};

/* restore_img.c: load every image (refusing corrupt ones with file and offset), free it. */
int rst_load(const struct rst_opts *opts, struct rst_set **ret);
void rst_set_free(struct rst_set *set);
const char *rst_reg_name(const struct rst_set *set, uint32_t id);

/*
 * restore_chain.c: open the chain of parent images; resolve a task's pages to the newest
 * image holding each (t->runs); close them all.
 */
int rst_chain_open(struct rst_set *set);
int rst_chain_pages(struct rst_set *set, struct rst_task *t);
void rst_chain_close(struct rst_set *set);

/* restore_run.c: create, fork, rebuild and let go (all or nothing); 0 or -errno, logged. */
int rst_run(struct rst_set *set);

/* restore_validate.c: report every problem (one line each); the number found. */
int rst_validate(struct rst_set *set);
/* A pid's current holder as "comm (pid N)", for messages. */
void rst_pid_holder(pid_t pid, char *buf, size_t size);

/*
 * restore_files.c, the driver of the fd kinds (fd.h), each step over the whole table:
 * load the kinds' images (after files.img and the tasks), validate (every file some task
 * holds has a kind), create every object of files.img in the controller (all or nothing),
 * close them once the tasks hold their copies, the hooks inside each task, before detach
 * and on failure, and release what the kinds kept.
 */
int rst_files_load(struct rst_set *set);
void rst_files_validate(struct rst_set *set);
int rst_files_create(struct rst_set *set);
void rst_files_close(struct rst_set *set);
int rst_files_in_task(const struct rst_set *set, const struct rst_task *t);
int rst_files_finish(struct rst_set *set);
void rst_files_abort(struct rst_set *set);
void rst_files_release(struct rst_set *set);

/*
 * restore_attrs.c: oom_score_adj, subreaper, personality, THP disable (rst_task_attrs);
 * dumpable, after the credentials (rst_task_attrs_late); timer slack and no_new_privs of
 * one thread (inj: the thread's); validation of what crux may not set.
 */
void rst_attrs_check(struct rst_set *set);
int rst_task_attrs(struct rst_set *set, struct rst_task *t);
int rst_task_attrs_late(struct rst_set *set, struct rst_task *t);
int rst_thread_attrs(const struct rst_task *t, struct inj *inj);

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
