#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A process of another uid is dumped and restored with its credentials. Root here lacks
# CAP_SYS_RESOURCE, so prlimit() on such a task fails: the dump reads /proc/PID/limits.
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..5"

# the target closes what it inherited from the test runner: a dump must be self-contained
setpriv --reuid=65534 --regid=65534 --clear-groups bash -c '
	for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
	ulimit -n 123; exec sleep 1000' </dev/null >/dev/null 2>&1 &
pid=$!
for _ in $(seq 50); do [ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ] && break; sleep 0.1; done

"$CRUX" dump -t "$pid" -D "$WORK/img" >"$WORK/dump.out" 2>&1
ok $? "dump of a task running as uid 65534" || { diag "$WORK/dump.out"; kill -9 "$pid"; }
wait "$pid" 2>/dev/null
wait_gone "$pid"

"$CRUX" restore -D "$WORK/img" -d >"$WORK/restore.out" 2>&1
ok $? "restore -d of that task" || diag "$WORK/restore.out"

uid=$(awk '/^Uid:/ {print $2 "/" $3}' "/proc/$pid/status" 2>/dev/null)
[ "$uid" = "65534/65534" ]
ok $? "the restored task runs as uid 65534 (got '$uid')"
nofile=$(awk '/^Max open files/ {print $4 "/" $5}' "/proc/$pid/limits" 2>/dev/null)
[ "$nofile" = "123/123" ]
ok $? "its RLIMIT_NOFILE is the dumped one, 123 (got '$nofile')"
[ "$(cat /proc/$pid/comm 2>/dev/null)" = sleep ]
ok $? "it is the same program, still sleeping"
kill -9 "$pid" 2>/dev/null
exit $((T_FAILED > 0))
