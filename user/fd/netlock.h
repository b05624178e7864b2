/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The network lock of external TCP connections: while a connection is checkpointed and
 * until it is restored, its peer must not get a reset from a kernel that no longer has
 * the socket. An nftables table of crux's own ("inet crux-lock-PID") drops the packets of
 * each connection's 4-tuple in both directions; restore deletes it once the sockets are
 * back. Command-level helper: runs nft(8) and logs its failures.
 */
#ifndef CRUX_NETLOCK_H
#define CRUX_NETLOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "inet.h"

struct netlock_conn {
	struct inet_ep src, dst; /* our end, the peer's */
};

struct netlock;

/* Install the table for pid's dump; 0 or -errno (logged). */
int netlock__new(pid_t pid, const struct netlock_conn *c, size_t n, struct netlock **ret);
const char *netlock_name(const struct netlock *l);
/* Say what was locked and how to unlock it by hand. */
void netlock_report(const struct netlock *l);
/* Delete the table (a failed dump); NULL is fine. */
void netlock__remove(struct netlock *l);
void netlock__free(struct netlock *l);
/* Restore: delete the table named in the image (absent: nothing to do). */
int netlock_unlock(const char *table);

#endif /* CRUX_NETLOCK_H */
