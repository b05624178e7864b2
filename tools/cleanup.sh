#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Remove what a test run left behind: processes started by a test run (they carry
# CRUX_TEST_RUN=run<runner pid> in their environment) and pinned BPF objects of test pin
# directories (/sys/fs/bpf/crux-test-<name>-<pid>).
#   cleanup.sh          leftovers of runs whose runner is gone, pin dirs whose test is gone
#   cleanup.sh RUN      every process of run RUN, and pin dirs whose test is gone
#   cleanup.sh --images DIR...
#                       only the temporary image directories (.NAME.crux-PID.tmp) of killed
#                       dumps in each DIR, whose crux pid is gone (also swept in /tmp and
#                       its subdirectories by the other forms)
# Runs that are still going (another `make check` on the same machine) are left alone.
set -u
alive() { [ -d "/proc/$1" ]; }

sweep_images() { # DIR...: .NAME.crux-PID.tmp directories whose crux is dead
	local dir t pid
	for dir in "$@"; do
		for t in "$dir"/.*.crux-*.tmp; do
			[ -d "$t" ] || continue
			pid=${t##*.crux-}
			pid=${pid%.tmp}
			case $pid in '' | *[!0-9]*) continue ;; esac
			alive "$pid" || rm -rf "$t"
		done
	done
}
if [ "${1:-}" = --images ]; then
	shift
	sweep_images "$@"
	exit 0
fi
want=${1:-}

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
sweep_images /tmp /tmp/*/
exit 0
