#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: the story crux exists for, with real processes.
#  1. crux track keeps the live map of unix sockets (uses a running tracker if there is one)
#  2. a logd-style server, and a client tree that logs to it every half second and pings a
#     child over a socketpair
#  3. crux-map shows who talks to whom, and what a dump of the client tree would meet
#  4. crux dump refuses the tree (its logd socket is external), then dumps it with --ext-unix-sk
#  5. crux restore --ext-unix-sk brings the tree back: same pids, the counter continues, the
#     messages reach logd again, the socketpair still answers
# Everything started here is stopped at the end, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=$PWD/.output
CRUX=$OUT/crux
CRUX_MAP=$OUT/crux-map
D=$(mktemp -d /tmp/crux-demo.XXXXXX)
LOGD_SOCK=$D/logd.sock
started_tracker=0 logd= client=

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }
cleanup() {
	set +e
	[ -n "$client" ] && kill -9 "$client" $(pgrep -P "$client" 2>/dev/null) 2>/dev/null
	[ -n "$logd" ] && kill -9 "$logd" 2>/dev/null
	[ "$started_tracker" = 1 ] && "$CRUX" track --stop >/dev/null 2>&1
	rm -rf "$D"
}
trap cleanup EXIT

tools/setup.sh
step "1. the tracker"
if "$CRUX" track -d --log-file "$D/track.log" >"$D/track.pid" 2>"$D/track.err"; then
	started_tracker=1
	echo "crux track started (pid $(cat "$D/track.pid")), map pinned under /sys/fs/bpf/crux"
elif grep -q 'already running' "$D/track.err"; then
	echo "using the crux track that is already running"
else
	cat "$D/track.err" >&2
	exit 1
fi

step "2. a logd-style server and a client tree"
"$OUT/demo/demo_logd" "$LOGD_SOCK" >"$D/logd.out" 2>&1 &
logd=$!
disown
for _ in $(seq 50); do [ -S "$LOGD_SOCK" ] && break; sleep 0.1; done
setsid "$OUT/demo/demo_client" "$LOGD_SOCK" </dev/null >"$D/client.out" 2>&1 &
client=$!
disown
sleep 2
echo "logd pid $logd, client pid $client (child $(pgrep -P "$client"))"
tail -n 2 "$D/logd.out"

step "3. crux-map: who talks to whom"
run "$CRUX_MAP" peers "$client"
echo
run "$CRUX_MAP" who "$LOGD_SOCK"
echo
run "$CRUX_MAP" external "$client" || true

step "4. crux dump"
run "$CRUX" dump -t "$client" -D "$D/img" || echo "(refused, as crux-map said: exit status $?)"
echo
run "$CRUX" dump -t "$client" -D "$D/img" --ext-unix-sk
sleep 1
echo "the client is gone; logd's last lines:"
tail -n 2 "$D/logd.out"
echo
run "$CRUX" show "$D/img"
echo
run crit x "$D/img" fds

step "5. crux restore"
run "$CRUX" restore -D "$D/img" --ext-unix-sk -d
sleep 2
echo "logd again (the counter continues, the pair still answers):"
tail -n 4 "$D/logd.out"
last=$(tail -n 1 "$D/logd.out")
case $last in *"client $client: tick"*"from $(pgrep -P "$client")"*) ;;
*) echo "demo: the restored client does not reach logd" >&2; exit 1 ;;
esac
step "done: stopping everything"
