#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Zombies (tests/e2e/zmbtgt.c): a parent holding two unreaped children, one exited with
# status 7 and one killed by SIGTERM, is dumped and restored; the children come back as
# zombies with their pids, the parent has no SIGCHLD it did not have, and its waitpid()
# gets each child's status as it ended.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/zmbtgt
echo "1..6"

# start DIR: like restore_lib's, for a target that takes only DIR
startz() {
	mkdir -p "$1"
	"$TGT" "$1" </dev/null >"$1/log" 2>&1 &
	TPID=$!
	wait_file "$1/ready"
}

d=$WORK/zombies
startz "$d"
ok $? "target ready with two zombie children"
read -r z1 z2 <"$d/kids"
dump "$d"
ok $? "dumped" || diag "$d/dump.out"
"$CRUX" show "$d/img" 2>&1 | grep -cE "^task ($z1|$z2) .*zombie wait status" | grep -qx 2
ok $? "crux show lists both as zombies"
reap "$d"
restore "$d"
ok $? "restored" || diag "$d/restore.out"
st1=$(awk '{print $3}' /proc/"$z1"/stat 2>/dev/null)
st2=$(awk '{print $3}' /proc/"$z2"/stat 2>/dev/null)
p1=$(awk '{print $4}' /proc/"$z1"/stat 2>/dev/null)
[ "$st1" = Z ] && [ "$st2" = Z ] && [ "$p1" = "$TPID" ] &&
	grep -qE '^ShdPnd:\s+0+$' /proc/"$TPID"/status && grep -qE '^SigPnd:\s+0+$' /proc/"$TPID"/status
ok $? "both are zombies of the restored parent again ($st1 $st2), no stray SIGCHLD pending"
verify "$d"
ok $? "its waitpid() gets exit status 7 and death by SIGTERM" || diag "$d/log"
exit $((T_FAILED > 0))
