/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which pages of a stopped task must be saved, and reading them.
 * Anonymous private VMAs: every present or swapped page. Private file VMAs: only present
 * pages that are no longer the file's (copy-on-write copies). Shared file VMAs and the
 * vDSO trio: nothing (restored by path / by the kernel). Library-style module.
 */
#ifndef CRUX_MEM_H
#define CRUX_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

struct mem_run {
	uint64_t vaddr;
	uint64_t nr_pages;
	bool in_parent; /* an incremental dump: the parent image holds these pages unchanged */
};

/* How a VMA is treated. */
enum mem_vma_kind {
	MEM_VMA_ANON, /* private anonymous, incl. [heap] and [stack] */
	MEM_VMA_FILE_PRIV, /* private file mapping */
	MEM_VMA_FILE_SHARED,
	MEM_VMA_VDSO, /* [vdso], [vvar], [vvar_vclock] */
	MEM_VMA_VSYSCALL,
	MEM_VMA_UNSUPPORTED, /* shared anonymous, SysV shm, deleted files, ... */
};

enum mem_vma_kind mem_vma_kind(const struct proc_vma *v);

/*
 * Select the pages of vmas[0..n) to save, as runs in ascending address order.
 * *ret is malloc'ed; *ret_pages is the total.
 */
int mem_select(pid_t pid, const struct proc_vma *vmas, size_t n, struct mem_run **ret,
	       size_t *ret_n, uint64_t *ret_pages);
/* Where mem_copy_runs() puts the bytes: 0 or -errno. */
typedef int (*mem_sink_fn)(void *arg, const void *buf, size_t len);
/*
 * Copy the pages of runs from /proc/PID/mem to sink, in order, in large contiguous reads;
 * in_parent runs are skipped.
 */
int mem_copy_runs(pid_t pid, const struct mem_run *runs, size_t n, mem_sink_fn sink, void *arg);
/*
 * The same for a task that runs meanwhile (pre-dump): a page it unmapped in between is
 * given to sink as zeros instead of failing the copy.
 */
int mem_copy_runs_live(pid_t pid, const struct mem_run *runs, size_t n, mem_sink_fn sink,
		       void *arg);

#endif /* CRUX_MEM_H */
