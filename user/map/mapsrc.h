/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where crux-map's facts come from, behind one handle: the socket records (the live pinned
 * map, or a one-shot kernel snapshot, both through sockmap.h) and the process facts
 * (/proc), or both from a recorded snapshot file (CRUX_MAP_SNAPSHOT, for golden tests, as
 * iproute2's TCPDIAG_FILE). Library-style: debug logging at most.
 */
#ifndef CRUX_MAPSRC_H
#define CRUX_MAPSRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "abi.h"
#include "classify.h"

enum mapsrc_kind {
	MAPSRC_LIVE = 0, /* pinned maps of a running (or stopped) tracker */
	MAPSRC_KERNEL, /* one-shot kernel snapshot: no tracker state */
	MAPSRC_FILE, /* recorded snapshot file */
	MAPSRC_DIAG, /* sock_diag and a /proc scan: no BPF (crux dump without a tracker) */
};

/* One unix-socket-or-other socket fd of a process: fd -> socket inode. */
struct mapsrc_fd {
	int fd;
	__u64 ino;
};

struct mapsrc_proc {
	pid_t pid;
	pid_t ppid;
	char comm[CRUX_COMM_LEN];
	struct mapsrc_fd *fds; /* socket fds only */
	size_t n_fds;
};

struct mapsrc;
struct treeiter;

/*
 * snapshot_file non-NULL: read everything from it. Otherwise the pinned maps under pin_dir
 * (NULL: CRUX_PIN_ROOT), else a kernel snapshot (-ENOENT from the pin dir only).
 */
int mapsrc__open(const char *pin_dir, const char *snapshot_file, struct mapsrc **ret);
/* The live map only: -ENOENT without a tracker, -EPROTO (and its ABI) for another crux. */
int mapsrc__open_live(const char *pin_dir, struct mapsrc **ret, __u32 *ret_abi_version);
/*
 * No BPF at all: sockets from sock_diag, each owner the first holder in /proc that
 * consider() accepts (e.g. "outside the dumped tree"). For one dump without a tracker,
 * cheaper than loading the seed iterators. No connect() addresses, no stats.
 */
int mapsrc__open_diag(bool (*consider)(pid_t pid, void *arg), void *arg, struct mapsrc **ret);
void mapsrc__close(struct mapsrc *s);
enum mapsrc_kind mapsrc_kind(const struct mapsrc *s);

int mapsrc_lookup(struct mapsrc *s, __u64 ino, struct crux_sock *ret);
int mapsrc_lookup_conn(struct mapsrc *s, __u64 ino, struct crux_conn *ret);
int mapsrc_list(struct mapsrc *s, struct crux_sock **ret, size_t *ret_n);
int mapsrc_list_inbound(struct mapsrc *s, const __u64 *inos, size_t n, struct crux_sock **ret,
			size_t *ret_n);
int mapsrc_stats(struct mapsrc *s, __u64 *stats);
/* The live map filled up at some point: its answers may miss sockets. */
bool mapsrc_incomplete(struct mapsrc *s);
/* The listener on whose accept queue client_ino waits (sock_diag, exact), or 0. */
__u32 mapsrc_embryo_listener(struct mapsrc *s, __u64 client_ino);
/*
 * The tree iterators (include/treeiter.h) for this source, opened on first use and closed
 * with it: the tracker's pinned ones (live), a private load (kernel snapshot), or NULL (a
 * recorded snapshot has no processes; or the load failed).
 */
struct treeiter *mapsrc_treeiter(struct mapsrc *s);
/*
 * The outside records pointing into a tree (socks[0..n)): inbound candidates for
 * classify_tree(). Only classify_may_be_targeted() sockets are asked about. Clients queued
 * on listeners come from sock_diag (exact, no full pass); datagram servers need a full
 * pass over the map (*ret_full_pass tells, for the caller's diagnostics).
 */
int mapsrc_tree_inbound(struct mapsrc *s, const struct classify_sock *socks, size_t n,
			struct crux_sock **ret, size_t *ret_n, bool *ret_full_pass);
/*
 * Register as a watcher (the event programs publish only while one is registered) and
 * get the events ring buffer's fd, owned by s. Live state only: -ENOTSUP otherwise.
 */
int mapsrc_watch_begin(struct mapsrc *s, int *ret_events_fd);
void mapsrc_watch_end(struct mapsrc *s);

/* The classify_lookup that reads this source. */
void mapsrc_classify_lookup(struct mapsrc *s, struct classify_lookup *ret);

/* pid and its descendants (pid first); *ret malloc'ed, free with mapsrc_procs_free(). */
int mapsrc_tree(struct mapsrc *s, pid_t pid, struct mapsrc_proc **ret, size_t *ret_n);
/* One process (its socket fds and comm): -ESRCH if it does not exist. */
int mapsrc_proc(struct mapsrc *s, pid_t pid, struct mapsrc_proc *ret);
void mapsrc_proc_clear(struct mapsrc_proc *p);
void mapsrc_procs_free(struct mapsrc_proc *p, size_t n);

/* The fd of pid holding socket ino, or -ENOENT. */
int mapsrc_find_fd(struct mapsrc *s, pid_t pid, __u64 ino);

/*
 * Record the current state as a snapshot file: every socket record and conn record, the
 * stats, and the processes of the given pids and their descendants.
 */
int mapsrc_write_snapshot(struct mapsrc *s, FILE *out, const pid_t *pids, size_t n_pids);

#endif /* CRUX_MAPSRC_H */
