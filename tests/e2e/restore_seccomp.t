#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# seccomp (tests/e2e/sectgt.c): a three-thread process with no_new_privs and a chain of
# filters (one shared by every thread through TSYNC, one in a single thread) is dumped and
# restored; each thread checks from inside that every filter still answers as before and
# that the shared chain is still shared (a new TSYNC filter reaches the other thread). crit
# decodes seccomp.img. A process in strict mode is restored in strict mode: a forbidden
# syscall after the restore kills it.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/sectgt
echo "1..9"

d=$WORK/filter
start filter "$d"
ok $? "target ready: 3 threads, no_new_privs, 3 filters"
dump "$d"
ok $? "dumped" || diag "$d/dump.out"
"$CRUX" show "$d/img" >"$d/show.out" 2>&1 && grep -q ", seccomp filter" "$d/show.out"
ok $? "crux show: the task runs under seccomp filters" || diag "$d/show.out"
if command -v crit >/dev/null; then
	n=$(crit decode -i "$d/img/seccomp.img" 2>/dev/null |
		python3 -c 'import json,sys; print(len(json.load(sys.stdin)["entries"][0]["seccomp_filters"]))')
	[ "$n" = 3 ]
	ok $? "crit decodes seccomp.img: 3 filters, the shared ones stored once ($n)"
else
	ok 1 "crit unavailable (Debian package criu)"
fi
reap "$d"
restore "$d"
ok $? "restored" || diag "$d/restore.out"
grep -qE '^Seccomp:\s+2$' /proc/"$TPID"/status && grep -qE '^NoNewPrivs:\s+1$' /proc/"$TPID"/status
ok $? "it runs under seccomp filters with no_new_privs again"
verify "$d"
ok $? "every thread: filters answer as before, the shared chain is still shared" || diag "$d/log"

d=$WORK/strict
start strict "$d"
dump "$d"
reap "$d"
restore "$d"
grep -qE '^Seccomp:\s+1$' /proc/"$TPID"/status
ok $? "a strict-mode process is restored in strict mode" || diag "$d/restore.out"
kill -USR1 "$TPID"
wait "$RPID"
[ $? = 137 ]
ok $? "its forbidden syscall after the restore is answered with SIGKILL" || diag "$d/restore.out"
exit $((T_FAILED > 0))
