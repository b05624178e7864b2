#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Tracker overhead on a real unix-socket server: redis-server on a unix socket driven by
# redis-benchmark (SET and GET, 4 clients), with a new connection per request (-k 0: every
# request pays socket, connect, accept and two closes, the hooked paths) and kept alive
# (-k 1: only the data path, which is not hooked). Tracker off and on (`crux track` on its
# own pin dir, default reconcile) alternate within one run, R rounds each; the figure is
# the median requests/s of each side and the overhead (off - on) / off.
# Usage: bench_redis.sh [R] (default 5). Needs redis-server and redis-tools (tools/deps.sh).
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
R=${1:-5}
case $R in '' | *[!0-9]*) R=5 ;; esac
W=$(mktemp -d /tmp/crux-bench-redis.XXXXXX)
PIN=/sys/fs/bpf/crux-bench-redis-$$
SRV=
stop_tracker() { "$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1; }
cleanup() {
	[ -n "$SRV" ] && kill -9 "$SRV" 2>/dev/null && { wait "$SRV"; } 2>/dev/null
	stop_tracker
	rm -rf "$W" "$PIN"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_redis: needs root"; exit 0; }
for b in redis-server redis-benchmark; do
	command -v $b >/dev/null || { echo "bench_redis: $b missing (tools/deps.sh installs it)"; exit 1; }
done

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

redis-server --port 0 --unixsocket "$W/redis.sock" --unixsocketperm 700 --save "" \
	--appendonly no --daemonize no --dir "$W" >"$W/redis.log" 2>&1 &
SRV=$!
for i in $(seq 100); do [ -S "$W/redis.sock" ] && break; sleep 0.05; done
[ -S "$W/redis.sock" ] || { echo "bench_redis: redis-server did not start: $(cat "$W/redis.log")"; exit 1; }

start_tracker() {
	"$CRUX" track -d --pin-dir "$PIN" >/dev/null 2>"$W/track.err" ||
		{ echo "bench_redis: crux track failed: $(cat "$W/track.err")"; return 1; }
}

# rps KEEPALIVE N: total requests/s of SET and GET (sum of the two tests' rates)
rps() {
	redis-benchmark -s "$W/redis.sock" -c 4 -n "$2" -k "$1" -t set,get --csv -q 2>/dev/null |
		awk -F'"' '/^"(SET|GET)"/ {s += $4} END {printf "%.0f\n", s}'
}

for k in 0 1; do
	n=$([ $k = 0 ] && echo 20000 || echo 200000)
	: >"$W/off.$k"
	: >"$W/on.$k"
	rps $k $((n / 10)) >/dev/null # warm-up
	for ((r = 0; r < R; r++)); do
		# alternate which side goes first: drift over the run taxes both alike
		for side in $([ $((r % 2)) = 0 ] && echo "off on" || echo "on off"); do
			if [ $side = on ]; then start_tracker || exit 1; fi
			rps $k $n >>"$W/$side.$k"
			if [ $side = on ]; then stop_tracker; fi
		done
	done
done

printf '%-34s %12s %12s %9s\n' "redis-benchmark -c 4 SET+GET" "off req/s" "on req/s" "overhead"
for k in 0 1; do
	off=$(median <"$W/off.$k")
	on=$(median <"$W/on.$k")
	label=$([ $k = 0 ] && echo "new connection per request (-k 0)" || echo "kept alive (-k 1)")
	printf '%-34s %12s %12s %8.1f%%\n' "$label" "$off" "$on" \
		"$(awk -v a="$off" -v b="$on" 'BEGIN {print a ? 100 * (a - b) / a : 0}')"
done
for k in 0 1; do
	echo "(-k $k runs: off [$(tr '\n' ' ' <"$W/off.$k")] on [$(tr '\n' ' ' <"$W/on.$k")])"
done
echo "(medians of $R alternated rounds, load $(cut -d' ' -f1-3 /proc/loadavg))"
