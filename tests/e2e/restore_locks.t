#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# File locks across dump and restore: POSIX (ranges, read and write), OFD and flock()
# (shared and exclusive) locks come back held by the restored process, so a second locker
# is refused; a lease is refused by name at dump, and the tree keeps running.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/losstgt
echo "1..9"

d=$WORK/locks
start locks "$d"
ok $? "target ready"
# An outside process holds a read lock on bytes 300-309 of the same file: reported by name.
python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "r")
fcntl.lockf(f, fcntl.LOCK_SH | fcntl.LOCK_NB, 10, 300)
open(sys.argv[2], "w").close()
time.sleep(60)' "$d/posix" "$d/outside" &
OUT=$!
wait_file "$d/outside"
dump "$d"
ok $? "dumped"
grep -q "file lock: pid $OUT (python3) outside the dumped tree holds a POSIX ADVISORY READ lock on $d/posix" "$d/dump.out"
ok $? "a lock held outside the tree on one of its files is reported by name"
grep -q FILE_LOCKS <(crit show "$d/img/file-lock.img" 2>&1) &&
	[ "$(crit show "$d/img/file-lock.img" | grep -c '"flag"')" = 5 ]
ok $? "crit decodes file-lock.img: 5 locks"
reap "$d"
flock -n "$d/flock-ex" true
ok $? "while the tree is dumped, nobody holds the flock() lock"
restore "$d"
ok $? "restored"
! flock -n "$d/flock-ex" true
ok $? "after the restore a second flock() locker is refused"
verify "$d"
ok $? "inside: a second locker is refused every conflicting lock and granted the others"
kill $OUT

# A lease: refused by name, the tree resumed.
d=$WORK/lease
mkdir -p "$d"
: >"$d/leased"
python3 -c '
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, 1024, fcntl.F_RDLCK)  # F_SETLEASE
open(sys.argv[2], "w").close()
time.sleep(60)' "$d/leased" "$d/ready" </dev/null >/dev/null 2>&1 &
TPID=$!
wait_file "$d/ready"
"$CRUX" dump -t $TPID -D "$d/img" >"$d/out" 2>&1
[ $? = 1 ] && grep -q "file lock: pid $TPID .* holds a LEASE" "$d/out" && [ ! -e "$d/img" ] &&
	kill -0 $TPID
ok $? "a lease is refused by name, and the process keeps running"
[ -s "$d/out" ] && diag "$d/out"
kill $TPID
exit $((T_FAILED > 0))
