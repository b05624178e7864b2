/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The dumper's exact view of a process's fds: pid-filtered iter/task_file passes
 * (bpf/crux_iter.bpf.c) return one struct crux_fd_rec per unix-socket fd, or one struct
 * crux_file_ref per fd, read from the kernel at call time, whatever the host's size.
 * A library-style module: debug logging at most; callers report failures.
 */
#ifndef CRUX_TREEITER_H
#define CRUX_TREEITER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "abi.h"

struct treeiter;
struct crux_iter_bpf;

/* Load the iterator object once (no pins); -errno from libbpf/the kernel on failure. */
int treeiter__new(struct treeiter **ret);
/*
 * The tree iterators `crux track` pinned under pin_dir (NULL: the default), already loaded
 * and verified: no BPF object to open, which costs about 0.1 s. Without a tracker of this
 * ABI: treeiter__new().
 */
int treeiter__open(const char *pin_dir, struct treeiter **ret);
/* Only the pinned ones: -ENOENT if one is missing, -EPROTO for a tracker of another ABI. */
int treeiter__open_pinned(const char *pin_dir, struct treeiter **ret);
/* Pin the tree iterator programs of skel under pin_dir for treeiter__open (the tracker). */
int treeiter_pin(struct crux_iter_bpf *skel, const char *pin_dir);
void treeiter__free(struct treeiter *t);
/*
 * Every unix-socket fd of process tgid (all its threads share the table), in fd order.
 * *ret is malloc'ed (NULL when *ret_n is 0). -ESRCH if tgid does not exist.
 */
int treeiter__unix_fds(struct treeiter *t, pid_t tgid, struct crux_fd_rec **ret, size_t *ret_n);
/*
 * One record per fd of process tgid with the reference count of its open file (see
 * struct crux_file_ref), in fd order. *ret is malloc'ed (NULL when *ret_n is 0).
 */
int treeiter__file_refs(struct treeiter *t, pid_t tgid, struct crux_file_ref **ret, size_t *ret_n);
/*
 * The connections waiting in the accept queue of every listener of tgid, listener by
 * listener in fd order, each queue in order. *ret is malloc'ed (NULL when *ret_n is 0).
 */
int treeiter__icons(struct treeiter *t, pid_t tgid, struct crux_icon_rec **ret, size_t *ret_n);
/* Where each message with fds starts in the stream sockets' queues of tgid's fds. */
int treeiter__fdmsgs(struct treeiter *t, pid_t tgid, struct crux_fdmsg_rec **ret, size_t *ret_n);
/* One-shot convenience: treeiter__new + treeiter__unix_fds + treeiter__free. */
int treeiter_unix_fds(pid_t tgid, struct crux_fd_rec **ret, size_t *ret_n);

#endif /* CRUX_TREEITER_H */
