#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The owner crux-map shows holds the socket now, under its comm now. With a tracker running
# (its own pin dir, no reconcile): a process makes a socketpair (it is the recorded owner of
# both ends), forks, closes one end and keeps the other; the child keeps the end its parent
# closed and renames itself. crux-map peers of the parent names the child, by its new comm.
. "$(dirname "$0")/../e2e/dump_lib.sh"
CRUX_MAP=${CRUX_MAP:-$CRUX_OUT/crux-map}

pin=/sys/fs/bpf/crux-test-owner-$$
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

cat >"$tmp/fork.py" <<'PY'
import ctypes, os, socket, sys, time
d = sys.argv[1]
a, b = socket.socketpair()
c = os.fork()
if c == 0:
    b.close()
    ctypes.CDLL(None).prctl(15, b"renamed-kid", 0, 0, 0)  # PR_SET_NAME
    open(d + "/child", "w").write("%d\n" % os.getpid())
    time.sleep(600)
    os._exit(0)
a.close()
while not os.path.exists(d + "/child"):
    time.sleep(0.01)
open(d + "/ino", "w").write("%d %d\n" % (os.fstat(b.fileno()).st_ino, c))
os.rename(d + "/ino", d + "/ready")
time.sleep(600)
PY
python3 "$tmp/fork.py" "$tmp" </dev/null >/dev/null 2>&1 &
par=$!
pids+=("$par")
for i in $(seq 250); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
read -r bino kid <"$tmp/ready"
pids+=("$kid")
ok "$([ -n "$kid" ]; echo $?)" "the parent keeps one end, its child $kid the other"

out=$("$CRUX_MAP" --pin-dir "$pin" -j peers "$par" 2>&1)
has "$out" "\"peer_pid\":$kid[,}]" "the closed end's owner is the child that holds it, not the parent"
hasnt "$out" "\"peer_pid\":$par[,}]" "the parent, which closed it, is not shown as its owner"
has "$out" "\"peer_comm\":\"renamed-kid\"" "the child shows under its comm now (renamed after the event)"
done_testing
