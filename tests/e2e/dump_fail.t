#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Every failure path of crux dump leaves the tree as it was: usage errors (64), a bad pid,
# an image directory that cannot be created, one that is not empty, one that fills up
# while pages are written (a tiny tmpfs: the failure comes after the freeze), and a tree
# whose tasks fork and exit while it is being frozen.
. "$(dirname "$0")/dump_lib.sh"

out=$("$CRUX" dump -D "$tmp/x" 2>&1)
rc=$?
ok "$([ $rc = 64 ]; echo $?)" "no -t: usage error 64 (rc $rc)"
has "$out" "use -t PID" "the message says which option is missing"
out=$("$CRUX" dump -t 12x -D "$tmp/x" 2>&1)
ok "$([ $? = 64 ]; echo $?)" "a malformed pid is a usage error"
has "$out" "invalid pid '12x'" "and is named"
out=$("$CRUX" dump -t 1 -D "$tmp/x" --ext-unix-sk=a,b 2>&1)
ok "$([ $? = 64 ]; echo $?)" "a malformed --ext-unix-sk list is a usage error"

# a pid that does not exist (the highest possible pid is never in use here)
out=$("$CRUX" dump -t 4194304 -D "$tmp/x" 2>&1)
ok "$([ $? = 1 ]; echo $?)" "a pid that does not exist: exit 1"
has "$out" "no process 4194304" "the message names the pid"
ok "$([ ! -e "$tmp/x" ]; echo $?)" "no image directory is created"

start kinds || exit 1
out=$("$CRUX" dump -t $tpid -D /proc/crux-cannot-be-created 2>&1)
ok "$([ $? = 1 ]; echo $?)" "uncreatable image directory: exit 1"
has "$out" "crux-cannot-be-created" "the message names the directory"
running $tpid "$tdir"
ok $? "the tree was resumed and runs"

mkdir -p "$tmp/full" && touch "$tmp/full/other"
out=$("$CRUX" dump -t $tpid -D "$tmp/full" 2>&1)
ok "$([ $? = 1 ]; echo $?)" "non-empty image directory: exit 1"
has "$out" "not empty" "the message says it is not empty"
ok "$([ -e "$tmp/full/other" ]; echo $?)" "the existing file is left alone"
running $tpid "$tdir"
ok $? "the tree runs on"

mnt=$tmp/mnt-small
mkdir -p "$mnt"
if mount -t tmpfs -o size=16k tmpfs "$mnt" 2>/dev/null; then
	fd_before=$(ls -l /proc/$tpid/fd | md5sum)
	out=$("$CRUX" dump -t $tpid -D "$mnt/img" 2>&1)
	ok "$([ $? = 1 ]; echo $?)" "image directory fills up mid-dump: exit 1"
	has "$out" "No space left on device" "the message gives the cause"
	has "$out" "every task was resumed" "the message says the tree was resumed"
	ok "$([ ! -e "$mnt/img" ]; echo $?)" "the half-written image directory is removed"
	running $tpid "$tdir"
	ok $? "the tree was resumed (not killed, not left stopped)"
	ok "$([ "$(ls -l /proc/$tpid/fd | md5sum)" = "$fd_before" ]; echo $?)" \
		"its fd table is unchanged"
	umount "$mnt"
else
	echo "not ok $((n += 1)) - cannot mount a small tmpfs for the ENOSPC case"
	fail=1
fi

# tasks that fork and exit while the tree is being frozen
start forker || exit 1
child=$(awk '{print $1}' /proc/$tpid/task/$tpid/children)
for i in 1 2 3 4 5; do
	rm -rf "$tdir/img"
	out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
	rc=$?
	case $rc in
	0) ok 0 "fork storm, try $i: dumped" ;;
	1)
		has "$out" "zombie|exiting|keeps creating" "fork storm, try $i: refused with a reason"
		;;
	*)
		ok 1 "fork storm, try $i: unexpected exit $rc"
		sed 's/^/#   /' <<<"$out" | head -n 20
		;;
	esac
	running $tpid "$tdir"
	ok $? "fork storm, try $i: the root runs on"
	st=$(state "$child")
	ok "$([ "$st" = S ] || [ "$st" = R ]; echo $?)" "fork storm, try $i: the forking child runs on ($st)"
done
done_testing
