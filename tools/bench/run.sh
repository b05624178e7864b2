#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: every benchmark, in turn. The convention for adding one: a compiled
# tools/bench/bench_X.c (built to .output/bench/bench_X) or an executable script
# tools/bench/bench_X.sh; each prints its own table (medians, ratios against a baseline
# measured in the same run) and exits non-zero on failure. Extra arguments go to each.
# BENCH_ONLY=X runs just bench_X.
set -u
cd "$(dirname "$0")/../.."
OUT=.output
export CRUX="$PWD/$OUT/crux" CRUX_MAP="$PWD/$OUT/crux-map" CRUX_OUT="$PWD/$OUT"
# No CRUX_TEST_RUN here: a `make check` starting meanwhile kills every process carrying one.
# Benchmark children die with their parent (PR_SET_PDEATHSIG) and pin under crux-bench-*.
if [ "$(id -u)" = 0 ]; then
	tools/setup.sh
fi
stale_pins() { # crux-bench-<name>-<pid> dirs whose benchmark is gone
	local d pid
	for d in /sys/fs/bpf/crux-bench-*; do
		[ -e "$d" ] || continue
		pid=${d##*-}
		kill -0 "$pid" 2>/dev/null || rm -rf "$d"
	done
}
stale_pins
trap stale_pins EXIT

# Other trackers on the host (other test runs) slow the "off" side too: say so.
others=$(find /sys/fs/bpf -maxdepth 1 -name 'crux*' 2>/dev/null | wc -l)
progs=$(bpftool prog show 2>/dev/null | grep -c ' name tp_sys_enter_close ')
echo "bench: $(nproc) cpus, kernel $(uname -r), $others crux pin dirs and $progs crux close" \
	"programs already loaded on the host (each one taxes both sides), load $(cut -d' ' -f1-3 /proc/loadavg)"

rc=0 ran=0
for b in "$OUT"/bench/bench_* tools/bench/bench_*.sh; do
	[ -x "$b" ] && [ -f "$b" ] || continue
	case $b in *.d | *.o) continue ;; esac
	name=$(basename "$b")
	name=${name%.sh}
	if [ -n "${BENCH_ONLY:-}" ] && [ "$name" != "bench_$BENCH_ONLY" ]; then
		continue
	fi
	echo
	echo "== $name"
	start=$(date +%s)
	if ! "$b" "$@"; then
		echo "bench: $name failed"
		rc=1
	fi
	echo "($name: $(($(date +%s) - start)) s)"
	ran=$((ran + 1))
done
[ $ran -gt 0 ] || echo "bench: no benchmarks found"
exit $rc
