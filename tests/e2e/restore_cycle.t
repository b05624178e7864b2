#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Images taken again and again: two --leave-running dumps in a row, the second restored
# after the tree is killed; and a restored process dumped and restored once more.
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..9"

d=$WORK/twice
start sockets "$d"
ok $? "target ready"
"$CRUX" dump -t "$TPID" -D "$d/img1" --leave-running >"$d/dump1.out" 2>&1 &&
	cp "$d/counter" "$d/expect" && # the second image holds at least this
	"$CRUX" dump -t "$TPID" -D "$d/img" --leave-running >"$d/dump2.out" 2>&1
ok $? "two --leave-running dumps in a row"
c1=$(cat "$d/counter")
sleep 0.2
[ "$(cat "$d/counter")" != "$c1" ]
ok $? "the target kept running"
tree_pids "$TPID" >"$d/pids"
kill -9 "$TPID"
reap "$d"
restore "$d"
ok $? "the second image restored after the tree was killed"
verify "$d"
ok $? "its sockets and queues were those of the second dump"

d=$WORK/again
start basic "$d" && dump "$d"
ok $? "basic target dumped"
reap "$d"
restore "$d"
ok $? "restored"
mv "$d/img" "$d/img0"
RPID0=$RPID
dump "$d"
ok $? "the restored process dumped again"
wait $RPID0 2>/dev/null
reap "$d"
restore "$d" && verify "$d"
ok $? "restored a second time, and it verified its state"
exit $((T_FAILED > 0))
