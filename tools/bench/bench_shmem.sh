#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared anonymous memory: a master and 4 forked workers sharing 256 MiB (every page
# written; tests/e2e/shmbig). Wall time of `crux dump` (kills the tree) and of
# `crux restore -d`, median of N cycles, and the image size; the same with criu dump /
# criu restore -d when a criu >= 4.1 is on PATH; ratio criu/crux.
# Usage: bench_shmem.sh [N] (default 5). SHM_MIB and SHM_WORKERS change the shape.
set -u
cd "$(dirname "$0")/../.." || exit 1
CRUX=${CRUX:-$PWD/.output/crux}
TGT=${CRUX_OUT:-$PWD/.output}/tests/e2e/shmbig
N=${1:-5}
MIB=${SHM_MIB:-256}
NW=${SHM_WORKERS:-4}
W=$(mktemp -d /tmp/crux-bench-shmem.XXXXXX)
PID= PIDS=
cleanup() {
	[ -n "$PIDS" ] && kill -9 $PIDS 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_shmem: needs root"; exit 0; }
[ -x "$TGT" ] || { echo "bench_shmem: $TGT missing (make first)"; exit 1; }

criu_ok() { # a criu >= 4.1 on PATH (older ones cannot run on this kernel's vDSO)
	local v
	v=$(criu --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "$v" ] && set -- $v && { [ "$1" -gt 4 ] || { [ "$1" = 4 ] && [ "$2" -ge 1 ]; }; }
}
wait_gone() { local i; for ((i = 0; i < 200; i++)); do [ -e "/proc/$1" ] || return 0; sleep 0.02; done; return 1; }
wait_file() { local i; for ((i = 0; i < 200; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
now() { date +%s%N; }
tree_pids() { local c; echo "$1"; for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done; }
wait_tree() { local p; for p in $PIDS; do wait_gone "$p"; done; } # every pid free again

start() { # dir: the target in its own session; sets PID
	rm -rf "$1"
	mkdir -p "$1"
	setsid "$TGT" "$1" "$MIB" "$NW" </dev/null >/dev/null 2>&1 &
	PID=$!
	wait_file "$1/ready"
}

# cycle TOOL: N dumps and restores; prints "dump_ms restore_ms image_kb"
cycle() {
	local tool=$1 d=$W/$1 i t0 t1 t2 kb=0
	: >"$W/dump" && : >"$W/rst"
	for ((i = 0; i < N; i++)); do
		start "$d" || { echo "bench_shmem: target did not start" >&2; return 1; }
		PIDS=$(tree_pids "$PID")
		t0=$(now)
		if [ "$tool" = crux ]; then
			"$CRUX" dump -t "$PID" -D "$d/img" >/dev/null 2>"$W/err"
		else
			mkdir -p "$d/img" && criu dump -t "$PID" -D "$d/img" --shell-job >/dev/null 2>"$W/err" ||
				false
		fi || { cat "$W/err" >&2; return 1; }
		t1=$(now)
		wait_tree
		kb=$(du -sk "$d/img" | cut -f1)
		if [ "$tool" = crux ]; then
			"$CRUX" restore -D "$d/img" -d >/dev/null 2>"$W/err"
		else
			criu restore -D "$d/img" -d --shell-job >/dev/null 2>"$W/err"
		fi || { cat "$W/err" >&2; return 1; }
		t2=$(now)
		echo $(((t1 - t0) / 1000)) >>"$W/dump"
		echo $(((t2 - t1) / 1000)) >>"$W/rst"
		kill -9 $PIDS 2>/dev/null
		wait_tree
	done
	echo "$(median <"$W/dump") $(median <"$W/rst") $kb"
}

ms() { awk -v v="$1" 'BEGIN {printf "%.1f", v / 1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1fx", a / b}'; }

echo "master + $NW workers sharing $MIB MiB of shared anonymous memory, median of $N"
read -r xd xr xk < <(cycle crux) || { echo "bench_shmem: crux failed"; exit 1; }
cd_=- cr=- ck=- rd=- rr=-
if criu_ok; then
	if read -r cd_ cr ck < <(cycle criu); then
		rd=$(ratio "$cd_" "$xd") rr=$(ratio "$cr" "$xr")
		cd_=$(ms "$cd_") cr=$(ms "$cr")
	fi
fi
printf '%-8s %10s %12s %10s\n' tool dump_ms restore_ms image_kb
printf '%-8s %10s %12s %10s\n' crux "$(ms "$xd")" "$(ms "$xr")" "$xk"
printf '%-8s %10s %12s %10s\n' criu "$cd_" "$cr" "$ck"
printf '%-8s %10s %12s\n' criu/crux "$rd" "$rr"
criu_ok || echo "(criu row empty: $(criu --version 2>/dev/null | head -n 1 || echo 'no criu') on PATH; criu >= 4.1 is needed on this kernel)"
