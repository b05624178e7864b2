/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The per-fd part of the dump's verdict on a running tree, for crux-map external: each fd's
 * kind through fd_kind_of() (the dump's own function, user/fd/fd.h) and the external
 * pipes the dump refuses, in the dump's words. The sockets' classification and the
 * shared-file check are classify.h and shared.h, which the dump calls too.
 */
#ifndef CRUX_VERDICT_H
#define CRUX_VERDICT_H

#include <stddef.h>
#include <sys/types.h>

struct verdict_proc {
	pid_t pid;
	const char *comm;
	/*
	 * fds known to be unix sockets (the kernel's tree iterator or the map said so),
	 * ascending: their kind is known, and the dump accepts it, so they are not read again
	 */
	const int *unix_fds;
	size_t n_unix;
};

/*
 * The refusals the dump would make for the tasks and fds of procs[0..n) (the whole tree,
 * its root first; the freeze's task checks, pstree.h): *ret holds
 * *ret_n malloc'ed messages (free with verdict_msgs_free). An fd that closes meanwhile is
 * skipped. 0 or -errno (a process cannot be read).
 */
int verdict_fds(const struct verdict_proc *procs, size_t n, char ***ret, size_t *ret_n);
void verdict_msgs_free(char **v, size_t n);

#endif /* CRUX_VERDICT_H */
