/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Memory tracking for incremental dumps (`--track-mem`, `--prev-images-dir`, `pre-dump`):
 * a userfaultfd per tracked task, registered for asynchronous write protection on every
 * private mapping, read and reset with PAGEMAP_SCAN at each dump (user/os/uffd.h).
 *
 * Between dumps of a tree left running, the stolen uffds are kept alive by a holder: a small
 * crux process forked by the dump, serving them on /run/crux/trackmem-<pid>-<start>.sock
 * (root pid and its start time). The next dump of the tree takes them (the holder exits);
 * a dump with --track-mem that leaves the tree running hands them to a new holder, any other
 * dump closes them (tracking released). A holder exits by itself when the root exits.
 *
 * Every dump that resets the tracking gets a random generation, written into each task's
 * crux-task-<pid>.img with the ranges it tracked; the holder keeps it. A later dump trusts
 * the tracking of a mapping only if the parent image carries the holder's generation, the
 * mapping lies inside what the parent tracked, and it is still registered (a mapping
 * replaced, moved, or a task forked or exec'd since, loses the registration). Anything else
 * is copied whole, and said so.
 */
#ifndef CRUX_TRACKMEM_H
#define CRUX_TRACKMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mem.h"
#include "proc.h"
#include "uffd.h"

struct dump_ctx;
struct CruxTaskEntry;

#define TM_RUN_DIR "/run/crux"

/* One tracked task: what a holder keeps. */
struct tm_held {
	pid_t pid;
	uint64_t starttime; /* /proc/PID/stat field 22: pid reuse never matches */
	int uffd;
};

/* Per task of the current dump. */
struct tm_task {
	struct tm_held h; /* h.uffd -1: not tracked */
	bool from_holder; /* the uffd came from the holder (its generation applies) */
	struct uffd_ranges tracked; /* registered and reset by this dump */
	uint64_t pages_parent, pages_copied;
};

struct trackmem {
	bool arm; /* --track-mem */
	bool keep; /* hand the uffds to a new holder after a successful dump */
	const char *prev_arg; /* --prev-images-dir as given */
	char *prev_path; /* resolved against -D */
	int prev_fd; /* the parent image directory, or -1 */
	uint64_t held_gen; /* the holder's generation (0: none) */
	uint64_t gen; /* this dump's */
	struct tm_held *held; /* taken from the holder, not yet claimed by a task */
	size_t n_held;
	struct tm_task *tasks;
	size_t n_tasks, cap_tasks;
	pid_t holder_pid; /* the new holder */
	uint64_t pages_parent, pages_copied;
	size_t vmas_whole; /* mappings copied whole although a parent was given */
};

/* /proc/PID/stat field 22 (start time in clock ticks since boot). */
int tm_starttime(pid_t pid, uint64_t *ret);

/* track_holder.c */
/*
 * Take what the holder of root's tree keeps (the holder exits). No holder: 0 and *ret_n 0.
 * *ret is malloc'ed; every uffd in it is now this process's.
 */
int tm_holder_take(pid_t root, uint64_t root_start, uint64_t *ret_gen, struct tm_held **ret,
		   size_t *ret_n);
/* Fork a holder for root's tree that keeps held[0..n) (the fds are duplicated into it). */
int tm_holder_spawn(pid_t root, uint64_t root_start, uint64_t gen, const struct tm_held *held,
		    size_t n, pid_t *ret_pid);

/* trackmem.c, called by the dump driver and dump_task.c */
/* After the freeze: take the holder's uffds, open the parent image. 0 or -errno (logged). */
int tm_begin(struct dump_ctx *ctx, struct trackmem *tm, const char *images_dir);
/*
 * Per task, while it is frozen: arm/reset tracking on vmas and mark the selected runs whose
 * pages the parent image holds unchanged (run.in_parent). *runs may be reallocated.
 */
int tm_task_runs(struct dump_ctx *ctx, struct trackmem *tm, pid_t pid, int pidfd,
		 const struct proc_vma *vmas, size_t nv, struct mem_run **runs, size_t *n);
/* The tracking facts of pid for its crux-task-<pid>.img (nothing if untracked). */
void tm_fill_task_entry(const struct trackmem *tm, pid_t pid, struct CruxTaskEntry *e,
			uint64_t **ret_buf);
/* Write the `parent` link of the image directory (dirfd) if a parent was given. */
int tm_link_parent(const struct trackmem *tm, int dirfd);
/* After success (tree resumed): hand the uffds to a new holder, or release them. */
void tm_end(struct trackmem *tm, pid_t root, bool ok);

#endif /* CRUX_TRACKMEM_H */
