/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A recorded crux-map snapshot (CRUX_MAP_SNAPSHOT, for golden tests, as iproute2's
 * TCPDIAG_FILE): every socket and conn record, the stats, and some processes with their
 * socket fds, read whole into memory; and the writers of its lines (mapsrc.c records).
 * Library-style: debug logging at most.
 */
#ifndef CRUX_SNAPFILE_H
#define CRUX_SNAPFILE_H

#include <stddef.h>
#include <stdio.h>

#include "abi.h"
#include "mapsrc.h"

struct snapfile {
	struct crux_sock *socks; /* sorted by ino */
	size_t n_socks;
	struct crux_conn *conns;
	__u64 *conn_ino;
	size_t n_conns;
	struct mapsrc_proc *procs;
	size_t n_procs;
	__u64 stats[CRUX_ST__MAX];
};

int snapfile_read(const char *path, struct snapfile **ret);
void snapfile_free(struct snapfile *f);
/* The recorded process pid, or NULL. */
struct mapsrc_proc *snapfile_proc(struct snapfile *f, pid_t pid);
/* Order of crux_sock records by inode (socks[] is sorted so). */
int snapfile_sock_cmp(const void *a, const void *b);

/* Lines of a snapshot: a binary-safe quoted string, a process with its fds, a socket. */
void snapfile_write_bytes(FILE *out, const char *b, size_t len);
void snapfile_write_proc(FILE *out, const struct mapsrc_proc *p);
void snapfile_write_sock(FILE *out, const struct crux_sock *r);

#endif /* CRUX_SNAPFILE_H */
