#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A killed `crux restore -d` leaves nothing behind (issue #9): safetgt (three talking
# processes, a listener bound to DIR/lsn) is dumped, then restored while crux kills itself
# with SIGKILL at its Nth fault point (CRUX_FAULT_AT: files, tree, injected syscalls, bound
# names, the guard's records), at 30 points spread over a whole restore, then at random
# moments. After each kill: no process with a dumped pid, no socket file at DIR/lsn (the
# restore guard killed and unlinked them); the image is untouched and restores again.
. "$(dirname "$0")/restore_lib.sh"
need_root
SAFETGT=$CRUX_OUT/tests/e2e/safetgt

d=$WORK/crash
mkdir -p "$d"
"$SAFETGT" "$d" </dev/null >"$d/log" 2>&1 &
TPID=$!
wait_file "$d/ready"
ok $? "safetgt ready"
tree_pids "$TPID" >"$d/pids"
"$CRUX" dump -t "$TPID" -D "$d/img" >"$d/dump.out" 2>&1
ok $? "dumped and killed: $(tr '\n' ' ' <"$d/pids")"
wait "$TPID" 2>/dev/null
for p in $(cat "$d/pids"); do wait_gone "$p"; done
rm -f "$d/lsn"
sum0=$(cd "$d/img" && cat * | md5sum)

# nothing_left: every dumped pid gone, the socket file gone (the guard needs a moment)
nothing_left() {
	local i p left
	for i in $(seq 100); do
		left=
		for p in $(cat "$d/pids"); do [ -e "/proc/$p" ] && left="$left $p"; done
		[ -z "$left" ] && [ ! -e "$d/lsn" ] && return 0
		sleep 0.02
	done
	echo "# left: pids$left; $(ls -l "$d/lsn" 2>&1)"
	return 1
}

# a complete restore: it runs, then it is taken down again for the next trial
restored_runs() {
	local before i p
	before=$(cat "$d/progress")
	for i in $(seq 100); do
		[ "$(cat "$d/progress")" != "$before" ] && break
		sleep 0.02
	done
	[ "$(cat "$d/progress")" != "$before" ] && [ ! -e "$d/bad" ] || return 1
	for p in $(cat "$d/pids"); do kill -9 "$p" 2>/dev/null; done
	for p in $(cat "$d/pids"); do wait_gone "$p"; done
	rm -f "$d/lsn"
}

out=$(CRUX_FAULT_COUNT=1 "$CRUX" restore -D "$d/img" -d 2>&1)
ok $? "a whole restore -d succeeds"
total=$(sed -n 's/.*fault points: \([0-9]*\).*/\1/p' <<<"$out")
ok "$([ "${total:-0}" -gt 30 ]; echo $?)" "it passes ${total:-0} fault points"
restored_runs
ok $? "the restored tree talks; taken down again"
total=${total:-30}

killed=0 completed=0
trial() { # a CRUX_FAULT_AT value, or t<ms>
	local rc c
	if [ "${1#t}" != "$1" ]; then
		"$CRUX" restore -D "$d/img" -d >/dev/null 2>&1 &
		c=$!
		sleep "$(printf '0.%03d' "${1#t}")"
		kill -9 $c 2>/dev/null
		wait $c 2>/dev/null
		rc=$?
	else
		CRUX_FAULT_AT=$1 "$CRUX" restore -D "$d/img" -d >/dev/null 2>&1
		rc=$?
	fi
	if [ $rc = 137 ] && nothing_left >/dev/null; then
		killed=$((killed + 1))
	elif [ $rc = 137 ]; then
		completed=$((completed + 1)) # killed after its commit: complete, or a failure
		restored_runs || { nothing_left; return 1; }
	elif [ $rc = 0 ]; then
		completed=$((completed + 1))
		restored_runs
	else
		echo "# restore at $1: exit $rc"
		return 1
	fi
}

for k in $(seq 0 29); do
	at=$((1 + k * (total - 1) / 29))
	trial "$at"
	ok $? "killed at fault point $at of $total: nothing left"
done
for k in $(seq 6); do
	ms=$((RANDOM % 60))
	trial "t$ms"
	ok $? "killed after $ms ms: nothing left"
done
echo "# $killed restores killed, $completed completed before their kill"
[ "$(cd "$d/img" && cat * | md5sum)" = "$sum0" ]
ok $? "the image is unchanged"
"$CRUX" restore -D "$d/img" -d >/dev/null 2>&1 && restored_runs
ok $? "it restores again, and runs"
echo "1..$T_N"
[ "$T_FAILED" = 0 ]
