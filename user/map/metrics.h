/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The tracker's health in the Prometheus text exposition format (version 0.0.4): printed by
 * `crux-map stats --prometheus`, written by `crux track --metrics-dir` into a node-exporter
 * textfile directory. One writer, so both show the same names and values.
 */
#ifndef CRUX_METRICS_H
#define CRUX_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "abi.h"

/* The file `crux track --metrics-dir DIR` keeps current in DIR. */
#define METRICS_FILE "crux.prom"

struct metrics_in {
	struct crux_sock *socks; /* sorted by inode in place: peers are looked up in it */
	size_t n;
	const __u64 *stats; /* CRUX_ST__MAX counters, enum crux_stat */
	__u32 abi_version; /* of the state read (a pinned state of another is refused) */
	bool live; /* a tracker's pinned state, not a one-shot snapshot or a file */
	bool tracker_up; /* the tracker registered in the state runs */
	__u64 now_ns; /* CLOCK_REALTIME, for the uptime */
};

void metrics_print(FILE *out, const struct metrics_in *in);
/* DIR/crux.prom, replaced atomically (written aside, then renamed); 0 or -errno. */
int metrics_write_dir(const char *dir, const struct metrics_in *in);

#endif /* CRUX_METRICS_H */
