#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Remove what a test run left behind: processes started by a test run (they carry
# CRUX_TEST_RUN=run<runner pid> in their environment) and pinned BPF objects of test pin
# directories (/sys/fs/bpf/crux-test-<name>-<pid>).
#   cleanup.sh          leftovers of runs whose runner is gone, pin dirs whose test is gone
#   cleanup.sh RUN      every process of run RUN, and pin dirs whose test is gone
# Runs that are still going (another `make check` on the same machine) are left alone.
set -u
want=${1:-}
alive() { [ -d "/proc/$1" ]; }

for env in /proc/[0-9]*/environ; do
	pid=${env#/proc/}
	pid=${pid%/environ}
	[ "$pid" = "$$" ] && continue
	run=$( (tr '\0' '\n' <"$env") 2>/dev/null | sed -n 's/^CRUX_TEST_RUN=//p' | head -n 1)
	[ -n "$run" ] || continue
	if [ -n "$want" ]; then
		[ "$run" = "$want" ] || continue
	else
		runner=${run#run}
		case $runner in '' | *[!0-9]*) ;; *) alive "$runner" && continue ;; esac
	fi
	kill -9 "$pid" 2>/dev/null || true
done

# Unlinking a pin detaches its program once nothing else holds it.
for d in /sys/fs/bpf/crux-test-*; do
	[ -e "$d" ] || continue
	owner=${d##*-}
	case $owner in "" | *[!0-9]*) ;; *) alive "$owner" && continue ;; esac
	rm -rf "$d"
done
exit 0
