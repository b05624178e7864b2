#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Dump and restore of a real event-loop daemon: redis-server on a unix socket only (epoll,
# 5 threads) holding KEYS keys. One instance for crux and one for criu (when a criu >= 4.1
# is on PATH), alternated round by round: each round dumps the running server (killed)
# and restores it; the next round dumps the restored one. Whole commands, wall ms, median
# of N rounds; the server answers GET after every restore. Ratio: criu / crux. crux runs
# as deployed, with `crux track` running (its own pin dir): without one, a dump first loads
# and verifies its BPF iterators (about 0.15 s more).
# Usage: bench_daemon.sh [N] [KEYS] (default 7 rounds, 20000 keys).
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
N=${1:-7}
KEYS=${2:-20000}
W=$(mktemp -d /tmp/crux-bench-daemon.XXXXXX)
PIN=/sys/fs/bpf/crux-bench-daemon-$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$W"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_daemon: needs root"; exit 0; }
command -v redis-server >/dev/null || { echo "bench_daemon: redis-server missing (tools/deps.sh)"; exit 1; }

criu_ok() { # a criu >= 4.1 on PATH (older ones cannot run on this kernel's vDSO)
	local v
	v=$(criu --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "$v" ] && set -- $v && { [ "$1" -gt 4 ] || { [ "$1" = 4 ] && [ "$2" -ge 1 ]; }; }
}
wait_gone() { local i; for ((i = 0; i < 250; i++)); do [ -e /proc/$1 ] || return 0; sleep 0.02; done; return 1; }
wait_sock() { local i; for ((i = 0; i < 100; i++)); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ms() { echo $((($2 - $1) / 1000000)); }

start_redis() { # dir; prints the pid
	mkdir -p "$1"
	setsid python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \
		redis-server --port 0 --unixsocket "$1/sock" --save "" --appendonly no --dir "$1" \
		</dev/null >"$1/log" 2>&1 &
	wait_sock "$1/sock" || return 1
	seq "$KEYS" | awk '{printf "*3\r\n$3\r\nSET\r\n$%d\r\nk%s\r\n$8\r\nvalue%03d\r\n", length($1) + 1, $1, $1 % 1000}' |
		redis-cli -s "$1/sock" --pipe >/dev/null || return 1
	echo $!
}

check() { # dir
	[ "$(redis-cli -s "$1/sock" get k7)" = value007 ] &&
		[ "$(redis-cli -s "$1/sock" dbsize)" = "$KEYS" ]
}

# one_round TOOL DIR PID: dump + restore, appends "dump_ms restore_ms" to DIR/times; prints the new pid
one_round() {
	local tool=$1 d=$2 pid=$3 t0 t1 t2 npid
	rm -rf "$d/img"
	mkdir -p "$d/img"
	t0=$(date +%s%N)
	if [ "$tool" = crux ]; then
		rmdir "$d/img"
		"$CRUX" dump -t "$pid" -D "$d/img" --pin-dir "$PIN" >/dev/null 2>"$d/err" || { cat "$d/err" >&2; return 1; }
	else
		criu dump -t "$pid" -D "$d/img" >/dev/null 2>"$d/err" || { cat "$d/err" >&2; return 1; }
	fi
	t1=$(date +%s%N)
	wait_gone "$pid" || return 1
	t2=$(date +%s%N)
	if [ "$tool" = crux ]; then
		npid=$("$CRUX" restore -D "$d/img" -d 2>"$d/err" | head -n 1)
	else
		criu restore -D "$d/img" -d >/dev/null 2>"$d/err" && npid=$pid
	fi
	t3=$(date +%s%N)
	[ -n "${npid:-}" ] || { cat "$d/err" >&2; return 1; }
	PIDS+=("$npid")
	check "$d" || { echo "bench_daemon: $tool: the restored server lost its data" >&2; return 1; }
	echo "$(ms "$t0" "$t1") $(ms "$t2" "$t3")" >>"$d/times"
	echo "$npid"
}

"$CRUX" track -d --pin-dir "$PIN" >/dev/null 2>&1 || { echo "bench_daemon: crux track did not start"; exit 1; }
tools=crux
criu_ok && tools="crux criu"
declare -A pid
for t in $tools; do
	pid[$t]=$(start_redis "$W/$t") || { echo "bench_daemon: redis did not start"; exit 1; }
	PIDS+=("${pid[$t]}")
done
pages=$(awk '/^Rss/ {s += $2} END {print s}' /proc/"${pid[crux]}"/smaps 2>/dev/null)
for ((i = 0; i < N; i++)); do
	for t in $tools; do
		pid[$t]=$(one_round "$t" "$W/$t" "${pid[$t]}") || { echo "bench_daemon: $t round $i failed"; exit 1; }
	done
done
printf 'redis-server, %d keys, RSS %s kB, %d rounds (median ms)\n' "$KEYS" "$pages" "$N"
printf '%-8s %10s %12s %10s\n' tool dump_ms restore_ms total_ms
for t in $tools; do
	d=$(cut -d' ' -f1 "$W/$t/times" | median)
	r=$(cut -d' ' -f2 "$W/$t/times" | median)
	printf '%-8s %10s %12s %10s\n' "$t" "$d" "$r" "$(awk -v a="$d" -v b="$r" 'BEGIN {print a + b}')"
	eval "tot_$t=$(awk -v a="$d" -v b="$r" 'BEGIN {print a + b}')"
done
if criu_ok; then
	awk -v a="$tot_criu" -v b="$tot_crux" 'BEGIN {printf "criu / crux (dump + restore): %.1fx\n", a / b}'
else
	echo "(no criu column: $(criu --version 2>/dev/null | head -n 1 || echo 'no criu') on PATH; criu >= 4.1 is needed on this kernel)"
fi
