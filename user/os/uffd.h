/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Dirty-page tracking without soft-dirty bits (shared/notes/engine.md §7): a userfaultfd
 * created inside the task (so it is bound to the task's mm), write-protect-async
 * registration of its mappings, and PAGEMAP_SCAN to read and reset the "written" bits.
 * Library-style module: 0 / -errno, logs at debug level at most.
 */
#ifndef CRUX_UFFD_H
#define CRUX_UFFD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A sorted list of disjoint [start, end) address ranges. */
struct uffd_ranges {
	struct uffd_range {
		uint64_t start, end;
	} * v;
	size_t n, cap;
};

/* Append [start, end) (above every range already in r), merging with the last one. */
int uffd_ranges_add(struct uffd_ranges *r, uint64_t start, uint64_t end);
void uffd_ranges_free(struct uffd_ranges *r);

/*
 * Create a userfaultfd in the stopped (ptrace-frozen) task pid by a syscall injected at its
 * vDSO, copy it into this process with pidfd_getfd() and close the task's fd again: the
 * task's fd table ends as it was. The copy is set up for WP_ASYNC | WP_UNPOPULATED.
 */
int uffd_create_in_task(pid_t pid, int pidfd, int *ret_fd);

/* Register [start, end) (one whole VMA) for asynchronous write protection. */
int uffd_register_wp(int uffd, uint64_t start, uint64_t end);

/*
 * The pages of [start, end) written since the last scan, appended to written; they are
 * write-protected again atomically. -EPERM when some of the range is not registered for
 * WP-async tracking (never registered, or the registration was dropped: a mapping replaced
 * or moved, the uffd closed). pm_fd is the task's /proc/PID/pagemap.
 */
int uffd_scan_written(int pm_fd, uint64_t start, uint64_t end, struct uffd_ranges *written);

#endif /* CRUX_UFFD_H */
