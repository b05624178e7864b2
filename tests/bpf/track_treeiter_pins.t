#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux track pins the dumper's tree iterators (loaded and verified once, never attached);
# crux dump and crux-map use them instead of loading a BPF object of their own, fall back to
# loading one when they are gone, and --stop removes them with the rest. The inbound one
# finds the outside clients of a tree's datagram server in every network namespace.
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
CRUX_MAP=${CRUX_MAP:-$PWD/.output/crux-map}
TGT=${CRUX_OUT:-$PWD/.output}/tests/e2e/dumptgt
PIN=/sys/fs/bpf/crux-test-tipins-$$
n=0 fails=0
t() { # description, then the check's exit status in $?
	local rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
tmp=$(mktemp -d /tmp/crux-test-tipins-XXXXXX)
tpid=
cleanup() {
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
	"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" "$tmp"
}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
trap cleanup EXIT
for d in /sys/fs/bpf/crux-test-tipins-*; do # leftovers of a run that died
	[ -e "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
echo "1..12"

"$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" >/dev/null 2>&1
t "tracker started"
[ "$(ls "$PIN" | grep -c '^prog_iter_\(task_file_\(tree\|refs\|icons\)\|unix_inbound\)$')" = 4 ] &&
	[ -e "$PIN/inbound_targets" ]
t "four tree iterator programs pinned, and the inbound targets map"
! ls "$PIN" | grep -q '^link_iter_\(task_file_\(tree\|refs\|icons\)\|unix_inbound\)$'
t "and none of them attached"

"$TGT" kinds "$tmp" </dev/null >/dev/null 2>&1 &
tpid=$!
for i in $(seq 250); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
out=$("$CRUX" dump -vv --pin-dir "$PIN" -t $tpid -D "$tmp/img" -R 2>&1)
t "dump with the tracker's pins"
grep -q "using the tree iterators pinned by crux track" <<<"$out"
t "the dump used the pinned programs"
out=$("$CRUX_MAP" -vv --pin-dir "$PIN" external $tpid 2>&1)
grep -q "using the tree iterators pinned by crux track" <<<"$out"
t "crux-map external used them too"

# a datagram server in the tree, a client of it in another network namespace
mkdir -p "$tmp/srv"
"$TGT" dgram-server "$tmp/srv" </dev/null >/dev/null 2>&1 &
spid=$!
for i in $(seq 250); do [ -e "$tmp/srv/ready" ] && break; sleep 0.02; done
unshare -n python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
print(s.fileno(), flush=True)
time.sleep(30)' "$tmp/srv/srv" >"$tmp/cli.out" &
cpid=$!
for i in $(seq 250); do [ -s "$tmp/cli.out" ] && break; sleep 0.02; done
cino=$(readlink /proc/$cpid/fd/$(cat "$tmp/cli.out") | tr -dc 0-9)
out=$("$CRUX_MAP" -j --pin-dir "$PIN" external $spid 2>&1)
grep -q "\"ino\":$cino,.*\"class\":\"inbound\"" <<<"$out"
t "the client in another netns is inbound to the tree's server (ino $cino)"
out=$("$CRUX" dump -vv --pin-dir "$PIN" -t $spid -D "$tmp/img3" -R 2>&1)
grep -q "outside pid $cpid (python3): dgram socket ino $cino points at" <<<"$out" &&
	! grep -q "inbound sockets by the tree iterator" <<<"$out"
t "the dump warns about it, found by the inbound iterator"
[ "$(bpftool map dump pinned "$PIN/inbound_targets" 2>/dev/null | grep -c key)" = 0 ]
t "the targets map is left empty"
kill $cpid $spid 2>/dev/null
wait $cpid $spid 2>/dev/null

rm -f "$PIN/prog_iter_task_file_refs"
out=$("$CRUX" dump -vv --pin-dir "$PIN" -t $tpid -D "$tmp/img2" -R 2>&1) &&
	grep -q "no tree iterators pinned under $PIN .*: loading them" <<<"$out"
t "one pin missing: the dump loads its own and succeeds"

"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
t "--stop"
[ ! -e "$PIN" ]
t "the pin dir and the programs in it are gone"
[ $fails = 0 ]
