#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux track / crux check on bad input: one clear line, exit 1 (64 for usage).
set -u
CRUX=${CRUX:-$(dirname "$0")/../../.output/crux}
PIN=/sys/fs/bpf/crux-test-errors-$$
n=0 fails=0
t() { # description, then the check's exit status in $?
	local rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
wait_dead() { # pid: gone or a zombie (the daemon's reaper is not us), within 5 s
	local i s
	for i in $(seq 100); do
		s=$(ps -o stat= -p "$1")
		[ -z "$s" ] || [ "${s#Z}" != "$s" ] && return 0
		sleep 0.05
	done
	return 1
}
stop() { "$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1; rm -rf "$PIN"; }
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
trap stop EXIT
stop
echo "1..18"

out=$("$CRUX" track --no-such-option 2>&1); rc=$?
[ $rc = 64 ]; t "unknown option: exit 64 (got $rc)"
out=$("$CRUX" track --reconcile-ms 12x 2>&1); rc=$?
[ $rc = 64 ] && grep -q -- "--reconcile-ms" <<<"$out"; t "bad --reconcile-ms: exit 64 naming the option"

tmp=$(mktemp -d)
out=$("$CRUX" track --pin-dir "$tmp/pins" 2>&1); rc=$?
rmdir "$tmp"
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "mount -t bpf bpf /sys/fs/bpf" <<<"$out"
t "pin dir not on bpffs: one line saying how to mount it, exit 1"

# bpffs really unmounted, in a private mount namespace: the default pin dir
out=$(unshare -m sh -c 'umount -l /sys/fs/bpf && exec "$0" track' "$CRUX" 2>&1); rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "mount -t bpf bpf /sys/fs/bpf" <<<"$out"
t "bpffs not mounted: one line saying how to mount it, exit 1"

out=$("$CRUX" track --stop --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no tracker state under $PIN" <<<"$out"; t "--stop without state: exit 1"
out=$("$CRUX" track --reconcile --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "no tracker state" <<<"$out"; t "--reconcile without state: exit 1"

pid=$("$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" 2>/dev/null); rc=$?
[ $rc = 0 ] && [ -n "$pid" ] && kill -0 "$pid"; t "track -d prints the daemon's pid ($pid)"
out=$("$CRUX" track --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "already running (pid $pid)" <<<"$out"
t "a second tracker: one line naming the running pid, exit 1"
out=$("$CRUX" track --reconcile --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 0 ]; t "--reconcile on live state: exit 0"

# Another layout: rewrite the pinned version record (ABI version 999, record 64 bytes).
kill -9 "$pid"
wait_dead "$pid"
bpftool map update pinned "$PIN/abi_info" key 0 0 0 0 value 0xe7 3 0 0 64 0 0 0
out=$("$CRUX" track --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "ABI version 999" <<<"$out" &&
	grep -q "crux track --stop --pin-dir $PIN" <<<"$out"
t "pinned state of another ABI: both versions and the way out, exit 1"
out=$("$CRUX" track --reconcile --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 1 ] && grep -q "ABI version 999" <<<"$out"; t "--reconcile refuses another ABI too"
"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1; rc=$?
[ $rc = 0 ] && [ ! -e "$PIN" ]; t "--stop clears state of another ABI"
pid=$("$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" 2>/dev/null); rc=$?
[ $rc = 0 ] && [ -n "$pid" ]; t "after --stop a tracker starts again"
"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1; rc=$?
[ $rc = 0 ] && wait_dead "$pid"; t "--stop ends it"

# A partial pinned state (a tracker killed while attaching): all links are attached anew.
pid=$("$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" 2>/dev/null)
kill -9 "$pid"
wait_dead "$pid"
rm -f "$PIN/link_tp_sys_exit_connect"
out=$("$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" 2>&1); rc=$?
[ $rc = 0 ] && grep -q "holds 24 of 25 program links" <<<"$out"
t "partial links: a warning, then every program attached anew"
[ "$(ls "$PIN" | grep -c '^link_')" = 25 ]; t "partial links: all 25 links pinned again"
stop

# rm -rf of the pin dir detaches everything: the tracker notices and exits.
pid=$("$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" 2>/dev/null)
rm -rf "$PIN"
[ -n "$pid" ] && wait_dead "$pid"; t "pin dir removed under a running tracker: it exits"

"$CRUX" check >/dev/null 2>&1; rc=$?
[ $rc = 0 ]; t "crux check: every required feature present on this machine"
[ $fails = 0 ]
