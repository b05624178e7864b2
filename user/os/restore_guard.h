/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The restore guard (issue #9): a killed `crux restore` leaves nothing behind. Before
 * anything is created crux forks a small guard process and tells it, over a socketpair,
 * every task it creates (a pidfd) and every socket file it is about to bind (path, type).
 * On success crux says "commit" and the guard exits. If crux dies first (SIGKILL at any
 * point, the OOM killer), the socketpair reaches EOF without a commit and the guard kills
 * the tasks by pidfd (no pid reuse race), waits for them to end, and unlinks those socket
 * files that nothing listens at any more (a live socket there is someone else's). The guard ignores SIGINT, SIGTERM and SIGHUP, so a ^C that kills crux
 * does not kill it too.
 */
#ifndef CRUX_RESTORE_GUARD_H
#define CRUX_RESTORE_GUARD_H

#include <stdbool.h>
#include <sys/types.h>

struct rst_guard {
	int fd; /* crux's end; -1: no guard */
	pid_t pid;
};

/*
 * Fork the guard. taken(pid, arg) says whether a pid is one the restore needs: a guard that
 * got such a pid is replaced. 0 or -errno.
 */
int rst_guard_start(struct rst_guard *g, bool (*taken)(pid_t pid, void *arg), void *arg);
/* Tell the guard about a created task or a bound socket file. 0 or -errno. */
int rst_guard_task(struct rst_guard *g, pid_t pid);
/* Call it before bind(): a kill between the two must not leave the name behind. */
int rst_guard_name(struct rst_guard *g, const char *path, int sock_type);
/* Success: the guard forgets everything and exits (reaped here). */
void rst_guard_commit(struct rst_guard *g);
/* Failure, after crux cleaned up itself: the guard does it again (harmless) and exits. */
void rst_guard_abort(struct rst_guard *g);

#endif /* CRUX_RESTORE_GUARD_H */
