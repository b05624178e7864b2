/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Deterministic fault injection for the crash-safety tests: crux kills itself with SIGKILL at
 * its Nth fault point (CRUX_FAULT_AT=N), as the OOM killer or an impatient admin would.
 * CRUX_FAULT_COUNT=1 prints how many points a run passed ("fault points: N") at exit,
 * so a test can spread its kills over the whole run. Unset: one getenv, then a branch.
 */
#ifndef CRUX_FAULT_H
#define CRUX_FAULT_H

void fault_point(void);

#endif /* CRUX_FAULT_H */
