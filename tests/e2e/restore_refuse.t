#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What a restore refuses, and what it leaves behind when it fails: a pid already taken
# (named), corrupt, truncated and incomplete images (file and offset, never a crash), and
# a failure after the tree was created (every task killed, bound names removed, image
# unchanged).
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..18"
img_sum() { find "$1/img" -type f | sort | xargs md5sum | md5sum; }
refused() { # out-file rc pattern...: rc 1 and every pattern in the output
	local out=$1 rc=$2 p
	shift 2
	[ "$rc" = 1 ] || return 1
	for p in "$@"; do grep -q -- "$p" "$out" || return 1; done
}

# A pid already taken: restore, keep it running, restore the same image again.
d=$WORK/taken
start basic "$d" && dump "$d"
ok $? "basic target dumped"
reap "$d"
restore "$d"
ok $? "restored once"
"$CRUX" restore -D "$d/img" >"$d/again.out" 2>&1
refused "$d/again.out" $? "pid $TPID is taken by rst-basic"
ok $? "restoring it a second time is refused, naming the pid and its holder"
verify "$d"
ok $? "the first restored process is unharmed"

# Broken images: a copy each, the original stays intact.
c=$WORK/corrupt
core=$(cd "$d/img" && ls core-*.img)
for kind in truncated garbage incomplete; do
	rm -rf "$c" && mkdir -p "$c" && cp -r "$d/img" "$c/img"
	case $kind in
	truncated) truncate -s $(($(stat -c %s "$c/img/$core") / 2)) "$c/img/$core" ;;
	garbage) printf '\xff\xff\xff\x7f' | dd of="$c/img/$core" bs=1 seek=8 conv=notrunc 2>/dev/null ;;
	incomplete) rm "$c/img/inventory.img" ;;
	esac
	"$CRUX" restore -D "$c/img" >"$c/out" 2>&1
	rc=$?
	case $kind in
	incomplete) refused "$c/out" $rc "incomplete" ;;
	truncated) refused "$c/out" $rc "$core is truncated" ;;
	*) refused "$c/out" $rc "$core is corrupt" ;;
	esac
	ok $? "$kind image refused with the file name, by inventory.img's checksums (rc $rc)"
	[ -e /proc/$TPID ]
	ok $((1 - $?)) "$kind image: nothing created"
done

# A failure after creation: the tree is killed and reaped, sockets' names are removed.
d=$WORK/late
start tree "$d" && dump "$d"
ok $? "tree target dumped"
reap "$d"
sum0=$(img_sum "$d")
child=$(sed -n 2p "$d/pids")
CRUX_TEST_RESTORE_FAIL=$child "$CRUX" restore -D "$d/img" >"$d/late.out" 2>&1
refused "$d/late.out" $? "every task it created was killed"
ok $? "a failure in a child's rebuild fails the restore"
alive=0
for p in $(cat "$d/pids"); do [ -e /proc/$p ] && alive=1; done
ok $alive "no task of the tree is left"
[ "$(img_sum "$d")" = "$sum0" ]
ok $? "image unchanged"

# Restoring next to the live original: every problem is named, one line each, and the
# original is left alone (its listener's name included).
d=$WORK/live
start sockets "$d"
"$CRUX" dump -t "$TPID" -D "$d/img" --leave-running >"$d/dump.out" 2>&1
"$CRUX" restore -D "$d/img" >"$d/out" 2>&1
refused "$d/out" $? "pid $TPID is taken" "$d/lsn again: the name is held by a live socket" \
	"$d/dsrv again: the name is held by a live socket"
ok $? "restore next to the live original: pid and both names reported"
c1=$(cat "$d/counter")
sleep 0.1
[ -S "$d/lsn" ] && [ "$(cat "$d/counter")" != "$c1" ]
ok $? "the original keeps running with its names"
kill -9 "$TPID"
wait "$TPID" 2>/dev/null

# The same with names bound by the restore: they are removed again.
d=$WORK/late-sk
start sockets "$d" && dump "$d"
reap "$d"
CRUX_TEST_RESTORE_FAIL=$TPID "$CRUX" restore -D "$d/img" >"$d/late.out" 2>&1
refused "$d/late.out" $? "every task it created was killed"
ok $? "sockets target: a late failure fails the restore"
[ ! -e "$d/lsn" ] && [ ! -e "$d/dsrv" ] && [ ! -e /proc/$TPID ]
ok $? "the listener and server names it bound are removed, no task left"
[ $T_FAILED = 0 ] || diag "$WORK/live/out"
exit $((T_FAILED > 0))
