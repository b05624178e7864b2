// SPDX-License-Identifier: GPL-2.0-only
/*
 * Churn: workers in a private network namespace do tens of thousands of random socket
 * operations (churn.h), then hold still. The map is compared with that namespace's
 * sock_diag as a whole. The disagreements before any reconcile are a figure to drive down,
 * printed, not asserted: with SCM_RIGHTS, files dropped or purged in flight are invisible
 * to events; without it the figure is 0 (it was 1 in about one run in five while a
 * connect's peer refresh could bring back a socket another worker was closing), but a
 * close racing with a transient reference from another process (a /proc/PID/fd reader)
 * still leaves a record to reconcile. After one reconcile pass there must be none, in both
 * rounds, and again after the workers are killed.
 * CRUX_CHURN_OPS (per worker) and CRUX_CHURN_SEED reproduce a run.
 */
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "churn.h"
#include "tap.h"
#include "tracker.h"

#define WORKERS 4

static struct tracker trk;

/* One churn run: the disagreements before reconcile are a figure, none after it. */
static void churn_round(struct churn_cfg *cfg, bool no_scm, const char *label)
{
	struct topo_proc procs[WORKERS];
	char what[96];
	long total;
	int i;

	cfg->no_scm = no_scm;
	if (churn_start(procs, WORKERS, cfg))
		tap_bail("cannot start the churn workers: %s", strerror(errno));
	total = churn_wait_done(procs, WORKERS, cfg);
	is_int(total, (long)WORKERS * cfg->ops, "%s: every worker finished its operations", label);

	snprintf(what, sizeof(what), "%s: before reconcile", label);
	tracker_expect(&trk, -1, NULL, 0, what, false);
	tracker_expect_reconciled(&trk, -1, NULL, 0, label);

	for (i = 0; i < WORKERS; i++)
		topo_proc_kill(&procs[i]);
	snprintf(what, sizeof(what), "%s, workers killed: before reconcile", label);
	tracker_expect(&trk, -1, NULL, 0, what, false);
	snprintf(what, sizeof(what), "%s, workers killed", label);
	tracker_expect_reconciled(&trk, -1, NULL, 0, what);
}

int main(void)
{
	struct churn_cfg cfg;

	tracker_test_init(&trk, "churn");
	churn_cfg_from_env(&cfg, 10000, false);
	diag("churn: %d workers x %u operations, CRUX_CHURN_SEED=%u", WORKERS, cfg.ops, cfg.seed);
	/* a namespace of our own: the whole of it is ours to compare, exactly */
	if (unshare(CLONE_NEWNET))
		tap_bail("unshare(CLONE_NEWNET): %s", strerror(errno));

	churn_round(&cfg, true, "churn without SCM_RIGHTS");
	cfg.seed += WORKERS;
	churn_round(&cfg, false, "churn");
	return done_testing();
}
