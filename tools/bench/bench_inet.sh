#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A real TCP service checkpointed and brought back: lighttpd (poll event handler) on
# 127.0.0.1 in a network namespace of the benchmark's own, with an idle keep-alive client
# outside it (an external established connection: TCP_REPAIR and the network lock).
# With a tracker running (its own pin dir). Each round: `crux dump` (killing) then `crux restore -d`, whole commands, wall ms, and the
# service must answer after each restore. The same with criu >= 4.1 when one is on PATH
# (criu dump --tcp-established, criu restore -d --tcp-established, both with --network-lock
# skip: the criu at hand has no nftables support and there is no iptables, so criu does
# less work than crux, which locks with nftables), rounds alternated.
# Prints medians and the ratio criu/crux. Usage: bench_inet.sh [N] (default 7).
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
N=${1:-7}
NS=crux-bench-inet-$$
W=$(mktemp -d /tmp/crux-bench-inet.XXXXXX)
PIN=/sys/fs/bpf/crux-bench-inet-$$
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	[ -d "$PIN" ] && "$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
	ip netns del "$NS" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

[ "$(id -u)" = 0 ] || { echo "bench_inet: needs root"; exit 0; }
command -v lighttpd >/dev/null || { echo "bench_inet: lighttpd missing (tools/deps.sh)"; exit 1; }
ip netns add "$NS" && ip netns exec "$NS" ip link set lo up || exit 1
# as a service host would run it: a tracker whose pinned tree iterator the dump attaches
"$CRUX" track -d --pin-dir "$PIN" >/dev/null 2>&1 || { echo "bench_inet: no tracker"; exit 1; }
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }

criu_ok() { # a criu >= 4.1 on PATH (older ones cannot run on this kernel's vDSO)
	local v
	v=$(criu --version 2>/dev/null | sed -n 's/^Version: \([0-9]*\)\.\([0-9]*\).*/\1 \2/p')
	[ -n "$v" ] && set -- $v && { [ "$1" -gt 4 ] || { [ "$1" = 4 ] && [ "$2" -ge 1 ]; }; }
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
wait_gone() { local i; for ((i = 0; i < 200; i++)); do [ -e /proc/$1 ] || return 0; sleep 0.01; done; return 1; }

mkdir -p "$W/www"
echo "bench" >"$W/www/index.html"

# start_service PORT: lighttpd on 127.0.0.1:PORT with a client kept connected; sets PID
start_service() {
	cat >"$W/l$1.conf" <<C
server.document-root = "$W/www"
server.bind = "127.0.0.1"
server.port = $1
server.event-handler = "poll"
server.max-keep-alive-idle = 3600
server.errorlog = "$W/l$1.err"
index-file.names = ("index.html")
C
	in_ns setsid /usr/sbin/lighttpd -D -f "$W/l$1.conf" </dev/null >/dev/null 2>&1 &
	local i
	for ((i = 0; i < 100; i++)); do
		PID=$(in_ns ss -Htlnp "sport = :$1" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
		[ -n "$PID" ] && break
		sleep 0.05
	done
	PIDS+=("$PID")
	# an idle keep-alive connection: the service holds an established TCP socket
	in_ns /usr/bin/python3 -c "
import socket, time
c = socket.create_connection(('127.0.0.1', $1))
c.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
c.recv(4096)
time.sleep(3600)" </dev/null >/dev/null 2>&1 &
	PIDS+=($!)
	sleep 0.3
}

serves() { in_ns curl -sf "http://127.0.0.1:$1/" >/dev/null; }

# round TOOL PORT: one dump + restore; appends "dump_ms restore_ms" to $W/TOOL
round() {
	local tool=$1 port=$2 d=$W/img-$1 t
	rm -rf "$d"
	mkdir -p "$d"
	t=$(date +%s%N)
	if [ "$tool" = crux ]; then
		in_ns "$CRUX" dump -t "$PID" -D "$d" --tcp-established --pin-dir "$PIN" >/dev/null 2>"$W/err" || return 1
	else
		in_ns criu dump -t "$PID" -D "$d" --tcp-established --network-lock skip \
			>/dev/null 2>"$W/err" || return 1
	fi
	local dump_ms
	dump_ms=$(ms_since "$t")
	wait_gone "$PID"
	t=$(date +%s%N)
	if [ "$tool" = crux ]; then
		in_ns "$CRUX" restore -D "$d" -d --tcp-established >/dev/null 2>"$W/err" || return 1
	else
		in_ns criu restore -D "$d" -d --tcp-established --network-lock skip \
			>/dev/null 2>"$W/err" || return 1
	fi
	echo "$dump_ms $(ms_since "$t")" >>"$W/$tool"
	serves "$port" || { echo "bench_inet: $tool: the restored service does not answer" >&2; return 1; }
}

tools=crux
start_service 8091
CRUX_PID=$PID
if criu_ok; then
	start_service 8092
	CRIU_PID=$PID
	tools="crux criu"
fi
for ((i = 0; i < N; i++)); do
	for tool in $tools; do
		if [ $tool = crux ]; then PID=$CRUX_PID port=8091; else PID=$CRIU_PID port=8092; fi
		round $tool $port || { echo "bench_inet: $tool round failed:"; cat "$W/err"; exit 1; }
	done
done
printf '%-22s %10s %12s %10s\n' "lighttpd, 1 client" dump_ms restore_ms total_ms
for tool in $tools; do
	dm=$(cut -d' ' -f1 "$W/$tool" | median)
	rm=$(cut -d' ' -f2 "$W/$tool" | median)
	tm=$(awk '{print $1 + $2}' "$W/$tool" | median)
	printf '%-22s %10s %12s %10s\n' "$tool" "$dm" "$rm" "$tm"
	eval "total_$tool=$tm"
done
if [ "$tools" = "crux criu" ]; then
	awk -v a="$total_criu" -v b="$total_crux" 'BEGIN {printf "criu/crux (dump + restore): %.1fx\n", a / b}'
else
	echo "criu/crux: - (no criu >= 4.1 on PATH)"
fi
