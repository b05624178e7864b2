/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Random unix socket churn for the tracker tests: holder processes doing socketpair,
 * socket, bind, listen, connect, accept, send, shutdown, close, dup, dup2, close_range,
 * SCM_RIGHTS (received, dropped by a plain read, or purged with the carrier's queue) and
 * short-lived forks, with nonblocking sockets so that nothing blocks. fds are passed only
 * over per-worker carriers that are never passed themselves: no in-flight cycles, so no
 * release is left to the asynchronous unix GC and the end state is quiescent.
 */
#ifndef CRUX_CHURN_H
#define CRUX_CHURN_H

#include <stdbool.h>

#include "topo.h"

struct churn_cfg {
	unsigned ops; /* operations per worker */
	unsigned seed; /* worker i uses seed + i */
	unsigned report_every; /* also report progress every N ops (0: only at the end) */
	bool no_scm; /* no SCM_RIGHTS: every release is then visible to events */
	bool fork_close; /* half the ops: fork a child that inherits a fresh socketpair and
			    exits at once while the parent closes its copies */
};

/*
 * ops from CRUX_CHURN_OPS (else def_ops), seed from CRUX_CHURN_SEED (else time and pid:
 * print it, it reproduces the run); halfway: one progress report at ops / 2.
 */
void churn_cfg_from_env(struct churn_cfg *cfg, unsigned def_ops, bool halfway);
/*
 * Start n workers. Each reports {ops done} every report_every ops (without waiting) and
 * {ops, 1} at the end, then holds its sockets until churn_again() or topo_proc_finish/kill.
 */
int churn_start(struct topo_proc *procs, int n, const struct churn_cfg *cfg);
/* Run the same number of operations again (after churn_wait_done); report as before. */
#define CHURN_CMD_AGAIN 'g'
int churn_again(struct topo_proc *procs, int n);
/* Wait for one progress report of every worker (report_every must be set). */
int churn_wait_progress(struct topo_proc *procs, int n);
/* Wait for every worker's final report; returns the total number of operations or -errno. */
long churn_wait_done(struct topo_proc *procs, int n, const struct churn_cfg *cfg);

#endif /* CRUX_CHURN_H */
