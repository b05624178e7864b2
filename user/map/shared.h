/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Pipe ends and sockets that a set of processes (a tree about to be dumped) holds and
 * something outside the set holds too: the same open file (a parent that forked the tree and
 * kept its copy, a socket passed out with SCM_RIGHTS) or another open file of the same pipe
 * end (reopened through /proc/PID/fd). The peer checks cannot see these: the other side of
 * the connection is inside. Used by `crux dump` (refused) and `crux-map external` (the same
 * verdict, ahead of time). A pipe the set holds one end of while its other end is held
 * elsewhere is an external pipe, not a shared one: it is not reported here.
 * Library-style: debug logging at most; callers report.
 */
#ifndef CRUX_SHARED_H
#define CRUX_SHARED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "abi.h"

struct treeiter;

struct shared_end {
	pid_t pid; /* a process of the set that holds it, and the fd */
	int fd;
	__u64 ino;
	bool socket; /* else a pipe end */
	bool pipe_read; /* the pipe's read end */
	pid_t holder; /* a process outside the set that holds it; 0: none found */
	char holder_comm[CRUX_COMM_LEN];
};

/*
 * Every shared end of the processes pids[0..n) (each its own fd table), *ret malloc'ed.
 * The caller's own fds are accounted for (a dumper's pidfd_getfd copies are not outside
 * holders). When a holder cannot be found (a reference someone takes for an instant, such
 * as a /proc/PID/fdinfo read) the count is taken once more, 20 ms later.
 */
int shared_find(struct treeiter *ti, const pid_t *pids, size_t n, struct shared_end **ret,
		size_t *ret_n);
/* The explanation, as one line: "shared pipe: pid P (comm) fd F holds ...". */
void shared_format(const struct shared_end *e, const char *comm, char *buf, size_t size);

#endif /* CRUX_SHARED_H */
