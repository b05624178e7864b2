#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Remove what a test run may have left behind: pinned BPF objects of test pin directories
# (/sys/fs/bpf/crux-test-*) and processes started by a test run (they carry CRUX_TEST_RUN
# in their environment). With an argument, only processes of that run id.
set -u
want=${1:-}
for env in /proc/[0-9]*/environ; do
	pid=${env#/proc/}
	pid=${pid%/environ}
	[ "$pid" = "$$" ] && continue
	run=$( (tr '\0' '\n' <"$env") 2>/dev/null | sed -n 's/^CRUX_TEST_RUN=//p' | head -n 1)
	[ -n "$run" ] || continue
	if [ -z "$want" ] || [ "$run" = "$want" ]; then
		kill -9 "$pid" 2>/dev/null || true
	fi
done
# Unlinking a pin detaches its program once nothing else holds it.
for d in /sys/fs/bpf/crux-test-*; do
	[ -e "$d" ] && rm -rf "$d"
done
exit 0
