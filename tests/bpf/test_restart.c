// SPDX-License-Identifier: GPL-2.0-only
/*
 * Tracker restart: churn workers (churn.h) in a private network namespace; halfway through
 * the tracker is SIGKILLed and a new one started on the same pin dir while the workers
 * keep going; then a second churn run entirely under the new tracker. After the churn, the disagreements are reported, and after one reconcile
 * pass there must be none. CRUX_CHURN_OPS and CRUX_CHURN_SEED reproduce a run.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "churn.h"
#include "tap.h"
#include "tracker.h"

#define WORKERS 3

static struct tracker trk;

int main(void)
{
	struct topo_proc procs[WORKERS];
	struct churn_cfg cfg;
	long total;
	pid_t old;
	int i, err;

	tracker_test_init(&trk, "restart");
	churn_cfg_from_env(&cfg, 10000, true);
	diag("restart: %d workers x %u operations, CRUX_CHURN_SEED=%u", WORKERS, cfg.ops, cfg.seed);
	if (unshare(CLONE_NEWNET))
		tap_bail("unshare(CLONE_NEWNET): %s", strerror(errno));

	if (churn_start(procs, WORKERS, &cfg))
		tap_bail("cannot start the churn workers: %s", strerror(errno));
	if (churn_wait_progress(procs, WORKERS))
		tap_bail("churn workers died before halfway");
	old = trk.pid;
	tracker_kill(&trk, SIGKILL);
	ok(kill(old, 0) < 0 && errno == ESRCH, "tracker %d SIGKILLed mid-churn", old);
	err = tracker_restart(&trk);
	is_int(err, 0, "a new tracker started on the same pin dir (pid %d)", trk.pid);
	total = churn_wait_done(procs, WORKERS, &cfg);
	is_int(total, (long)WORKERS * cfg.ops, "churn: every worker finished its operations");
	/* and a second run, all of it under the new tracker */
	if (churn_again(procs, WORKERS))
		tap_bail("churn workers died");
	total = churn_wait_done(procs, WORKERS, &cfg);
	is_int(total, (long)WORKERS * cfg.ops, "churn again under the new tracker: finished");

	tracker_expect(&trk, -1, NULL, 0, "after restart: before reconcile", false);
	tracker_expect_reconciled(&trk, -1, NULL, 0, "after restart");
	for (i = 0; i < WORKERS; i++)
		topo_proc_kill(&procs[i]);
	tracker_expect(&trk, -1, NULL, 0, "after restart, workers killed: before reconcile", false);
	tracker_expect_reconciled(&trk, -1, NULL, 0, "after restart, workers killed");
	return done_testing();
}
