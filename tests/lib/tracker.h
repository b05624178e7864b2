/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A `crux track` for one test: its own pin dir /sys/fs/bpf/crux-test-<name>-<pid> (removed
 * before start, in case of leftovers, and after stop), run as a child that dies with the
 * test (PR_SET_PDEATHSIG), read through the sockmap API, compared with sock_diag.
 */
#ifndef CRUX_TRACKER_H
#define CRUX_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "abi.h"
#include "mapcheck.h"

struct sockmap;

struct tracker {
	pid_t pid;
	char pin_dir[128];
	struct sockmap *map;
};

/* The crux binary: $CRUX, else .output/crux next to the test's .output/tests/<group>/. */
const char *tracker_crux_path(void);
/*
 * Start `crux track --pin-dir` and wait until it has pinned its maps and published its pid
 * (it attaches before seeding, so everything after that is seen by an event or the seed).
 */
int tracker_start(struct tracker *t, const char *name);
/* The same with an explicit pin dir (benchmarks: outside the crux-test-* namespace). */
int tracker_start_at(struct tracker *t, const char *pin_dir);
/*
 * The prologue of a BPF test: skip the whole file when root or BTF is missing, ignore
 * SIGPIPE (a dead holder must fail a check, not kill the test), start the tracker or bail
 * out, and stop it and remove its pin dir at exit whatever happens.
 */
void tracker_test_init(struct tracker *t, const char *name);
/* Start again on the same pin dir (after tracker_kill). */
int tracker_restart(struct tracker *t);
/* Signal the tracker and reap it; the pinned state stays. */
void tracker_kill(struct tracker *t, int sig);
/* Stop for good: kill, `crux track --stop`, remove the pin dir. Safe to call twice. */
void tracker_stop(struct tracker *t);

/* Close the map handle (reopened on demand): before a test closes every fd it has. */
void tracker_detach_map(struct tracker *t);
/* Every record of the map. *ret is malloc'ed. */
int tracker_records(struct tracker *t, struct crux_sock **ret, size_t *ret_n);
/* One strict reconcile pass through the pinned iterators. */
int tracker_reconcile(struct tracker *t, __u64 *ret_swept);
/*
 * sock_diag of a netns (netns_fd, -1: ours) against the map, over inos[0..n) or, with inos
 * NULL, the whole netns. Disagreements go out as diagnostics. Returns their count, or a
 * negative errno when either side could not be read.
 */
int tracker_compare(struct tracker *t, int netns_fd, const __u64 *inos, size_t n,
		    const char *label, struct mapcheck_result *ret);

/*
 * A scenario check over inos[0..n) in netns_fd (-1: ours). exact: the map must agree from
 * events alone (a TAP check); otherwise the disagreements are a figure reported as a
 * diagnostic (paths only reconcile fixes, bpf.md 3.7). Returns the disagreements.
 */
int tracker_expect(struct tracker *t, int netns_fd, const __u64 *inos, size_t n,
		   const char *label, bool exact);
/* Reconcile, then a TAP check that the map agrees exactly. */
int tracker_expect_reconciled(struct tracker *t, int netns_fd, const __u64 *inos, size_t n,
			      const char *label);

#endif /* CRUX_TRACKER_H */
