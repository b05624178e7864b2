#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux dump and restore of a process with 1, 4, 16 and 64 threads (tests/e2e/thrtgt idle):
# wall time of the whole command (dump kills the target; restore -d), median of N cycles,
# and the injected syscalls the restore reports. The baseline is the one-thread process of
# the same run: the extra cost per thread is (time(n) - time(1)) / (n - 1).
# Usage: bench_threads.sh [N] (default 5).
set -u
cd "$(dirname "$0")/../.." || exit 1
CRUX=${CRUX:-$PWD/.output/crux}
TGT=${CRUX_OUT:-$PWD/.output}/tests/e2e/thrtgt
N=${1:-5}
W=$(mktemp -d /tmp/crux-bench-threads.XXXXXX)
PID=
cleanup() {
	[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_threads: needs root"; exit 0; }
[ -x "$TGT" ] || { echo "bench_threads: $TGT missing (make first)"; exit 1; }

wait_gone() { local i; for ((i = 0; i < 100; i++)); do [ -e "/proc/$1" ] || return 0; sleep 0.02; done; return 1; }
wait_file() { local i; for ((i = 0; i < 100; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
us() { echo $((($2 - $1) / 1000)); } # ns ns -> us

# cycle THREADS: one dump + restore -d; appends "dump_us restore_us calls" to $W/t<THREADS>
cycle() {
	local n=$1 d=$W/run t0 t1 t1b t2 calls
	rm -rf "$d" && mkdir -p "$d"
	setsid "$TGT" idle "$d" "$n" </dev/null >"$d/log" 2>&1 &
	PID=$!
	disown # no "Killed" job reports: the dump kills it
	wait_file "$d/ready" || { echo "bench_threads: target not ready" >&2; return 1; }
	t0=$(date +%s%N)
	"$CRUX" dump -t "$PID" -D "$d/img" >"$d/dump.out" 2>&1 || { cat "$d/dump.out" >&2; return 1; }
	t1=$(date +%s%N)
	wait_gone "$PID" || { echo "bench_threads: pid $PID still busy" >&2; return 1; }
	t1b=$(date +%s%N)
	"$CRUX" restore -D "$d/img" -d -v >"$d/restore.out" 2>&1 || { cat "$d/restore.out" >&2; return 1; }
	t2=$(date +%s%N)
	[ "$(ls /proc/"$PID"/task | wc -l)" = "$n" ] || { echo "bench_threads: not $n threads back" >&2; return 1; }
	calls=$(sed -n 's/.*, \([0-9]*\) injected syscalls.*/\1/p' "$d/restore.out")
	echo "$(us "$t0" "$t1") $(us "$t1b" "$t2") $calls" >>"$W/t$n"
	kill -9 "$PID" # restored with -d: a child of init now, not ours to wait for
	wait_gone "$PID"
}

sizes="1 4 16 64"
for ((i = 0; i < N; i++)); do
	for n in $sizes; do cycle "$n" || exit 1; done
done
printf '%-8s %10s %12s %10s %16s %18s\n' threads dump_ms restore_ms calls "dump/thread_ms" "restore/thread_ms"
for n in $sizes; do
	d=$(cut -d' ' -f1 "$W/t$n" | median)
	r=$(cut -d' ' -f2 "$W/t$n" | median)
	c=$(cut -d' ' -f3 "$W/t$n" | median)
	[ "$n" = 1 ] && d1=$d r1=$r
	if [ "$n" = 1 ]; then
		pd=- pr=-
	else
		pd=$(awk -v a="$d" -v b="$d1" -v n="$n" 'BEGIN {printf "%.2f", (a - b) / (n - 1) / 1000}')
		pr=$(awk -v a="$r" -v b="$r1" -v n="$n" 'BEGIN {printf "%.2f", (a - b) / (n - 1) / 1000}')
	fi
	printf '%-8s %10.1f %12.1f %10s %16s %18s\n' "$n" "$(awk -v x="$d" 'BEGIN {print x / 1000}')" \
		"$(awk -v x="$r" 'BEGIN {print x / 1000}')" "$c" "$pd" "$pr"
done
