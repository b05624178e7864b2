#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux dump with a tracker running (its own pin dir): owners and inbound sockets come from
# the live map, the tree's own sockets from the tree iterator, and the two agree (no
# disagreement is reported). The logd-style client's connect() address is recorded from
# the map; an outside client of an inside server is reported with its owner.
. "$(dirname "$0")/dump_lib.sh"

pin=/sys/fs/bpf/crux-test-dump-map-$$
rm -rf "$pin"
"$CRUX" track --pin-dir "$pin" --reconcile-ms 0 </dev/null >"$tmp/track.log" 2>&1 &
trk=$!
pids+=("$trk")
stop_tracker() {
	kill "$trk" 2>/dev/null
	{ wait "$trk"; } 2>/dev/null
	"$CRUX" track --stop --pin-dir "$pin" >/dev/null 2>&1
	rm -rf "$pin"
	cleanup
}
trap stop_tracker EXIT
for i in $(seq 250); do
	grep -q "tracking unix sockets" "$tmp/track.log" && break
	sleep 0.04
done
grep -q "tracking unix sockets" "$tmp/track.log"
ok $? "a tracker runs with pin dir $pin"

start dgram-server || exit 1
srv=$tpid sdir=$tdir
start dgram-client "$sdir/srv" || exit 1
cli=$tpid cdir=$tdir
out=$("$CRUX" dump -t $cli -D "$cdir/img" --pin-dir "$pin" 2>&1)
ok "$([ $? = 1 ]; echo $?)" "with the live map: the logd-style client is refused without the option"
has "$out" "of pid $srv \(dumptgt\)" "the peer's owner comes from the map"
hasnt "$out" "one-shot" "no fallback snapshot is taken"
out=$("$CRUX" dump -t $cli -D "$cdir/img2" --pin-dir "$pin" --ext-unix-sk -R 2>&1)
ok $? "accepted with --ext-unix-sk"
hasnt "$out" "disagree|missing from the live map" "the map agrees with the kernel on the tree's sockets"
show=$("$CRUX" show "$cdir/img2" 2>&1)
has "$show" "connected to $sdir/srv" "the connect() address is recorded for the reconnector"

out=$("$CRUX" dump -t $srv -D "$sdir/img" --pin-dir "$pin" -R 2>&1)
ok $? "the inside server is dumped"
has "$out" "warning: .*outside pid $cli \(dumptgt\)" "its outside client is reported, from the map"
has "$out" "1 inbound" "counted as inbound"
running $srv "$sdir"
ok $? "the server runs on"
done_testing
