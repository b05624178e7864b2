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
export CRUX_TEST_RUN="bench$$"
if [ "$(id -u)" = 0 ]; then
	tools/setup.sh
fi
trap 'tools/cleanup.sh "$CRUX_TEST_RUN" >/dev/null 2>&1' EXIT

# Other trackers on the host (other test runs) slow the "off" side too: say so.
others=$(find /sys/fs/bpf -maxdepth 1 -name 'crux*' 2>/dev/null | wc -l)
echo "bench: $(nproc) cpus, kernel $(uname -r), $others crux pin dirs already on the host"

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
