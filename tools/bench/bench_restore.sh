#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux restore: wall time (whole command, -d) and peak RSS, median of N restores of one
# image, for a process with 12 unix sockets + a pipe (sockets) and a logd client with an
# external datagram peer (logd-client, --ext-unix-sk). The same with `criu restore -d`
# when a criu >= 4.1 is on PATH (its dump and restore of the same live target); the
# ratio is criu/crux. Usage: bench_restore.sh [N] (default 7).
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
TGT=${CRUX_OUT:-$PWD/.output}/tests/e2e/rsttgt
N=${1:-7}
W=$(mktemp -d /tmp/crux-bench-restore.XXXXXX)
SRV=
cleanup() {
	[ -n "$SRV" ] && kill -9 "$SRV" 2>/dev/null
	pkill -9 -f "$W/" 2>/dev/null # lint: only our own targets (their argv holds $W)
	rm -rf "$W"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_restore: needs root"; exit 0; }
[ -x "$TGT" ] || { echo "bench_restore: $TGT missing (make first)"; exit 1; }

criu_ok() { # a criu >= 4.1 on PATH (older ones cannot run on this kernel's vDSO)
	local v
	v=$(criu --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "$v" ] && set -- $v && { [ "$1" -gt 4 ] || { [ "$1" = 4 ] && [ "$2" -ge 1 ]; }; }
}

wait_gone() { local i; for ((i = 0; i < 100; i++)); do [ -e /proc/$1 ] || return 0; sleep 0.02; done; return 1; }
wait_file() { local i; for ((i = 0; i < 100; i++)); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

# run_restores LABEL PID -- restore command...: N timed restores; prints "ms_median rss_max_kb"
run_restores() {
	local pid=$1 i t0 t1 rss
	shift
	: >"$W/times"
	: >"$W/rss"
	for ((i = 0; i < N; i++)); do
		wait_gone "$pid" || { echo "bench_restore: pid $pid still busy" >&2; return 1; }
		t0=$(date +%s%N)
		/usr/bin/time -f %M -o "$W/rss.1" "$@" >/dev/null 2>"$W/err" || {
			cat "$W/err" >&2
			return 1
		}
		t1=$(date +%s%N)
		echo "$(((t1 - t0) / 1000))" >>"$W/times"
		cat "$W/rss.1" >>"$W/rss"
		kill -9 "$pid" 2>/dev/null
	done
	echo "$(median <"$W/times") $(sort -n "$W/rss" | tail -n 1)"
}

start_target() { # topo dir [arg]; sets PID
	mkdir -p "$2"
	setsid "$TGT" "$1" "$2" ${3:+"$3"} </dev/null >"$2/log" 2>&1 &
	wait_file "$2/ready" || return 1
	PID=$(pgrep -f "rsttgt $1 $2" | head -n 1)
}

mkdir -p "$W/srv"
setsid "$TGT" logd-server "$W/srv" </dev/null >/dev/null 2>&1 &
wait_file "$W/srv/ready"
SRV=$(pgrep -f "rsttgt logd-server $W/srv" | head -n 1)

printf '%-12s %12s %10s %12s %10s %8s\n' config crux_ms crux_rss criu_ms criu_rss criu/crux
for cfg in sockets logd-client; do
	d=$W/$cfg
	ext=
	[ $cfg = logd-client ] && ext=--ext-unix-sk
	start_target $cfg "$d" "$W/srv/logd" || { echo "bench_restore: $cfg did not start"; exit 1; }
	"$CRUX" dump -t "$PID" -D "$d/img" $ext >/dev/null 2>&1 || { echo "bench_restore: dump failed"; exit 1; }
	read -r ms rss < <(run_restores "$PID" "$CRUX" restore -D "$d/img" -d $ext) || exit 1
	cms=- crss=- ratio=-
	if criu_ok; then
		wait_gone "$PID"
		start_target $cfg "$d/c" "$W/srv/logd"
		if criu dump -t "$PID" -D "$d/c" $ext --shell-job >/dev/null 2>&1; then
			read -r cms crss < <(run_restores "$PID" criu restore -D "$d/c" -d $ext --shell-job)
			ratio=$(awk -v a="$cms" -v b="$ms" 'BEGIN {printf "%.1fx", a / b}')
			cms=$(awk -v v="$cms" 'BEGIN {printf "%.1f", v / 1000}')
		fi
	fi
	printf '%-12s %12.1f %8s KB %12s %7s KB %8s\n' $cfg "$(awk -v v="$ms" 'BEGIN {print v / 1000}')" \
		"$rss" "$cms" "$crss" "$ratio"
	kill -9 "$PID" 2>/dev/null
done
criu_ok || echo "(criu columns empty: $(criu --version 2>/dev/null | head -n 1 || echo 'no criu') on PATH; criu >= 4.1 is needed on this kernel)"
