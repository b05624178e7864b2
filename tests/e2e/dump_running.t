#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# --leave-running leaves the tree running and unchanged: its counter keeps moving, its fd
# table is the same, its socket and pipe queues still hold the same bytes (two dumps in a
# row read identical queues: nothing was consumed), and a tree of three processes sharing
# a socketpair and a pipe is dumped whole and keeps running.
. "$(dirname "$0")/dump_lib.sh"

if ! have_crit; then
	echo "1..0 # SKIP crit unavailable (Debian package criu)"
	exit 0
fi

fdtable() { # PID: "fd -> target" lines
	local f
	for f in /proc/$1/fd/*; do echo "${f##*/} $(readlink "$f")"; done | sort -n
}

start kinds || exit 1
before=$(fdtable $tpid)
out=$("$CRUX" dump -t $tpid -D "$tdir/img1" -R 2>&1)
ok $? "first --leave-running dump succeeds"
has "$out" "left running" "the summary says the tree was left running"
running $tpid "$tdir"
ok $? "the target runs on: not stopped, counter moving"
out=$("$CRUX" dump -t $tpid -D "$tdir/img2" -R 2>&1)
ok $? "second --leave-running dump succeeds"
running $tpid "$tdir"
ok $? "still running after the second dump"
cmp -s "$tdir/img1/sk-queues.img" "$tdir/img2/sk-queues.img"
ok $? "socket queues read twice are identical (peeking consumed nothing)"
cmp -s "$tdir/img1/pipes-data.img" "$tdir/img2/pipes-data.img"
ok $? "pipe data read twice is identical (tee consumed nothing)"
after=$(fdtable $tpid)
ok "$([ "$before" = "$after" ]; echo $?)" "the fd table is unchanged"
maps1=$(crit x "$tdir/img1" mems | awk '$1 ~ /-/ {print $1}')
maps_now=$(awk '{print $1}' /proc/$tpid/maps)
ok "$([ "$maps1" = "$maps_now" ]; echo $?)" "no scratch mapping left in the task"
ok "$([ -e "$tdir/img2/inventory.img" ]; echo $?)" "the second image is complete"

start tree || exit 1
kids=$(cat /proc/$tpid/task/$tpid/children)
out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
ok $? "dump of a three-process tree succeeds"
has "$out" "^dumped 3 tasks" "all three tasks dumped"
has "$out" "2 internal / 0 external" "the shared socketpair is internal"
ps=$(crit x "$tdir/img" ps 2>&1)
for k in $kids; do
	has "$ps" "^ +$k +" "crit x ps shows child $k"
	st=$(state $k)
	ok "$([ "$st" = S ] || [ "$st" = R ]; echo $?)" "child $k runs on (state $st)"
done
fds=$(crit x "$tdir/img" fds 2>&1)
pairs=$(grep -cE '^\s+4: unix\[' <<<"$fds")
ok "$([ "$pairs" = 3 ]; echo $?)" "each task holds the shared socketpair at fd 4"
pipes=$(grep -cE '^\s+6: pipe\[' <<<"$fds")
ok "$([ "$pipes" = 3 ]; echo $?)" "each task holds the shared pipe at fd 6"
files=$(crit show "$tdir/img/files.img" | grep -c '"type": "UNIXSK"')
ok "$([ "$files" = 2 ]; echo $?)" "the two socket ends are written once each, shared by id"
running $tpid "$tdir"
ok $? "the tree's root runs on"
done_testing
