/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Sockets other than unix ones, as /proc/PID/net/{tcp,udp,raw,icmp,netlink,packet,...}
 * list them for PID's network namespace: kind, state, endpoints and the accept queue of a
 * listener, by inode. What crux-map needs to name them and give the dump's verdict without
 * touching the process. Library-style: returns 0 or -errno, logs at debug level at most.
 */
#ifndef CRUX_NETSK_H
#define CRUX_NETSK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct netsk {
	uint64_t ino;
	const char *kind; /* "TCP", "UDP", "UDP-lite", "ICMP", "raw", "netlink", "packet" */
	int family; /* AF_INET, AF_INET6, AF_NETLINK, AF_PACKET */
	int state; /* TCP_* for inet sockets */
	uint32_t rxq; /* a listener: its accept queue */
	char local[64], remote[64];
};

struct netsk_table {
	struct netsk *v;
	size_t n;
};

/* Every socket of PID's network namespace that /proc lists; free with netsk_table_free. */
int netsk_read(pid_t pid, struct netsk_table *ret);
void netsk_table_free(struct netsk_table *t);
const struct netsk *netsk_find(const struct netsk_table *t, uint64_t ino);
/*
 * The dump's verdict on s held by pid/fd ("pid P (comm) fd F: ..."), given the inodes the
 * tree holds: 0 (accepted, msg says what it is) or 1 (refused, msg says why and what to
 * do). tcp_established: --tcp-established was given.
 */
/* A socket fd of the tree that the unix map does not know. */
struct netsk_fd {
	pid_t pid;
	int fd;
	uint64_t ino;
};

struct outfmt;

/*
 * The tree's sockets fds[0..n) under their kinds with the dump's verdict: of given, a
 * table (header: its heading) or a JSON "other" array; of NULL and lines, one "refused:"
 * line each; of NULL otherwise, nothing. comm(arg, pid) names a tree process. The number
 * the dump would refuse.
 */
size_t netsk_report(const struct netsk_table *t, const struct netsk_fd *fds, size_t n,
		    struct outfmt *of, bool header, bool lines,
		    const char *(*comm)(const void *arg, pid_t pid), const void *arg);

int netsk_verdict(const struct netsk_table *t, const struct netsk *s, const uint64_t *tree_inos,
		  size_t n_tree, bool tcp_established, char *msg, size_t size);

#endif /* CRUX_NETSK_H */
