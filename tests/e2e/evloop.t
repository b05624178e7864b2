#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Event-loop fds (eventfd, signalfd, timerfd, epoll, inotify, fanotify) and POSIX timers:
# each kind dumped, restored, and checked from inside the restored process (evtgt.c says
# what each checks).
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/evtgt
kinds="eventfd signalfd timerfd epoll epoll-tree inotify fanotify ptimer"
echo "1..$((3 * 8 + 9))"

for k in $kinds; do
	d=$WORK/$k
	start "$k" "$d" && dump "$d"
	ok $? "$k: dumped"
	reap "$d"
	restore "$d"
	ok $? "$k: restored"
	verify "$d"
	ok $? "$k: its state checked from inside the restored process"
done

# An epoll target whose file only a process outside the tree holds: refused, resumed.
d=$WORK/outside
mkdir -p "$d"
"$TGT" epoll-outside "$d" </dev/null >"$d/log" 2>&1 &
wait_file "$d/ready" && wait_file "$d/child" && c=$(cat "$d/child")
"$CRUX" dump -t "${c:-0}" -D "$d/img" >"$d/dump.out" 2>&1
[ $? = 1 ] && grep -q "epoll target fd 60 .*no fd of the dumped tree holds its file" "$d/dump.out" &&
	[ ! -e "$d/img" ]
ok $? "an epoll target held only outside the tree: refused by name, no image" || diag "$d/dump.out"
kill -0 "${c:-0}" 2>/dev/null
ok $? "the refused target was resumed"
kill -9 "${c:-0}" 2>/dev/null

# The images: crux show and Debian's crit read the event-loop entries.
"$CRUX" show "$WORK/epoll/img" 2>&1 | grep -q "epoll, 6 targets: .*data 0x4444"
ok $? "crux show lists the epoll's targets"
if command -v crit >/dev/null; then
	{ crit decode -i "$WORK/epoll/img/files.img" && crit decode -i "$WORK/timerfd/img/files.img"; } |
		python3 -c '
import json, sys
ep, tf = (json.loads(l)["entries"] for l in sys.stdin)
tfds = sorted(len(e["epfd"]["tfd"]) for e in ep if e["type"] == "EVENTPOLL")
clocks = sorted(e["tfd"]["clockid"] for e in tf if e["type"] == "TIMERFD")
sys.exit(not (tfds == [1, 1, 6] and clocks == [0, 1, 1, 1, 7]))'
	ok $? "crit decodes the eventpoll and timerfd entries of files.img"
else
	ok 1 "crit decodes the eventpoll and timerfd entries (crit missing: run tools/deps.sh)"
fi

# Unread inotify events: dropped with a warning in the summary, or refused when strict.
d=$WORK/queued
start inotify-queued "$d"
"$CRUX" dump -t "$TPID" -D "$d/img" --inotify-strict >"$d/strict.out" 2>&1
[ $? = 1 ] && grep -q "unread events.*--inotify-strict" "$d/strict.out" && [ ! -e "$d/img" ]
ok $? "--inotify-strict refuses a group with unread events, no image left"
kill -0 "$TPID"
ok $? "the refused target was resumed"
dump "$d" && grep -q "1 inotify queue of unread events NOT restored" "$d/dump.out"
ok $? "without it: dumped, and the summary says the queue is not restored"
reap "$d"
restore "$d"
ok $? "inotify-queued: restored"
verify "$d"
ok $? "inotify-queued: the group is there, its queue empty (as the dump said)"
exit $((T_FAILED > 0))
